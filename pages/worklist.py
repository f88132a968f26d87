"""我的客户: a caller's list on a phone — the next call on top, a call logged in a few taps, and
(live) which of their guests arrived, renewed or are waiting. A manager sees any caller's list."""
from datetime import time as dtime

import streamlit as st

from core import calls
from core.models import CALL_OUTCOMES, CALL_REASONS
from pages.common import desk_action, engine, esc, require_station, tr

me = require_station("worklist")
eng = engine()
ss = st.session_state
ARRIVALS = [""] + [dtime(h, m).strftime("%H:%M") for h in range(9, 18) for m in (0, 30)]
st.html("""<style>
  [data-testid='stMainBlockContainer']{max-width:760px}
  .rd-card{border:1px solid #ddd;border-radius:14px;padding:.8rem 1rem;background:#fafafa}
  .rd-card .nm{font-size:1.35rem;font-weight:700}
  .rd-tag{display:inline-block;border-radius:8px;padding:0 .45rem;margin-right:.3rem;font-size:.85rem;background:#eef}
  .rd-call{display:block;text-align:center;margin:.6rem 0;padding:.75rem;border-radius:12px;background:#0b7a3b;
           color:#fff !important;font-size:1.3rem;font-weight:700;text-decoration:none}
  .rd-list div{padding:.35rem 0;border-bottom:1px solid #eee}
</style>""")

st.title(tr("page.worklist"))
caller_id = me.staff_id
if me.is_manager:
    people = calls.callers(eng)
    pick = st.selectbox(tr("worklist.caller"), [None] + [p.id for p in people], key="wl_caller",
                        format_func=lambda pid: tr("worklist.filter_all") if pid is None
                        else next(p.name for p in people if p.id == pid))
    caller_id = pick


@st.cache_data(ttl=1, show_spinner=False)
def _status(url: str, event_id: int, caller: int | None) -> dict:
    return calls.my_guests_status(eng, event_id=event_id, caller_id=caller)


@st.fragment(run_every=2)
def live() -> None:
    """Refreshed every 2 s from a 1 s cache: an arrival shows within 3 s."""
    data = _status(eng.url.render_as_string(hide_password=True), me.event_id, caller_id)
    st.subheader(tr("worklist.live_title"))
    cells = [(tr("worklist.live_arrived"), data["arrived"]), (tr("worklist.live_renewed"), data["renewed"]),
             (tr("worklist.live_waiting"), data["waiting"]), (tr("worklist.live_confirmed"), data["confirmed"])]
    st.html("<div class='rd-live-counts' style='display:flex;gap:1.2rem;flex-wrap:wrap'>" + "".join(
        f"<div><div style='color:#555'>{esc(k)}</div><div style='font-size:1.8rem;font-weight:700'>{v}</div></div>"
        for k, v in cells) + "</div>")
    if not data["guests"]:
        st.info(tr("worklist.live_none"))
        return
    rows = []
    for g in data["guests"]:
        badge = tr("worklist.live_renewed_badge") if g["renewed"] else tr("worklist.live_waiting_badge")
        rows.append(f"<div><b>{esc(g['name'])}</b> · {esc(g['phone'])}<br>"
                    f"<span style='color:#555'>{g['at']:%H:%M} · {esc(g['desk'])} · {g['party_size']}人</span> · {badge}</div>")
    st.html("<div class='rd-list rd-live'>" + "".join(rows) + "</div>")


def outcome_label(o: str | None) -> str:
    return tr(f"outcome.{o}") if o else "—"


def standing_label(g: dict) -> str:
    """The customer's standing, and that the latest call reached nobody: 确定 · 复核未接通."""
    if not g["kept"]:
        return outcome_label(g["outcome"])
    return f"{outcome_label(g['outcome'])} · {tr('worklist.kept_reconfirm' if g['outcome'] == 'confirmed' else 'worklist.kept_last')}"


