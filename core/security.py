"""Staff PINs, sign-in with lockout, and who may do what.

PINs are hashed with scrypt (hashlib, a kept library) and a salt per PIN: equal PINs give
different hashes and a stolen store file costs ~50 ms of scrypt per guess per staff member.
Five wrong PINs lock that staff member for a minute, then two, four… Every sign-in, sign-out
and failure is an audit row. Old unsalted SHA-256 hashes still verify once and are rehashed.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import now
from core.errors import DeskError
from core.models import Event, Staff
from core.store import read_session, write_session

MAX_WRONG = 5
LOCK_SECONDS = 60
PIN_MIN = 6
DEMO_PIN_MIN = 4
_N, _R, _P = 2 ** 14, 8, 1

DESKS = ("签到台1", "签到台2", "收银台1", "收银台2（开票）", "礼品台1", "礼品台2", "经理")

# Who may run which core action (run_action checks it). None: any active staff member.
MANAGER = ("manager",)
CASHIER = ("cashier", "manager")
PERMISSIONS: dict[str, tuple[str, ...] | None] = {
    # desks
    "check_in": None, "walk_in": None, "party_size": None, "add_vehicle": None, "scan": None, "search": None,
    "gift_renewal": None, "gift_arrival": None, "draw": None, "gift_desk": None, "reclaim": None, "reprint": None,
    "renewal": CASHIER, "invoice": CASHIER,
    # manager only
    "void_renewal": MANAGER, "undo_check_in": MANAGER, "reassign": MANAGER, "top_up": MANAGER,
    "gift_type": MANAGER, "draw_rules": MANAGER, "targets": MANAGER, "event_create": MANAGER,
    "insurers": MANAGER, "printer": MANAGER, "import": MANAGER, "staff_add": MANAGER, "staff_edit": MANAGER,
    "staff_pin": MANAGER, "staff_merge": MANAGER, "audit_export": MANAGER, "backup": MANAGER,
    "test_print": None,
}

# The command line, the demo loader and scripts act as this staff row: a real row (so every
# audit row and every credited column names who acted), inactive and without a PIN (so nobody
# signs in as it), hidden from every staff list, and never editable from the set-up page.
SYSTEM_ROLE = "system"
SYSTEM_NAME = "系统"

# A staff member who is not a manager may search for guests this many times a minute; past it
# the search is refused (and audited), so no one pages through every phone tail from a desk.
SEARCH_LIMIT = 30
SEARCH_WINDOW_S = 60


def allowed_roles(action: str) -> tuple[str, ...] | None:
    return PERMISSIONS.get(action)


def check_actor(session: Session, action: str, staff_id: int | None) -> Staff:
    """Refuse an action the acting staff member's role may not do. Every action names who acts:
    None is refused; the command line and scripts act as the system row (system_actor)."""
    roles = allowed_roles(action)
    if staff_id is None:
        raise DeskError("actor_missing")
    staff = session.get(Staff, staff_id)
    if staff is not None and staff.role == SYSTEM_ROLE:
        return staff
    if staff is None or not staff.active:
        raise DeskError("staff_unknown")
    if roles is not None and staff.role not in roles:
        raise DeskError("not_manager" if roles == MANAGER else "role_not_allowed", role=staff.role)
    return staff


def system_actor(engine: Engine) -> int:
    """The system row's id, created on first use (inactive, no PIN): the acting staff member of
    the command line, the demo loader and scripts. Pages never use it."""
    with read_session(engine) as s:
        found = s.execute(select(Staff.id).where(Staff.role == SYSTEM_ROLE).order_by(Staff.id)).scalars().first()
    if found is not None:
        return found
    from sqlalchemy.exc import IntegrityError

    try:
        with write_session(engine) as s:
            found = s.execute(select(Staff.id).where(Staff.role == SYSTEM_ROLE)).scalars().first()
            if found is None:
                taken = s.execute(select(Staff.id).where(Staff.name == SYSTEM_NAME)).first()
                row = Staff(name=SYSTEM_NAME if taken is None else f"{SYSTEM_NAME}（命令行）", role=SYSTEM_ROLE,
                            team="", active=False, pin_hash="")
                s.add(row)
                s.flush()
                found = row.id
        return found
    except IntegrityError:  # another process made it at the same moment
        return system_actor(engine)


def is_system(staff: Staff | None) -> bool:
    return staff is not None and staff.role == SYSTEM_ROLE


def search_brake(session: Session, staff: Staff | None) -> None:
    """Refuse a search past SEARCH_LIMIT a minute by one staff member who is not a manager (an
    advisor once paged through all 10 000 phone tails). Refused searches count too."""
    from core.models import AuditEntry

    if staff is None or staff.role in ("manager", SYSTEM_ROLE):
        return
    since = now() - timedelta(seconds=SEARCH_WINDOW_S)
    done = session.execute(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.at >= since, AuditEntry.staff_id == staff.id, AuditEntry.action == "search")).scalar_one()
    if done >= SEARCH_LIMIT:
        raise DeskError("search_limit", limit=SEARCH_LIMIT, seconds=SEARCH_WINDOW_S)


# --- PIN hashing ---------------------------------------------------------------------------
def hash_pin(pin: str) -> str:
    if not pin:
        return ""
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def _legacy_hash(pin: str) -> str:
    return hashlib.sha256(f"renewday:{pin}".encode()).hexdigest()


def verify_pin(pin: str, stored: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). An empty stored hash never matches: no PIN, no desk."""
    if not stored or not pin:
        return False, False
    if stored.startswith("scrypt$"):
        try:
            _, n, r, p, salt, digest = stored.split("$")
            got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                 dklen=len(digest) // 2)
        except (ValueError, MemoryError):
            return False, False
        return hmac.compare_digest(got.hex(), digest), int(n) < _N
    return hmac.compare_digest(_legacy_hash(pin), stored), True  # first release: unsalted SHA-256


