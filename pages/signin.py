"""Station sign-in: who is at this tablet, which desk, which event."""
import streamlit as st

from core.errors import DeskError
from core.events import list_events, list_staff, sign_in
from pages.common import DESKS, desk_action, engine, refusal_text, start_station, tr

st.title(tr("signin.title"))
st.radio(tr("ui.language"), ["zh-CN", "en"], key="signin_lang", horizontal=True,
         format_func=lambda v: "中文" if v == "zh-CN" else "English")
eng = engine()
events = list_events(eng)
staff = list_staff(eng)
if not events or not staff:
    st.info(tr("signin.empty_store"))
    st.stop()
if any(e.is_demo for e in events):
    st.caption(tr("signin.demo_hint"))

with st.form("signin"):
    event = st.selectbox(tr("ui.event"), events, format_func=lambda e: f"{e.name}（{e.event_date}）")
    person = st.selectbox(tr("signin.staff"), staff, format_func=lambda p: f"{p.name} · {tr('role.' + p.role)}")
    desk = st.selectbox(tr("ui.desk"), DESKS)
    pin = st.text_input(tr("signin.pin"), type="password", key="signin_pin")
    submitted = st.form_submit_button(tr("signin.submit"), type="primary")
if submitted:
    with desk_action():
        try:
            who = sign_in(eng, staff_id=person.id, pin=pin or "")
        except DeskError as e:
            st.error(refusal_text(e))
            st.stop()
        start_station(staff_id=who.id, staff_name=who.name, role=who.role, desk=desk, event_id=event.id,
                      event_name=event.name, event_date=event.event_date, lang_code=st.session_state.get("signin_lang", "zh-CN"))
        st.rerun()
