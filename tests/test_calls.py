"""Before and after the event: call log, worklist order, nightly report, incentive, results,
N+1 list, exports, the arrival webhook. Store tests run on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import json
import threading
import time
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core import calls, cashier, checkin, gifts, incentive, notify, reports, results
from core.clock import now
from core.errors import DeskError
from core.events import add_staff, create_event
from core.models import CallLog, Customer, Invitation, Staff, Vehicle
from core.store import read_session, write_session
from tests.conftest import desk_staff


# --- a known data set ----------------------------------------------------------------------
def known_store(engine, groups: dict[str, int], *, callers=("李娜", "王强")) -> dict:
    """An event with exactly these invitations per group, split over the callers in turn."""
    with write_session(engine) as s:
        ev = create_event(s, name="11月续保会", event_date=now().date() + timedelta(days=5), store_name="XX店")
        staff = [add_staff(s, name=n, role="advisor") for n in callers]
        manager = add_staff(s, name="林经理", role="manager")
        ids, i = [], 0
        for group, n in groups.items():
            for _ in range(n):
                ts = now()
                c = Customer(name=f"客户{i:03d}", phone=f"139{i:08d}", category=group, created_at=ts, updated_at=ts)
                s.add(c)
                s.flush()
                s.add(Vehicle(customer_id=c.id, plate=f"粤B{i:05d}", model="朗逸", insurer_last="平安",
                              commercial_expiry=date(2026, 12, 1 + i % 20)))
                inv = Invitation(event_id=ev.id, customer_id=c.id, advisor_id=staff[i % len(staff)].id, group=group,
                                 code=f"TESTCODE{i:06d}X", created_at=ts)
                s.add(inv)
                s.flush()
                ids.append(inv.id)
                i += 1
        return {"event_id": ev.id, "callers": [p.id for p in staff], "manager": manager.id, "invitations": ids}


def owner(engine, inv_id: int) -> int:
    with read_session(engine) as s:
        return s.get(Invitation, inv_id).advisor_id


# --- call log ------------------------------------------------------------------------------
def test_log_call_keeps_latest_outcome_and_history(engine):
    k = known_store(engine, {"retained": 4})
    inv = k["invitations"][0]
    me = owner(engine, inv)
    calls.log_call(engine, invitation_id=inv, outcome="no_answer", reason="powered_off", staff_id=me)
    calls.log_call(engine, invitation_id=inv, outcome="confirmed", party_size=3, expected_arrival="10:30",
                   note="带家人", sms_sent=True, sms_receipt=True, staff_id=me)
    with read_session(engine) as s:
        row = s.get(Invitation, inv)
        assert (row.call_outcome, row.party_size) == ("confirmed", 3)
        assert s.execute(select(CallLog).where(CallLog.invitation_id == inv)).scalars().all().__len__() == 2
    h = calls.history(engine, invitation_id=inv)
    assert [c["outcome"] for c in h] == ["confirmed", "no_answer"]
    assert h[0]["expected_arrival"] == "10:30" and h[1]["reason"] == "powered_off"
    assert checkin.counters(engine, k["event_id"])["confirmed"] == 1  # the desk counters read it


@pytest.mark.parametrize("kwargs,reason", [
    ({"outcome": "maybe"}, "call_outcome_invalid"),
    ({"outcome": "no_answer", "reason": "car_sold"}, "call_reason_invalid"),
    ({"outcome": "confirmed", "party_size": 0}, "party_size_invalid"),
    ({"outcome": "confirmed", "expected_arrival": "25:00"}, "arrival_time_invalid"),
    ({"outcome": "confirmed", "sms_receipt": True}, "sms_receipt_without_sms"),
])
def test_log_call_refusals_write_nothing(engine, kwargs, reason):
    k = known_store(engine, {"retained": 2})
    inv = k["invitations"][0]
    with pytest.raises(DeskError) as e:
        calls.log_call(engine, invitation_id=inv, staff_id=owner(engine, inv), **kwargs)
    assert e.value.reason == reason
    with read_session(engine) as s:
        assert s.execute(select(CallLog)).first() is None
        assert s.get(Invitation, inv).call_outcome is None


def test_a_caller_logs_only_their_own_customers_the_manager_anyone(engine):
    k = known_store(engine, {"retained": 2})
    a, b = k["invitations"]
    with pytest.raises(DeskError) as e:
        calls.log_call(engine, invitation_id=b, outcome="confirmed", staff_id=owner(engine, a))
    assert e.value.reason == "not_your_customer"
    calls.log_call(engine, invitation_id=b, outcome="unsure", staff_id=k["manager"])


def test_worklist_next_call_on_top(engine):
    k = known_store(engine, {"retained": 6}, callers=("李娜",))
    me = k["callers"][0]
    inv = k["invitations"]
    calls.log_call(engine, invitation_id=inv[0], outcome="not_interested", reason="car_sold", staff_id=me)
    calls.log_call(engine, invitation_id=inv[1], outcome="confirmed", staff_id=me)
    calls.log_call(engine, invitation_id=inv[2], outcome="no_answer", staff_id=me)  # called today
    with write_session(engine) as s:  # inv[3]: no answer yesterday: retry today
        s.add(CallLog(event_id=k["event_id"], invitation_id=inv[3], caller_id=me, at=now() - timedelta(days=1),
                      outcome="no_answer"))
        s.get(Invitation, inv[3]).call_outcome = "no_answer"
    today = now().date()
    order = [g["invitation_id"] for g in calls.worklist(engine, event_id=k["event_id"], caller_id=me, today=today)]
    assert order == [inv[4], inv[5], inv[3], inv[2], inv[1], inv[0]]
    # N-1: the confirmed customer is re-confirmed first (a call tomorrow, the day before the event)
    ev_day = today + timedelta(days=5)
    order = [g["invitation_id"] for g in calls.worklist(engine, event_id=k["event_id"], caller_id=me,
                                                        today=ev_day - timedelta(days=1))]
    assert order[0] == inv[1] and order[-1] == inv[0]
    assert calls.rank("confirmed", None, today=ev_day, event_date=ev_day) == calls.RANK_RECONFIRM


def test_lost_customers_split_evenly_year_by_year(engine):
    """The import's assignment: each loss year's lost customers go round the callers in turn."""
    from core import importer

    with write_session(engine) as s:
        ev = create_event(s, name="分配测试", event_date=date(2026, 12, 5))
        for n in ("甲", "乙", "丙"):
            add_staff(s, name=n, role="advisor")
        ts = now()
        for i in range(15):
            c = Customer(name=f"流失{i}", phone=f"138{i:08d}", created_at=ts, updated_at=ts)
            s.add(c)
            s.flush()
            s.add(Invitation(event_id=ev.id, customer_id=c.id, group="lost", loss_year=2024 if i < 9 else 2025,
                             code=f"LOSTCODE{i:06d}X", created_at=ts))
        s.flush()
        importer.assign_invitations(s, ev.id)
        rows = s.execute(select(Invitation.loss_year, Invitation.advisor_id).where(Invitation.event_id == ev.id)).all()
    for year, per in ((2024, 3), (2025, 2)):
        counts: dict[int, int] = {}
        for y, a in rows:
            if y == year:
                counts[a] = counts.get(a, 0) + 1
        assert sorted(counts.values()) == [per, per, per], year


# --- nightly report ------------------------------------------------------------------------
def test_nightly_report_text_exactly(engine):
    k = known_store(engine, {"retained": 6, "natural": 3, "lost": 4})
    inv, ev = k["invitations"], k["event_id"]
    today = now().date()
    calls.set_plan(engine, event_id=ev, day=today, planned_calls=12, planned_sms=8, staff_id=k["manager"])
    plan = [("confirmed", True, True), ("confirmed", True, False), ("unsure", True, False), ("no_answer", False, False),
            ("no_answer", False, False), ("not_interested", False, False), ("confirmed", False, False)]
    for i, (outcome, sms, receipt) in enumerate(plan):
        calls.log_call(engine, invitation_id=inv[i], outcome=outcome, sms_sent=sms, sms_receipt=receipt,
                       staff_id=owner(engine, inv[i]))
    # called twice today: counted once, by the last call (no answer -> confirmed)
    calls.log_call(engine, invitation_id=inv[3], outcome="confirmed", staff_id=owner(engine, inv[3]))
    with write_session(engine) as s:  # yesterday's call is not today's
        s.add(CallLog(event_id=ev, invitation_id=inv[10], caller_id=k["callers"][0], at=now() - timedelta(days=1),
                      outcome="unsure"))
    r = reports.nightly(engine, event_id=ev, day=today)
    d = f"{today.month}月{today.day}日"
    assert r.lines == [
        f"{d}，XX店计划总回访量12批，实际7批：确定4批，不确定1批，未接通1批，无意向1批。",
        f"{d}，XX店计划短信回访8批，实际3批，回执确认1批。",
        "XX店，客户构成为：保有6批，自然3批，流失4批，共计13批。",
    ]
    assert sum(row["called"] for row in r.per_caller) == 7
    assert {row["caller"] for row in r.per_caller} == {"李娜", "王强"}
    assert sum(row["confirmed"] for row in r.per_caller) == 4


def test_report_format_matches_the_plan_example():
    total = reports.DayFigures(called=110, outcomes={"confirmed": 40, "unsure": 30, "no_answer": 25,
                                                     "not_interested": 15}, sms_sent=78, sms_receipts=52)
    lines = reports.report_lines(day=date(2026, 11, 20), store="XX店", planned_calls=120, planned_sms=80, total=total,
                                 groups={"retained": 300, "natural": 120, "lost": 180})
    assert lines == ["11月20日，XX店计划总回访量120批，实际110批：确定40批，不确定30批，未接通25批，无意向15批。",
                     "11月20日，XX店计划短信回访80批，实际78批，回执确认52批。",
                     "XX店，客户构成为：保有300批，自然120批，流失180批，共计600批。"]


def test_plan_needs_a_manager_and_whole_numbers(engine):
    k = known_store(engine, {"retained": 1})
    with pytest.raises(DeskError) as e:
        calls.set_plan(engine, event_id=k["event_id"], day=date(2026, 11, 20), planned_calls=5, planned_sms=1,
                       staff_id=k["callers"][0])
    assert e.value.reason == "not_manager"
    with pytest.raises(DeskError):
        calls.set_plan(engine, event_id=k["event_id"], day=date(2026, 11, 20), planned_calls=-1, planned_sms=1,
                       staff_id=k["manager"])
    calls.set_plan(engine, event_id=k["event_id"], day=date(2026, 11, 20), planned_calls=5, planned_sms=1,
                   staff_id=k["manager"])
    calls.set_plan(engine, event_id=k["event_id"], day=date(2026, 11, 20), planned_calls=6, planned_sms=2,
                   staff_id=k["manager"])
    assert calls.plan_for(engine, event_id=k["event_id"], day=date(2026, 11, 20)) == (6, 2)


# --- incentive -----------------------------------------------------------------------------
@pytest.mark.parametrize("n,yuan", [(0, -200), (14, -200), (15, 75), (20, 100), (21, 210), (25, 250), (30, 450),
                                    (35, 700), (40, 1000), (41, 1230)])
def test_incentive_tier_boundaries(n, yuan):
    assert incentive.payout(n) == yuan


def test_incentive_policy_is_checked_whole(engine):
    k = known_store(engine, {"retained": 1})
    bad = [incentive.Tier(0, 9, None, -100), incentive.Tier(11, None, 10)]  # gap at 10
    with pytest.raises(DeskError) as e:
        incentive.save_policy(engine, event_id=k["event_id"], tiers=bad, basis="confirmed", staff_id=k["manager"])
    assert e.value.reason == "tiers_invalid" and e.value.info["row"] == 2
    with pytest.raises(DeskError) as e:
        incentive.save_policy(engine, event_id=k["event_id"], tiers=[incentive.Tier(0, 9, 1)], basis="confirmed",
                              staff_id=k["manager"])
    assert e.value.reason == "tiers_open_end"
    assert incentive.policy(engine, k["event_id"]) == (list(incentive.DEFAULT_TIERS), "checked_in")
    good = [incentive.Tier(0, 9, None, -100), incentive.Tier(10, None, 10)]
    incentive.save_policy(engine, event_id=k["event_id"], tiers=good, basis="confirmed", staff_id=k["manager"])
    assert incentive.policy(engine, k["event_id"]) == (good, "confirmed")


def test_payouts_count_checked_in_batches_by_default(engine):
    k = known_store(engine, {"retained": 40}, callers=("李娜", "王强"))
    ev, inv = k["event_id"], k["invitations"]
    li = k["callers"][0]
    mine = [i for i in inv if owner(engine, i) == li]  # 20
    for i in mine:
        calls.log_call(engine, invitation_id=i, outcome="confirmed", staff_id=li)
    for i in mine[:15]:
        checkin.check_in(engine, event_id=ev, invitation_id=i, desk="签到台1", staff_id=desk_staff(engine))
    rows, basis = incentive.payouts(engine, event_id=ev)
    assert basis == "checked_in"
    got = {r["caller"]: (r["batches"], r["payout"]) for r in rows}
    assert got == {"李娜": (15, 75), "王强": (0, -200)}
    incentive.save_policy(engine, event_id=ev, tiers=incentive.DEFAULT_TIERS, basis="confirmed", staff_id=k["manager"])
    got = {r["caller"]: (r["batches"], r["payout"]) for r in incentive.payouts(engine, event_id=ev)[0]}
    assert got["李娜"] == (20, 100)


# --- results, N+1, exports -----------------------------------------------------------------
def event_day(seeded):
    """The seeded event: some confirmed, arrived, renewed; one renewed without the gift."""
    eng, ev = seeded.engine, seeded.event_id
    with read_session(eng) as s:
        invs = list(s.execute(select(Invitation).where(Invitation.event_id == ev).order_by(Invitation.id)).scalars())
    with write_session(eng) as s:  # a clean start: outcomes as the callers left them
        for i, inv in enumerate(invs):
            s.get(Invitation, inv.id).call_outcome = ("confirmed", "confirmed", "confirmed", "confirmed", "unsure",
                                                      "no_answer", "not_interested", "confirmed")[i % 8]
    for inv in invs[:4]:  # four arrive (three of them confirmed... all four are)
        checkin.check_in(eng, event_id=ev, invitation_id=inv.id, desk="签到台1", staff_id=desk_staff(eng))
    receipts = []
    for inv in invs[:2]:  # two renew
        g = checkin.find(eng, event_id=ev, raw=inv.code)[0]
        receipts.append(cashier.record_renewal(eng, event_id=ev, invitation_id=inv.id, vehicle_id=g["vehicles"][0]["id"],
                                               insurer="平安", compulsory="950", commercial="2100.50", vehicle_tax="300",
                                               payment_method="wechat", desk="收银台1", staff_id=seeded.cashier_id))
    return invs, receipts


def hand_out(seeded, invitation_id: int, renewal_id: int, draw: bool = True) -> dict:
    out = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=invitation_id, renewal_id=renewal_id,
                      gift=True, draw=draw, desk="礼品台1", staff_id=seeded.gift_staff_id)
    assert out["refusal"] is None
    return out


def test_funnel_matches_the_rows(seeded):
    invs, _ = event_day(seeded)
    f = results.funnel(seeded.engine, event_id=seeded.event_id)
    n = len(invs)
    outcomes = [("confirmed", "confirmed", "confirmed", "confirmed", "unsure", "no_answer", "not_interested",
                 "confirmed")[i % 8] for i in range(n)]
    assert f["overall"] == {"invited": n, "reached": sum(o != "no_answer" for o in outcomes),
                            "confirmed": outcomes.count("confirmed"), "arrived": 4, "renewed": 2}
    for part in ("by_caller", "by_group"):
        for stage in results.STAGES:
            assert sum(r[stage] for r in f[part]) == f["overall"][stage], (part, stage)
    p = results.premium(seeded.engine, event_id=seeded.event_id)
    assert p["insurer"] == [{"name": "平安", "count": 2, "total_fen": 2 * 335050}]
    assert p["payment"][0]["name"] == "wechat"


def test_n1_membership(seeded):
    invs, receipts = event_day(seeded)
    eng, ev = seeded.engine, seeded.event_id
    # the first renewal collects its gift, the second leaves without it
    ent = gifts.entitlements(eng, event_id=ev, invitation_id=invs[0].id)
    hand_out(seeded, invs[0].id, ent["renewals"][0]["renewal_id"], draw=False)
    got = {r["invitation_id"]: r["reason"] for r in results.n1_list(eng, event_id=ev)}
    outcomes = [("confirmed", "confirmed", "confirmed", "confirmed", "unsure", "no_answer", "not_interested",
                 "confirmed")[i % 8] for i in range(len(invs))]
    expected = {invs[1].id: "renewed_no_gift", invs[2].id: "came_no_renewal", invs[3].id: "came_no_renewal"}
    expected.update({inv.id: "confirmed_no_show" for i, inv in enumerate(invs) if i >= 4 and outcomes[i] == "confirmed"})
    assert got == expected


def test_n1_loads_as_a_new_call_list(seeded):
    invs, _ = event_day(seeded)
    eng = seeded.engine
    with write_session(eng) as s:
        target = create_event(s, name="二次邀约 12月", event_date=date(2026, 12, 12)).id
    n1 = results.n1_list(eng, event_id=seeded.event_id)
    with pytest.raises(DeskError):
        results.load_n1(eng, source_event_id=seeded.event_id, target_event_id=target, staff_id=seeded.advisor_id)
    out = results.load_n1(eng, source_event_id=seeded.event_id, target_event_id=target, staff_id=seeded.manager_id)
    assert out["added"] == len(n1) > 0
    again = results.load_n1(eng, source_event_id=seeded.event_id, target_event_id=target, staff_id=seeded.manager_id)
    assert again == {**again, "added": 0, "skipped": len(n1)}
    wl = calls.worklist(eng, event_id=target, caller_id=None)
    assert {g["name"] for g in wl} == {r["name"] for r in n1}
    assert all(g["outcome"] is None and g["advisor_id"] for g in wl)


def test_results_workbook_opens_with_the_expected_sheets_and_totals(seeded):
    event_day(seeded)
    data = results.results_book(seeded.engine, event_id=seeded.event_id)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["总体漏斗", "客户构成", "按回访人", "按客户类别", "保费-承保公司", "保费-付款方式", "礼品库存", "内促激励",
                               "二次邀约", "礼品与抽奖发放"]
    by_caller = list(book["按回访人"].values)
    assert by_caller[0] == ("回访人", "邀约", "网络集客", "接通", "确定", "到店", "续保")
    assert by_caller[-1][0] == "合计" and by_caller[-1][5:] == (4, 2)
    insurer = list(book["保费-承保公司"].values)
    assert insurer[-1] == ("合计", 2, 6701.0)
    n1 = list(book["二次邀约"].values)
    assert n1[0][:3] == ("客户姓名", "手机号", "车牌号") and len(n1) > 1


def test_n1_sheet_reads_back_through_the_dms_import(seeded):
    """'Loadable as a new call list' also through 客户导入: the sheet's header is one the import reads."""
    from core import importer

    event_day(seeded)
    data = results.n1_book(seeded.engine, event_id=seeded.event_id)
    plan = importer.plan_import("n1.xlsx", data)
    assert len(plan.rows) == len(results.n1_list(seeded.engine, event_id=seeded.event_id))
    assert {"name", "phone", "plate", "advisor", "category"} <= set(plan.columns)


