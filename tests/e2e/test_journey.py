"""The event day in Chromium, one guest from the DMS sheet to the board:
import → check-in → renewal at the cashier → gift and draw → receipt on the loopback printer → board."""
from __future__ import annotations

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from core.models import Customer, Invitation
from core.store import read_session
from tests.e2e.conftest import choose, scan, shot, sign_in
from tests.fakeprinter import decode

pytestmark = pytest.mark.browser


def small_sheet(path):
    book = Workbook()
    ws = book.active
    ws.append(["演示店 续保名单"])
    ws.append(["客户姓名", "手机号", "车牌号", "品牌型号", "商业险到期日期", "客户类别", "服务顾问"])
    ws.append(["欧阳娜娜", "13812345678", "粤B·12345", "大众 迈腾", "2026/12/20", "保有", "李婷"])
    ws.append(["王小二", "13812345679", "粤B54321", "大众 朗逸", "2026年12月21日", "流失", ""])
    ws.append(["坏号码", "12345", "粤B11111", "", "", "自然", ""])
    book.save(path)
    return path


def sign_out(page):
    page.get_by_role("button", name="退出登录").click()
    page.get_by_text("员工登录").first.wait_for()


def nav(page, title: str):
    page.locator("[data-testid='stSidebarNav']").get_by_text(title).click()
    page.get_by_role("heading", name=title).wait_for()


def test_event_day_journey(app, page, browser, tmp_path):
    # 1. the after-sales manager imports the DMS sheet
    sign_in(page, app, "林经理", "经理")
    nav(page, "客户导入")
    page.locator("input[type=file]").set_input_files(str(small_sheet(tmp_path / "dms.xlsx")))
    page.get_by_text("不会导入的行 (1)").wait_for()  # the cleaned rows' filter: the bad phone
    shot(page, "journey-1-import-preview")
    page.get_by_role("button", name="确认导入：新客户 2").click()
    page.get_by_text("已导入：新客户 2").wait_for()
    with read_session(app.engine) as s:
        code = s.execute(select(Invitation.code).join(Customer, Customer.id == Invitation.customer_id)
                         .where(Customer.phone == "13812345678", Invitation.event_id == app.event_id)).scalar_one()
    sign_out(page)

    # 2. check-in: the guest shows the QR code, the scanner types it and Enter
    sign_in(page, app, "陈晓东", "签到台1")
    scan(page, "checkin_scan", code)
    page.locator(".st-key-checkin_verdict").get_by_text("欢迎 欧阳娜娜").wait_for()
    shot(page, "journey-2-checkin")
    sign_out(page)

    # 3. the cashier signs the renewal
    sign_in(page, app, "郑收银", "收银台1")
    nav(page, "财务收银")
    scan(page, "cashier_scan", code)
    page.get_by_role("heading", name="欧阳娜娜").wait_for()
    choose(page, 1, "平安")
    page.get_by_label("交强险（元）").fill("950")
    page.get_by_label("商业险（元）").fill("3210.50")
    page.get_by_label("车船税（元）").fill("360")
    page.get_by_text("微信", exact=True).click()
    page.get_by_role("button", name="确认收款并登记续保").click()
    page.get_by_text("续保成功").wait_for()
    shot(page, "journey-3-cashier")
    sign_out(page)

    # 4. the gift desk hands out the gift and the draw; the receipt goes to the printer
    sign_in(page, app, "马礼品", "礼品台1")
    nav(page, "礼品发放")
    scan(page, "gift_scan", code)
    page.get_by_role("button", name="发续保礼并抽奖").click()
    page.get_by_text("已发放：汽车应急工具包").wait_for()
    shot(page, "journey-4-gifts")
    received = [r for r in app.printer.wait_for(1, timeout=10) if decode(r)["lines"]]
    assert received, "the loopback printer received no receipt"
    text = "\n".join(decode(received[-1])["lines"])
    assert "汽车应急工具包" in text and "欧**娜" in text and "138****5678" in text
    assert "欧阳娜娜" not in text and "13812345678" not in text

    # 5. the board, on another screen, shows the renewal, masked
    board = browser.new_page(viewport={"width": 1920, "height": 1080})
    try:
        board.goto(app.url + "/board", wait_until="domcontentloaded")
        board.get_by_text("欧**娜 · 粤B·***45 · 平安").wait_for(timeout=15000)
        board.screenshot(path=str(__import__("tests.e2e.conftest", fromlist=["ARTIFACTS"]).ARTIFACTS / "journey-5-board.png"),
                         full_page=True)
        assert "欧阳娜娜" not in board.content()
    finally:
        board.close()
