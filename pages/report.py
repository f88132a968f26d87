"""回访晚报: the nightly report text to paste into WeChat, the day's plan, every caller's figures
and progress per day; the WeCom robot for arrival messages."""
import pandas as pd
import streamlit as st

from core import calls, notify, reports
from core.clock import now
from core.models import CALL_OUTCOMES
from pages.common import desk_action, engine, require_station, start_notifier, tr

me = require_station("report")
eng = engine()
ss = st.session_state

st.title(tr("page.report"))
day = st.date_input(tr("report.day"), value=now().date(), key="rp_day", format="YYYY-MM-DD")

report = reports.nightly(eng, event_id=me.event_id, day=day)
st.subheader(tr("report.text"))
st.code(report.text, language=None, wrap_lines=True)
if report.total.called == 0:
    st.caption(tr("report.no_calls"))

with st.form("rp_plan"):
    st.markdown(f"**{tr('report.plan')}** · {day:%Y-%m-%d}")
    c1, c2 = st.columns(2)
    planned_calls = c1.number_input(tr("report.planned_calls"), min_value=0, step=1, value=report.planned_calls,
                                    key=f"rp_calls_{day}")
    planned_sms = c2.number_input(tr("report.planned_sms"), min_value=0, step=1, value=report.planned_sms,
                                  key=f"rp_sms_{day}")
    if st.form_submit_button(tr("report.save_plan")):
        with desk_action():
            calls.set_plan(eng, event_id=me.event_id, day=day, planned_calls=planned_calls, planned_sms=planned_sms,
                           staff_id=me.staff_id, desk=me.desk)
            st.rerun()

st.subheader(tr("report.per_caller"))
cols = {"caller": tr("col.caller"), "invited": tr("counts.invited"), "web": tr("counts.web"), "called": tr("col.called"),
        **{o: tr(f"outcome.{o}") for o in CALL_OUTCOMES}, "sms_sent": tr("col.sms_sent"),
        "sms_receipts": tr("col.sms_receipts")}
table = pd.DataFrame(report.per_caller, columns=["caller_id", *cols])
if not table.empty:
    table = table.drop(columns="caller_id").rename(columns=cols)
    totals = {cols["caller"]: tr("results.total"), **{cols[k]: int(table[cols[k]].sum()) for k in cols if k != "caller"}}
    table = pd.concat([table, pd.DataFrame([totals])], ignore_index=True)
    st.dataframe(table, hide_index=True, width="stretch")

days, progress, plans = reports.progress(eng, event_id=me.event_id)
if days:
    st.subheader(tr("report.progress"))
    grid = pd.DataFrame(progress, columns=["caller", *(d.isoformat() for d in days)])
    plan_row = {"caller": tr("report.plan_row"), **{d.isoformat(): plans.get(d, 0) for d in days}}
    grid = pd.concat([pd.DataFrame([plan_row]), grid], ignore_index=True).rename(columns={"caller": tr("col.caller")})
    grid.columns = [c[5:] if c[:4].isdigit() else c for c in grid.columns]  # 11-20
    st.dataframe(grid, hide_index=True, width="stretch")

with st.expander(tr("report.webhook")):
    st.caption(tr("report.webhook_help"))
    with st.form("rp_webhook"):
        url = st.text_input(tr("report.webhook_url"), value=notify.webhook_url(eng), key="rp_webhook_url")
        if st.form_submit_button(tr("report.webhook_save")):
            with desk_action():
                notify.set_webhook_url(eng, url=url, staff_id=me.staff_id, desk=me.desk)
                st.success(tr("ui.saved"))
    n = start_notifier()
    if n is not None:
        st.caption(f"✅ {n.sent} · ❌ {n.failed}" + (f" · {n.last_error}" if n.last_error else ""))
