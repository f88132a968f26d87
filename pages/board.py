"""风云榜: the big screen. Refreshes itself every 2 s; several screens share one read through a
short cache; everything personal arrives masked from core.board; every value is escaped.

Made for a 1920×1080 TV seen from 5 m: the whole board is one block sized to the screen (no
scroll); rows are tall, the chart is drawn in HTML with large labels; what does not fit rotates
(ranking and team pages turn every ROTATE_S seconds, the same page on every screen). A phone
gets one column. The TV follows the event the manager pinned (上大屏); a signed-in manager sees
the pin button and the ranking rule above the board."""
from __future__ import annotations

import os
import time

import streamlit as st

from core import board
from core.config import settings
from core.events import find_event
from core.store import read_session
from pages.common import desk_action, engine, esc, station, tr

REFRESH_S = float(os.environ.get("RENEWDAY_BOARD_REFRESH_S", "2"))  # the benchmark shortens it
ROTATE_S = 8  # a page of the ranking (or of the teams) stays this long when not all fit
RANK_ROWS = 13  # ranking rows per page at 1080p
TEAM_ROWS = 4
TICKER_ROWS = 4
CHART_SLOTS = 10  # the latest half hours in the chart
RULE_LABEL = {"renewals": "board.rule_renewals", "premium": "board.rule_premium"}
TAG = {"renewal": "board.tag_renewal", "win": "board.tag_win"}
ss = st.session_state
me = station()

CHROME = """[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"], footer {display: none !important;}
.block-container {padding-top: 8px !important;}"""  # the TV: no menu, no header

