"""客户导入 in Chromium: a sheet whose rows meet customers already in the store (same phone and car
under another name; same car under another phone) shows them before anything is written, at
the three sizes the desks use (screenshots in tests/e2e/artifacts/)."""
from __future__ import annotations

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from tests.e2e.conftest import ARTIFACTS, sign_in


def conflicting_sheet(app, path):
    from core.models import Customer, Vehicle

    with app.engine.connect() as conn:
        owners = conn.execute(select(Customer.name, Customer.phone, Vehicle.plate)
                              .join(Vehicle, Vehicle.customer_id == Customer.id)
                              .where(Vehicle.plate.is_not(None)).order_by(Customer.id).limit(2)).all()
    (n1, p1, plate1), (n2, _p2, plate2) = owners
    book = Workbook()
    for row in (["客户姓名", "手机号", "车牌号", "客户类别"], [n1 + "某", p1, plate1, "保有"],
                [n2, "13711112222", plate2, "保有"], ["新客户", "13711113333", "粤A77777", "自然"]):
        book.active.append(row)
    book.save(path)
    return path, n1


@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080), (390, 844)])
def test_rows_meeting_store_customers_are_shown_before_the_commit(app, browser, tmp_path, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30000)
    try:
        sign_in(page, app, "林经理", "经理")
        page.locator(".st-key-checkin_scan").wait_for()
        page.goto(app.url + "/import", wait_until="domcontentloaded")
        path, store_name = conflicting_sheet(app, tmp_path / "dms.xlsx")
        page.locator("input[type=file]").set_input_files(str(path))
        page.get_by_text("与店内已有客户重复（2）").wait_for()
        page.get_by_text("手机号和车牌相同、姓名不同：1 行").wait_for()
        page.get_by_text("车牌相同、手机号不同：1 行").wait_for()
        section = page.get_by_text("与店内已有客户重复（2）")
        section.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"import-store-match-{width}x{height}.png"))
        page.screenshot(path=str(ARTIFACTS / f"import-store-match-full-{width}x{height}.png"), full_page=True)
        overflow = page.evaluate("document.querySelector('[data-testid=stMain]').scrollWidth - window.innerWidth")
        assert overflow <= 1, overflow
    finally:
        context.close()
