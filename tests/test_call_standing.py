"""A call that reaches nobody never replaces an answer: a 确定 who misses the N-1 re-confirm call
stays confirmed in every count, and the call is still in the history (确定 · 复核未接通). Store tests
run on SQLite and PostgreSQL; the page through app.py."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from core import calls, checkin, counts, migrate, results
from core.clock import now
from core.models import CallLog, Invitation
from core.store import get_engine, read_session
from tests.test_calls import known_store, owner


def test_no_answer_after_confirmed_keeps_the_customer_confirmed(engine):
    k = known_store(engine, {"retained": 3})
    inv = k["invitations"][0]
    me = owner(engine, inv)
    calls.log_call(engine, invitation_id=inv, outcome="confirmed", party_size=2, expected_arrival="10:30", staff_id=me)
    before = counts.event_counts(engine, event_id=k["event_id"])
    out = calls.log_call(engine, invitation_id=inv, outcome="no_answer", reason="powered_off", staff_id=me)
    assert out["standing"] == "confirmed" and out["kept"] and out["outcome"] == "no_answer"
    with read_session(engine) as s:
        row = s.get(Invitation, inv)
        assert (row.call_outcome, row.party_size) == ("confirmed", 2)
        assert [c.outcome for c in s.execute(select(CallLog).where(CallLog.invitation_id == inv)
                                             .order_by(CallLog.id)).scalars()] == ["confirmed", "no_answer"]
    after = counts.event_counts(engine, event_id=k["event_id"])
    assert after["invited"]["confirmed"] == before["invited"]["confirmed"] == 1
    assert checkin.counters(engine, k["event_id"])["confirmed"] == 1
    assert results.funnel(engine, event_id=k["event_id"])["overall"]["confirmed"] == 1
    h = calls.history(engine, invitation_id=inv)
    assert [(c["outcome"], c["standing"], c["reason"]) for c in h] == [("no_answer", "confirmed", "powered_off"),
                                                                        ("confirmed", "confirmed", "")]
    g = next(g for g in calls.worklist(engine, event_id=k["event_id"], caller_id=me) if g["invitation_id"] == inv)
    assert (g["outcome"], g["last_outcome"], g["kept"]) == ("confirmed", "no_answer", True)


def test_decisive_answers_replace_each_other(engine):
    k = known_store(engine, {"retained": 3})
    inv = k["invitations"][0]
    me = owner(engine, inv)
    seq = [("no_answer", "no_answer"), ("unsure", "unsure"), ("no_answer", "unsure"), ("confirmed", "confirmed"),
           ("no_answer", "confirmed"), ("not_interested", "not_interested"), ("no_answer", "not_interested"),
           ("confirmed", "confirmed")]
    for outcome, expected in seq:
        calls.log_call(engine, invitation_id=inv, outcome=outcome, staff_id=me)
        with read_session(engine) as s:
            assert s.get(Invitation, inv).call_outcome == expected, (outcome, expected)
    assert [c["standing"] for c in calls.history(engine, invitation_id=inv)][::-1] == [e for _, e in seq]


def test_a_missed_reconfirm_is_tried_again_later_not_dropped(engine):
    k = known_store(engine, {"retained": 2}, callers=("李娜",))
    me, (a, b) = k["callers"][0], k["invitations"]
    ev_day = now().date() + timedelta(days=5)
    calls.log_call(engine, invitation_id=a, outcome="confirmed", staff_id=me)
    calls.log_call(engine, invitation_id=a, outcome="no_answer", staff_id=me)
    calls.log_call(engine, invitation_id=b, outcome="confirmed", staff_id=me)
    today = now().date()
    assert calls.rank("confirmed", now(), today=today, event_date=today + timedelta(days=1),
                      last_outcome="no_answer") == calls.RANK_LATER
    assert calls.rank("confirmed", now(), today=today, event_date=today + timedelta(days=1),
                      last_outcome="confirmed") == calls.RANK_CONFIRMED
    ranks = {g["invitation_id"]: g["rank"] for g in calls.worklist(engine, event_id=k["event_id"], caller_id=me,
                                                                   today=ev_day - timedelta(days=5))}
    assert ranks == {a: calls.RANK_CONFIRMED, b: calls.RANK_CONFIRMED}  # long before N-1: nothing to do


def test_migration_gives_the_answer_back(store_url):
    """A store where the re-confirm no-answer replaced the 确定 (before this change) is repaired."""
    eng = get_engine(store_url)
    migrate.upgrade(eng, "0008")
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO event (name, store_name, event_date, target_arrivals, target_renewals, "
                          "target_premium_fen, draw_mode, draw_blank_tickets, extra_draw_per_fen, arrival_gift_on, "
                          "is_demo, created_at, address, start_time) VALUES ('活动', '店', '2026-06-01', 1, 1, 0, 'box', 0, "
                          "0, false, false, '2026-05-20 10:00:00', '', '')"))
        for i in (1, 2, 3):
            conn.execute(text("INSERT INTO customer (name, phone, category, created_at, updated_at) VALUES "
                              f"('客户{i}', '1380000111{i}', 'retained', '2026-05-20 10:00:00', '2026-05-20 10:00:00')"))
            conn.execute(text("INSERT INTO invitation (event_id, customer_id, \"group\", party_size, code, source, "
                              f"walk_in_source, cancelled, created_at, call_outcome) VALUES (1, {i}, 'retained', 1, "
                              f"'CODE{i}ABCDEFGHJKMN', 'import', '', false, '2026-05-20 10:00:00', 'no_answer')"))
        calls_ = [(1, "unsure", "09:00"), (1, "confirmed", "10:00"), (1, "no_answer", "11:00"),
                  (2, "no_answer", "09:00"), (3, "not_interested", "09:00"), (3, "no_answer", "12:00")]
        for inv, outcome, at in calls_:
            conn.execute(text("INSERT INTO calllog (event_id, invitation_id, at, outcome, reason, party_size, "
                              "expected_arrival, note, sms_sent, sms_receipt) VALUES "
                              f"(1, {inv}, '2026-05-31 {at}:00', '{outcome}', '', 1, '', '', false, false)"))
    migrate.upgrade(eng)
    with read_session(eng) as s:
        got = dict(s.execute(select(Invitation.id, Invitation.call_outcome)).all())
    assert got == {1: "confirmed", 2: "no_answer", 3: "not_interested"}


def test_my_customers_page_saves_a_no_answer_and_keeps_the_confirmed(seeded_sqlite, monkeypatch):
    """Through app.py as the caller: 确定 first, then a no-answer saved from the phone form."""
    from streamlit.testing.v1 import AppTest

    from pages.common import Station
    from tests.test_pages import ROOT, TIMEOUT, html_text

    seeded = seeded_sqlite
    monkeypatch.setenv("DATABASE_URL", seeded.engine.url.render_as_string(hide_password=False))
    with read_session(seeded.engine) as s:
        inv = s.execute(select(Invitation.id).where(Invitation.advisor_id == seeded.advisor_id)
                        .order_by(Invitation.id)).scalars().first()
    calls.log_call(seeded.engine, invitation_id=inv, outcome="confirmed", party_size=2, staff_id=seeded.advisor_id)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["station"] = Station(staff_id=seeded.advisor_id, staff_name="陈晓东", role="advisor", desk="经理",
                                          event_id=seeded.event_id, event_name="测试续保会")
    at.run()
    at.switch_page("pages/worklist.py").run()
    at.segmented_control(key="wl_filter").set_value("all").run()
    at.selectbox(key="wl_pick_0").set_value(inv).run()
    at.button_group(key="wl_outcome").set_value("no_answer").run()
    at.button_group(key="wl_reason").set_value("powered_off").run()
    at.button(key="wl_save").click().run()
    assert not at.exception
    assert any("未接通（仍为确定）" in s.value for s in at.success), [s.value for s in at.success]
    with read_session(seeded.engine) as s:
        assert s.get(Invitation, inv).call_outcome == "confirmed"
    assert [c["outcome"] for c in calls.history(seeded.engine, invitation_id=inv)] == ["no_answer", "confirmed"]
    at.segmented_control(key="wl_filter").set_value("all").run()
    at.selectbox(key=next(k for k in at.session_state if str(k).startswith("wl_pick_"))).set_value(inv).run()
    assert "确定 · 复核未接通" in html_text(at) and "仍为确定" in html_text(at)