st.html("""<style>
%s
.block-container {padding-bottom: 0 !important; padding-left: 16px !important; padding-right: 16px !important;
  max-width: 100%% !important;}
:root {--u: min(calc(100vh / 1080), calc(100vw / 1920)); --valh: calc(30 * var(--u));}  /* 1px at 1920×1080, scales */
.rd-board {font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; color: #1b1b1b;}
.rd-screen {height: calc(100vh - calc(24 * var(--u))); display: flex; flex-direction: column; gap: calc(12 * var(--u)); overflow: hidden;}
.rd-title {font-size: calc(40 * var(--u)); line-height: calc(56 * var(--u)); font-weight: 800; color: #b22222; display: flex;
  justify-content: space-between; gap: calc(16 * var(--u)); white-space: nowrap; word-break: keep-all;}
.rd-title .name {overflow: hidden; text-overflow: ellipsis; min-width: 0;}
.rd-cards {display: grid; grid-template-columns: repeat(4, 1fr); gap: calc(16 * var(--u));}
.rd-card {background: #fff7f0; border-radius: calc(16 * var(--u)); padding: calc(8 * var(--u)) calc(20 * var(--u)) calc(12 * var(--u)); border: 3px solid #f0c8a0; min-width: 0;}
.rd-card .l {font-size: calc(26 * var(--u)); line-height: calc(34 * var(--u)); color: #555; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;}
.rd-card .v {font-size: calc(56 * var(--u)); line-height: calc(64 * var(--u)); font-weight: 800;}
.rd-bar {height: calc(12 * var(--u)); background: #eee; border-radius: calc(6 * var(--u)); overflow: hidden; margin-top: calc(4 * var(--u));}
.rd-bar > div {height: 100%%; background: #d9480f;}
.rd-main {flex: 1; min-height: 0; display: grid; grid-template-columns: 11fr 9fr; gap: calc(20 * var(--u));}
.rd-col {display: flex; flex-direction: column; gap: calc(12 * var(--u)); min-height: 0; min-width: 0;}
.rd-panel {background: #fff; border: 2px solid #f1e3d3; border-radius: calc(14 * var(--u)); padding: calc(4 * var(--u)) calc(12 * var(--u)); min-width: 0;}
.rd-head {display: flex; justify-content: space-between; align-items: baseline; font-size: calc(26 * var(--u)); line-height: calc(40 * var(--u));
  color: #8a3b12; font-weight: 700;}
.rd-head .sub {font-size: calc(24 * var(--u)); color: #777; font-weight: 400;}
.rd-rank {width: 100%%; border-collapse: collapse; table-layout: fixed;}
.rd-rank th {font-size: calc(24 * var(--u)); height: calc(44 * var(--u)); color: #666; text-align: left; padding: 0 calc(8 * var(--u)); font-weight: 600;}
.rd-rank td {font-size: calc(30 * var(--u)); height: calc(52 * var(--u)); padding: 0 calc(8 * var(--u)); border-top: 1px solid #eee; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis;}
.rd-rank td.n, .rd-rank th.n {text-align: right;}
.rd-rank.small td {font-size: calc(28 * var(--u)); height: calc(46 * var(--u));}
.rd-rank tr.top1 {background: #ffe066;} .rd-rank tr.top2 {background: #e9ecef;} .rd-rank tr.top3 {background: #f4d1a6;}
.rd-up {color: #2b8a3e;} .rd-down {color: #c92a2a;}
.rd-rank tr.rd-zero td {color: #888;} .rd-rank tr.rd-more td {color: #888; font-size: calc(24 * var(--u)); text-align: center;}
.rd-ticker div {font-size: calc(26 * var(--u)); line-height: calc(42 * var(--u)); border-bottom: 1px dashed #ddd; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis;}
.rd-tag {display: inline-block; font-size: calc(24 * var(--u)); line-height: calc(32 * var(--u)); padding: 0 calc(8 * var(--u)); margin-right: calc(8 * var(--u)); border-radius: calc(8 * var(--u));
  color: #fff; background: #2b8a3e;} .rd-tag.win {background: #d9480f;}
@media (min-width: 761px) and (min-aspect-ratio: 1/1) {.rd-off {display: none;}}  /* the TV: one page at a time */
.rd-new {animation: rdflash 2s ease-out 1; background: #fff3bf;}
@keyframes rdflash {from {background: #ffd43b;} to {background: #fff3bf;}}
.rd-chartbox {flex: 1; min-height: calc(180 * var(--u)); display: flex; flex-direction: column;}
.rd-chart {flex: 1; min-height: 0; display: flex; align-items: stretch; gap: calc(8 * var(--u)); padding-top: calc(4 * var(--u));}
.rd-chart .slot {flex: 1; min-width: 0; display: flex; flex-direction: column; align-items: center;}
.rd-chart .bararea {flex: 1; min-height: 0; width: 100%%; display: flex; flex-direction: column; justify-content: flex-end;
  align-items: center;}
.rd-chart .val {font-size: calc(24 * var(--u)); line-height: calc(30 * var(--u)); font-weight: 700;}
.rd-chart .bar {width: 70%%; background: #d9480f; border-radius: calc(6 * var(--u)) calc(6 * var(--u)) 0 0; min-height: 2px;}
.rd-chart .lab {font-size: calc(24 * var(--u)); line-height: calc(32 * var(--u)); color: #444; white-space: nowrap;}
.rd-empty {font-size: calc(32 * var(--u)); color: #888; padding: calc(24 * var(--u)); text-align: center;}
.rd-page {font-size: calc(24 * var(--u)); color: #999;}
@media (max-width: 760px), (max-aspect-ratio: 1/1) {  /* a phone, a tablet upright: one column that scrolls */
  :root {--u: 0.6px; --valh: 18px;}
  .block-container {padding-left: 8px !important; padding-right: 8px !important;}
  .rd-screen {height: auto; overflow: visible;}
  .rd-title {font-size: 22px; line-height: 30px; flex-wrap: wrap; white-space: normal;}
  .rd-title .name {white-space: normal; overflow: visible;}
  .rd-cards {grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px;}
  .rd-card {padding: 6px 10px 8px; border-width: 2px;}
  .rd-card .l {font-size: 15px; line-height: 22px;} .rd-card .v {font-size: 32px; line-height: 40px;}
  .rd-main {grid-template-columns: minmax(0, 1fr);}
  .rd-head {font-size: 18px; line-height: 30px;} .rd-head .sub, .rd-page {font-size: 14px;}
  .rd-rank th {font-size: 14px; height: 32px; padding: 0 4px;}
  .rd-rank td, .rd-rank.small td {font-size: 18px; height: 40px; padding: 0 4px;}
  .rd-ticker div {font-size: 16px; line-height: 30px;} .rd-tag {font-size: 14px; line-height: 22px;}
  .rd-page, .rd-tvonly {display: none;}
  .rd-chartbox {min-height: 220px;}
  .rd-chart {gap: 2px; height: 200px; flex: none;}
  .rd-chart .val, .rd-chart .lab {font-size: 12px; line-height: 18px;}
}
</style>""" % ("" if me is not None else CHROME))


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=16)
def cached_snapshot(url: str, event_id: int) -> dict:
    """At most one database read a second, whatever the number of screens; with the 2 s tick a
    renewal reaches every screen within 3 s."""
    return board.snapshot(engine(), event_id)


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=4)
def cached_board_event(url: str) -> int | None:
    """The event the TV follows (pinned, else today's): a new pin reaches every screen within 3 s."""
    ev = board.board_event(engine())
    return ev.id if ev else None


