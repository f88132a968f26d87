"""Issue 3's promise: scan in, renew and void from a browser with the keyboard alone."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import cashier
from core.models import Invitation
from core.store import read_session
from tests.e2e.conftest import burst, sign_in

pytestmark = pytest.mark.browser
HAND = 90  # ms between keys: a person typing (a scanner's burst is a few ms apart and goes to the scan box)

FOCUSED_LABEL = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return '';
  const aria = el.getAttribute('aria-label');
  if (aria) return aria;
  if (el.id) { const l = document.querySelector(`label[for="${el.id}"]`); if (l) return l.innerText; }
  const wrap = el.closest('[data-testid="stTextInput"], [data-testid="stSelectbox"], [data-testid="stRadio"]');
  if (wrap) { const l = wrap.querySelector('label'); if (l) return l.innerText; }
  const text = (el.innerText || el.value || '').trim();
  return text.length <= 40 ? text : '';
}"""


def tab_to(page, text: str, limit: int = 80, exact: bool = False) -> None:
    """Press Tab until the focused element is the one labelled `text`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        label = page.evaluate(FOCUSED_LABEL) or ""
        if label == text if exact else text in label:
            return
    raise AssertionError(f"Tab never reached {text!r}")


def test_scan_renew_and_void_with_the_keyboard(app, page):
    with read_session(app.engine) as s:
        code = s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id)
                         .order_by(Invitation.id.desc()).limit(1)).scalar_one()
    sign_in(page, app, "林经理", "经理")  # the manager's desk lands on 来店签到
    # check in: the scanner box has the focus on arrival; the scanner types and presses Enter
    page.locator(".st-key-checkin_scan input").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-checkin_scan')")
    burst(page, code)
    page.locator(".st-key-checkin_verdict").get_by_text("欢迎").wait_for()

    # to the cashier page by keyboard: Tab to the menu link, Enter
    tab_to(page, "财务收银")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="财务收银").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-cashier_scan')")
    burst(page, code)
    page.get_by_text("续保车辆").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-cashier_scan')")
    tab_to(page, "承保公司")
    page.keyboard.type("人保", delay=HAND)
    page.keyboard.press("Enter")
    tab_to(page, "交强险（元）")
    page.keyboard.type("950", delay=HAND)
    page.keyboard.press("Tab")
    page.keyboard.type("4100.80", delay=HAND)
    page.keyboard.press("Tab")
    page.keyboard.type("420", delay=HAND)
    tab_to(page, "付款方式")
    page.keyboard.press("ArrowRight")  # POS → 微信
    page.keyboard.press("Space")
    tab_to(page, "确认收款并登记续保")
    page.keyboard.press("Enter")
    page.get_by_text("续保成功").wait_for()
    # the answer puts the cursor back in the scan box (issue 9); wait for it before tabbing on
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-cashier_scan')")
    rows = [r for r in cashier.renewal_rows(app.engine, app.event_id) if not r["voided"] and r["total_fen"] == 547080]
    assert len(rows) == 1 and rows[0]["payment_method"] == "wechat"

    # void it, still by keyboard: the 作废 tab, the renewal, a reason, the button
    tab_to(page, "续保登记")  # the tab list is one Tab stop; arrows move along it
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.get_by_text("要作废的续保").wait_for()
    tab_to(page, "要作废的续保")
    page.keyboard.type(rows[0]["receipt_no"], delay=HAND)
    page.keyboard.press("Enter")
    tab_to(page, "原因")
    page.keyboard.type("客户改期", delay=HAND)
    page.keyboard.press("Enter")  # Enter in the form's last field submits it
    page.get_by_text(f"已作废 {rows[0]['receipt_no']}").wait_for()
    assert [r["voided"] for r in cashier.renewal_rows(app.engine, app.event_id) if r["renewal_id"] == rows[0]["renewal_id"]] == [True]
