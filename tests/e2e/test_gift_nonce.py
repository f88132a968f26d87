"""Issue 10 in Chromium: a double click on the gift desk's give button hands out once, queues
one receipt (the loopback printer gets one) and shows the green result, never 'already given'."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import cashier, checkin
from core.models import DrawResult, GiftIssue, Invitation, PrintJob
from core.store import read_session
from tests.conftest import desk_staff
from tests.e2e.conftest import scan, shot, sign_in

pytestmark = pytest.mark.browser


def test_double_click_on_give_hands_out_once_with_one_receipt(app, page):
    with read_session(app.engine) as s:
        code = s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id)
                         .order_by(Invitation.id).offset(45).limit(1)).scalar_one()
    guest = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
    r = cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=guest["invitation_id"],
                               vehicle_id=guest["vehicles"][0]["id"], insurer="平安", compulsory="950",
                               commercial="2000", vehicle_tax="0", payment_method="cash", desk="收银台1", staff_id=desk_staff(app.engine))
    with read_session(app.engine) as s:
        jobs_before = s.execute(select(func.count()).select_from(PrintJob)).scalar_one()
    printed_before = len(app.printer.received)

    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, app, "马礼品", "礼品台1")
    page.locator('[data-testid="stSidebarNavLink"]', has_text="礼品发放").click()
    scan(page, "gift_scan", code)
    give = page.get_by_role("button", name="发续保礼并抽奖")
    give.wait_for()
    give.dblclick()
    page.get_by_text("已发放：").first.wait_for()
    with read_session(app.engine) as s:
        receipt_no = s.execute(select(GiftIssue.receipt_no).where(GiftIssue.renewal_id == r["renewal_id"])).scalar_one()
    page.get_by_text(f"小票已打印：{receipt_no}").wait_for()
    page.get_by_text("这笔续保的续保礼已发放").wait_for(state="detached", timeout=2000)  # never 'already given'
    assert page.get_by_text("不能发放").count() == 0
    shot(page, "gift-double-click-1024x768")
    with read_session(app.engine) as s:
        assert s.execute(select(func.count()).select_from(GiftIssue).where(GiftIssue.renewal_id == r["renewal_id"])).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(DrawResult).where(DrawResult.renewal_id == r["renewal_id"])).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(PrintJob)).scalar_one() == jobs_before + 1
    assert len(app.printer.wait_for(printed_before + 1)) == printed_before + 1
    for w, h in ((1920, 1080), (390, 844)):
        page.set_viewport_size({"width": w, "height": h})
        page.get_by_text(f"小票已打印：{receipt_no}").wait_for()
        shot(page, f"gift-double-click-{w}x{h}")


def test_a_desk_without_a_printer_says_so_and_shows_the_receipt_on_screen(app, page):
    with read_session(app.engine) as s:
        code = s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id)
                         .order_by(Invitation.id).offset(46).limit(1)).scalar_one()
    guest = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
    cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=guest["invitation_id"],
                           vehicle_id=guest["vehicles"][0]["id"], insurer="平安", compulsory="950",
                           commercial="2000", vehicle_tax="0", payment_method="cash", desk="收银台1", staff_id=desk_staff(app.engine))
    printed_before = len(app.printer.received)
    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, app, "马礼品", "礼品台2")  # no printer is set for this desk
    page.locator('[data-testid="stSidebarNavLink"]', has_text="礼品发放").click()
    page.get_by_text("未设置小票打印机").wait_for()
    scan(page, "gift_scan", code)
    page.get_by_role("button", name="只发续保礼").click()
    page.get_by_text("已显示在屏幕上").wait_for()
    page.get_by_text("续保礼品领取凭证").first.wait_for()  # the receipt itself, opened on screen
    for w, h in ((1024, 768), (1920, 1080), (390, 844)):
        page.set_viewport_size({"width": w, "height": h})
        page.get_by_text("已显示在屏幕上").wait_for()
        shot(page, f"gift-no-printer-{w}x{h}")
    assert len(app.printer.received) == printed_before  # nothing went to another desk's printer
