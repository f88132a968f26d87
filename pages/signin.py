"""Station sign-in: who is at this tablet, which desk, which event."""
import streamlit as st

from core.errors import DeskError
from core.events import list_events
from core.security import DESKS, demo_store, sign_in, staff_for_desk
from core.store import read_session
from pages.common import desk_action, engine, refusal_text, start_station, tr


st.title(tr("signin.title"))
st.radio(tr("ui.language"), ["zh-CN", "en"], key="signin_lang", horizontal=True,
         format_func=lambda v: "中文" if v == "zh-CN" else "English")
eng = engine()
events = list_events(eng)
if not events:
    st.info(tr("signin.empty_store"))
    st.stop()
with read_session(eng) as s:
    if demo_store(s):  # the demo PIN is shown on a store that holds only demo events
        st.caption(tr("signin.demo_hint"))

event = st.selectbox(tr("ui.event"), events, format_func=lambda e: f"{e.name}（{e.event_date}）")
# Staff are listed only once a desk is chosen, and only those who may sign in there.
desk = st.selectbox(tr("ui.desk"), DESKS, index=None, placeholder=tr("signin.desk_first"), key="signin_desk")
if desk is None:
    st.stop()
staff = staff_for_desk(eng, desk)
if not staff:
    st.info(tr("signin.nobody_for_desk"))
    st.stop()
with st.form("signin"):
    person = st.selectbox(tr("signin.staff"), staff, format_func=lambda p: f"{p.name} · {tr('role.' + p.role)}")
    pin = st.text_input(tr("signin.pin"), type="password", key="signin_pin")
    submitted = st.form_submit_button(tr("signin.submit"), type="primary")
if submitted:
    with desk_action():
        try:
            who = sign_in(eng, staff_id=person.id, pin=pin or "", desk=desk, event_id=event.id)
        except DeskError as e:
            st.error(refusal_text(e))
            st.stop()
        start_station(staff_id=who.id, staff_name=who.name, role=who.role, desk=desk, event_id=event.id,
                      event_name=event.name, event_date=event.event_date, lang_code=st.session_state.get("signin_lang", "zh-CN"))
        st.rerun()
