"""One definition per count (core.counts), and every page shows the same numbers.

The store holds list invitations (保有/流失/自然), web leads, a cancelled invitation, walk-ins (one
of them undone), a 确定 that missed the re-confirm call, and a guest renewing two cars. Core is
checked on SQLite and PostgreSQL; the pages through app.py as the manager reaches them: the
check-in counters, 风云榜, 回访晚报, 活动成果, 我的客户 (list and live tab) and 财务汇总."""
from __future__ import annotations

import re
import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from core import board, calls, cashier, checkin, counts, finance, incentive, reports, results
from core.models import Invitation, Vehicle
from core.store import read_session, write_session
from pages.common import Station
from tests.test_pages import ROOT, TIMEOUT, html_text

# what the store below must count, population by population
EXPECTED = {
    "invited": {"listed": 9, "reached": 5, "confirmed": 3, "arrived": 3, "renewed": 1, "renewals": 2},
    "web": {"listed": 2, "reached": 1, "confirmed": 1, "arrived": 1, "renewed": 1, "renewals": 1},
    "walk_in": {"listed": 2, "reached": 0, "confirmed": 0, "arrived": 2, "renewed": 1, "renewals": 1},
    "total": {"listed": 13, "reached": 6, "confirmed": 4, "arrived": 6, "renewed": 3, "renewals": 4},
}


def renew(seeded, invitation_id: int, vehicle_id: int, commercial: str = "3000") -> dict:
    return cashier.record_renewal(seeded.engine, event_id=seeded.event_id, invitation_id=invitation_id,
                                  vehicle_id=vehicle_id, insurer="平安", compulsory="950", commercial=commercial,
                                  vehicle_tax="300", payment_method="pos", desk="收银台1", staff_id=seeded.cashier_id,
                                  confirm_high=True)


def mixed_day(seeded) -> dict:
    eng, ev, mgr = seeded.engine, seeded.event_id, seeded.manager_id
    with read_session(eng) as s:
        invs = list(s.execute(select(Invitation.id).where(Invitation.event_id == ev).order_by(Invitation.id)).scalars())
    assert len(invs) == 12
    with write_session(eng) as s:
        s.execute(update(Invitation).where(Invitation.event_id == ev).values(call_outcome=None))  # nobody called yet
        s.execute(update(Invitation).where(Invitation.id.in_(invs[:2])).values(group="web"))  # two web leads
        s.execute(update(Invitation).where(Invitation.id == invs[2]).values(call_outcome="confirmed", cancelled=True))
        customer = s.get(Invitation, invs[3]).customer_id
        s.add(Vehicle(customer_id=customer, plate="粤B2X345", model="途观"))  # a second car for invs[3]
    for i, outcome in ((3, "confirmed"), (4, "confirmed"), (5, "confirmed"), (0, "confirmed"), (6, "unsure"),
                       (7, "no_answer"), (8, "not_interested"), (4, "no_answer")):  # invs[4] misses the re-confirm
        calls.log_call(eng, invitation_id=invs[i], outcome=outcome, staff_id=mgr)
    for i in (3, 6, 0, 9):
        checkin.check_in(eng, event_id=ev, invitation_id=invs[i], desk="签到台1", staff_id=mgr)
    walk = [checkin.register_walk_in(eng, event_id=ev, name=name, phone=phone, plate=plate, source=src,
                                     desk="签到台1", staff_id=mgr)
            for name, phone, plate, src in (("周现场", "13900008801", "粤B8A801", "natural"),
                                            ("吴网络", "13900008802", "", "web"),
                                            ("郑转介", "13900008803", "", "referral"))]
    checkin.undo_check_in(eng, invitation_id=walk[2]["invitation_id"], reason="登记错了", desk="签到台1", staff_id=mgr)
    two = checkin.find(eng, event_id=ev, raw=seeded.codes[3])[0]["vehicles"]
    assert len(two) == 2
    for v in two:  # one guest, two cars: 1 批 renewed, 2 单
        renew(seeded, invs[3], v["id"])
    renew(seeded, invs[0], checkin.find(eng, event_id=ev, raw=seeded.codes[0])[0]["vehicles"][0]["id"])
    renew(seeded, walk[0]["invitation_id"], walk[0]["vehicles"][0]["id"])
    return {"invitations": invs, "walk_ins": walk}


def test_one_definition_in_core(seeded):
    mixed_day(seeded)
    eng, ev = seeded.engine, seeded.event_id
    c = counts.event_counts(eng, event_id=ev)
    for pop, want in EXPECTED.items():
        assert {k: c[pop][k] for k in want} == want, pop
    assert c["list"]["listed"] == 11  # 邀约 + 网络集客
    assert sum(v["invited"] for v in c["by_caller"].values()) == 9
    assert sum(v["web"] for v in c["by_caller"].values()) == 2
    for stage in ("reached", "confirmed", "arrived", "renewed"):
        assert sum(v[stage] for v in c["by_caller"].values()) == c["list"][stage], stage
        assert sum(v[stage] for v in c["by_group"].values()) == c["list"][stage], stage
    assert c["by_group"]["web"]["listed"] == 2
    # every core reader gives the same figures
    k = checkin.counters(eng, ev)
    assert (k["invited"], k["web"], k["walk_ins"], k["total"], k["confirmed"], k["arrived"]) == (9, 2, 2, 13, 4, 6)
    snap = board.snapshot(eng, ev)
    assert (snap["totals"]["arrived"], snap["totals"]["renewals"]) == (6, 4)
    assert sum(t["arrivals"] for t in snap["teams"]) == 6
    f = results.funnel(eng, event_id=ev)
    assert f["overall"] == {"invited": 9, "reached": 5, "confirmed": 3, "arrived": 3, "renewed": 1}
    assert [(r["population"], r["invited"], r["confirmed"], r["arrived"], r["renewed"], r["renewals"])
            for r in f["populations"]] == [(p, e["listed"], e["confirmed"], e["arrived"], e["renewed"], e["renewals"])
                                           for p, e in EXPECTED.items()]
    groups = reports.make_up(eng, event_id=ev)
    assert sum(groups[g] for g in ("retained", "natural", "lost")) == 9 and groups["web"] == 2
    assert finance.cash_up_all(eng, ev)["count"] == 4
    status = calls.my_guests_status(eng, event_id=ev, caller_id=None)
    assert (status["arrived"], status["renewed"], status["confirmed"]) == (6, 3, 4)
    batches = incentive.batches_per_caller(eng, event_id=ev, basis="confirmed")
    assert sum(batches.values()) == sum(v["confirmed"] for k_, v in c["by_caller"].items() if k_ is not None)


