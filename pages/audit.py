"""审计日志 (manager): every attempt at every desk, filtered and exported."""
import pandas as pd
import streamlit as st

from core.audit import action_label, audit_actions, audit_rows, detail_info, detail_text, export_audit, result_label
from core.events import list_staff
from pages.common import desk_action, engine, lang, private_download, require_station, tr

station = require_station("audit")
eng = engine()
st.title(tr("page.audit"))

c1, c2, c3, c4 = st.columns(4)


def action_name(a: str | None) -> str:
    return tr("audit.all") if a is None else action_label(a, lang())


action = c1.selectbox(tr("audit.action"), [None, *audit_actions(eng)], format_func=action_name, key="audit_action")
people = list_staff(eng, active_only=False)
who = c2.selectbox(tr("audit.staff"), [None, *people], format_func=lambda p: p.name if p else tr("audit.all"),
                   key="audit_staff")
OUTCOMES = {None: tr("audit.all"), "ok": tr("audit.outcome_ok"), "refused": tr("audit.outcome_refused")}
outcome = c3.selectbox(tr("audit.outcome"), list(OUTCOMES), key="audit_outcome", format_func=OUTCOMES.get)
text = c4.text_input(tr("audit.text"), key="audit_text")
this_event = st.checkbox(tr("audit.this_event"), value=True, key="audit_this_event")
filters = {"action": action, "by_staff": who.id if who else None, "outcome": outcome, "text": text}
rows = audit_rows(eng, event_id=station.event_id if this_event else None, limit=500, **filters)
st.caption(tr("audit.shown", n=len(rows)))
# Codes and JSON in words: what was done, what came of it (the desk's own message), the detail as "key: value".
st.dataframe(pd.DataFrame([{tr("audit.col_at"): r["at"].strftime("%m-%d %H:%M:%S"), tr("ui.desk"): r["desk"],
                            tr("audit.staff"): r["staff"], tr("audit.action"): action_name(r["action"]),
                            tr("audit.outcome"): ("✓ " if r["result"] == "ok" else "✗ ")
                            + result_label(r["result"], lang(), detail_info(r["detail"])),
                            tr("audit.col_raw"): r["raw"], tr("audit.col_detail"): detail_text(r["detail"], lang())[:400]}
                           for r in rows]),
             hide_index=True, width="stretch", height=480,
             column_config={tr("audit.outcome"): st.column_config.TextColumn(width="medium"),  # a refusal's whole message
                            tr("audit.col_raw"): st.column_config.TextColumn(width="small"),
                            tr("audit.col_detail"): st.column_config.TextColumn(width="large")})
if st.button(tr("audit.prepare_export"), key="audit_prepare"):
    with desk_action():
        st.session_state["audit_xlsx"] = export_audit(eng, staff_id=station.staff_id, desk=station.desk, lang=lang(),
                                                      event_id=station.event_id if this_event else None, **filters)
if st.session_state.get("audit_xlsx"):
    private_download(tr("audit.download"), st.session_state["audit_xlsx"], file_name="audit.xlsx",
                     mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="audit_download")
