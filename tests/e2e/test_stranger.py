"""Issue 10's "done when": a person on the store's Wi-Fi without a PIN cannot open a desk or see a full
phone number. A fresh browser (no station cookie, then a forged one) walks every address the app has,
at tablet and phone size, and reads what the page shows."""
from __future__ import annotations

import base64
import json
import re

import pytest
from sqlalchemy import select

from core.models import Customer
from core.store import read_session
from tests.e2e.conftest import shot

pytestmark = pytest.mark.browser

PATHS = ["", "signin", "checkin", "cashier", "gifts", "setup", "import", "finance", "audit", "worklist", "report",
         "results", "first-run", "board"]
DESK_BOXES = [".st-key-checkin_scan", ".st-key-cashier_scan", ".st-key-gift_scan", "[data-testid='stFileUploader']",
              "[data-testid='stSidebar'] button"]
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def phones(app) -> set[str]:
    with read_session(app.engine) as s:
        return set(s.execute(select(Customer.phone).where(Customer.phone != "")).scalars())


def visit(page, app, path: str) -> str:
    page.goto(f"{app.url}/{path}", wait_until="domcontentloaded")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]') && "
                           "!document.querySelector('[data-testid=\"stStatusWidget\"] [data-testid=\"stSpinner\"]')")
    page.wait_for_timeout(1200)  # the page has drawn what it will draw
    return page.locator("body").inner_text()


def assert_nothing_open(page, app, path: str, real: set[str]) -> None:
    text = visit(page, app, path)
    shown = {p for p in PHONE.findall(text)}
    assert not shown & real, f"/{path} shows full phone numbers to a stranger: {sorted(shown & real)[:3]}"
    for sel in DESK_BOXES:
        assert page.locator(sel).count() == 0, f"/{path} shows a desk element ({sel}) without a sign-in"
    assert "Traceback" not in text and "Error" not in text[:200]


@pytest.mark.parametrize("viewport", [{"width": 1024, "height": 768}, {"width": 390, "height": 844}])
def test_a_stranger_on_the_wifi_opens_no_desk_and_sees_no_phone(app, browser, viewport):
    real = phones(app)
    assert len(real) > 20
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        for path in PATHS:
            assert_nothing_open(page, app, path, real)
        # the sign-in page lists nobody until a desk is chosen
        visit(page, app, "")
        assert page.get_by_role("combobox").count() >= 2
        assert "林经理" not in page.locator("body").inner_text()
        shot(page, f"stranger-{viewport['width']}")
    finally:
        context.close()


def test_a_forged_station_cookie_opens_nothing(app, browser):
    """A cookie made up by hand (a manager's staff id, any desk, a far expiry) or a real-looking token
    with its signature changed: the app treats the browser as a stranger."""
    from core import stations

    real = phones(app)
    from datetime import datetime, timedelta

    manager_token = stations.issue(key=b"not the store's key" * 2, staff_id=1, desk="经理", event_id=app.event_id,
                                   lang="zh-CN", expires=datetime.now() + timedelta(days=3))
    payload = manager_token.split(".")[0]
    unsigned = base64.urlsafe_b64encode(json.dumps({"s": 1, "d": "经理", "e": app.event_id, "l": "zh-CN",
                                                    "x": 4102444800, "n": "00"}).encode()).decode().rstrip("=")
    forged = [manager_token, f"{payload}.", f"{unsigned}.{'A' * 43}", unsigned, "1"]
    for value in forged:
        context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
        host = app.url.split("//")[1].split(":")[0]
        context.add_cookies([{"name": stations.COOKIE, "value": value, "domain": host, "path": "/"}])
        page = context.new_page()
        page.set_default_timeout(20000)
        try:
            for path in ("", "checkin", "setup", "audit", "finance"):
                assert_nothing_open(page, app, path, real)
        finally:
            context.close()