def clear_form() -> None:
    """Called before the form's widgets are drawn. Values are assigned, not popped: a popped key left
    the phone showing (and sending back on the next tap) the last customer's outcome."""
    ss.update({"wl_outcome": None, "wl_reason": None, "wl_arrival": ARRIVALS[0], "wl_note": "", "wl_sms": False,
               "wl_receipt": False})
    ss.pop("wl_party", None)  # its default is the customer's own party size


def save_call(g: dict) -> None:
    outcome = ss.get("wl_outcome")
    with desk_action():
        out = calls.log_call(eng, invitation_id=g["invitation_id"], outcome=outcome or "",
                             reason=ss.get("wl_reason") or "", party_size=ss.get("wl_party") or 1,
                             expected_arrival=ss.get("wl_arrival") or "", note=ss.get("wl_note") or "",
                             sms_sent=bool(ss.get("wl_sms")), sms_receipt=bool(ss.get("wl_receipt")),
                             staff_id=me.staff_id, desk=me.desk)
        ss["wl_done"] = (tr("worklist.saved_kept", name=g["name"], outcome=outcome_label(outcome),
                            standing=outcome_label(out["standing"])) if out.get("kept")
                         else tr("worklist.saved", name=g["name"], outcome=outcome_label(outcome)))
        ss["wl_form_for"] = None  # the next run clears the form before drawing it
        ss["wl_gen"] = ss.get("wl_gen", 0) + 1  # a fresh picker: the browser shows the new top customer
        _status.clear()
        st.rerun()


tab_calls, tab_live = st.tabs([tr("worklist.tab_calls"), tr("worklist.tab_live")])
with tab_live:
    live()

