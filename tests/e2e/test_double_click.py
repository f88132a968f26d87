"""A double click acts once (issue 10): the renewal submit, the void submit (cashier desk and 财务汇总)
and the check-in desk's undo, double-clicked and clicked twice quickly in Chromium: one row, one 'ok'
audit row, and the green (or the undone) answer, never a refusal such as 'already renewed'.
And the check-in verdict is fully in view after a scan at a tablet's 1024×768, a phone and a desktop."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import cashier, checkin
from core.models import AuditEntry, CheckIn, Invitation, Renewal
from core.store import read_session
from tests.conftest import desk_staff
from tests.e2e.conftest import burst, choose, scan, shot, sign_in

pytestmark = pytest.mark.browser
MODES = ("dblclick", "two_clicks")
REFUSALS = ("不能重复续保", "该续保已作废", "该客户尚未签到", "系统出错", "Traceback")


def fresh_guests(app, n: int) -> list[dict]:
    """Guests nobody has checked in or renewed, with a car."""
    with read_session(app.engine) as s:
        done = select(CheckIn.invitation_id)
        renewed = select(Renewal.invitation_id)
        rows = list(s.execute(select(Invitation.code).where(
            Invitation.event_id == app.event_id, Invitation.source == "import", ~Invitation.cancelled,
            Invitation.id.not_in(done), Invitation.id.not_in(renewed)).order_by(Invitation.id)).scalars())
    out = []
    for code in rows:
        g = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
        if g["vehicles"]:
            out.append({**g, "code": code})
        if len(out) == n:
            break
    return out


def audit_results(app, action: str, raw_like: str) -> list[str]:
    with read_session(app.engine) as s:
        return list(s.execute(select(AuditEntry.result).where(AuditEntry.action == action,
                                                               AuditEntry.raw_input.like(raw_like))).scalars())


def press(page, button, mode: str) -> None:
    """A double click, or two quick clicks at the same spot (whatever is there by the second)."""
    button.scroll_into_view_if_needed()
    if mode == "dblclick":
        button.dblclick()
    else:
        box = button.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.click(x, y)
        page.mouse.click(x, y)


def settle(page) -> None:
    """Every rerun the clicks caused has finished (the app's status widget gone, then a little longer)."""
    page.wait_for_timeout(1500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=20000)
    page.wait_for_timeout(500)


def no_refusal(page) -> None:
    """No message box and no verdict card says no (a caption beside a renewed car may say it is renewed)."""
    said = page.locator("[data-testid='stAlert'], .rd-verdict").all_inner_texts()
    assert not page.locator(".rd-red").count(), said
    assert not [r for r in REFUSALS if any(r in x for x in said)], said
    assert "Traceback" not in page.content()


@pytest.mark.parametrize("mode", MODES)
def test_renewal_submit_double_clicked_signs_once(app, page, mode):
    (g,) = fresh_guests(app, 1)
    vehicle_id = g["vehicles"][0]["id"]
    sign_in(page, app, "郑收银", "收银台1")
    page.get_by_role("link", name="财务收银").first.evaluate("el => el.click()")
    scan(page, "cashier_scan", g["code"])
    page.get_by_label("交强险（元）", exact=True).fill("950")
    page.get_by_label("商业险（元）", exact=True).fill("3200")
    page.get_by_label("车船税（元）", exact=True).fill("360")
    choose(page, 1, "平安")
    page.get_by_text("微信", exact=True).click()
    press(page, page.get_by_role("button", name="确认收款并登记续保"), mode)
    page.get_by_text("续保成功").first.wait_for()
    settle(page)
    page.get_by_text("续保成功").first.wait_for()
    shot(page, f"double-click-renewal-{mode}")
    no_refusal(page)
    with read_session(app.engine) as s:
        assert len(s.execute(select(Renewal.id).where(Renewal.vehicle_id == vehicle_id)).all()) == 1
    assert audit_results(app, "renewal", f"{g['invitation_id']} v{vehicle_id} %") == ["ok"]


@pytest.mark.parametrize("where", ["cashier", "finance"])
@pytest.mark.parametrize("mode", MODES)
def test_void_submit_double_clicked_voids_once(app, page, mode, where):
    (g,) = fresh_guests(app, 1)
    r = cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=g["invitation_id"],
                               vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3200",
                               vehicle_tax="360", payment_method="cash", desk="收银台1", staff_id=desk_staff(app.engine))
    reason = f"双击测试-{where}-{mode}"
    sign_in(page, app, "林经理", "收银台1")
    if where == "cashier":
        page.get_by_role("link", name="财务收银").first.evaluate("el => el.click()")
        page.get_by_role("tab", name="作废（经理）").click()
    else:
        page.get_by_role("link", name="财务汇总").first.evaluate("el => el.click()")
        page.get_by_role("tab", name="作废", exact=True).click()  # not the cashier page's 作废（经理）: wait for 财务汇总
        page.get_by_label("按收据号 / 姓名 / 车牌查找要作废的续保").fill(r["receipt_no"])
        page.get_by_label("按收据号 / 姓名 / 车牌查找要作废的续保").press("Enter")
    panel = page.locator("[data-testid='stForm']").filter(has=page.get_by_role("button", name="作废", exact=True))
    panel.get_by_role("combobox").first.click()
    page.keyboard.type(r["receipt_no"], delay=90)  # as a person types: a fast burst is the scanner's
    page.keyboard.press("Enter")
    panel.get_by_label("原因").fill(reason)
    press(page, panel.get_by_role("button", name="作废", exact=True), mode)
    page.get_by_text(f"已作废 {r['receipt_no']}").first.wait_for()
    settle(page)
    page.get_by_text(f"已作废 {r['receipt_no']}").first.wait_for()  # the green answer stays in view
    shot(page, f"double-click-void-{where}-{mode}")
    no_refusal(page)
    with read_session(app.engine) as s:
        assert s.get(Renewal, r["renewal_id"]).voided_at is not None
    assert audit_results(app, "void_renewal", reason) == ["ok"]


