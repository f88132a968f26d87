"""The TV is never touched: after the server (or the Wi-Fi) drops and comes back, the board
reconnects by itself and shows what happened meanwhile."""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from core import cashier, checkin
from core.models import Invitation
from core.privacy import mask_name
from core.store import read_session
from tests.e2e.conftest import shot
from tests.e2e.server import free_port, start_streamlit
from tests.conftest import desk_staff

pytestmark = pytest.mark.browser


def serve(env: dict, port: int):
    return start_streamlit("app.py", env, port)


def test_board_recovers_after_the_server_drops(app, browser):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app.db_url}
    server = serve(env, port)
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    try:
        page.goto(f"http://127.0.0.1:{port}/board", wait_until="domcontentloaded")
        page.get_by_text("风云榜").first.wait_for(timeout=20000)
        server.terminate()  # the connection drops: server gone (as with the Wi-Fi)
        server.wait(10)
        time.sleep(3)
        with read_session(app.engine) as s:
            code = s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id)
                             .order_by(Invitation.id).offset(20).limit(1)).scalar_one()
        guest = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
        cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=guest["invitation_id"],
                               vehicle_id=guest["vehicles"][0]["id"], insurer="大地", compulsory="950",
                               commercial="1800", vehicle_tax="0", payment_method="cash", desk="收银台2", staff_id=desk_staff(app.engine))
        server = serve(env, port)  # back on the same address; nobody touches the TV
        page.get_by_text(f"{mask_name(guest['name'])} · ").first.wait_for(timeout=60000)
        shot(page, "board-after-reconnect")
    finally:
        page.close()
        server.terminate()
