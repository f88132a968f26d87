"""Issue 10's attacks on PINs, sign-in, roles in core and truthful errors, each kept as a test."""
from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core import cashier, checkin, gifts
from core.clock import now
from core.errors import DeskError
from core.models import AuditEntry, Staff
from core.security import hash_pin, sign_in, sign_out, staff_for_desk, verify_pin
from core.store import read_session, write_session
from tests.conftest import MANAGER_PIN, desk_staff


def audits(engine, action: str) -> list[AuditEntry]:
    with read_session(engine) as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars())


def test_pins_are_salted_scrypt():
    a, b = hash_pin("246810"), hash_pin("246810")
    assert a.startswith("scrypt$") and a != b  # equal PINs, different hashes
    assert verify_pin("246810", a) == (True, False)
    assert verify_pin("246811", a)[0] is False
    assert verify_pin("", a)[0] is False and verify_pin("246810", "")[0] is False


def test_old_sha256_hash_is_rehashed_on_sign_in(seeded):
    import hashlib

    legacy = hashlib.sha256(b"renewday:135790").hexdigest()
    with write_session(seeded.engine) as s:
        s.execute(update(Staff).where(Staff.id == seeded.cashier_id).values(pin_hash=legacy))
    sign_in(seeded.engine, staff_id=seeded.cashier_id, pin="135790")
    with read_session(seeded.engine) as s:
        assert s.get(Staff, seeded.cashier_id).pin_hash.startswith("scrypt$")


def test_staff_without_pin_cannot_sign_in(seeded):
    """Imported advisors (and staff added without a PIN) used to sign in with any PIN."""
    for pin in ("", "0000", "whatever"):
        with pytest.raises(DeskError, match="pin_not_set"):
            sign_in(seeded.engine, staff_id=seeded.advisor_id, pin=pin)
    assert seeded.advisor_id not in {p.id for p in staff_for_desk(seeded.engine, "签到台1")}
    assert [p.name for p in staff_for_desk(seeded.engine, "经理")] == ["林经理"]


def test_five_wrong_pins_lock_for_a_minute_then_double(seeded):
    eng, mid = seeded.engine, seeded.manager_id
    t0 = now()
    for i in range(4):
        with pytest.raises(DeskError) as e:
            sign_in(eng, staff_id=mid, pin="000000", at=t0)
        assert e.value.reason == "pin_wrong" and e.value.info["left"] == 4 - i
    with pytest.raises(DeskError) as e:
        sign_in(eng, staff_id=mid, pin="000000", at=t0)
    assert e.value.reason == "staff_locked" and e.value.info["seconds"] == 60
    with pytest.raises(DeskError, match="staff_locked"):  # even the right PIN waits
        sign_in(eng, staff_id=mid, pin=MANAGER_PIN, at=t0 + timedelta(seconds=30))
    t1 = t0 + timedelta(seconds=61)
    for _ in range(4):
        with pytest.raises(DeskError, match="pin_wrong"):
            sign_in(eng, staff_id=mid, pin="000000", at=t1)
    with pytest.raises(DeskError) as e:
        sign_in(eng, staff_id=mid, pin="000000", at=t1)
    assert e.value.info["seconds"] == 120  # doubled
    assert sign_in(eng, staff_id=mid, pin=MANAGER_PIN, at=t1 + timedelta(seconds=121)).id == mid
    with read_session(eng) as s:
        m = s.get(Staff, mid)
        assert (m.failed_pins, m.lockouts, m.locked_until) == (0, 0, None)


def test_every_sign_in_sign_out_and_failure_is_audited(seeded):
    eng = seeded.engine
    with pytest.raises(DeskError):
        sign_in(eng, staff_id=seeded.manager_id, pin="111111", desk="经理", event_id=seeded.event_id)
    sign_in(eng, staff_id=seeded.manager_id, pin=MANAGER_PIN, desk="经理", event_id=seeded.event_id)
    with pytest.raises(DeskError):
        sign_in(eng, staff_id=seeded.advisor_id, pin="", desk="签到台1", event_id=seeded.event_id)
    with pytest.raises(DeskError):
        sign_in(eng, staff_id=99999, pin="1", desk="签到台1")
    sign_out(eng, staff_id=seeded.manager_id, desk="经理", event_id=seeded.event_id)
    rows = audits(eng, "sign_in")
    assert [r.result for r in rows] == ["pin_wrong", "ok", "pin_not_set", "staff_unknown"]
    assert rows[0].event_id == seeded.event_id and rows[0].desk == "经理"
    assert "111111" not in "".join(r.raw_input + r.detail for r in rows)  # never the PIN
    assert [r.result for r in audits(eng, "sign_out")] == ["ok"]


def test_pin_rule_six_digits_on_a_real_store(engine):
    from core.events import add_staff, create_event

    with write_session(engine) as s:
        create_event(s, name="真实活动", event_date=now().date())
    with pytest.raises(DeskError, match="pin_too_short"):
        with write_session(engine) as s:
            add_staff(s, name="新人", role="advisor", pin="1234")
    with write_session(engine) as s:
        add_staff(s, name="新人", role="advisor", pin="123456")


