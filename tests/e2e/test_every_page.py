"""Every page of every role, opened in Chromium through the app's own menu: no exception box anywhere."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.browser

ROLES = {  # who signs in at which desk → the pages in that role's menu (own title on each)
    "manager": ("林经理", "经理", ["来店签到", "财务收银", "礼品发放", "活动设置", "客户导入", "财务汇总", "审计日志"]),
    "cashier": ("郑收银", "收银台1", ["来店签到", "财务收银", "礼品发放"]),
    "advisor": ("陈晓东", "签到台2", ["来店签到", "礼品发放"]),
}


def no_exception_box(page, where: str) -> None:
    page.wait_for_timeout(300)
    boxes = page.locator("[data-testid='stException'], .stException")
    assert boxes.count() == 0, f"{where}: {boxes.first.inner_text()[:400]}"
    assert "Traceback" not in page.content(), where


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_page_of_every_role(app, page, role):
    who, desk, titles = ROLES[role]
    sign_in(page, app, who, desk)
    nav = page.locator("[data-testid='stSidebarNav']")
    for title in titles:
        nav.get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=title).first.wait_for()
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=20000)
        no_exception_box(page, f"{role} · {title}")
        shot(page, f"every-page-{role}-{title}")
    nav.get_by_text("风云榜", exact=True).click()
    page.locator(".rd-board").first.wait_for(timeout=60000)  # the board's first paint (altair) is the slowest
    no_exception_box(page, f"{role} · 风云榜")
