"""客户导入 in Chromium as the manager: upload, the advisor question, commit once; screenshots at
the three sizes the desks use (tests/e2e/artifacts/)."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from tests.e2e.conftest import ARTIFACTS, sign_in

SHEET = [
    ["演示4S店 续保客户名单"],
    ["客户姓名", "手机号", "车牌号", "客户类别", "专属顾问", "备注"],
    ["陈 国栋", "13700000001", "粤A10001", "保有", "王 磊", "老客户"],
    ["孙俊杰", "13700000002", "粤A10002", "保有", "王垒", ""],
    ["王芳", "13700000002", "粤A10003", "保有", "陈晓东", ""],
    ["赵敏", "13700000004", "XX123", "自然", "", ""],
    ["钱多多", "13700000005", "粤A10005", "自然", "", ""],
]


def sheet_file(tmp_path):
    book = Workbook()
    for r in SHEET:
        book.active.append(r)
    path = tmp_path / "dms-名单.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080), (390, 844)])
def test_import_page_in_chromium(app, browser, tmp_path, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30000)
    try:
        sign_in(page, app, "林经理", "经理")
        page.locator(".st-key-checkin_scan").wait_for()  # the first desk page (the menu may be folded)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        expand = page.locator("[data-testid=stExpandSidebarButton]")
        if expand.count() and expand.is_visible():  # a phone: the menu is folded away
            expand.click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"import-menu-{width}x{height}.png"))
        page.locator("[data-testid=stSidebarNav] a").filter(has_text="客户导入").dispatch_event("click")
        page.get_by_text("上传从 DMS 导出的客户名单").wait_for()
        collapse = page.locator("[data-testid=stSidebarCollapseButton] button")
        if width < 600 and collapse.count():
            collapse.first.dispatch_event("click")  # fold the menu away again on a phone
            page.wait_for_timeout(500)
        page.locator("input[type=file]").set_input_files(str(sheet_file(tmp_path)))
        page.get_by_text("第 1 步：表中的顾问对应到员工").wait_for()
        page.get_by_text("未使用的列：备注").wait_for()
        page.get_by_text("还有 1 个顾问姓名需要您选择").wait_for()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"import-preview-{width}x{height}.png"), full_page=True)
        box = page.locator("[data-testid=stSelectbox]").filter(has_text="王垒（1 位客户）")
        box.get_by_role("combobox").click()
        page.get_by_role("option").filter(has_text="相近，建议").first.click()
        commit = page.get_by_role("button", name="确认导入")
        commit.wait_for()
        if width == 1920:  # the import happens once, on one of the three sizes
            commit.click()
            page.get_by_text("这份预览已导入").wait_for()
            from playwright.sync_api import expect

            expect(page.get_by_role("button", name="确认导入")).to_have_count(0)  # once per preview
        page.screenshot(path=str(ARTIFACTS / f"import-ready-{width}x{height}.png"), full_page=True)
        for i, text in enumerate(("清洗后的数据", "第 3 步：确认导入", "邀约分配")):
            page.get_by_text(text).first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"import-part{i}-{width}x{height}.png"))
        # nothing wider than the screen
        overflow = page.evaluate("document.querySelector('[data-testid=stMain]').scrollWidth - window.innerWidth")
        assert overflow <= 1, overflow
    finally:
        context.close()