def test_demo_store_allows_four_digits(tmp_path):
    from core import migrate
    from core.demo import build_demo
    from core.events import add_staff
    from core.store import dispose_all, get_engine

    eng = get_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(eng)
    build_demo(eng, customers=5)
    with write_session(eng) as s:
        add_staff(s, name="演示新人", role="advisor", pin="1234")
    dispose_all()


def test_store_file_is_private(sqlite_engine):
    path = sqlite_engine.url.database
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for extra in ("-wal", "-shm"):
        if os.path.exists(path + extra):
            assert stat.S_IMODE(os.stat(path + extra).st_mode) == 0o600


# --- roles and events checked in core -----------------------------------------------------
def renew(seeded, code: str, staff_id) -> dict:
    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=code)[0]
    return cashier.record_renewal(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                                  vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950",
                                  commercial="3000", vehicle_tax="360", payment_method="pos", desk="收银台1",
                                  staff_id=staff_id)


def test_roles_are_checked_in_core_not_only_by_the_menu(seeded):
    with pytest.raises(DeskError, match="role_not_allowed"):
        renew(seeded, seeded.codes[0], seeded.advisor_id)  # an advisor's tablet calling the cashier
    r = renew(seeded, seeded.codes[0], seeded.cashier_id)
    with pytest.raises(DeskError, match="not_manager"):
        cashier.void_renewal(seeded.engine, renewal_id=r["renewal_id"], reason="x", desk="收银台1",
                             staff_id=seeded.cashier_id)
    main = gifts.stock_report(seeded.engine, seeded.event_id)[0]
    for staff_id, reason in ((None, "actor_missing"), (seeded.cashier_id, "not_manager")):
        with pytest.raises(DeskError, match=reason):
            gifts.top_up(seeded.engine, gift_type_id=main["id"], add=5, desk="x", staff_id=staff_id)
    with write_session(seeded.engine) as s:
        s.execute(update(Staff).where(Staff.id == seeded.cashier_id).values(active=False))
    with pytest.raises(DeskError, match="staff_unknown"):  # deactivated: nothing more at any desk
        renew(seeded, seeded.codes[1], seeded.cashier_id)
    refused = [a for a in audits(seeded.engine, "renewal") if a.result != "ok"]
    assert {a.result for a in refused} == {"role_not_allowed", "staff_unknown"}


def test_writes_without_an_event_are_audited_with_theirs(seeded):
    r = renew(seeded, seeded.codes[0], seeded.cashier_id)
    cashier.mark_invoiced(seeded.engine, renewal_id=r["renewal_id"], invoice_no="FP12345678", desk="收银台2",
                          staff_id=seeded.cashier_id)
    cashier.void_renewal(seeded.engine, renewal_id=r["renewal_id"], reason="客户反悔", desk="经理",
                         staff_id=seeded.manager_id)
    main = gifts.stock_report(seeded.engine, seeded.event_id)[0]
    gifts.top_up(seeded.engine, gift_type_id=main["id"], add=5, desk="经理", staff_id=seeded.manager_id)
    for action in ("invoice", "void_renewal", "top_up"):
        assert [a.event_id for a in audits(seeded.engine, action)] == [seeded.event_id], action


# --- errors that tell the truth -----------------------------------------------------------
def test_duplicate_gift_name_and_missing_substitute_name_their_problem(seeded):
    eng, ev, mid = seeded.engine, seeded.event_id, seeded.manager_id
    with pytest.raises(DeskError) as e:
        gifts.add_gift_type(eng, event_id=ev, name="车载香薰", kind="renewal", stock=1, staff_id=mid)
    assert e.value.reason == "gift_name_taken"  # was: "another desk just handled this guest"
    with pytest.raises(DeskError) as e:
        gifts.add_gift_type(eng, event_id=ev, name="新礼品", kind="renewal", stock=1, substitute_id=99999,
                            staff_id=mid)
    assert e.value.reason == "reference_missing"
    assert {a.result for a in audits(eng, "gift_type")} == {"gift_name_taken", "reference_missing"}


def test_unexpected_error_is_audited_logged_and_reported_as_not_saved(seeded, caplog):
    from core import audit as audit_mod

    with pytest.raises(DeskError) as e:
        audit_mod.run_action(seeded.engine, "check_in", lambda s: 1 / 0, event_id=seeded.event_id, desk="签到台1",
                             staff_id=desk_staff(seeded.engine), raw="X")
    assert e.value.reason == "system_error"
    row = audits(seeded.engine, "check_in")[-1]
    assert row.result == "system_error" and row.event_id == seeded.event_id and "ZeroDivisionError" in row.detail
    assert any(r.exc_info for r in caplog.records)  # the traceback is in the server's log