# --- the pages, through app.py ----------------------------------------------------------------
@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    mixed_day(seeded_sqlite)
    return seeded_sqlite


def through_app(seeded, page: str | None, desk: str = "经理") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["station"] = Station(staff_id=seeded.manager_id, staff_name="林经理", role="manager", desk=desk,
                                          event_id=seeded.event_id, event_name="测试续保会")
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def strip(html: str) -> dict[str, str]:
    """The counters strip: label → value."""
    return dict(re.findall(r"<div[^>]*>([^<]+)</div><div[^>]*>([^<]+)</div>", html))


def test_every_page_shows_the_same_numbers(store):
    import streamlit as st

    st.cache_data.clear()
    t = EXPECTED["total"]
    # 来店签到: the counters strip
    at = through_app(store, "pages/checkin.py", desk="签到台1")
    html = html_text(at)
    cells = strip(html[html.index("rd-counters"):])
    assert cells.get("已到店", "").startswith(f"{t['arrived']} ") and cells.get("确定到店") == str(t["confirmed"]), cells
    assert (cells.get("邀约"), cells.get("网络集客"), cells.get("现场登记"), cells.get("合计")) == ("9", "2", "2", "13"), cells
    # 风云榜: the cards
    st.cache_data.clear()
    html = html_text(through_app(store, "pages/board.py"))
    cards = dict(re.findall(r"<div class='l'>([^<]+)</div><div class='v'>([^<]+)</div>", html))
    assert (cards["到店（批）"], cards["续保（单）"]) == (str(t["arrived"]), str(t["renewals"]))
    # 回访晚报: the list's make-up and the per-caller table
    at = through_app(store, "pages/report.py")
    assert "共计9批；另有网络集客2批，名单合计11批。" in at.code[0].value
    table = at.dataframe[0].value
    assert table.iloc[-1]["邀约"] == 9 and table.iloc[-1]["网络集客"] == 2
    # 活动成果: the populations table, the funnel per caller
    at = through_app(store, "pages/results.py")
    frames = [d.value for d in at.dataframe]
    pops = {r["客户来源"]: r for r in next(f for f in frames if "客户来源" in f.columns).to_dict("records")}
    for label, pop in (("邀约", "invited"), ("网络集客", "web"), ("现场登记", "walk_in"), ("合计", "total")):
        e = EXPECTED[pop]
        assert (pops[label]["批数"], pops[label]["确定"], pops[label]["到店"], pops[label]["续保"], pops[label]["单数"]) == (
            e["listed"], e["confirmed"], e["arrived"], e["renewed"], e["renewals"]), label
    by_caller = next(f for f in frames if "回访人" in f.columns)
    assert by_caller["邀约"].sum() == 9 and by_caller["网络集客"].sum() == 2
    assert by_caller["确定"].sum() == t["confirmed"] and by_caller["到店"].sum() == t["arrived"] - 2  # walk-ins: no caller
    # 我的客户 (the manager, everyone's): the summary and the live tab
    at = through_app(store, "pages/worklist.py")
    summary = at.caption[0].value
    assert summary.startswith(f"共 {t['listed']} 位") and f"确定 {t['confirmed']}" in summary, summary
    assert f"已到店 {t['arrived']}" in summary and "邀约 9 · 网络集客 2 · 现场登记 2" in summary, summary
    live = html_text(at)
    live = dict(re.findall(r"<div style='color:#555'>([^<]+)</div><div[^>]*>(\d+)</div>", live))
    assert (live["已到店"], live["已续保"], live["确定到店"]) == (str(t["arrived"]), str(t["renewed"]), str(t["confirmed"]))
    # 财务汇总: the renewals (单)
    at = through_app(store, "pages/finance.py")
    assert f"共 {t['renewals']} 笔" in "\n".join(m.value for m in at.markdown)


def test_a_missed_reconfirm_shows_on_my_customers(store):
    """确定 · 复核未接通 on the customer's card, and the call in the history (仍为确定)."""
    with read_session(store.engine) as s:
        inv = s.execute(select(Invitation).where(Invitation.event_id == store.event_id, Invitation.cancelled.is_(False),
                                                 Invitation.group != "web", Invitation.source == "import")
                        .order_by(Invitation.id)).scalars().all()[1]  # invs[4]: 确定, then no answer
    at = through_app(store, "pages/worklist.py")
    at.segmented_control(key="wl_filter").set_value("all").run()
    pick = [k for k in at.session_state if str(k).startswith("wl_pick_")]
    at.selectbox(key=pick[0] if pick else "wl_pick_0").set_value(inv.id).run()
    assert not at.exception
    html = html_text(at)
    assert "确定 · 复核未接通" in html
    assert "未接通" in html and "仍为确定" in html  # the history keeps the call
