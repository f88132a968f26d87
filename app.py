"""RenewDay 续保直销会现场系统: page config, station sign-in, navigation built from the role."""
from __future__ import annotations

import streamlit as st

from core.staff import store_is_empty
from pages.common import (DESK_ROLES, chrome_texts, engine, esc, home_page, restore_station, set_station_lang, sign_out,
                          start_notifier, sync_cookie, tr)

st.set_page_config(page_title="RenewDay 续保直销会", page_icon="🚗", layout="wide")
start_notifier()  # arrivals of confirmed guests to the store's WeCom robot, in the background

PAGES = {
    "checkin": ("pages/checkin.py", "page.checkin", "📷"),
    "cashier": ("pages/cashier.py", "page.cashier", "💴"),
    "gifts": ("pages/gifts.py", "page.gifts", "🎁"),
    "board": ("pages/board.py", "page.board", "🏆"),
    "setup": ("pages/setup.py", "page.setup", "⚙️"),
    "import": ("pages/import_guests.py", "page.import", "📥"),
    "finance": ("pages/finance.py", "page.finance", "🧾"),
    "audit": ("pages/audit.py", "page.audit", "🔍"),
    "worklist": ("pages/worklist.py", "page.worklist", "📞"),
    "report": ("pages/report.py", "page.report", "📝"),
    "results": ("pages/results.py", "page.results", "📊"),
}


def page(name: str, default: bool = False) -> st.Page:
    path, title, icon = PAGES[name]
    return st.Page(path, title=tr(title), icon=icon, url_path=name, default=default)


current = restore_station()  # a reload or a server restart keeps the station
board = page("board")
if current is None and store_is_empty(engine()):
    # An empty store: the first-run page creates the manager and the first event (no demo data).
    nav = st.navigation([st.Page("pages/first_run.py", title=tr("firstrun.title"), icon="🔑", url_path="first-run",
                                 default=True)], position="hidden")
elif current is None:
    if st.session_state.pop("first_run_done", False):
        st.success(tr("firstrun.done"))
    # Not signed in: the sign-in page, and the board for the TV (no menu, nothing else reachable).
    nav = st.navigation([st.Page("pages/signin.py", title=tr("page.signin"), icon="🔑", url_path="signin", default=True),
                        board], position="hidden")
else:
    allowed = [name for name, roles in DESK_ROLES.items() if roles is None or current.role in roles]
    desks = [n for n in allowed if n != "board"]
    home = home_page(current.desk, desks)
    desk_pages = [page(n, default=(n == home)) for n in desks]
    nav = st.navigation(desk_pages + [board], position="sidebar")
    with st.sidebar:
        st.markdown(f"**{esc(current.staff_name)}** · {tr('role.' + current.role)}  \n{tr('ui.desk')}: "
                    f"**{esc(current.desk)}**  \n{esc(current.event_name)}")
        st.button(tr("ui.sign_out"), key="sign_out", on_click=sign_out)
        st.session_state.setdefault("station_lang", current.lang)
        st.radio(tr("ui.language"), ["zh-CN", "en"], key="station_lang", horizontal=True, on_change=set_station_lang,
                 format_func=lambda v: "中文" if v == "zh-CN" else "English")
        st.session_state.setdefault("desk_sound", True)
        st.toggle(tr("desk.sound"), key="desk_sound")
        sync_cookie()
        chrome_texts()
if current is None:
    sync_cookie()  # removes a signed-out or expired station's cookie
    chrome_texts()
nav.run()