def demo_store(session: Session) -> bool:
    """A store holding only demo events (and at least one)."""
    total, demo = session.execute(select(func.count(), func.count().filter(Event.is_demo))).one()
    return total > 0 and total == demo


def check_pin_rule(session: Session, pin: str) -> str:
    pin = (pin or "").strip()
    shortest = DEMO_PIN_MIN if demo_store(session) else PIN_MIN
    if not pin.isascii() or not pin.isdigit() or len(pin) < shortest or len(pin) > 12:
        raise DeskError("pin_too_short", digits=shortest)
    return pin


# --- sign-in -------------------------------------------------------------------------------
def _audit(session: Session, action: str, *, staff_id: int | None, event_id: int | None, desk: str,
           result: str = "ok", detail=None) -> None:
    from core.audit import audit

    audit(session, action, event_id=event_id, desk=desk, staff_id=staff_id, result=result, detail=detail)


def lock_seconds(lockouts: int) -> int:
    return LOCK_SECONDS * 2 ** min(lockouts, 10)


def sign_in(engine: Engine, *, staff_id: int, pin: str, desk: str = "", event_id: int | None = None,
            at: datetime | None = None) -> Staff:
    """The staff member if the PIN is right; counts wrong PINs and locks after MAX_WRONG."""
    ts = at or now()
    outcome: DeskError | None = None
    with write_session(engine) as s:
        staff = s.get(Staff, staff_id, with_for_update=True) if isinstance(staff_id, int) else None
        if staff is None or not staff.active:
            _audit(s, "sign_in", staff_id=None, event_id=event_id, desk=desk, result="staff_unknown",
                   detail={"staff": staff_id})
            outcome = DeskError("staff_unknown")
        elif not staff.pin_hash:
            _audit(s, "sign_in", staff_id=staff.id, event_id=event_id, desk=desk, result="pin_not_set")
            outcome = DeskError("pin_not_set")
        elif staff.locked_until is not None and staff.locked_until > ts:
            wait = int((staff.locked_until - ts).total_seconds()) + 1
            _audit(s, "sign_in", staff_id=staff.id, event_id=event_id, desk=desk, result="staff_locked",
                   detail={"seconds": wait})
            outcome = DeskError("staff_locked", seconds=wait)
        else:
            ok, rehash = verify_pin((pin or "").strip(), staff.pin_hash)
            if ok:
                staff.failed_pins, staff.lockouts, staff.locked_until = 0, 0, None
                if rehash:
                    staff.pin_hash = hash_pin(pin.strip())
                _audit(s, "sign_in", staff_id=staff.id, event_id=event_id, desk=desk)
            else:
                if staff.locked_until is not None:  # an earlier lock has run out: count afresh
                    staff.locked_until, staff.failed_pins = None, 0
                staff.failed_pins += 1
                left = MAX_WRONG - staff.failed_pins
                if left <= 0:
                    secs = lock_seconds(staff.lockouts)
                    staff.locked_until = ts + timedelta(seconds=secs)
                    staff.lockouts += 1
                    staff.failed_pins = 0
                    outcome = DeskError("staff_locked", seconds=secs)
                else:
                    outcome = DeskError("pin_wrong", left=left)
                _audit(s, "sign_in", staff_id=staff.id, event_id=event_id, desk=desk, result=outcome.reason,
                       detail=outcome.info)
        s.flush()
    if outcome is not None:
        raise outcome
    return staff


def sign_out(engine: Engine, *, staff_id: int, desk: str = "", event_id: int | None = None) -> None:
    with write_session(engine) as s:
        _audit(s, "sign_out", staff_id=staff_id, event_id=event_id, desk=desk)


def still_signed_in(engine: Engine, staff_id: int) -> bool:
    """A tablet's sign-in holds only while its staff member stays active (the PIN was checked at sign-in)."""
    with read_session(engine) as s:
        return bool(s.execute(select(Staff.active).where(Staff.id == staff_id)).scalar())


def can_sign_in(staff: Staff) -> bool:
    return bool(staff.active and staff.pin_hash)


def desk_roles(desk: str) -> tuple[str, ...] | None:
    """Which roles a sign-in page lists for a desk (None: every staff member who has a PIN)."""
    if desk.startswith("收银"):
        return CASHIER
    if desk == "经理":
        return MANAGER
    return None


def desk_home_roles(desk: str) -> tuple[str, ...]:
    """The roles a desk is staffed by, listed first at its sign-in (the gift desk's own people first)."""
    if desk.startswith("礼品"):
        return ("gift",)
    if desk.startswith("收银"):
        return ("cashier",)
    return MANAGER if desk == "经理" else ()


def staff_for_desk(engine: Engine, desk: str) -> list[Staff]:
    """Staff who may sign in at this desk: active, with a PIN, in a role the desk needs; the
    desk's own people first, then by role and name."""
    roles = desk_roles(desk)
    with read_session(engine) as s:
        q = select(Staff).where(Staff.active, Staff.pin_hash != "", Staff.role != SYSTEM_ROLE).order_by(Staff.role, Staff.name)
        if roles:
            q = q.where(Staff.role.in_(roles))
        people = list(s.execute(q).scalars())
    home = desk_home_roles(desk)
    return sorted(people, key=lambda p: p.role not in home)  # stable: role and name order kept within each part