def test_winners_and_hand_outs_export(seeded):
    eng, ev = seeded.engine, seeded.event_id
    inv = event_day(seeded)[0][0]
    ent = gifts.entitlements(eng, event_id=ev, invitation_id=inv.id)
    renewal_id = ent["renewals"][0]["renewal_id"]
    with write_session(eng) as s:  # a formula-looking name must come out as text
        cust = s.get(Customer, s.get(Invitation, inv.id).customer_id)
        cust.name = "=HYPERLINK(\"x\")"
    rows_before = results.hand_outs(eng, event_id=ev)
    assert rows_before == []
    hand_out(seeded, inv.id, renewal_id)
    rows = results.hand_outs(eng, event_id=ev)
    assert rows and all(r["receipt_no"] and r["desk"] == "礼品台1" for r in rows)
    book = load_workbook(io.BytesIO(results.winners_book(eng, event_id=ev)))
    assert book.sheetnames == ["中奖名单", "礼品与抽奖发放"]
    sheet = list(book["礼品与抽奖发放"].values)
    assert sheet[0] == ("时间", "类型", "礼品", "客户", "手机号", "发放台", "经办人", "小票号", "已收回")
    assert len(sheet) == 1 + len(rows)
    assert book["礼品与抽奖发放"]["D2"].data_type == "s" and sheet[1][3].startswith("=HYPERLINK")
    winners = [r for r in rows if r["kind"] == "draw" and r.get("won")]
    assert len(list(book["中奖名单"].values)) == 1 + len(winners)


