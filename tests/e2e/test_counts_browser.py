"""The counts in Chromium, at 1024×768, 1920×1080 and 390×844: the check-in strip shows 邀约 ·
网络集客 · 现场登记 · 合计 as core counts them and fits the screen; a 确定 who missed the re-confirm
call reads 确定 · 复核未接通 on the caller's phone; 活动成果 and 回访晚报 show the same figures."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core import calls, checkin, counts
from core.models import Invitation
from core.store import read_session, write_session
from tests.e2e.conftest import shot, sign_in
from tests.e2e.test_callers import SIZES, open_page, sized, staff_id  # noqa: F401 - fixtures and helpers

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mixed(app):
    eng, ev = app.engine, app.event_id
    with read_session(eng) as s:
        me = s.execute(select(Invitation.advisor_id).where(Invitation.event_id == ev, Invitation.advisor_id.is_not(None))
                       .order_by(Invitation.id)).scalars().first()
        mine = list(s.execute(select(Invitation.id).where(Invitation.event_id == ev, Invitation.advisor_id == me)
                              .order_by(Invitation.id)).scalars())
        others = list(s.execute(select(Invitation.id).where(Invitation.event_id == ev, Invitation.advisor_id != me)
                                .order_by(Invitation.id.desc())).scalars())
    with write_session(eng) as s:
        s.execute(update(Invitation).where(Invitation.id.in_(others[:3])).values(group="web"))
        s.execute(update(Invitation).where(Invitation.id == others[3]).values(cancelled=True))
    calls.log_call(eng, invitation_id=mine[0], outcome="confirmed", party_size=2, staff_id=me)
    calls.log_call(eng, invitation_id=mine[0], outcome="no_answer", reason="powered_off", staff_id=me)
    checkin.register_walk_in(eng, event_id=ev, name="周现场", phone="13900008801", source="natural", desk="签到台1",
                             staff_id=me)
    return {"caller": me, "kept": mine[0]}


def caller_name(app, staff: int) -> str:
    from core.models import Staff

    with read_session(app.engine) as s:
        return s.get(Staff, staff).name


@pytest.mark.parametrize("size", list(SIZES))
def test_checkin_strip_shows_the_counts_at_every_size(app, mixed, sized, size):
    c = counts.event_counts(app.engine, event_id=app.event_id)
    page = sized(size)
    sign_in(page, app, "林经理", "签到台1")
    strip = page.locator(".rd-counters").first
    strip.wait_for()
    text = strip.inner_text()
    for label, n in (("邀约", c["invited"]["listed"]), ("网络集客", c["web"]["listed"]),
                     ("现场登记", c["walk_in"]["listed"]), ("合计", c["total"]["listed"]),
                     ("确定到店", c["total"]["confirmed"])):
        assert f"{label}\n{n}" in text, (label, n, text)
    if size != "phone":  # the desk's verdict stays on the screen without scrolling
        bottom = page.evaluate("() => document.querySelector('.st-key-checkin_verdict').getBoundingClientRect().bottom")
        assert bottom <= page.viewport_size["height"], bottom
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, f"counts-checkin-{size}")


def test_a_missed_reconfirm_reads_confirmed_on_the_phone(app, mixed, sized):
    page = sized("phone")
    sign_in(page, app, caller_name(app, mixed["caller"]), "签到台2")
    open_page(page, "我的客户")
    page.locator(".rd-current").wait_for()
    page.locator(".st-key-wl_filter").get_by_text("全部", exact=True).click()
    with read_session(app.engine) as s:
        name = s.execute(select(Invitation).where(Invitation.id == mixed["kept"])).scalar_one().customer_id
    from core.models import Customer

    with read_session(app.engine) as s:
        name = s.get(Customer, name).name
    page.wait_for_timeout(500)  # the list redrawn with everyone
    page.locator("[class*='st-key-wl_pick']").first.get_by_role("combobox").click()
    page.keyboard.type(name)
    page.get_by_role("option").filter(has_text=name).first.click()
    card = page.locator(".rd-current")
    try:
        card.get_by_text(name).wait_for()
    finally:
        shot(page, "counts-worklist-pick-390")
    card.get_by_text("确定 · 复核未接通").wait_for()
    card.scroll_into_view_if_needed()
    shot(page, "counts-worklist-kept-card-390")
    page.get_by_text("回访记录").first.click()
    page.get_by_text("仍为确定").first.wait_for()
    page.wait_for_timeout(600)  # the expander's opening
    shot(page, "counts-worklist-kept-390")


def test_results_and_report_show_the_same_counts(app, mixed, sized):
    c = counts.event_counts(app.engine, event_id=app.event_id)
    page = sized("desktop")
    sign_in(page, app, "林经理", "经理")
    open_page(page, "活动成果")
    page.get_by_text("邀约、网络集客与现场登记").first.wait_for()
    page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for()
    page.locator("[data-testid='stDataFrame']").nth(2).wait_for()
    page.wait_for_timeout(2000)  # the tables draw
    shot(page, "counts-results-1920")
    open_page(page, "回访晚报")
    code = page.locator("[data-testid='stCode']").first.inner_text()
    assert f"共计{c['invited']['listed']}批；另有网络集客{c['web']['listed']}批，名单合计{c['list']['listed']}批。" in code
    shot(page, "counts-report-1920")
