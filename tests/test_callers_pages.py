"""我的客户, 回访晚报 and 活动成果 through app.py, as a caller (advisor) and as the manager."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import calls, cashier, checkin, incentive
from core.clock import now
from core.models import CallLog, Invitation
from core.store import read_session
from pages.common import Station
from tests.test_pages import ROOT, TIMEOUT, html_text
from tests.conftest import desk_staff


@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    return seeded_sqlite


def through_app(seeded, page: str, role: str) -> AppTest:
    """app.py with a signed-in station, then the page as the role reaches it from the menu."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    staff_id = seeded.manager_id if role == "manager" else seeded.advisor_id
    name = "林经理" if role == "manager" else "陈晓东"
    at.session_state["station"] = Station(staff_id=staff_id, staff_name=name, role=role, desk="经理",
                                          event_id=seeded.event_id, event_name="测试续保会")
    at.run()
    assert not at.exception
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def my_invitations(seeded) -> list[int]:
    with read_session(seeded.engine) as s:
        return list(s.execute(select(Invitation.id).where(Invitation.advisor_id == seeded.advisor_id)
                              .order_by(Invitation.id)).scalars())


def test_caller_logs_a_call_from_the_top_of_the_list(store):
    at = through_app(store, "pages/worklist.py", "advisor")
    top = at.selectbox(key="wl_pick_0").value
    assert top == calls.worklist(store.engine, event_id=store.event_id, caller_id=store.advisor_id)[0]["invitation_id"]
    assert top in my_invitations(store)
    at.button_group(key="wl_outcome").set_value("confirmed").run()
    at.number_input(key="wl_party").set_value(2)
    at.selectbox(key="wl_arrival").set_value("10:30")
    at.text_input(key="wl_note").input("周六上午带老婆来")
    at.checkbox(key="wl_sms").check()
    at.button(key="wl_save").click().run()
    assert not at.exception
    assert any("已记录" in s.value for s in at.success)
    with read_session(store.engine) as s:
        call = s.execute(select(CallLog).where(CallLog.invitation_id == top)).scalar_one()
        assert (call.outcome, call.party_size, call.expected_arrival, call.sms_sent) == ("confirmed", 2, "10:30", True)
        assert s.get(Invitation, top).call_outcome == "confirmed"


def test_a_refused_call_is_a_plain_message(store):
    at = through_app(store, "pages/worklist.py", "advisor")
    at.button(key="wl_save").click().run()  # no outcome chosen
    assert not at.exception
    assert any("请选择回访结果" in e.value for e in at.error)
    at.button_group(key="wl_outcome").set_value("no_answer").run()
    at.checkbox(key="wl_receipt").check()
    at.button(key="wl_save").click().run()
    assert any("还没发短信" in e.value for e in at.error)
    with read_session(store.engine) as s:
        assert s.execute(select(CallLog)).first() is None


def test_my_customers_shows_arrivals_live(store):
    inv = my_invitations(store)[0]
    at = through_app(store, "pages/worklist.py", "advisor")
    assert "还没有到店" in "".join(i.value for i in at.info)
    checkin.check_in(store.engine, event_id=store.event_id, invitation_id=inv, desk="签到台1", staff_id=desk_staff(store.engine))
    import streamlit as st

    st.cache_data.clear()  # the page's 1 s cache has expired (the browser test covers the live refresh)
    at.run()
    text = html_text(at)
    assert "等待办理" in text and "签到台1" in text


def test_worklist_refuses_a_cashier(store):
    at = AppTest.from_file(str(ROOT / "pages/worklist.py"), default_timeout=TIMEOUT)
    at.session_state["station"] = Station(staff_id=store.cashier_id, staff_name="郑收银", role="cashier", desk="收银台1",
                                          event_id=store.event_id, event_name="测试续保会")
    at.run()
    assert at.error and not at.exception


def test_manager_sees_any_callers_list(store):
    at = through_app(store, "pages/worklist.py", "manager")
    assert at.selectbox(key="wl_caller").value is None  # everyone's
    n_all = len(calls.worklist(store.engine, event_id=store.event_id, caller_id=None))
    assert f"共 {n_all} 位" in at.caption[0].value
    at.selectbox(key="wl_caller").set_value(store.advisor_id).run()
    assert f"共 {len(my_invitations(store))} 位" in at.caption[0].value


