"""The cashier's renewal form and the manager's 财务汇总 page in Chromium, at a tablet, a desktop
and a phone size: the live total while typing (no message to the server), the confirmation of an
unusual amount, the finance page's list and cash-up."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core import cashier, checkin
from core.models import Invitation, Renewal, Vehicle
from core.store import read_session, write_session
from tests.e2e.conftest import choose, scan, shot, sign_in
from tests.conftest import desk_staff

pytestmark = pytest.mark.browser
SIZES = {"tablet": (1024, 768), "desktop": (1920, 1080), "phone": (390, 844)}
HAND = 90  # ms between keys, as a person types: keys a few ms apart are a scanner's burst (issue 9) and go to the scan box


def codes(app, n=40):
    with read_session(app.engine) as s:
        return list(s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id)
                              .order_by(Invitation.id.desc()).limit(n)).scalars())




def open_page(page, title: str) -> None:
    """The sidebar link, clicked the way a tap would reach it even while the phone's sidebar is folded."""
    page.get_by_role("link", name=title).first.evaluate("el => el.click()")


def amount_box(page, label):
    return page.get_by_label(label, exact=True)


@pytest.mark.parametrize("size", list(SIZES))
def test_cashier_live_total_and_confirmation(app, browser, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        code = codes(app)[list(SIZES).index(size)]
        g = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
        with write_session(app.engine) as s:
            s.execute(update(Vehicle).where(Vehicle.id == g["vehicles"][0]["id"]).values(commercial_last_fen=320000))
        sent = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
        sign_in(page, app, "郑收银", "收银台1")
        open_page(page, "财务收银")
        scan(page, "cashier_scan", code)
        amount_box(page, "交强险（元）").wait_for()
        page.wait_for_timeout(800)
        before = len(sent)
        amount_box(page, "交强险（元）").press_sequentially("950", delay=HAND)
        amount_box(page, "商业险（元）").press_sequentially("32005", delay=HAND)
        amount_box(page, "车船税（元）").press_sequentially("360", delay=HAND)
        page.locator("#rd-live-total").get_by_text("￥33,315.00").wait_for()
        assert len(sent) == before  # the total came from the browser: no rerun while typing
        amount_box(page, "商业险（元）").fill("")
        amount_box(page, "商业险（元）").press_sequentially("3200.5", delay=HAND)
        page.locator("#rd-live-total").get_by_text("￥4,510.50").wait_for()
        amount_box(page, "商业险（元）").fill("32005")
        amount_box(page, "商业险（元）").press("Tab")
        page.locator("#rd-live-total").get_by_text("￥33,315.00").wait_for()
        choose(page, 1, "平安")
        page.get_by_text("微信", exact=True).click()
        page.wait_for_timeout(500)
        shot(page, f"cashier-form-{size}")
        page.get_by_role("button", name="确认收款并登记续保").click()
        page.get_by_text("是上年 3,200.00 元的 10.0 倍").wait_for()
        with read_session(app.engine) as s:
            assert s.execute(select(Renewal).where(Renewal.vehicle_id == g["vehicles"][0]["id"])).first() is None
        shot(page, f"cashier-confirm-{size}")
        page.get_by_text("已与客户核对，金额无误", exact=True).click()
        page.get_by_role("button", name="确认收款并登记续保").click()
        page.get_by_text("续保成功").first.wait_for()
        page.get_by_role("button", name="打印收款凭证").click()
        page.get_by_text("仅屏幕显示").first.wait_for()  # no printer at this desk: the receipt on screen
        page.locator("[data-testid='stCode']").get_by_text("合计：33,315.00 元").wait_for()
        shot(page, f"cashier-done-{size}")
        assert "Traceback" not in page.content()
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_finance_page(app, browser, size):
    width, height = SIZES[size]
    for i, (method, desk) in enumerate([("wechat", "收银台1"), ("pos", "收银台2（开票）"), ("cash", "收银台1")]):
        code = codes(app)[10 + list(SIZES).index(size) * 3 + i]
        g = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
        cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=g["invitation_id"],
                               vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3000",
                               vehicle_tax="0", payment_method=method, desk=desk, staff_id=desk_staff(app.engine))
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        sign_in(page, app, "林经理", "经理")
        open_page(page, "财务汇总")
        page.get_by_role("heading", name="财务汇总").wait_for()
        page.get_by_text("第 1 / 1 页").wait_for()
        page.locator("[data-testid='stDataFrame'] canvas").first.wait_for()
        page.wait_for_timeout(1500)
        shot(page, f"finance-list-{size}")
        page.get_by_role("tab", name="收款汇总（全部收款台）").click()
        page.get_by_text("全部收款台合计").wait_for()
        page.wait_for_timeout(1500)
        shot(page, f"finance-cash-{size}")
        page.get_by_role("tab", name="金额核对设置").click()
        page.get_by_text("商业险上限（元）").wait_for()
        shot(page, f"finance-settings-{size}")
        assert "Traceback" not in page.content()
    finally:
        context.close()
