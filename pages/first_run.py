"""First run of an empty store: create the manager (name + PIN) and the first event."""
import streamlit as st

from core.clock import now
from core.staff import first_run
from pages.common import desk_action, engine, tr

st.title(tr("firstrun.title"))
st.info(tr("firstrun.intro"))
with st.form("first_run"):
    manager = st.text_input(tr("firstrun.manager_name"), key="fr_manager")
    pin = st.text_input(tr("firstrun.pin"), type="password", key="fr_pin")
    pin_again = st.text_input(tr("firstrun.pin_again"), type="password", key="fr_pin_again")
    event_name = st.text_input(tr("setup.event_name"), key="fr_event")
    day = st.date_input(tr("setup.event_date"), value=now().date(), key="fr_date")
    store = st.text_input(tr("setup.store"), key="fr_store")
    submitted = st.form_submit_button(tr("firstrun.submit"), type="primary")
if submitted:
    with desk_action():
        first_run(engine(), manager_name=manager, pin=pin, pin_again=pin_again, event_name=event_name,
                  event_date=day, store_name=store)
        st.session_state["first_run_done"] = True
        st.rerun()
