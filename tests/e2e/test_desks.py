"""Desks in Chromium, keyboard only: scan in, see the verdict, scan again."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import cashier, checkin
from core.models import Invitation
from core.store import read_session
from tests.e2e.conftest import scan, shot, sign_in
from tests.conftest import desk_staff

pytestmark = pytest.mark.browser


def codes(app, n=5):
    with read_session(app.engine) as s:
        return list(s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id)
                              .order_by(Invitation.id).limit(n)).scalars())


def test_scan_green_then_amber(app, page):
    code = codes(app)[0]
    sign_in(page, app, "陈晓东", "签到台1")
    scan(page, "checkin_scan", code)
    verdict = page.locator(".st-key-checkin_verdict")
    verdict.get_by_text("欢迎").wait_for()
    assert page.locator(".st-key-checkin_scan input").input_value() == ""
    shot(page, "checkin-green")
    page.wait_for_timeout(1200)  # past the double-Enter window
    scan(page, "checkin_scan", code)
    verdict.get_by_text("已签到").first.wait_for()
    shot(page, "checkin-amber")
    assert page.locator(".st-key-checkin_scan input").evaluate("el => el === document.activeElement")


def test_unknown_code_is_red_and_plain(app, page):
    sign_in(page, app, "陈晓东", "签到台2")
    scan(page, "checkin_scan", "ABCDEFGHJKMNPQRS2")
    page.locator(".st-key-checkin_verdict").get_by_text("查无此码").wait_for()
    assert "Traceback" not in page.content()


def test_board_shows_a_new_renewal(app, page):
    page.goto(app.url + "/board", wait_until="domcontentloaded")
    page.get_by_text("风云榜").first.wait_for()
    assert page.locator("[data-testid='stSidebar']").count() == 0 or not page.locator("[data-testid='stSidebar']").is_visible()
    code = codes(app)[3]
    g = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
    cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=g["invitation_id"],
                           vehicle_id=g["vehicles"][0]["id"], insurer="太平洋", compulsory="950", commercial="2100",
                           vehicle_tax="0", payment_method="alipay", desk="收银台1", staff_id=desk_staff(app.engine))
    from core.privacy import mask_name

    page.get_by_text(f"{mask_name(g['name'])} · ").first.wait_for(timeout=10000)  # within the refresh window
    shot(page, "board-after-renewal")
    html = page.content()
    assert g["phone"] not in html and g["vehicles"][0]["plate"].replace("·", "") not in html