def test_report_page_text_plan_and_table(store):
    inv = my_invitations(store)[0]
    calls.log_call(store.engine, invitation_id=inv, outcome="unsure", staff_id=store.advisor_id)
    at = through_app(store, "pages/report.py", "manager")
    d = now().date()
    at.number_input(key=f"rp_calls_{d}").set_value(30)
    at.number_input(key=f"rp_sms_{d}").set_value(20)
    at.button[[b.label for b in at.button].index("保存计划")].click().run()
    assert not at.exception
    text = at.code[0].value
    assert text.startswith(f"{d.month}月{d.day}日，测试4S店计划总回访量30批，实际1批：确定0批，不确定1批，未接通0批，无意向0批。")
    assert "计划短信回访20批，实际0批，回执确认0批。" in text
    assert "测试4S店，客户构成为：" in text
    table = at.dataframe[0].value
    assert "合计" in table.iloc[-1].tolist()


def test_report_and_results_are_for_managers_only(store):
    for path in ("pages/report.py", "pages/results.py"):
        at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
        at.session_state["station"] = Station(staff_id=store.advisor_id, staff_name="陈晓东", role="advisor", desk="x",
                                              event_id=store.event_id, event_name="测试续保会")
        at.run()
        assert any("只有经理" in e.value for e in at.error), path


def test_results_page_and_its_workbook(store):
    eng, ev = store.engine, store.event_id
    invs = my_invitations(store)
    for inv in invs[:2]:
        calls.log_call(eng, invitation_id=inv, outcome="confirmed", staff_id=store.advisor_id)
    checkin.check_in(eng, event_id=ev, invitation_id=invs[0], desk="签到台1", staff_id=desk_staff(eng))
    with read_session(eng) as s:
        code = s.get(Invitation, invs[0]).code
    guest = checkin.find(eng, event_id=ev, raw=code)[0]
    cashier.record_renewal(eng, event_id=ev, invitation_id=invs[0], vehicle_id=guest["vehicles"][0]["id"], insurer="平安",
                           compulsory="950", commercial="2000", vehicle_tax="0", payment_method="pos", desk="收银台1",
                           staff_id=store.cashier_id)
    at = through_app(store, "pages/results.py", "manager")
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    assert any("续保未领礼品" in df.to_string() for df in frames)  # N+1 list
    assert any("确定未到店" in df.to_string() for df in frames)
    # the incentive: default tiers, checked-in basis: 陈晓东 has 1 batch -> -200
    pay = next(df for df in frames if "奖励（元）" in df.columns)
    row = pay[pay["回访人"] == "陈晓东"].iloc[0]
    assert (row["实际到店批次"], row["奖励（元）"]) == (1, -200)
    # the workbook, as the download button holds it
    from core import results

    book = load_workbook(io.BytesIO(results.results_book(eng, event_id=ev)))
    assert "总体漏斗" in book.sheetnames and "二次邀约" in book.sheetnames
    funnel = {r[0]: r[1] for r in book["总体漏斗"].iter_rows(min_row=2, values_only=True)}
    assert (funnel["到店"], funnel["续保"]) == (1, 1)


def test_results_incentive_policy_saved_from_the_page(store):
    at = through_app(store, "pages/results.py", "manager")
    at.radio(key="rs_basis").set_value("confirmed")
    save = next(b for b in at.button if b.label == "保存激励政策")
    save.click().run()
    assert not at.exception
    assert incentive.policy(store.engine, store.event_id)[1] == "confirmed"


def test_n1_loaded_into_a_new_event_from_the_page(store):
    eng = store.engine
    inv = my_invitations(store)[0]
    calls.log_call(eng, invitation_id=inv, outcome="confirmed", staff_id=store.advisor_id)
    at = through_app(store, "pages/results.py", "manager")
    at.text_input(key="rs_n1_name").input("二次邀约 · 12月")
    next(b for b in at.button if b.label == "载入为回访名单").click().run()
    assert not at.exception
    assert any("已载入" in s.value for s in at.success)
    from core.events import list_events

    target = next(e for e in list_events(eng) if e.name == "二次邀约 · 12月")
    assert len(calls.worklist(eng, event_id=target.id, caller_id=None)) >= 1


def test_manager_reassigns_from_the_list(store):
    mine = my_invitations(store)
    at = through_app(store, "pages/worklist.py", "manager")
    from core.events import list_staff

    li = next(p for p in list_staff(store.engine) if p.name == "李婷")
    at.multiselect(key="wl_re_pick").set_value(mine[:2])
    at.selectbox(key="wl_re_to").set_value(li.id)
    next(b for b in at.button if b.label == "确认改派").click().run()
    assert not at.exception
    assert any("已改派 2 位客户给 李婷" in s.value for s in at.success)
    assert my_invitations(store) == mine[2:]
