"""The floor for the scan → verdict figure: one widget that echoes what was typed."""
import streamlit as st


def echo():
    st.session_state["echo_out"] = st.session_state.get("echo_in", "")
    st.session_state["echo_in"] = ""


st.text_input("scan", key="echo_in", on_change=echo)
with st.container(key="echo_verdict"):
    st.html(f"<div>{st.session_state.get('echo_out', '')}</div>")
