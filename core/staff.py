"""Staff management for the manager, and the first run of an empty store.

Every change goes through run_action: checked (manager only) and audited with its event.
A staff member without a PIN has no desk access (the importer adds advisors that way).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import audit, run_action
from core.errors import DeskError
from core.events import add_staff, create_event
from core.models import (STAFF_ROLES, CheckIn, DrawResult, Event, GiftIssue, Invitation, Renewal, Staff)
from core.security import SYSTEM_ROLE, check_pin_rule, hash_pin, is_system
from core.store import read_session, write_session
from core.validate import clean


def store_is_empty(engine: Engine) -> bool:
    """No event and no staff: the app shows the first-run page."""
    with read_session(engine) as s:
        events = s.execute(select(func.count()).select_from(Event)).scalar_one()
        staff = s.execute(select(func.count()).select_from(Staff).where(Staff.role != SYSTEM_ROLE)).scalar_one()
    return events == 0 and staff == 0  # the system row (a command run on an empty store) is not staff


def first_run(engine: Engine, *, manager_name: str, pin: str, pin_again: str, event_name: str,
              event_date: date, store_name: str = "") -> dict:
    """Create the first manager (name + PIN) and the first event of an empty store."""
    with write_session(engine) as s:
        if s.execute(select(func.count()).select_from(Staff).where(Staff.role != SYSTEM_ROLE)).scalar_one() or \
                s.execute(select(func.count()).select_from(Event)).scalar_one():
            raise DeskError("store_not_empty")
        if (pin or "").strip() != (pin_again or "").strip():
            raise DeskError("pin_mismatch")
        check_pin_rule(s, pin)
        ev = create_event(s, name=clean(event_name), event_date=event_date, store_name=clean(store_name))
        manager = add_staff(s, name=clean(manager_name), role="manager", team="管理", pin=pin)
        audit(s, "first_run", event_id=ev.id, desk="", staff_id=manager.id,
              detail={"manager": manager.name, "event": ev.name})
        return {"event_id": ev.id, "manager_id": manager.id}


def create_staff(engine: Engine, *, name: str, role: str, team: str = "", pin: str = "", desk: str,
                 staff_id: int | None, event_id: int | None = None) -> dict:
    def body(s: Session) -> dict:
        person = add_staff(s, name=clean(name), role=role, team=clean(team), pin=pin)
        return {"staff_id": person.id, "name": person.name, "role": person.role, "pin_set": bool(pin)}

    return run_action(engine, "staff_add", body, event_id=event_id, desk=desk, staff_id=staff_id, raw=clean(name))


def edit_staff(engine: Engine, *, target_id: int, name: str, role: str, team: str, active: bool, desk: str,
               staff_id: int | None, event_id: int | None = None) -> dict:
    """Rename, change role or team, deactivate or reactivate. A manager cannot demote or
    deactivate themself (the store would be left without a way in)."""
    def body(s: Session) -> dict:
        person = s.get(Staff, target_id)
        if person is None or is_system(person):
            raise DeskError("staff_unknown")
        nm = clean(name)
        if not nm or "<" in nm or ">" in nm:
            raise DeskError("staff_name_invalid")
        if role not in STAFF_ROLES:
            raise DeskError("staff_role_invalid", role=role)
        if target_id == staff_id and (role != "manager" or not active):
            raise DeskError("staff_self_lockout")
        if nm != person.name and s.execute(select(Staff.id).where(Staff.name == nm)).first():
            raise DeskError("staff_name_taken", name=nm)
        before = {"name": person.name, "role": person.role, "team": person.team, "active": person.active}
        person.name, person.role, person.team, person.active = nm, role, clean(team), bool(active)
        return {"staff_id": person.id, "before": before,
                "after": {"name": nm, "role": role, "team": person.team, "active": person.active}}

    return run_action(engine, "staff_edit", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=f"{target_id} {clean(name)}")


def set_pin(engine: Engine, *, target_id: int, pin: str, desk: str, staff_id: int | None,
            event_id: int | None = None) -> dict:
    """Give or change a PIN (≥ 6 digits; 4 on a demo store). Clears any lock. A staff member
    without a PIN (an imported advisor) gets desk access this way."""
    def body(s: Session) -> dict:
        person = s.get(Staff, target_id)
        if person is None or is_system(person):
            raise DeskError("staff_unknown")
        clean_pin = check_pin_rule(s, pin)
        person.pin_hash = hash_pin(clean_pin)
        person.failed_pins, person.lockouts, person.locked_until = 0, 0, None
        return {"staff_id": person.id, "name": person.name}  # never the PIN

    return run_action(engine, "staff_pin", body, event_id=event_id, desk=desk, staff_id=staff_id, raw=str(target_id))


_STAFF_REFS = ((Invitation, "advisor_id"), (Renewal, "advisor_id"), (Renewal, "cashier_id"), (Renewal, "invoiced_by"),
               (Renewal, "voided_by"), (CheckIn, "staff_id"), (CheckIn, "undone_by"), (GiftIssue, "staff_id"),
               (DrawResult, "staff_id"))


def merge_staff(engine: Engine, *, duplicate_id: int, keep_id: int, desk: str, staff_id: int | None,
                event_id: int | None = None) -> dict:
    """A duplicate (e.g. 陈晓东 and 陈晓东 (DMS)): everything credited to it moves to the one kept;
    the duplicate is deactivated and loses its PIN. Audit rows keep the id that acted."""
    def body(s: Session) -> dict:
        if duplicate_id == keep_id:
            raise DeskError("staff_merge_same")
        dup, keep = s.get(Staff, duplicate_id), s.get(Staff, keep_id)
        if dup is None or keep is None or is_system(dup) or is_system(keep):
            raise DeskError("staff_unknown")
        if duplicate_id == staff_id:
            raise DeskError("staff_self_lockout")
        moved = {}
        for model, column in _STAFF_REFS:
            col = getattr(model, column)
            n = s.execute(update(model).where(col == duplicate_id).values({column: keep_id})).rowcount
            if n:
                moved[f"{model.__tablename__}.{column}"] = n
        dup.active, dup.pin_hash = False, ""
        dup.name = f"{dup.name}（已合并→{keep.name}）"[:60]
        return {"kept": keep.id, "merged": dup.id, "moved": moved}

    return run_action(engine, "staff_merge", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=f"{duplicate_id}->{keep_id}")


def staff_rows(engine: Engine) -> list[dict]:
    with read_session(engine) as s:
        people = list(s.execute(select(Staff).where(Staff.role != SYSTEM_ROLE)
                                .order_by(Staff.active.desc(), Staff.role, Staff.name)).scalars())
    return [{"id": p.id, "name": p.name, "role": p.role, "team": p.team, "active": p.active,
             "pin_set": bool(p.pin_hash), "desk_access": bool(p.active and p.pin_hash),
             "locked_until": p.locked_until} for p in people]