def test_gifts_left(seeded):
    eng, ev = seeded.engine, seeded.event_id
    inv = event_day(seeded)[0][0]
    ent = gifts.entitlements(eng, event_id=ev, invitation_id=inv.id)
    hand_out(seeded, inv.id, ent["renewals"][0]["renewal_id"])
    for g in results.gifts_left(eng, event_id=ev):
        assert g["initial"] - g["handed_out"] == g["left"], g


# --- the arrival webhook -------------------------------------------------------------------
class Robot:
    """A WeCom group robot on loopback: records the posts; can fail or hang on demand."""

    def __init__(self, mode: str = "ok"):
        self.mode, self.posts, self.hits = mode, [], 0
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                robot.hits += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if robot.mode == "hang":
                    time.sleep(30)
                    return
                if robot.mode == "fail":
                    self.send_response(500)
                    self.end_headers()
                    return
                robot.posts.append(json.loads(body)["text"]["content"])
                out = b'{"errcode":0,"errmsg":"ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=test"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(cond, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def confirmed_guests(k, engine, n):
    out = []
    for inv in k["invitations"][:n]:
        calls.log_call(engine, invitation_id=inv, outcome="confirmed", staff_id=owner(engine, inv))
        out.append(inv)
    return out


def test_an_arrival_reaches_the_robot(engine):
    k = known_store(engine, {"retained": 4}, callers=("李娜",))
    robot = Robot()
    notify.set_webhook_url(engine, url=robot.url, staff_id=k["manager"])
    n = notify.Notifier(engine, poll_s=0.1).start()
    try:
        assert wait_for(lambda: n._known >= 0, 5)  # the cursor starts at the latest check-in
        a, b = confirmed_guests(k, engine, 2)
        checkin.check_in(engine, event_id=k["event_id"], invitation_id=a, desk="签到台1", staff_id=desk_staff(engine))
        checkin.check_in(engine, event_id=k["event_id"], invitation_id=k["invitations"][3], desk="签到台1",
                         staff_id=desk_staff(engine))  # not confirmed: no message
        assert wait_for(lambda: robot.posts, 5)
        assert robot.posts == ["客***0 已到店，邀约人 李娜"]
        checkin.check_in(engine, event_id=k["event_id"], invitation_id=b, desk="签到台1", staff_id=desk_staff(engine))
        assert wait_for(lambda: len(robot.posts) == 2, 5)
        assert robot.posts[1] == "客***1 已到店，邀约人 李娜" and len(robot.posts) == 2
    finally:
        n.stop()
        robot.close()


