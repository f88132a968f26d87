"""风云榜: the big screen. Refreshes itself every 2 s; several screens share one read through a
short cache; everything personal arrives masked from core.board; every value is escaped."""
from __future__ import annotations

import os

import altair as alt
import pandas as pd
import streamlit as st

from core import board
from core.config import settings
from core.events import current_event, find_event
from core.store import read_session
from pages.common import engine, esc, tr

REFRESH_S = float(os.environ.get("RENEWDAY_BOARD_REFRESH_S", "2"))  # the benchmark shortens it
ss = st.session_state

st.html("""<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"], footer {display: none !important;}
.block-container {padding-top: 1rem !important; max-width: 100% !important;}
.rd-board {font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; color: #1b1b1b;}
.rd-title {font-size: 2.4rem; font-weight: 800; color: #b22222; display:flex; justify-content:space-between; gap: 1rem;}
.rd-cards {display: grid; grid-template-columns: repeat(4, 1fr); gap: 1rem; margin: 1rem 0;}
.rd-card {background: #fff7f0; border-radius: 16px; padding: 1rem 1.4rem; border: 3px solid #f0c8a0;}
.rd-card .v {font-size: 3.4rem; font-weight: 800;} .rd-card .l {font-size: 1.5rem; color: #555;}
.rd-bar {height: 14px; background: #eee; border-radius: 7px; overflow: hidden;}
.rd-bar > div {height: 100%; background: #d9480f;}
.rd-rank {width: 100%; border-collapse: collapse; font-size: 1.9rem;}
.rd-rank td, .rd-rank th {padding: .35rem .6rem; border-bottom: 1px solid #eee; text-align: left;}
.rd-rank tr.top1 {background: #ffe066;} .rd-rank tr.top2 {background: #e9ecef;} .rd-rank tr.top3 {background: #f4d1a6;}
.rd-up {color: #2b8a3e;} .rd-down {color: #c92a2a;}
.rd-ticker div {font-size: 1.6rem; padding: .3rem 0; border-bottom: 1px dashed #ddd;}
.rd-new {animation: rdflash 2s ease-out 1; background: #fff3bf;}
@keyframes rdflash {from {background: #ffd43b;} to {background: #fff3bf;}}
.rd-empty {font-size: 2rem; color: #888; padding: 2rem; text-align: center;}
</style>""")


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=16)
def cached_snapshot(url: str, event_id: int) -> dict:
    """At most one database read a second, whatever the number of screens; with the 2 s tick a
    renewal reaches every screen within 3 s."""
    return board.snapshot(engine(), event_id)


@st.cache_data(ttl=1.5, show_spinner=False, max_entries=16)
def cached_group(url: str, event_date: str) -> list[dict]:
    from datetime import date

    return board.group_board(engine(), date.fromisoformat(event_date))


def pick_event():
    ref = st.query_params.get("event")
    if ref:
        with read_session(engine()) as s:
            ev = find_event(s, ref)
        if ev:
            return ev
    return current_event(engine())


def pct(n, target) -> float:
    return min(100.0, 100.0 * n / target) if target else 0.0


def card(label: str, value: str, target_text: str, share: float) -> str:
    return (f"<div class='rd-card'><div class='l'>{label}</div><div class='v'>{value}</div>"
            f"<div class='l'>{target_text}</div><div class='rd-bar'><div style='width:{share:.0f}%'></div></div></div>")


def wan(fen: int) -> str:
    return f"{fen / 1_000_000:.1f}"


