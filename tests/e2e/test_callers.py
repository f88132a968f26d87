"""Callers in Chromium: a day's list worked on a phone (390×844), an arrival showing on 我的客户,
and the manager's report and results pages at three screen sizes."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from core import calls, checkin
from core.models import CheckIn, Invitation, Staff
from core.store import read_session
from tests.e2e.conftest import shot, sign_in
from tests.conftest import desk_staff

pytestmark = pytest.mark.browser
SIZES = {"phone": (390, 844), "tablet": (1024, 768), "desktop": (1920, 1080)}


@pytest.fixture
def sized(browser, request):
    made = []

    def make(size: str):
        w, h = SIZES[size]
        context = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN",
                                      is_mobile=size == "phone", has_touch=size == "phone")
        made.append(context)
        pg = context.new_page()
        pg.set_default_timeout(20000)
        return pg

    yield make
    for c in made:
        c.close()


def open_page(page, title: str) -> None:
    """Through the menu, as staff do (on a phone the menu is folded away first)."""
    link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title)
    expand = page.locator("[data-testid='stExpandSidebarButton']")
    if expand.count() and expand.first.is_visible():
        expand.first.click()
    link.first.click()
    page.get_by_role("heading", name=title).first.wait_for()
    collapse = page.locator("[data-testid='stSidebarCollapseButton'] button, button[data-testid='stSidebarCollapseButton']")
    if page.viewport_size["width"] < 500 and collapse.count() and collapse.first.is_visible():
        collapse.first.click()




def staff_id(app, name: str) -> int:
    with read_session(app.engine) as s:
        return s.execute(select(Staff.id).where(Staff.name == name)).scalar_one()


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_caller_works_the_list_on_a_phone(app, sized):
    page = sized("phone")
    sign_in(page, app, "李婷", "签到台2")
    open_page(page, "我的客户")
    top = calls.worklist(app.engine, event_id=app.event_id, caller_id=staff_id(app, "李婷"))[0]
    card = page.locator(".rd-current")
    card.get_by_text(top["name"]).wait_for()
    assert card.locator("a[href^='tel:']").get_attribute("href") == f"tel:{top['phone']}"
    shot(page, "worklist-phone-390")
    page.locator(".st-key-wl_outcome").get_by_text("未接通", exact=True).click()
    page.locator(".st-key-wl_reason").get_by_text("关机", exact=True).click()
    page.locator(".st-key-wl_save button").click()
    page.get_by_text(f"已记录：{top['name']} · 未接通").wait_for()
    assert no_sideways_scroll(page)
    assert calls.history(app.engine, invitation_id=top["invitation_id"])[0]["reason"] == "powered_off"
    # the next customer is on top now, and the form is empty again
    nxt = calls.worklist(app.engine, event_id=app.event_id, caller_id=staff_id(app, "李婷"))[0]
    assert nxt["invitation_id"] != top["invitation_id"]
    page.locator(".rd-current").get_by_text(nxt["name"]).wait_for()
    picker = page.locator("[class*='st-key-wl_pick']")
    shown = picker.text_content() + " ".join(i.input_value() for i in picker.locator("input").all())
    assert nxt["name"] in shown  # the picker shows the same customer as the card
    # a call saved without a finer reason, as callers often do: nothing of it may stay chosen for the
    # next customer (a popped widget key left 未接通 lit on the phone, and sent back on the next tap)
    page.locator(".st-key-wl_outcome").get_by_text("未接通", exact=True).click()
    page.locator(".st-key-wl_save button").click()
    page.get_by_text(f"已记录：{nxt['name']} · 未接通").wait_for(state="attached")
    third = calls.worklist(app.engine, event_id=app.event_id, caller_id=staff_id(app, "李婷"))[0]
    page.locator(".rd-current").get_by_text(third["name"]).wait_for()
    page.wait_for_timeout(500)
    assert page.locator(".st-key-wl_outcome button[kind='segmented_controlActive']").count() == 0
    page.locator(".st-key-wl_outcome").get_by_text("确定", exact=True).click()
    page.locator(".st-key-wl_party input").wait_for()
    shot(page, "worklist-phone-confirm")


def test_an_arrival_shows_on_my_customers(app, sized):
    page = sized("phone")
    sign_in(page, app, "王磊", "签到台2")
    open_page(page, "我的客户")
    page.get_by_role("tab", name="到店动态").click()
    page.get_by_text("我邀约的客户 · 今日到店").wait_for()
    me = staff_id(app, "王磊")
    with read_session(app.engine) as s:
        inv = s.execute(select(Invitation).where(Invitation.event_id == app.event_id, Invitation.advisor_id == me)
                        .order_by(Invitation.id.desc())).scalars().first()
    out = checkin.check_in(app.engine, event_id=app.event_id, invitation_id=inv.id, desk="签到台1", staff_id=desk_staff(app.engine))
    t0 = time.monotonic()
    page.locator(".rd-live").get_by_text(out["name"]).wait_for(timeout=10000)
    print(f"arrival on 我的客户 after {time.monotonic() - t0:.2f} s")  # the figure: within 3 s
    shot(page, "my-customers-live-phone")
    assert no_sideways_scroll(page)


@pytest.mark.parametrize("size", list(SIZES))
def test_manager_pages_at_every_size(app, sized, size):
    eng = app.engine
    mgr = staff_id(app, "林经理")
    with read_session(eng) as s:
        invs = list(s.execute(select(Invitation.id).where(Invitation.event_id == app.event_id)
                              .order_by(Invitation.id).limit(6)).scalars())
    for i, inv in enumerate(invs):
        calls.log_call(eng, invitation_id=inv, outcome=("confirmed", "unsure", "no_answer")[i % 3], sms_sent=i % 2 == 0,
                       staff_id=mgr)
    page = sized(size)
    sign_in(page, app, "林经理", "经理")
    for title, name, ready in (("我的客户", "worklist", ".rd-current"),
                               ("回访晚报", "report", "[data-testid='stCode']:has-text('客户构成为')"),
                               ("活动成果", "results", "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg")):
        open_page(page, title)
        page.locator(ready).first.wait_for()
        page.wait_for_timeout(500)  # let the tables draw before the picture
        shot(page, f"{name}-{size}")
        assert "Traceback" not in page.content()
    open_page(page, "回访晚报")
    assert "客户构成为" in page.locator("[data-testid='stCode']").inner_text()


def test_the_running_app_posts_an_arrival_to_the_robot(app, sized):
    """The notifier the app starts (once per process) posts a confirmed guest's arrival."""
    from core import notify
    from tests.test_calls import Robot

    robot = Robot()
    mgr = staff_id(app, "林经理")
    try:
        notify.set_webhook_url(app.engine, url=robot.url, staff_id=mgr)
        page = sized("tablet")
        sign_in(page, app, "林经理", "经理")  # the app has run: its notifier is up
        page.wait_for_timeout(1500)  # the notifier's first look sets its cursor at the latest check-in
        with read_session(app.engine) as s:
            inv = s.execute(select(Invitation).outerjoin(CheckIn, CheckIn.invitation_id == Invitation.id)
                            .where(Invitation.event_id == app.event_id, Invitation.advisor_id.is_not(None),
                                   CheckIn.id.is_(None)).order_by(Invitation.id)).scalars().first()
        calls.log_call(app.engine, invitation_id=inv.id, outcome="confirmed", staff_id=mgr)
        out = checkin.check_in(app.engine, event_id=app.event_id, invitation_id=inv.id, desk="签到台1", staff_id=desk_staff(app.engine))
        t0 = time.monotonic()
        deadline = t0 + 15
        while not robot.posts and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"arrival at the robot after {time.monotonic() - t0:.2f} s")  # the figure: within 5 s
        from core.privacy import mask_name

        assert robot.posts == [f"{mask_name(out['name'])} 已到店，邀约人 {out['advisor']}"]
    finally:
        notify.set_webhook_url(app.engine, url="", staff_id=mgr)
        robot.close()


def test_results_tabs_on_a_tablet(app, sized):
    from core import cashier, gifts

    with read_session(app.engine) as s:
        code = s.execute(select(Invitation.code).where(Invitation.event_id == app.event_id)
                         .order_by(Invitation.id.desc())).scalars().first()
    g = checkin.find(app.engine, event_id=app.event_id, raw=code)[0]
    r = cashier.record_renewal(app.engine, event_id=app.event_id, invitation_id=g["invitation_id"],
                               vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3200",
                               vehicle_tax="360", payment_method="wechat", desk="收银台1", staff_id=desk_staff(app.engine))
    gifts.serve(app.engine, event_id=app.event_id, invitation_id=g["invitation_id"], renewal_id=r["renewal_id"],
                gift=True, draw=True, desk="礼品台1", staff_id=desk_staff(app.engine))
    page = sized("tablet")
    sign_in(page, app, "林经理", "经理")
    open_page(page, "活动成果")
    for tab, name in (("保费", "premium"), ("礼品", "gifts"), ("激励", "incentive"), ("二次邀约", "second"),
                      ("中奖与领取", "handouts")):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(1500)
        shot(page, f"results-tab-{name}-tablet")
    assert "Traceback" not in page.content()