def test_past_arrivals_are_not_posted_when_the_notifier_starts(engine):
    k = known_store(engine, {"retained": 2}, callers=("李娜",))
    (a,) = confirmed_guests(k, engine, 1)
    checkin.check_in(engine, event_id=k["event_id"], invitation_id=a, desk="签到台1", staff_id=desk_staff(engine))
    robot = Robot()
    notify.set_webhook_url(engine, url=robot.url, staff_id=k["manager"])
    assert notify.claim_arrivals(engine) == ("", [])  # first claim: cursor at the latest check-in
    assert notify.claim_arrivals(engine) == ("", [])
    robot.close()


@pytest.mark.parametrize("mode", ["hang", "fail"])
def test_a_bad_robot_never_blocks_a_check_in(engine, mode):
    k = known_store(engine, {"retained": 5}, callers=("李娜",))
    robot = Robot(mode)
    notify.set_webhook_url(engine, url=robot.url, staff_id=k["manager"])
    n = notify.Notifier(engine, poll_s=0.1, timeout_s=0.3, tries=2, backoff_s=0.1).start()
    try:
        assert wait_for(lambda: n._known >= 0, 5)
        guests = confirmed_guests(k, engine, 4)
        for inv in guests:  # every check-in is answered while the robot hangs or fails
            out = checkin.check_in(engine, event_id=k["event_id"], invitation_id=inv, desk="签到台1", staff_id=desk_staff(engine))
            assert out["status"] == "welcome"
        assert checkin.counters(engine, k["event_id"])["arrived"] == 4
        assert wait_for(lambda: robot.hits >= 2, 10)  # tried, and tried again
        if mode == "fail":
            assert wait_for(lambda: n.failed == 4, 10)  # each given up after its tries
            assert robot.hits == 8
    finally:
        n.stop()
        robot.close()