@st.fragment(run_every=REFRESH_S)
def live_board(event_id: int) -> None:
    snap = cached_snapshot(settings().database_url, event_id)
    ss["board_ticks"] = ss.get("board_ticks", 0) + 1
    st.html(f"<span class='rd-ticks' data-n='{ss['board_ticks']}' style='display:none'></span>")
    if not snap:
        st.html(f"<div class='rd-empty'>{tr('board.no_event')}</div>")
        return
    t = snap["totals"]
    conv = f"{t['conversion'] * 100:.0f}%" if t["conversion"] is not None else "—"
    html = [f"<div class='rd-board'><div class='rd-title'><span>{tr('page.board')} · {esc(snap['event']['store'])} · "
            f"{esc(snap['event']['name'])}</span><span>{snap['as_of']}</span></div><div class='rd-cards'>",
            card(tr("board.arrived"), f"{t['arrived']}", tr("board.target", n=t["target_arrivals"]), pct(t["arrived"], t["target_arrivals"])),
            card(tr("board.renewals"), f"{t['renewals']}", tr("board.target", n=t["target_renewals"]), pct(t["renewals"], t["target_renewals"])),
            card(tr("board.premium"), wan(t["premium_fen"]), tr("board.target_wan", n=wan(t["target_premium_fen"])),
                 pct(t["premium_fen"], t["target_premium_fen"])),
            card(tr("board.conversion"), conv, tr("board.conversion_hint"), (t["conversion"] or 0) * 100), "</div></div>"]
    st.html("".join(html))

    previous = ss.get("board_prev_ranks", {})
    moves = board.rank_moves(previous, snap["ranking"])
    ss["board_prev_ranks"] = {r["staff_id"]: r["rank"] for r in snap["ranking"]}
    left, right = st.columns([3, 2])
    with left:
        if snap["ranking"]:
            rows = []
            for r in snap["ranking"][:15]:
                arrow = {"up": "<span class='rd-up'>▲</span>", "down": "<span class='rd-down'>▼</span>"}.get(moves[r["staff_id"]], "")
                cls = f"top{r['rank']}" if r["rank"] <= 3 and r["renewals"] else ""
                rows.append(f"<tr class='{cls}'><td>{r['rank']} {arrow}</td><td>{esc(r['name'])}</td><td>{r['renewals']}</td>"
                            f"<td>{wan(r['premium_fen'])}</td><td>{r['arrivals']}</td></tr>")
            st.html(f"<div class='rd-board'><table class='rd-rank'><tr><th>{tr('board.rank')}</th><th>{tr('board.advisor')}</th>"
                    f"<th>{tr('board.renewals')}</th><th>{tr('board.premium_short')}</th><th>{tr('board.arrivals')}</th></tr>"
                    + "".join(rows) + "</table></div>")
        if snap["teams"]:
            st.html(f"<div class='rd-board'><table class='rd-rank'><tr><th>{tr('board.team')}</th>"
                    f"<th>{tr('board.renewals')}</th><th>{tr('board.premium_short')}</th><th>{tr('board.arrivals')}</th></tr>"
                    + "".join(
                f"<tr><td>{esc(tm['team'])}</td><td>{tm['renewals']}</td><td>{wan(tm['premium_fen'])}</td><td>{tm['arrivals']}</td></tr>"
                for tm in snap["teams"]) + "</table></div>")
    with right:
        items = sorted(snap["ticker"] + snap["wins"], key=lambda x: (x["at"], x["id"]), reverse=True)[:10]
        newest = snap["ticker"][0]["id"] if snap["ticker"] else None
        is_new = newest is not None and newest != ss.get("board_last_renewal")
        ss["board_last_renewal"] = newest
        if not items:
            empty = tr("board.wait_renewal") if t["arrived"] else tr("board.wait_arrival")
            st.html(f"<div class='rd-board rd-empty'>{empty}</div>")
        else:
            st.html("<div class='rd-board rd-ticker'>" + "".join(
                f"<div class='{'rd-new' if is_new and it['id'] == newest else ''}'>{it['at']} · "
                f"{'🎉 ' if it['kind'] == 'win' else '✅ '}"
                f"{tr('board.won', who=esc(it['who']), prize=esc(it['prize'])) if it['kind'] == 'win' else esc(it['text'])}</div>"
                for it in items) + "</div>")
        if snap["rhythm"]:
            df = pd.DataFrame(snap["rhythm"])
            bars = alt.Chart(df).mark_bar(color="#d9480f").encode(
                x=alt.X("slot:N", title=tr("board.half_hour")), y=alt.Y("renewals:Q", title=tr("board.renewals")))
            line = alt.Chart(df).mark_line(color="#1c7ed6", point=True).encode(
                x="slot:N", y=alt.Y("premium_wan:Q", title=tr("board.premium")))
            st.altair_chart(alt.layer(bars, line).resolve_scale(y="independent"), height=260)


@st.fragment(run_every=REFRESH_S * 2)
def live_group(event_date: str) -> None:
    rows = cached_group(settings().database_url, event_date)
    st.html("<div class='rd-board'><div class='rd-title'>" + tr("board.group_title") + "</div><table class='rd-rank'>" + "".join(
        f"<tr class='{'top' + str(r['rank']) if r['rank'] <= 3 and r['renewals'] else ''}'><td>{r['rank']}</td>"
        f"<td>{esc(r['name'])}</td><td>{r['renewals']}</td><td>{wan(r['premium_fen'])}</td><td>{r['arrivals']}</td></tr>"
        for r in rows) + "</table></div>")


event = pick_event()
if event is None:
    st.html(f"<div class='rd-empty'>{tr('board.no_event')}</div>")
elif st.query_params.get("view") == "group":
    live_group(event.event_date.isoformat())
else:
    live_board(event.id)