@pytest.mark.parametrize("mode", MODES)
def test_undo_double_clicked_undoes_once(app, page, mode):
    (g,) = fresh_guests(app, 1)
    reason = f"双击撤销-{mode}"
    sign_in(page, app, "林经理", "签到台1")
    scan(page, "checkin_scan", g["code"])
    verdict = page.locator(".st-key-checkin_verdict")
    verdict.get_by_text("欢迎").wait_for()
    page.get_by_text("撤销签到（经理）").first.click()
    page.get_by_label("原因").fill(reason)
    press(page, page.get_by_role("button", name="撤销签到（经理）"), mode)
    verdict.get_by_text("签到已撤销", exact=True).wait_for()
    settle(page)
    verdict.get_by_text("签到已撤销", exact=True).wait_for()
    shot(page, f"double-click-undo-{mode}")
    no_refusal(page)
    assert audit_results(app, "undo_check_in", reason) == ["ok"]
    with read_session(app.engine) as s:
        assert s.execute(select(CheckIn.undone_at).where(CheckIn.invitation_id == g["invitation_id"])).scalar_one()


SIZES = {"tablet": (1024, 768), "phone": (390, 844), "desktop": (1920, 1080)}


@pytest.mark.parametrize("size", list(SIZES))
def test_checkin_verdict_in_view_after_a_scan(app, browser, size):
    """Issue 10's walkthrough: at 1024×768 the verdict sat half below the fold after a scan."""
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        a, b = fresh_guests(app, 2)
        checkin.check_in(app.engine, event_id=app.event_id, invitation_id=b["invitation_id"], desk="签到台2",
                         staff_id=desk_staff(app.engine))  # b will be amber: the longest verdict
        sign_in(page, app, "陈晓东", "签到台1")
        page.locator(".st-key-checkin_scan input").wait_for()
        page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-checkin_scan')")
        for code, says in ((a["code"], "欢迎"), (b["code"], "已签到")):
            burst(page, code)
            card = page.locator(".st-key-checkin_verdict .rd-verdict")
            page.locator(".st-key-checkin_verdict").get_by_text(code).wait_for()
            card.get_by_text(says).first.wait_for()
            page.wait_for_timeout(300)
            box = card.bounding_box()
            scroll = page.evaluate("() => [window.scrollX, window.scrollY]")
            shot(page, f"checkin-verdict-{size}-{says}")
            assert scroll == [0, 0]  # nobody scrolled
            assert box["x"] >= 0 and box["y"] >= 0, box
            assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, (size, box)
    finally:
        context.close()