with tab_calls:
    rows = calls.worklist(eng, event_id=me.event_id, caller_id=caller_id)
    if not rows:
        st.info(tr("worklist.empty"))
        st.stop()
    todo = [g for g in rows if g["rank"] <= calls.RANK_FOLLOW_UP]
    c = calls.caller_counts(eng, event_id=me.event_id, caller_id=caller_id)  # the numbers every page shows
    split = [(tr("counts.invited"), c["invited"]["listed"]), (tr("counts.web"), c["web"]["listed"])]
    if c["walk_in"]["listed"]:
        split.append((tr("counts.walk_in"), c["walk_in"]["listed"]))
    st.caption(tr("worklist.summary", n=c["total"]["listed"], todo=len(todo), confirmed=c["total"]["confirmed"],
                  arrived=c["total"]["arrived"]) + "（" + " · ".join(f"{k} {v}" for k, v in split) + "）")
    if ss.get("wl_done"):
        st.success(ss.pop("wl_done"))
    show = st.segmented_control(tr("worklist.filter"), ["todo", "all"], default="todo", key="wl_filter",
                                format_func=lambda v: tr(f"worklist.filter_{v}"))
    shown = todo if show != "all" else rows
    if not shown:
        st.success(tr("worklist.all_done"))
        shown = rows
    by_id = {g["invitation_id"]: g for g in shown}
    pick_key = f"wl_pick_{ss.get('wl_gen', 0)}"
    if ss.get(pick_key) not in by_id:
        ss.pop(pick_key, None)
    pick = st.selectbox(tr("worklist.pick"), list(by_id), key=pick_key,
                        format_func=lambda i: f"{by_id[i]['name']} · {tr('rank.' + calls.RANK_NAMES[by_id[i]['rank']])}")
    g = by_id[pick]
    if ss.get("wl_form_for") != pick:  # another customer: the form starts empty
        clear_form()
        ss["wl_form_for"] = pick
    expiry = g["commercial_expiry"] or g["compulsory_expiry"]
    st.html(f"""<div class='rd-card rd-current'>
      <div class='nm'>{esc(g['name'])}</div>
      <div><span class='rd-tag'>{esc(tr('group.' + g['group']))}</span><span class='rd-tag'>{esc(tr('rank.' + calls.RANK_NAMES[g['rank']]))}</span>
           <span class='rd-tag'>{esc(tr('worklist.calls', n=g['calls']))}</span>
           {'<span class="rd-tag rd-standing">' + esc(standing_label(g)) + '</span>' if g['outcome'] else ''}</div>
      <div style='margin-top:.3rem'>{esc(g['plates'] or '—')} · {esc(g['models'] or '')}</div>
      <div>{esc(tr('worklist.expiry'))} {esc(expiry or '—')} · {esc(tr('worklist.insurer_last'))} {esc(g['insurer_last'] or '—')}</div>
      {'<div>' + esc(tr('ui.advisor')) + ': ' + esc(g['advisor']) + '</div>' if caller_id is None else ''}
      <a class='rd-call' href='tel:{esc(g['phone'])}'>{esc(tr('worklist.call', phone=g['phone']))}</a>
    </div>""")

    outcome = st.segmented_control(tr("worklist.outcome"), CALL_OUTCOMES, key="wl_outcome", format_func=outcome_label)
    if outcome in CALL_REASONS:
        st.segmented_control(tr("worklist.reason"), CALL_REASONS[outcome], key="wl_reason",
                             format_func=lambda r: tr(f"call_reason.{r}"))
    if outcome == "confirmed":
        c1, c2 = st.columns(2)
        c1.number_input(tr("worklist.party"), min_value=1, max_value=10, value=int(g["party_size"] or 1), key="wl_party")
        c2.selectbox(tr("worklist.arrival"), ARRIVALS, key="wl_arrival", format_func=lambda v: v or "—")
    st.text_input(tr("worklist.note"), key="wl_note", max_chars=300)
    c1, c2 = st.columns(2)
    c1.checkbox(tr("worklist.sms_sent"), key="wl_sms")
    c2.checkbox(tr("worklist.sms_receipt"), key="wl_receipt")
    if st.button(tr("worklist.save"), type="primary", key="wl_save", width="stretch"):
        save_call(g)

    with st.expander(tr("worklist.history") + f" ({g['calls']})"):
        past = calls.history(eng, invitation_id=g["invitation_id"])
        if not past:
            st.caption(tr("worklist.no_history"))
        for c in past:
            extra = " · ".join(x for x in (tr(f"call_reason.{c['reason']}") if c["reason"] else "",
                                           f"{c['party_size']}人 {c['expected_arrival']}" if c["outcome"] == "confirmed" else "",
                                           "📩" if c["sms_sent"] else "", "✅" if c["sms_receipt"] else "",
                                           tr("worklist.still", outcome=outcome_label(c["standing"]))
                                           if c["standing"] != c["outcome"] else "") if x)
            st.html(f"<div style='border-bottom:1px solid #eee;padding:.3rem 0'><b>{c['at']:%m-%d %H:%M}</b> "
                    f"{esc(outcome_label(c['outcome']))} {esc(extra)} · {esc(c['caller'])}"
                    f"{'<br>' + esc(c['note']) if c['note'] else ''}</div>")

    if me.is_manager:
        with st.expander(tr("worklist.reassign")), st.form("wl_reassign"):
            everyone = {r["invitation_id"]: r for r in rows}
            chosen = st.multiselect(tr("worklist.reassign_pick"), list(everyone), key="wl_re_pick",
                                    format_func=lambda i: f"{everyone[i]['name']} · {everyone[i]['advisor'] or '—'}")
            to = st.selectbox(tr("worklist.reassign_to"), [p.id for p in people], key="wl_re_to",
                              format_func=lambda pid: next(p.name for p in people if p.id == pid))
            if st.form_submit_button(tr("worklist.reassign_go")):
                with desk_action():
                    out = calls.reassign(eng, invitation_ids=chosen, to_caller_id=to, staff_id=me.staff_id, desk=me.desk)
                    st.success(tr("worklist.reassigned", n=out["moved"], name=next(p.name for p in people if p.id == to)))

    items = "".join(f"<div>{'👉 ' if r['invitation_id'] == pick else ''}<b>{esc(r['name'])}</b> · {esc(r['phone'])} · "
                    f"<span style='color:#555'>{esc(tr('rank.' + calls.RANK_NAMES[r['rank']]))}</span></div>" for r in shown[:40])
    st.html(f"<div class='rd-list rd-queue'>{items}</div>")
