"""The scanner is never ignored (issue 9): whatever has the focus on a desk page, a burst of characters
ending in Enter goes to the desk's scan box and is handled; it never clicks a button or submits a form;
two bursts 50 ms apart are two scans; a person typing by hand into a field is left alone."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry, CheckIn, Invitation
from core.store import read_session
from tests.e2e.conftest import burst, shot, sign_in

pytestmark = pytest.mark.browser


def fresh_codes(app, n: int) -> list[str]:
    """Codes of guests nobody has checked in yet (and who are not cancelled)."""
    with read_session(app.engine) as s:
        done = select(CheckIn.invitation_id)
        return list(s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id,
                                                            Invitation.source == "import", ~Invitation.cancelled,
                                                            Invitation.id.not_in(done))
                              .order_by(Invitation.id.desc()).limit(n)).scalars())


def checked_in(app, code: str) -> bool:
    with read_session(app.engine) as s:
        return s.execute(select(func.count()).select_from(CheckIn).join(Invitation, Invitation.id == CheckIn.invitation_id)
                         .where(Invitation.code == code, CheckIn.undone_at.is_(None))).scalar_one() == 1


def audits(app, action: str) -> int:
    with read_session(app.engine) as s:
        return s.execute(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)).scalar_one()


def verdict_for(page, code: str):
    v = page.locator(".st-key-checkin_verdict")
    v.get_by_text(code).wait_for()  # the verdict says what was scanned
    return v


@pytest.fixture
def desk(app, page):
    sign_in(page, app, "林经理", "签到台1")
    page.locator(".st-key-checkin_scan input").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-checkin_scan')")
    return page


def test_burst_after_a_tap_on_the_verdict(app, desk):
    a, b = fresh_codes(app, 2)
    burst(desk, a)
    verdict_for(desk, a).get_by_text("欢迎").wait_for()
    desk.locator(".st-key-checkin_verdict").click()  # the focus leaves the box
    burst(desk, b)
    verdict_for(desk, b).get_by_text("欢迎").wait_for()
    assert checked_in(app, a) and checked_in(app, b)


def test_burst_with_an_open_expander_does_not_submit_the_walk_in_form(app, desk):
    (a,) = fresh_codes(app, 1)
    walk_ins = audits(app, "walk_in")
    desk.get_by_text("现场客户登记").click()  # the focus is on the expander's summary
    desk.get_by_role("button", name="登记并签到").wait_for()
    burst(desk, a)
    verdict_for(desk, a).get_by_text("欢迎").wait_for()
    assert checked_in(app, a) and audits(app, "walk_in") == walk_ins


def test_burst_after_saving_the_party_size(app, desk):
    a, b = fresh_codes(app, 2)
    burst(desk, a)
    verdict_for(desk, a).get_by_text("欢迎").wait_for()
    desk.get_by_text("修改同行人数").click()
    box = desk.get_by_label("同行人数").first
    box.fill("4")
    desk.get_by_role("button", name="保存", exact=True).click()  # the focus is on 保存
    desk.locator(".st-key-checkin_verdict").get_by_text("同行人数: 4").wait_for()  # the verdict shows the new size
    saves = audits(app, "party_size")
    burst(desk, b)
    verdict_for(desk, b).get_by_text("欢迎").wait_for()
    assert checked_in(app, b) and audits(app, "party_size") == saves  # Enter did not save a second time


def test_burst_after_an_undo(app, desk):
    a, b = fresh_codes(app, 2)
    burst(desk, a)
    verdict_for(desk, a).get_by_text("欢迎").wait_for()
    desk.get_by_text("撤销签到（经理）").first.click()
    desk.get_by_label("原因").fill("扫错了人")
    desk.get_by_role("button", name="撤销签到（经理）").click()
    desk.locator(".st-key-checkin_verdict").get_by_text("签到已撤销", exact=True).wait_for()  # the verdict no longer welcomes
    assert not checked_in(app, a)
    burst(desk, b)
    verdict_for(desk, b).get_by_text("欢迎").wait_for()
    assert checked_in(app, b)


def test_burst_after_a_refused_walk_in_keeps_what_was_typed(app, desk):
    (a,) = fresh_codes(app, 1)
    walk_ins = audits(app, "walk_in")
    desk.get_by_text("现场客户登记").click()
    form = desk.locator("[data-testid='stForm']")
    form.get_by_label("手机号").fill("12345")
    form.get_by_label("姓名").click()
    desk.keyboard.type("王小明", delay=120)  # by hand, in a field: left alone
    desk.get_by_role("button", name="登记并签到").click()
    desk.get_by_text("手机号").first.wait_for()
    form = desk.locator("[data-testid='stForm']")
    form.locator("[data-testid='stAlert']").first.wait_for()  # which field is wrong, next to it
    assert form.get_by_label("姓名").input_value() == "王小明" and form.get_by_label("手机号").input_value() == "12345"
    desk.get_by_role("button", name="登记并签到").focus()
    burst(desk, a)
    verdict_for(desk, a).get_by_text("欢迎").wait_for()
    assert checked_in(app, a)
    assert desk.locator("[data-testid='stForm']").get_by_label("姓名").input_value() == "王小明"
    assert audits(app, "walk_in") == walk_ins + 1  # the refused submit only: the burst submitted nothing
    shot(desk, "scanner-after-refused-form")


def test_a_burst_while_typing_in_a_field_goes_to_the_scanner_not_the_field(app, desk):
    (a,) = fresh_codes(app, 1)
    desk.get_by_text("现场客户登记").click()
    name = desk.locator("[data-testid='stForm']").get_by_label("姓名")
    name.click()
    desk.keyboard.type("李", delay=150)
    burst(desk, a)
    verdict_for(desk, a).get_by_text("欢迎").wait_for()
    assert checked_in(app, a)
    assert a not in desk.locator("[data-testid='stForm']").get_by_label("姓名").input_value()


def test_two_bursts_50_ms_apart_are_two_check_ins(app, desk):
    """Several pairs: on a quiet machine the second burst's first keys used to reach the scan box while
    it was still being fed the first code (a key event runs before the page's own timer), gluing them
    onto it: "…754H" was refused as an unknown code (seen in make bench: 33 of 40 checked in)."""
    codes = fresh_codes(app, 12)
    # a busy page: its zero-delay timers run 40 ms late (keys still come at once), as on a fast
    # machine where the scanner's keys overtake the page's own timer; this made the glue certain
    desk.evaluate("""() => { const w = window, orig = w.setTimeout.bind(w);
                            w.setTimeout = (f, d, ...a) => orig(f, d ? d : 40, ...a); }""")
    for a, b in zip(codes[::2], codes[1::2]):
        beeps = desk.evaluate("() => document.body.dataset.rdBeep || ''")
        end = burst(desk, a)
        burst(desk, b, start=end + 0.050)  # the second scan 50 ms after the first
        verdict_for(desk, b).get_by_text("欢迎").wait_for()
        assert checked_in(app, a) and checked_in(app, b), (a, b)
        desk.wait_for_function("b => (document.body.dataset.rdBeep || '') !== b", arg=beeps)  # a sound for the answer
        desk.wait_for_timeout(300)
    with read_session(app.engine) as s:
        refused = s.execute(select(AuditEntry.raw_input).where(AuditEntry.action == "check_in",
                                                              AuditEntry.result != "ok")).scalars().all()
    assert refused == []  # no glued code was ever sent
    shot(desk, "scanner-two-bursts")


def test_burst_after_a_refused_cashier_form(app, page):
    a, b = fresh_codes(app, 2)
    sign_in(page, app, "郑收银", "收银台1")
    page.get_by_role("heading", name="财务收银").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('.st-key-cashier_scan')")
    burst(page, a)
    page.get_by_text("续保车辆").wait_for()
    page.get_by_role("button", name="确认收款并登记续保").click()  # nothing filled in: refused
    page.locator("[data-testid='stForm'] [data-testid='stAlert']").first.wait_for()
    page.get_by_role("button", name="确认收款并登记续保").focus()
    burst(page, b)
    from core import checkin

    page.get_by_role("heading", name=checkin.find(app.engine, event_id=app.event_id, raw=b)[0]["name"]).wait_for()
    from core import cashier

    assert cashier.renewal_rows(app.engine, app.event_id) == []  # the burst's Enter submitted nothing


def test_sound_can_be_turned_off(app, desk):
    a, b = fresh_codes(app, 2)
    burst(desk, a)
    verdict_for(desk, a).get_by_text("欢迎").wait_for()
    desk.wait_for_function("() => (document.body.dataset.rdBeep || '').startsWith('green:')")  # a welcome sound
    beeped = desk.evaluate("() => document.body.dataset.rdBeep")
    desk.get_by_text("提示音").click()
    desk.wait_for_timeout(500)
    seq = desk.evaluate("() => document.body.dataset.rdSeq")
    burst(desk, b)
    verdict_for(desk, b).get_by_text("欢迎").wait_for()
    desk.wait_for_function("s => document.body.dataset.rdSeq !== s", arg=seq)  # the page has taken in the answer
    assert desk.evaluate("() => document.body.dataset.rdBeep || ''") == beeped
