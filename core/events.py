"""Events and staff: set-up before the day."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import now
from core.errors import DeskError
from core.models import STAFF_ROLES, Event, Invitation, Staff
from core.security import check_pin_rule, hash_pin, sign_in  # noqa: F401 - sign_in kept here for callers
from core.store import read_session
from core.validate import clean


def create_event(session: Session, *, name: str, event_date: date, store_name: str = "",
                 target_arrivals: int = 0, target_renewals: int = 0, target_premium_fen: int = 0,
                 is_demo: bool = False) -> Event:
    name, store_name = clean(name), clean(store_name)
    if not name:
        raise DeskError("event_name_missing")
    if session.execute(select(Event.id).where(Event.name == name)).first():
        raise DeskError("event_name_taken", name=name)
    if min(target_arrivals, target_renewals, target_premium_fen) < 0:
        raise DeskError("amount_negative")
    ev = Event(name=name, event_date=event_date, store_name=store_name.strip(), target_arrivals=target_arrivals,
               target_renewals=target_renewals, target_premium_fen=target_premium_fen, is_demo=is_demo,
               created_at=now())
    session.add(ev)
    session.flush()
    return ev


def find_event(session: Session, ref: str | int) -> Event | None:
    """By id or by exact name."""
    ref = str(ref).strip()
    if ref.isdigit():
        ev = session.get(Event, int(ref))
        if ev:
            return ev
    return session.execute(select(Event).where(Event.name == ref)).scalars().first()


def current_event(engine: Engine) -> Event | None:
    """Today's event if there is one, else the nearest upcoming, else the latest."""
    today = now().date()
    with read_session(engine) as s:
        for q in (select(Event).where(Event.event_date == today).order_by(Event.id.desc()),
                  select(Event).where(Event.event_date > today).order_by(Event.event_date, Event.id),
                  select(Event).order_by(Event.event_date.desc(), Event.id.desc())):
            ev = s.execute(q).scalars().first()
            if ev:
                return ev
    return None


def list_events(engine: Engine) -> list[Event]:
    with read_session(engine) as s:
        return list(s.execute(select(Event).order_by(Event.event_date.desc(), Event.id.desc())).scalars())


def update_targets(engine: Engine, event_id: int, *, target_arrivals: int, target_renewals: int,
                   target_premium_fen: int, store_name: str | None = None, staff_id: int | None = None,
                   desk: str = "") -> dict:
    """The manager's targets for the board (checked and audited like any desk action)."""
    from core.audit import run_action

    def body(s: Session) -> dict:
        if min(target_arrivals, target_renewals, target_premium_fen) < 0:
            raise DeskError("amount_negative")
        ev = s.get(Event, event_id)
        if ev is None:
            raise DeskError("event_unknown")
        ev.target_arrivals, ev.target_renewals, ev.target_premium_fen = target_arrivals, target_renewals, target_premium_fen
        if store_name is not None:
            ev.store_name = clean(store_name)
        return {"arrivals": target_arrivals, "renewals": target_renewals, "premium_fen": target_premium_fen,
                "store": ev.store_name}

    return run_action(engine, "targets", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=f"{target_arrivals}/{target_renewals}/{target_premium_fen}")


def new_event(engine: Engine, *, name: str, event_date: date, store_name: str = "", staff_id: int | None,
              desk: str = "") -> dict:
    from core.audit import bind_event, run_action

    def body(s: Session) -> dict:
        ev = create_event(s, name=name, event_date=event_date, store_name=store_name)
        bind_event(s, ev.id)
        return {"event_id": ev.id, "name": ev.name}

    return run_action(engine, "event_create", body, event_id=None, desk=desk, staff_id=staff_id, raw=clean(name))


def add_staff(session: Session, *, name: str, role: str = "advisor", team: str = "", pin: str = "") -> Staff:
    name, team = clean(name), clean(team)
    if not name or "<" in name or ">" in name:
        raise DeskError("staff_name_invalid")
    if role not in STAFF_ROLES:
        raise DeskError("staff_role_invalid", role=role)
    if session.execute(select(Staff.id).where(Staff.name == name)).first():
        raise DeskError("staff_name_taken", name=name)
    pin = check_pin_rule(session, pin) if pin else ""
    staff = Staff(name=name, role=role, team=team.strip(), pin_hash=hash_pin(pin))
    session.add(staff)
    session.flush()
    return staff


def list_staff(engine: Engine, *, active_only: bool = True) -> list[Staff]:
    with read_session(engine) as s:
        q = select(Staff).order_by(Staff.role, Staff.name)
        if active_only:
            q = q.where(Staff.active)
        return list(s.execute(q).scalars())


def reassign(engine: Engine, *, invitation_id: int, advisor_id: int, staff_id: int | None, desk: str = "") -> dict:
    """Give a guest to another advisor (manager only; audited with the event)."""
    from core.audit import bind_event, run_action

    def body(s: Session) -> dict:
        inv = s.get(Invitation, invitation_id)
        advisor = s.get(Staff, advisor_id)
        if inv is None or advisor is None or not advisor.active:
            raise DeskError("unknown_code")
        bind_event(s, inv.event_id)
        before, inv.advisor_id = inv.advisor_id, advisor_id
        return {"invitation": invitation_id, "from": before, "to": advisor_id}

    return run_action(engine, "reassign", body, event_id=None, desk=desk, staff_id=staff_id,
                      raw=f"{invitation_id}->{advisor_id}")


def invitation_counts(engine: Engine, event_id: int) -> dict[str, int]:
    with read_session(engine) as s:
        rows = s.execute(select(Invitation.group, func.count()).where(Invitation.event_id == event_id)
                         .group_by(Invitation.group)).all()
    return {g: n for g, n in rows}
