"""A station survives a reload and a server restart, in its language, on its own desk; sign-out ends it.
And the screen shows the current guest only (issue 9)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from core import checkin
from core.models import CheckIn, Invitation
from core.store import read_session
from tests.e2e.conftest import burst, choose, shot, sign_in
from tests.e2e.server import free_port, start_streamlit
from tests.conftest import desk_staff

pytestmark = pytest.mark.browser


def fresh_codes(app, n: int) -> list[str]:
    with read_session(app.engine) as s:
        return list(s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id, Invitation.source == "import",
                                                            ~Invitation.cancelled,
                                                            Invitation.id.not_in(select(CheckIn.invitation_id)))
                              .order_by(Invitation.id).limit(n)).scalars())


def heading(page, text: str) -> None:
    page.get_by_role("heading", name=text).first.wait_for()


def test_reload_keeps_the_station_on_its_desk(app, page):
    sign_in(page, app, "郑收银", "收银台1")
    heading(page, "财务收银")  # the cashier's desk lands on 财务收银
    page.reload(wait_until="domcontentloaded")
    heading(page, "财务收银")
    assert page.get_by_text("郑收银").first.is_visible() and page.get_by_text("员工登录").count() == 0
    page.get_by_text("退出登录").click()
    page.get_by_text("员工登录").first.wait_for()
    page.reload(wait_until="domcontentloaded")
    page.get_by_text("员工登录").first.wait_for()  # signed out stays signed out
    page.wait_for_timeout(500)
    assert page.get_by_text("退出登录").count() == 0


def test_english_chosen_at_sign_in_stays(app, page):
    page.goto(app.url + "/", wait_until="domcontentloaded")
    page.get_by_text("员工登录").first.wait_for()
    page.get_by_text("English").click()
    page.get_by_text("staff sign-in").first.wait_for()
    choose(page, 1, "礼品台1")  # the desk first: then the staff who may sign in there
    page.get_by_role("combobox").nth(2).wait_for()
    choose(page, 2, "马礼品")
    page.get_by_label("PIN").fill("8888")
    page.get_by_role("button", name="Sign in").click()
    heading(page, "Gift desk")  # 礼品台 → 礼品发放, in English
    page.get_by_text("Check-in", exact=True).click()
    heading(page, "Check-in")
    page.reload(wait_until="domcontentloaded")
    heading(page, "Check-in")
    shot(page, "station-english-after-reload")


def test_a_server_restart_brings_the_tablet_back_to_its_desk(app, page):
    data_dir = Path(app.db_url.removeprefix("sqlite:///")).parent
    env = {**os.environ, "DATABASE_URL": app.db_url, "RENEWDAY_DATA_DIR": str(data_dir)}
    port = free_port()
    proc = start_streamlit("app.py", env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        page.goto(url + "/", wait_until="domcontentloaded")
        page.get_by_text("员工登录").first.wait_for()
        choose(page, 1, "礼品台1")
        page.get_by_role("combobox").nth(2).wait_for()
        choose(page, 2, "马礼品")
        page.get_by_label("密码").fill("8888")
        page.get_by_role("button", name="登录").click()
        heading(page, "礼品发放")
        page.wait_for_timeout(500)
        proc.terminate()
        proc.wait(20)
        proc = start_streamlit("app.py", env, port)
        page.wait_for_timeout(1500)
        heading(page, "礼品发放")  # the tablet reconnects by itself and is still 礼品台1
        page.reload(wait_until="domcontentloaded")
        heading(page, "礼品发放")
        assert page.get_by_text("员工登录").count() == 0
        shot(page, "station-after-restart")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_new_scan_clears_the_last_customer_at_the_cashier(app, page):
    a, b = fresh_codes(app, 2)
    sign_in(page, app, "郑收银", "收银台1")
    heading(page, "财务收银")
    page.locator(".st-key-cashier_scan input").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-cashier_scan')")
    burst(page, a)
    page.get_by_text("续保车辆").wait_for()
    page.get_by_label("交强险（元）").fill("950")
    page.get_by_label("商业险（元）").fill("3000")
    page.get_by_role("combobox").nth(1).click()
    page.keyboard.type("平安", delay=90)
    page.keyboard.press("Enter")
    page.get_by_text("微信", exact=True).click()
    page.get_by_role("button", name="确认收款并登记续保").click()
    page.get_by_text("续保成功").wait_for()
    burst(page, b)
    g = checkin.find(app.engine, event_id=app.event_id, raw=b)[0]
    page.get_by_role("heading", name=g["name"]).wait_for()
    page.wait_for_timeout(300)
    assert page.get_by_text("续保成功").count() == 0  # the previous customer's receipt line is gone
    assert page.get_by_label("交强险（元）").input_value() == ""
    shot(page, "cashier-next-guest")
    page.get_by_text("退出登录").click()
    page.get_by_text("员工登录").first.wait_for()
    sign_in(page, app, "郑收银", "收银台1")
    heading(page, "财务收银")
    assert page.get_by_role("heading", name=g["name"]).count() == 0  # sign-out left nothing behind


def test_a_new_scan_clears_the_last_guest_at_the_gift_desk(app, page):
    from core import cashier

    a, b = fresh_codes(app, 2)
    g = checkin.find(app.engine, event_id=app.event_id, raw=a)[0]
    cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=g["invitation_id"],
                           vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3000",
                           vehicle_tax="0", payment_method="cash", desk="收银台1", staff_id=desk_staff(app.engine))
    sign_in(page, app, "马礼品", "礼品台1")
    heading(page, "礼品发放")
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-gift_scan')")
    burst(page, a)
    page.get_by_role("button", name="发续保礼并抽奖").click()
    page.get_by_text("小票已打印").wait_for()
    burst(page, b)
    other = checkin.find(app.engine, event_id=app.event_id, raw=b)[0]
    page.get_by_role("heading", name=other["name"]).wait_for()
    page.wait_for_timeout(300)
    assert page.get_by_text("小票已打印").count() == 0 and page.get_by_text("已发放").count() == 0
    shot(page, "gifts-next-guest")