def test_demo_is_never_mixed_into_a_real_store(seeded_sqlite):
    import subprocess
    import sys

    from core.config import ROOT
    from core.models import Event

    env = {**os.environ, "DATABASE_URL": str(seeded_sqlite.engine.url)}
    out = subprocess.run([sys.executable, "-m", "core", "demo", "--customers", "5"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "make demo" in out.stderr
    with read_session(seeded_sqlite.engine) as s:
        assert not s.execute(select(Event).where(Event.is_demo)).first()
    run_target = (ROOT / "Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]
    assert "demo" not in run_target  # `make run` never loads the demo


def test_staff_edit_pin_and_merge(seeded):
    from core.models import Invitation
    from core.staff import create_staff, edit_staff, merge_staff, set_pin

    eng, mid = seeded.engine, seeded.manager_id
    with pytest.raises(DeskError, match="not_manager"):
        set_pin(eng, target_id=seeded.advisor_id, pin="123456", desk="x", staff_id=seeded.cashier_id)
    with pytest.raises(DeskError, match="pin_too_short"):
        set_pin(eng, target_id=seeded.advisor_id, pin="1234", desk="x", staff_id=mid)
    set_pin(eng, target_id=seeded.advisor_id, pin="123456", desk="x", staff_id=mid)
    assert sign_in(eng, staff_id=seeded.advisor_id, pin="123456").id == seeded.advisor_id
    with pytest.raises(DeskError, match="staff_self_lockout"):
        edit_staff(eng, target_id=mid, name="林经理", role="cashier", team="", active=True, desk="x", staff_id=mid)
    dup = create_staff(eng, name="陈晓东(DMS)", role="advisor", desk="x", staff_id=mid)["staff_id"]
    with write_session(eng) as s:
        inv = s.execute(select(Invitation).where(Invitation.event_id == seeded.event_id)).scalars().first()
        inv.advisor_id = dup
        inv_id = inv.id
    out = merge_staff(eng, duplicate_id=dup, keep_id=seeded.advisor_id, desk="x", staff_id=mid)
    assert out["moved"]["invitation.advisor_id"] == 1
    with read_session(eng) as s:
        assert s.get(Invitation, inv_id).advisor_id == seeded.advisor_id
        assert s.get(Staff, dup).active is False
    assert {a.action for a in audits(eng, "staff_merge")} == {"staff_merge"}
    assert audits(eng, "staff_pin")[-1].event_id is None and "123456" not in audits(eng, "staff_pin")[-1].detail


def test_printer_and_insurer_set_up_is_manager_only_and_audited(seeded):
    from core import manager, receipts

    eng, ev = seeded.engine, seeded.event_id
    with pytest.raises(DeskError, match="not_manager"):
        manager.save_printer(eng, staff_id=seeded.cashier_id, desk="收银台1", event_id=ev, printer_desk="礼品台1",
                             connection="network", host="10.0.0.9", port=9100)
    with pytest.raises(DeskError, match="actor_missing"):
        manager.save_insurers(eng, staff_id=None, desk="", event_id=ev, text="平安")  # nobody named: refused
    assert receipts.desk_printer(eng, "礼品台1").connection == "none"
    manager.save_printer(eng, staff_id=seeded.manager_id, desk="经理", event_id=ev, printer_desk="礼品台1",
                         connection="network", host="10.0.0.9", port=9100)
    with pytest.raises(DeskError, match="printer_settings_invalid"):
        manager.save_printer(eng, staff_id=seeded.manager_id, desk="经理", event_id=ev, printer_desk="礼品台1",
                             connection="network", host="", port=9100)
    assert receipts.desk_printer(eng, "礼品台1").host == "10.0.0.9"
    assert manager.save_insurers(eng, staff_id=seeded.manager_id, desk="经理", event_id=ev, text="平安\n人保") == ["平安", "人保"]
    assert [a.result for a in audits(eng, "printer")] == ["not_manager", "ok", "ok", "printer_settings_invalid"]
    assert {a.event_id for a in audits(eng, "insurers")} == {ev}


def test_reassign_is_manager_only_and_audited_with_the_event(seeded):
    from core.events import reassign
    from core.models import Invitation

    with read_session(seeded.engine) as s:
        inv = s.execute(select(Invitation.id).where(Invitation.event_id == seeded.event_id)).scalars().first()
    with pytest.raises(DeskError, match="not_manager"):
        reassign(seeded.engine, invitation_id=inv, advisor_id=seeded.advisor_id, staff_id=seeded.cashier_id)
    reassign(seeded.engine, invitation_id=inv, advisor_id=seeded.advisor_id, staff_id=seeded.manager_id, desk="经理")
    assert [(a.result, a.event_id) for a in audits(seeded.engine, "reassign")][-1] == ("ok", seeded.event_id)


def test_cli_set_pin_for_a_store_upgraded_without_pins(seeded_sqlite):
    import subprocess
    import sys

    from core.config import ROOT

    env = {**os.environ, "DATABASE_URL": str(seeded_sqlite.engine.url)}
    run = lambda pin: subprocess.run([sys.executable, "-m", "core", "set-pin", "陈晓东", "--stdin"], cwd=ROOT, env=env,  # noqa: E731
                                     input=pin + "\n", capture_output=True, text=True, timeout=60)
    assert run("1234").returncode == 2
    assert run("864200").returncode == 0
    assert sign_in(seeded_sqlite.engine, staff_id=seeded_sqlite.advisor_id, pin="864200").id == seeded_sqlite.advisor_id