def test_webhook_url_needs_a_manager_and_a_url(engine):
    k = known_store(engine, {"retained": 1})
    with pytest.raises(DeskError) as e:
        notify.set_webhook_url(engine, url="https://qyapi.weixin.qq.com/x", staff_id=k["callers"][0])
    assert e.value.reason == "not_manager"
    with pytest.raises(DeskError) as e:
        notify.set_webhook_url(engine, url="qyapi.weixin.qq.com", staff_id=k["manager"])
    assert e.value.reason == "webhook_invalid"
    notify.set_webhook_url(engine, url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", staff_id=k["manager"])
    assert notify.webhook_url(engine).endswith("key=abc")


def test_my_guests_status(engine):
    k = known_store(engine, {"retained": 4}, callers=("李娜",))
    ev, me = k["event_id"], k["callers"][0]
    a, b = confirmed_guests(k, engine, 2)
    assert calls.my_guests_status(engine, event_id=ev, caller_id=me)["arrived"] == 0
    checkin.check_in(engine, event_id=ev, invitation_id=a, desk="签到台1", staff_id=desk_staff(engine))
    checkin.check_in(engine, event_id=ev, invitation_id=b, desk="签到台1", staff_id=desk_staff(engine))
    with read_session(engine) as s:
        veh = s.execute(select(Vehicle.id).join(Invitation, Invitation.customer_id == Vehicle.customer_id)
                        .where(Invitation.id == a)).scalar_one()
    cashier.record_renewal(engine, event_id=ev, invitation_id=a, vehicle_id=veh, insurer="平安", compulsory="950",
                           commercial="0", vehicle_tax="0", payment_method="cash", desk="收银台1", staff_id=desk_staff(engine))
    st = calls.my_guests_status(engine, event_id=ev, caller_id=me)
    assert (st["arrived"], st["renewed"], st["waiting"], st["confirmed"]) == (2, 1, 1, 2)


def test_manager_reassigns_all_or_nothing(engine):
    k = known_store(engine, {"retained": 4}, callers=("李娜", "王强"))
    li, wang = k["callers"]
    inv = k["invitations"]
    calls.log_call(engine, invitation_id=inv[0], outcome="unsure", staff_id=li)
    with pytest.raises(DeskError) as e:
        calls.reassign(engine, invitation_ids=[inv[0]], to_caller_id=wang, staff_id=li)
    assert e.value.reason == "not_manager"
    with pytest.raises(DeskError):
        calls.reassign(engine, invitation_ids=[inv[0], 99999], to_caller_id=wang, staff_id=k["manager"])
    assert owner(engine, inv[0]) == li  # nothing moved
    out = calls.reassign(engine, invitation_ids=[inv[0], inv[2]], to_caller_id=wang, staff_id=k["manager"])
    assert out["moved"] == 2 and owner(engine, inv[0]) == owner(engine, inv[2]) == wang
    assert [g["invitation_id"] for g in calls.worklist(engine, event_id=k["event_id"], caller_id=li)] == []
    assert calls.history(engine, invitation_id=inv[0])[0]["caller"] == "李娜"  # history stays
