"""Check-in desk: every reason code, double scans, walk-ins, undo, and two processes racing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import checkin
from core.errors import DeskError
from core.models import AuditEntry, CheckIn, Invitation
from core.store import dispose_all, get_engine, read_session, write_session
from tests.conftest import race, desk_staff


def audits(engine, action="check_in"):
    with read_session(engine) as s:
        return [(a.result, a.raw_input) for a in s.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars()]


def checkins(engine):
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(CheckIn)).scalar_one()


def test_welcome_then_already(seeded):
    eng, code = seeded.engine, seeded.codes[0]
    v = checkin.check_in(eng, event_id=seeded.event_id, raw=code.lower(), desk="签到1", staff_id=desk_staff(eng))
    assert v["status"] == "welcome" and v["code"] == code and v["name"] and v["plates"]
    with pytest.raises(DeskError) as e:
        checkin.check_in(eng, event_id=seeded.event_id, raw=code, desk="签到2", staff_id=desk_staff(eng))
    assert e.value.reason == "already_checked_in" and e.value.info["desk"] == "签到1"
    assert e.value.info["guest"]["name"] == v["name"]
    assert checkins(eng) == 1
    assert [r for r, _ in audits(eng)] == ["ok", "already_checked_in"]


def test_double_enter_acts_once(seeded):
    eng, code = seeded.engine, seeded.codes[1]
    first = checkin.check_in(eng, event_id=seeded.event_id, raw=code, desk="签到1", staff_id=desk_staff(eng))
    again = checkin.check_in(eng, event_id=seeded.event_id, raw=code, desk="签到1", staff_id=desk_staff(eng))
    assert first["status"] == again["status"] == "welcome" and again.get("repeat")
    assert checkins(eng) == 1


def test_nonce_replays(seeded):
    eng, code = seeded.engine, seeded.codes[2]
    a = checkin.check_in(eng, event_id=seeded.event_id, raw=code, desk="签到1", staff_id=desk_staff(eng), nonce="n-1")
    b = checkin.check_in(eng, event_id=seeded.event_id, raw=code, desk="签到1", staff_id=desk_staff(eng), nonce="n-1")
    assert b["replayed"] and b["invitation_id"] == a["invitation_id"]


@pytest.mark.parametrize("raw,reason", [("", "empty_input"), ("ZZZZZZZZZZZZZZZZZ", "unknown_code"),
                                        ("<script>", "unknown_code")])
def test_refusals_write_nothing_but_the_audit(seeded, raw, reason):
    with pytest.raises(DeskError) as e:
        checkin.check_in(seeded.engine, event_id=seeded.event_id, raw=raw, desk="签到1", staff_id=desk_staff(seeded.engine))
    assert e.value.reason == reason
    assert checkins(seeded.engine) == 0
    assert audits(seeded.engine)[-1][0] == reason


def test_foreign_event_and_cancelled(seeded):
    from datetime import date

    from core.events import create_event

    eng = seeded.engine
    with write_session(eng) as s:
        other = create_event(s, name="下个月的活动", event_date=date(2027, 1, 9)).id
        inv = s.execute(select(Invitation).where(Invitation.code == seeded.codes[3])).scalar_one()
        inv.cancelled = True
    with pytest.raises(DeskError) as e:
        checkin.check_in(eng, event_id=other, raw=seeded.codes[0], desk="签到1", staff_id=desk_staff(eng))
    assert e.value.reason == "foreign_event" and e.value.info["event"] == "测试续保会"
    with pytest.raises(DeskError) as e:
        checkin.check_in(eng, event_id=seeded.event_id, raw=seeded.codes[3], desk="签到1", staff_id=desk_staff(eng))
    assert e.value.reason == "cancelled"
    assert checkins(eng) == 0


def test_search_by_phone_plate_name_prefix(seeded):
    eng, ev = seeded.engine, seeded.event_id
    guest = checkin.find(eng, event_id=ev, raw=seeded.codes[0])[0]
    assert checkin.find(eng, event_id=ev, raw=guest["phone"])[0]["invitation_id"] == guest["invitation_id"]
    assert guest["invitation_id"] in [g["invitation_id"] for g in checkin.find(eng, event_id=ev, raw=guest["phone"][-4:])]
    plate = guest["vehicles"][0]["plate"]
    assert checkin.find(eng, event_id=ev, raw=plate)[0]["invitation_id"] == guest["invitation_id"]
    assert checkin.find(eng, event_id=ev, raw=plate.replace("·", ""))[0]["invitation_id"] == guest["invitation_id"]
    assert guest["invitation_id"] in [g["invitation_id"] for g in checkin.find(eng, event_id=ev, raw=guest["name"])]
    assert checkin.find(eng, event_id=ev, raw=seeded.codes[0][:6])[0]["invitation_id"] == guest["invitation_id"]
    assert checkin.find(eng, event_id=ev, raw="%") == []


def test_walk_in_is_checked_in_at_once(seeded):
    eng = seeded.engine
    v = checkin.register_walk_in(eng, event_id=seeded.event_id, name="路人甲", phone="13900001111", plate="粤B·9K888",
                                 source="网络集客", consent=True, party_size=2, desk="签到1", staff_id=desk_staff(eng))
    assert v["status"] == "welcome" and v["walk_in"] and v["group"] == "web" and v["party_size"] == 2
    assert checkin.counters(eng, seeded.event_id)["walk_ins"] == 1
    for kwargs, reason in (({"name": "", "phone": "13900001112"}, "name_missing"),
                           ({"name": "<b>x</b>", "phone": "13900001112"}, "name_invalid"),
                           ({"name": "乙", "phone": "123"}, "phone_invalid"),
                           ({"name": "乙", "phone": "13900001112", "plate": "ABC"}, "plate_invalid"),
                           ({"name": "乙", "phone": "13900001112", "party_size": 11}, "party_size_invalid")):
        with pytest.raises(DeskError) as e:
            checkin.register_walk_in(eng, event_id=seeded.event_id, desk="签到1", staff_id=desk_staff(eng), **kwargs)
        assert e.value.reason == reason
    assert checkins(eng) == 1


def test_party_size_and_undo(seeded):
    eng, ev = seeded.engine, seeded.event_id
    v = checkin.check_in(eng, event_id=ev, raw=seeded.codes[4], desk="签到1", staff_id=desk_staff(eng))
    checkin.set_party_size(eng, invitation_id=v["invitation_id"], size=4, desk="签到1", staff_id=desk_staff(eng))
    with pytest.raises(DeskError, match="party_size_invalid"):
        checkin.set_party_size(eng, invitation_id=v["invitation_id"], size=0, desk="签到1", staff_id=desk_staff(eng))
    with pytest.raises(DeskError, match="not_manager"):
        checkin.undo_check_in(eng, invitation_id=v["invitation_id"], reason="扫错了", desk="签到1",
                              staff_id=seeded.cashier_id)
    with pytest.raises(DeskError, match="reason_missing"):
        checkin.undo_check_in(eng, invitation_id=v["invitation_id"], reason=" ", desk="签到1", staff_id=seeded.manager_id)
    checkin.undo_check_in(eng, invitation_id=v["invitation_id"], reason="扫错了", desk="签到1", staff_id=seeded.manager_id)
    assert checkin.counters(eng, ev)["arrived"] == 0
    with read_session(eng) as s:
        row = s.execute(select(CheckIn)).scalar_one()
        assert row.undone_at and row.undo_reason == "扫错了" and row.party_size == 4
    again = checkin.check_in(eng, event_id=ev, raw=seeded.codes[4], desk="签到2", staff_id=desk_staff(eng))
    assert again["status"] == "welcome" and checkin.counters(eng, ev)["arrived"] == 1
    assert checkin.counters(eng, ev)["people"] == 4


def _race(url, event_id, code, desk, barrier, out):
    eng = get_engine(url)
    barrier.wait()
    try:
        checkin.check_in(eng, event_id=event_id, raw=code, desk=desk, staff_id=desk_staff(eng))
        out.put("welcome")
    except DeskError as e:
        out.put(e.reason)
    finally:
        dispose_all()


def test_two_processes_one_guest(seeded):
    """Two desks scan the same guest at the same moment: exactly one check-in."""
    url = seeded.engine.url.render_as_string(hide_password=False)
    for code in seeded.codes[5:9]:
        results = race(_race, [(url, seeded.event_id, code, f"签到{i}") for i in (1, 2)])
        assert results == ["already_checked_in", "welcome"]
    assert checkins(seeded.engine) == 4


def test_database_refuses_a_second_checkin_row(seeded):
    """The unique constraint is the last word, not only the code."""
    from sqlalchemy.exc import IntegrityError

    from core.clock import now

    v = checkin.check_in(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[0], desk="签到1", staff_id=desk_staff(seeded.engine))
    with pytest.raises(IntegrityError):
        with write_session(seeded.engine) as s:
            s.add(CheckIn(invitation_id=v["invitation_id"], event_id=seeded.event_id, desk="x", at=now()))


def test_scan_checks_in_a_code_or_a_full_mobile_and_lists_the_rest(seeded):
    eng, ev = seeded.engine, seeded.event_id
    by_code = checkin.scan(eng, event_id=ev, raw=seeded.codes[0], desk="签到1", staff_id=desk_staff(eng))
    assert by_code["status"] == "welcome"
    guest = checkin.find(eng, event_id=ev, raw=seeded.codes[1])[0]
    by_phone = checkin.scan(eng, event_id=ev, raw=guest["phone"], desk="签到1", staff_id=desk_staff(eng))
    assert by_phone["status"] == "welcome" and by_phone["invitation_id"] == guest["invitation_id"]
    checkin.register_walk_in(eng, event_id=ev, name=guest["name"][0] + "某某", phone="13900005555", desk="签到1",
                             staff_id=desk_staff(eng))  # a second guest with the same surname
    listed = checkin.scan(eng, event_id=ev, raw=guest["name"][0], desk="签到1", staff_id=desk_staff(eng))
    assert listed["status"] == "choose" and len(listed["matches"]) > 1
    with pytest.raises(DeskError, match="unknown_code"):
        checkin.scan(eng, event_id=ev, raw="没有这个人", desk="签到1", staff_id=desk_staff(eng))
    assert audits(eng)[-1][0] == "unknown_code"  # a search that finds nobody is audited like a bad code


# --- one check-in rule for every way in (issue 9) ---

def test_walk_in_with_the_phone_of_a_cancelled_invitation_is_refused_like_a_scan(seeded):
    eng = seeded.engine
    guest = checkin.find(eng, event_id=seeded.event_id, raw=seeded.codes[3])[0]
    with write_session(eng) as s:
        s.execute(select(Invitation).where(Invitation.code == seeded.codes[3])).scalar_one().cancelled = True
    with pytest.raises(DeskError) as scanned:
        checkin.check_in(eng, event_id=seeded.event_id, raw=seeded.codes[3], desk="签到1", staff_id=desk_staff(eng))
    with pytest.raises(DeskError) as walked:
        checkin.register_walk_in(eng, event_id=seeded.event_id, name="换个名字", phone=guest["phone"], desk="签到1",
                                 staff_id=desk_staff(eng))
    assert scanned.value.reason == walked.value.reason == "cancelled"
    assert checkins(eng) == 0


def test_cashier_checks_in_by_the_same_rule(seeded):
    """A renewal for a cancelled invitation is refused, and for a guest not yet in, checks them in once."""
    from core import cashier

    eng = seeded.engine
    g = checkin.find(eng, event_id=seeded.event_id, raw=seeded.codes[5])[0]
    done = cashier.record_renewal(eng, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                                  vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3000",
                                  vehicle_tax="0", payment_method="cash", desk="收银台1", staff_id=desk_staff(eng))
    assert done["checked_in_now"] and checkins(eng) == 1
    with pytest.raises(DeskError) as e:
        checkin.check_in(eng, event_id=seeded.event_id, raw=seeded.codes[5], desk="签到1", staff_id=desk_staff(eng))
    assert e.value.reason == "already_checked_in" and e.value.info["desk"] == "收银台1"


def test_one_match_from_a_search_goes_straight_to_that_guest(seeded):
    eng = seeded.engine
    guest = checkin.find(eng, event_id=seeded.event_id, raw=seeded.codes[6])[0]
    plate = guest["vehicles"][0]["plate"]
    assert len(checkin.find(eng, event_id=seeded.event_id, raw=plate)) == 1
    v = checkin.scan(eng, event_id=seeded.event_id, raw=plate, desk="签到1", staff_id=desk_staff(eng))
    assert v["status"] == "welcome" and v["invitation_id"] == guest["invitation_id"]


def test_walk_in_source_is_stored_as_a_code(seeded):
    eng = seeded.engine
    checkin.register_walk_in(eng, event_id=seeded.event_id, name="路人丙", phone="13900002222", desk="签到1",
                             staff_id=desk_staff(eng))
    checkin.register_walk_in(eng, event_id=seeded.event_id, name="路人丁", phone="13900003333", source="referral",
                             desk="签到1", staff_id=desk_staff(eng))
    with read_session(eng) as s:
        stored = sorted(s.execute(select(Invitation.walk_in_source).where(Invitation.source == "walk_in")).scalars())
    assert stored == ["natural", "referral"]
    with pytest.raises(DeskError) as e:
        checkin.register_walk_in(eng, event_id=seeded.event_id, name="戊", phone="13900004444", source="火星",
                                 desk="签到1", staff_id=desk_staff(eng))
    assert e.value.reason == "source_invalid"


def test_no_second_check_in_state_machine():
    assert not hasattr(checkin, "check_in_locked")


def test_every_walk_in_source_has_a_label_in_both_languages():
    from core.i18n import catalog

    for lang in ("zh-CN", "en"):
        assert all(f"source.{c}" in catalog(lang) for c in checkin.WALK_IN_SOURCES)