@st.cache_data(ttl=1.5, show_spinner=False, max_entries=16)
def cached_group(url: str, event_date: str) -> list[dict]:
    from datetime import date

    return board.group_board(engine(), date.fromisoformat(event_date))


def fixed_event_id() -> int | None:
    """?event= pins this screen; a signed-in station sees its own event; else follow the pin."""
    ref = st.query_params.get("event")
    if ref:
        with read_session(engine()) as s:
            ev = find_event(s, ref)
        if ev:
            return ev.id
    return me.event_id if me is not None else None


def pct(n, target) -> float:
    return min(100.0, 100.0 * n / target) if target else 0.0


def card(label: str, value: str, target_text: str, share: float) -> str:
    return (f"<div class='rd-card'><div class='l'>{label}</div><div class='v'>{value}</div>"
            f"<div class='l'>{target_text}</div><div class='rd-bar'><div style='width:{share:.0f}%'></div></div></div>")


def wan(fen: int) -> str:
    return f"{fen / 1_000_000:.1f}"


def page_of(items: list, per_page: int) -> tuple[list[tuple[dict, str]], str]:
    """Every item with its CSS class ('' on the page to show now, the same on every screen;
    'rd-off' on the others, hidden on a TV and shown on a phone, which scrolls), and '2/3'
    when there is more than one page."""
    pages = max(1, -(-len(items) // per_page))
    if pages == 1:
        return [(it, "") for it in items], ""
    i = int(time.time() // ROTATE_S) % pages
    return ([(it, "" if i * per_page <= n < (i + 1) * per_page else "rd-off") for n, it in enumerate(items)],
            f"<span class='rd-page'> · {i + 1}/{pages}</span>")


def ranking_rows(ranking: list[dict], per_page: int = RANK_ROWS) -> tuple[list[tuple[dict, str]], str, int]:
    """The ranked first (paged as page_of does), then the unranked (no renewal yet, shown with "—")
    filling the room left on the last page; those left out are counted in one TV-only row
    ("另有 N 位尚未开单") instead of adding pages. The phone, which scrolls, shows every row."""
    ranked = [r for r in ranking if r["rank"] is not None]
    unranked = [r for r in ranking if r["rank"] is None]
    if unranked and len(ranking) > per_page:
        per_page -= 1  # one row for the count of the others
    pages = max(1, -(-len(ranked) // per_page))
    room = pages * per_page - len(ranked)
    rows, page = page_of(ranked + unranked[:room], per_page)
    return rows + [(r, "rd-off") for r in unranked[room:]], page, max(0, len(unranked) - room)


def ranking_panel(snap: dict) -> str:
    rule = snap.get("rule", "renewals")
    rows, page, not_shown = ranking_rows(snap["ranking"])
    body = []
    for r, off in rows:
        arrow = {"up": "<span class='rd-up'>▲</span>", "down": "<span class='rd-down'>▼</span>"}.get(r.get("move", ""), "")
        if r["rank"] is None:
            cls, place = f"rd-zero {off}", "—"
        else:
            cls, place = (f"top{r['rank']} {off}" if r["rank"] <= 3 else off), f"{r['rank']} {arrow}"
        body.append(f"<tr class='{cls}'><td>{place}</td><td>{esc(r['name'])}</td><td class='n'>{r['renewals']}</td>"
                    f"<td class='n'>{wan(r['premium_fen'])}</td><td class='n'>{r['arrivals']}</td></tr>")
    if not_shown:
        body.append(f"<tr class='rd-more rd-tvonly'><td colspan='5'>{tr('board.unranked_more', n=not_shown)}</td></tr>")
    head = (f"<div class='rd-head'><span>{tr('board.ranking')}</span><span class='sub'>{tr(RULE_LABEL[rule])}"
            f"{page}</span></div>")
    return (f"<div class='rd-panel rd-ranking'>{head}<table class='rd-rank'>"
            f"<colgroup><col style='width:16%'><col style='width:34%'><col style='width:16%'><col style='width:17%'>"
            f"<col style='width:17%'></colgroup><tr><th>{tr('board.rank')}</th><th>{tr('board.advisor')}</th>"
            f"<th class='n'>{tr('board.renewals_short')}</th><th class='n'>{tr('board.premium_short')}</th>"
            f"<th class='n'>{tr('board.arrivals_short')}</th></tr>" + "".join(body) + "</table></div>")


def teams_panel(snap: dict) -> str:
    if not snap["teams"]:
        return ""
    rows, page = page_of(snap["teams"], TEAM_ROWS)
    body = "".join(f"<tr class='{off}'><td>{esc(tm['team']) or tr('board.team_other')}</td><td class='n'>{tm['renewals']}</td>"
                   f"<td class='n'>{wan(tm['premium_fen'])}</td><td class='n'>{tm['arrivals']}</td></tr>" for tm, off in rows)
    return (f"<div class='rd-panel rd-teams'><table class='rd-rank small'><colgroup><col style='width:40%'>"
            f"<col style='width:20%'><col style='width:20%'><col style='width:20%'></colgroup>"
            f"<tr><th>{tr('board.team')}{page}</th><th class='n'>{tr('board.renewals_short')}</th>"
            f"<th class='n'>{tr('board.premium_short')}</th><th class='n'>{tr('board.arrivals_short')}</th></tr>{body}"
            "</table></div>")


def ticker_panel(snap: dict) -> str:
    t = snap["totals"]
    items = sorted(snap["ticker"] + snap["wins"], key=lambda x: (x["at"], x["id"]), reverse=True)[:TICKER_ROWS]
    newest = snap["ticker"][0]["id"] if snap["ticker"] else None
    is_new = newest is not None and newest != ss.get("board_last_renewal")
    ss["board_last_renewal"] = newest
    if not items:
        return f"<div class='rd-panel rd-empty'>{tr('board.wait_renewal') if t['arrived'] else tr('board.wait_arrival')}</div>"
    return "<div class='rd-panel rd-ticker'>" + "".join(
        f"<div class='{'rd-new' if is_new and it['id'] == newest else ''}'>{it['at']} · "
        f"<span class='rd-tag {it['kind']}'>{tr(TAG[it['kind']])}</span>"
        f"{tr('board.won', who=esc(it['who']), prize=esc(it['prize'])) if it['kind'] == 'win' else esc(it['text'])}</div>"
        for it in items) + "</div>"


def chart_panel(snap: dict) -> str:
    slots = snap["rhythm"][-CHART_SLOTS:]
    if not slots:
        return ""
    top = max(s["renewals"] for s in slots) or 1
    bars = "".join(f"<div class='slot'><div class='bararea'><div class='val'>{s['renewals']}</div>"
                   f"<div class='bar' style='height:calc((100% - var(--valh)) * {s['renewals'] / top:.3f})'></div></div>"
                   f"<div class='lab'>{esc(s['slot'])}</div></div>" for s in slots)
    return (f"<div class='rd-panel rd-chartbox'><div class='rd-head'><span>{tr('board.rhythm')}</span></div>"
            f"<div class='rd-chart'>{bars}</div></div>")


@st.fragment(run_every=REFRESH_S)
def live_board(event_id: int | None) -> None:
    url = settings().database_url
    event_id = event_id or cached_board_event(url)
    snap = cached_snapshot(url, event_id) if event_id else {}
    ss["board_ticks"] = ss.get("board_ticks", 0) + 1
    ticks = f"<span class='rd-ticks' data-n='{ss['board_ticks']}' style='display:none'></span>"
    if not snap:
        st.html(f"{ticks}<div class='rd-empty'>{tr('board.no_event')}</div>")
        return
    t = snap["totals"]
    conv = f"{t['conversion'] * 100:.0f}%" if t["conversion"] is not None else "—"
    title = " · ".join(esc(x) for x in (tr("page.board"), snap["event"]["store"], snap["event"]["name"]) if x)
    html = [ticks, f"<div class='rd-board rd-screen' data-event='{snap['event']['id']}'>",
            f"<div class='rd-title'><span class='name'>{title}</span><span>{snap['as_of']}</span></div><div class='rd-cards'>",
            card(tr("board.arrived"), f"{t['arrived']}", tr("board.target", n=t["target_arrivals"]), pct(t["arrived"], t["target_arrivals"])),
            card(tr("board.renewals"), f"{t['renewals']}", tr("board.target", n=t["target_renewals"]), pct(t["renewals"], t["target_renewals"])),
            card(tr("board.premium"), wan(t["premium_fen"]), tr("board.target_wan", n=wan(t["target_premium_fen"])),
                 pct(t["premium_fen"], t["target_premium_fen"])),
            card(tr("board.conversion"), conv, tr("board.conversion_hint"), (t["conversion"] or 0) * 100), "</div>",
            "<div class='rd-main'><div class='rd-col'>", ranking_panel(snap) if snap["ranking"] else "", "</div>",
            "<div class='rd-col'>", teams_panel(snap), ticker_panel(snap), chart_panel(snap), "</div></div></div>"]
    st.html("".join(html))


@st.fragment(run_every=REFRESH_S * 2)
def live_group(event_date: str) -> None:
    rows = cached_group(settings().database_url, event_date)
    head = (f"<tr><th>{tr('board.rank')}</th><th>{tr('board.store')}</th><th class='n'>{tr('board.renewals_short')}</th>"
            f"<th class='n'>{tr('board.premium_short')}</th><th class='n'>{tr('board.arrivals_short')}</th></tr>")
    st.html("<div class='rd-board'><div class='rd-title'>" + tr("board.group_title") + "</div><table class='rd-rank'>" + head + "".join(
        f"<tr class='{'top' + str(r['rank']) if r['rank'] is not None and r['rank'] <= 3 else 'rd-zero'}'>"
        f"<td>{r['rank'] or '—'}</td>"
        f"<td>{esc(r['name'])}</td><td class='n'>{r['renewals']}</td><td class='n'>{wan(r['premium_fen'])}</td>"
        f"<td class='n'>{r['arrivals']}</td></tr>" for r in rows) + "</table></div>")


def manager_controls(event_id: int) -> None:
    """上大屏 and the ranking rule, for a signed-in manager (never on the TV, nobody signs in there)."""
    eng = engine()
    pinned = board.pinned_event_id(eng)
    c1, c2 = st.columns([1, 1])
    with c1:
        if pinned == event_id:
            st.success(tr("board.on_tv"))
        else:
            st.caption(tr("board.not_on_tv"))
            if st.button(tr("board.pin"), key="board_pin", type="primary"):
                with desk_action():
                    board.pin_event(eng, event_id=event_id, staff_id=me.staff_id, desk=me.desk)
                    cached_board_event.clear()
                    st.rerun()
    with c2:
        current = board.rank_rule(eng, event_id)
        choice = st.radio(tr("board.rule"), board.RULES, index=board.RULES.index(current), horizontal=True,
                          key="board_rule", format_func=lambda r: tr(RULE_LABEL[r]))
        if choice != current:
            with desk_action():
                board.set_rank_rule(eng, event_id=event_id, rule=choice, staff_id=me.staff_id, desk=me.desk)
                cached_snapshot.clear()


fixed = fixed_event_id()
if st.query_params.get("view") == "group":
    ev_id = fixed or cached_board_event(settings().database_url)
    with read_session(engine()) as s:
        ev = find_event(s, ev_id) if ev_id else None
    if ev is None:
        st.html(f"<div class='rd-empty'>{tr('board.no_event')}</div>")
    else:
        live_group(ev.event_date.isoformat())
else:
    if me is not None and me.is_manager and fixed:
        manager_controls(fixed)
    live_board(fixed)
