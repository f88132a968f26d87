"""The TV is never touched: after the server (or the Wi-Fi) drops and comes back, the board
reconnects by itself and shows what happened meanwhile."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from sqlalchemy import select

from core import cashier, checkin
from core.models import Invitation
from core.privacy import mask_name
from core.store import read_session
from tests.e2e.conftest import ROOT, free_port, shot

pytestmark = pytest.mark.browser


def serve(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("streamlit did not start")


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
                               commercial="1800", vehicle_tax="0", payment_method="cash", desk="收银台2", staff_id=None)
        server = serve(env, port)  # back on the same address; nobody touches the TV
        page.get_by_text(f"{mask_name(guest['name'])} · ").first.wait_for(timeout=60000)
        shot(page, "board-after-reconnect")
    finally:
        page.close()
        server.terminate()
