"""The check-in desk: scan, search, walk-ins, party size, undo, live counters."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import codes, lookup
from core.audit import bind_event, run_action
from core.clock import now
from core.errors import DeskError
from core.models import CheckIn, Customer, Invitation, Staff, Vehicle
from core.counts import event_counts
from core.store import read_session
from core.validate import clean, normalize_phone, normalize_plate

DOUBLE_SCAN = timedelta(seconds=1)
_INSERT_CHECKIN = insert(CheckIn.__table__)
WALK_IN_SOURCES = {"natural": "natural", "web": "web", "referral": "natural"}  # stored code → invitation group
SOURCE_OF_LABEL = {"自然到店": "natural", "网络集客": "web", "转介绍": "referral"}  # rows written before codes


def resolve_invitation(session: Session, event_id: int, raw: str | None, invitation_id: int | None) -> Invitation:
    if invitation_id is not None:
        inv = session.get(Invitation, invitation_id)
        if inv is None:
            raise DeskError("unknown_code")
    else:
        code = codes.normalize_code(raw or "")
        if not code:
            raise DeskError("empty_input")
        inv = lookup.invitation_by_code(session, code)
        if inv is None:
            raise DeskError("unknown_code", raw=(raw or "")[:40])
    admit(session, inv, event_id)
    return inv


def admit(session: Session, inv, event_id: int) -> None:
    """An invitation (or a card row) may be served at this event's desks, or the reason it may not."""
    if inv.event_id != event_id:
        raise DeskError("foreign_event", event=lookup.event_name(session, inv.event_id))
    if inv.cancelled:
        raise DeskError("cancelled")


def arrive(session: Session, inv, *, event_id: int, desk: str, staff_id: int | None,
           party_size: int | None = None):
    """THE check-in rule, inside the caller's transaction, for every way in (scan, search pick,
    walk-in, the cashier): the invitation (locked by the caller; an Invitation or a card row) must
    belong to this event and not be cancelled; a guest whose check-in was undone is back.

    Returns (existing, at): existing is the live CheckIn row when the guest was already in
    (nothing changed), None when this call checked them in at `at`."""
    admit(session, inv, event_id)
    size = inv.party_size
    if party_size is not None and party_size != inv.party_size:
        size = int(party_size)
        session.execute(update(Invitation.__table__).where(Invitation.id == inv.id).values(party_size=size))
        if isinstance(inv, Invitation):
            session.expire(inv, ["party_size"])
    existing = lookup.checkin_row(session, inv.id)
    ts = now()
    if existing is None:
        session.connection().execute(_INSERT_CHECKIN, {"invitation_id": inv.id, "event_id": inv.event_id, "desk": desk,
                                                       "staff_id": staff_id, "at": ts, "party_size": size,
                                                       "undo_reason": ""})
    elif existing.undone_at is not None:  # undone earlier: the guest is back
        session.execute(update(CheckIn.__table__).where(CheckIn.id == existing.id).values(
            undone_at=None, undone_by=None, undo_reason="", at=ts, desk=desk, staff_id=staff_id, party_size=size))
    else:
        return existing, existing.at
    return None, ts


def check_in(engine: Engine, *, event_id: int, desk: str, staff_id: int | None, raw: str | None = None,
             invitation_id: int | None = None, nonce: str | None = None) -> dict:
    """Check a guest in by scanned code or by the invitation picked from a search.

    Returns the verdict (status 'welcome'); raises DeskError('already_checked_in', …) with the
    first check-in's time and desk. The same guest at the same desk within a second (a double
    Enter) gets the same welcome again, and nothing changes. The hot path of the desk: one
    joined read, one check-in read, one insert, the vehicles, the audit."""
    def body(s: Session) -> dict:
        if invitation_id is not None:
            row = lookup.card_row(s, invitation_id=invitation_id, lock=True)
        else:
            code = codes.normalize_code(raw or "")
            if not code:
                raise DeskError("empty_input")
            row = lookup.card_row(s, code=code, lock=True)
        if row is None:
            raise DeskError("unknown_code", raw=(raw or "")[:40])
        existing, ts = arrive(s, row, event_id=event_id, desk=desk, staff_id=staff_id)
        if existing is not None:
            card = lookup.guest_card(s, row, checkin=existing)
            if existing.desk == desk and now() - existing.at <= DOUBLE_SCAN:
                return {**card, "status": "welcome", "repeat": True}
            raise DeskError("already_checked_in", at=existing.at.strftime("%H:%M:%S"), desk=existing.desk, guest=card)
        card = lookup.guest_card(s, row, checkin=None)
        card["checked_in_at"], card["checked_in_desk"] = ts.strftime("%H:%M:%S"), desk
        return {**card, "status": "welcome"}

    return run_action(engine, "check_in", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=raw or f"#{invitation_id}", nonce=nonce)


def scan(engine: Engine, *, event_id: int, raw: str, desk: str, staff_id: int | None,
         nonce: str | None = None) -> dict:
    """What the check-in box does with what was typed or scanned.

    A code, or a search that finds exactly one guest, checks in at once. Anything else is
    a search: {'status': 'choose', 'matches': [...]} for the desk to pick from (then check_in
    with invitation_id). Nothing found: the reason, audited, as for an unknown code."""
    code = codes.normalize_code(raw or "")
    if not codes.looks_like_code(code):
        # A search shows full names and phones: each one is audited (who, desk, what, how many) and braked.
        matches = search_guests(engine, event_id=event_id, raw=raw, desk=desk, staff_id=staff_id) \
            if (raw or "").strip() else []
        if len(matches) == 1:  # one guest found: straight to them, as a scan would
            return check_in(engine, event_id=event_id, invitation_id=matches[0]["invitation_id"], raw=raw, desk=desk,
                            staff_id=staff_id)
        if matches:
            return {"status": "choose", "matches": matches}
    return check_in(engine, event_id=event_id, raw=raw, desk=desk, staff_id=staff_id, nonce=nonce)


def search_guests(engine: Engine, *, event_id: int, raw: str, desk: str, staff_id: int | None,
                  refuse_none: bool = False) -> list[dict]:
    """A desk's search for a guest, as the acting staff member: one audit row per search (who,
    desk, event, what was typed, how many matched — never the guests found), refused past the
    search brake for anyone but a manager (security.search_brake)."""
    from core.security import search_brake

    found: list[dict] = []

    def body(s: Session) -> dict:
        search_brake(s, s.get(Staff, staff_id))
        found.extend(lookup.search(s, event_id, raw))
        if not found and refuse_none:
            if codes.looks_like_code(codes.normalize_code(raw)):
                resolve_invitation(s, event_id, raw, None)
            raise DeskError("unknown_code")
        return {"matches": len(found)}

    run_action(engine, "search", body, event_id=event_id, desk=desk, staff_id=staff_id, raw=raw)
    return found


def find_guest(engine: Engine, *, event_id: int, raw: str, desk: str, staff_id: int | None) -> list[dict]:
    """The guests a cashier or gift desk scan or search points to (one or several), or the
    reason there is none: an unknown code, another event's code, a cancelled invitation. Audited."""
    return search_guests(engine, event_id=event_id, raw=raw, desk=desk, staff_id=staff_id, refuse_none=True)


def find(engine: Engine, *, event_id: int, raw: str) -> list[dict]:
    """Core's own read (tests, scripts): not a desk's search, so not audited. Desks use find_guest."""
    with read_session(engine) as s:
        return lookup.search(s, event_id, raw)


def register_walk_in(engine: Engine, *, event_id: int, name: str, phone: str, plate: str = "",
                     source: str = "natural", consent: bool = False, party_size: int = 1,
                     desk: str, staff_id: int | None) -> dict:
    """A guest without an invitation: registered, given a code and checked in at once."""
    name_c, phone_n = clean(name), normalize_phone(phone)
    source = SOURCE_OF_LABEL.get(clean(source), clean(source))
    plate_n = normalize_plate(plate) if clean(plate) else None

    def body(s: Session) -> dict:
        if not name_c:
            raise DeskError("name_missing")
        if "<" in name_c or ">" in name_c:
            raise DeskError("name_invalid")
        if phone_n is None:
            raise DeskError("phone_invalid")
        if clean(plate) and plate_n is None:
            raise DeskError("plate_invalid")
        if not 1 <= int(party_size) <= 10:
            raise DeskError("party_size_invalid")
        if source not in WALK_IN_SOURCES:
            raise DeskError("source_invalid")
        ts = now()
        customer = s.execute(select(Customer).where(Customer.phone == phone_n)).scalars().first()
        if customer is None:
            customer = Customer(name=name_c, phone=phone_n, category=WALK_IN_SOURCES[source],
                                created_at=ts, updated_at=ts)
            s.add(customer)
            s.flush()
        if consent and customer.marketing_consent_at is None:
            customer.marketing_consent_at = ts
        if plate_n and not s.execute(select(Vehicle.id).where(Vehicle.customer_id == customer.id,
                                                               Vehicle.plate == plate_n)).first():
            s.add(Vehicle(customer_id=customer.id, plate=plate_n))
        inv = s.execute(select(Invitation).where(Invitation.event_id == event_id,
                                                 Invitation.customer_id == customer.id)).scalar_one_or_none()
        if inv is None:
            inv = Invitation(event_id=event_id, customer_id=customer.id, group=WALK_IN_SOURCES[source],
                             code=codes.new_code(), source="walk_in", walk_in_source=source,
                             party_size=int(party_size), created_at=ts)
            s.add(inv)
            s.flush()
        else:
            inv = s.execute(select(Invitation).where(Invitation.id == inv.id).with_for_update()).scalar_one()
        existing, _ = arrive(s, inv, event_id=event_id, desk=desk, staff_id=staff_id, party_size=int(party_size))
        card = lookup.guest_card(s, inv.id)
        if existing is not None:
            raise DeskError("already_checked_in", at=existing.at.strftime("%H:%M:%S"), desk=existing.desk, guest=card)
        return {**card, "status": "welcome", "walk_in": True}

    return run_action(engine, "walk_in", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=f"{name_c} {phone_n or clean(phone)} {plate}")


def set_party_size(engine: Engine, *, invitation_id: int, size: int, desk: str, staff_id: int | None,
                   nonce: str | None = None) -> dict:
    def body(s: Session) -> dict:
        if not 1 <= int(size) <= 10:
            raise DeskError("party_size_invalid")
        inv = s.execute(select(Invitation).where(Invitation.id == invitation_id).with_for_update()).scalar_one_or_none()
        if inv is None:
            raise DeskError("unknown_code")
        bind_event(s, inv.event_id)
        before = inv.party_size
        inv.party_size = int(size)
        row = s.execute(select(CheckIn).where(CheckIn.invitation_id == invitation_id)).scalar_one_or_none()
        if row is not None:
            row.party_size = int(size)
        return {"invitation_id": invitation_id, "from": before, "to": int(size)}

    return run_action(engine, "party_size", body, event_id=None, desk=desk, staff_id=staff_id, raw=str(size),
                      nonce=nonce)


def require_manager(s: Session, staff_id: int | None) -> Staff:
    staff = s.get(Staff, staff_id) if staff_id else None
    if staff is None or staff.role != "manager":
        raise DeskError("not_manager")
    return staff


def undo_check_in(engine: Engine, *, invitation_id: int, reason: str, desk: str, staff_id: int | None,
                  nonce: str | None = None) -> dict:
    """A manager takes a check-in back (a wrong guest, a test scan). Marked, never deleted."""
    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        if not clean(reason):
            raise DeskError("reason_missing")
        row = s.execute(select(CheckIn).where(CheckIn.invitation_id == invitation_id).with_for_update()).scalar_one_or_none()
        if row is None or row.undone_at is not None:
            raise DeskError("not_checked_in")
        bind_event(s, row.event_id)
        row.undone_at, row.undone_by, row.undo_reason = now(), staff_id, clean(reason)[:200]
        return {"invitation_id": invitation_id, "checked_in_at": row.at.isoformat(), "reason": row.undo_reason}

    return run_action(engine, "undo_check_in", body, event_id=None, desk=desk, staff_id=staff_id, raw=reason,
                      nonce=nonce)


def counters(engine: Engine, event_id: int) -> dict:
    """The desk's live counters, as core.counts defines them: arrived batches (and people) and
    confirmed of everyone; 邀约, 网络集客 and 现场登记 apart."""
    c = event_counts(engine, event_id=event_id, breakdown=False)
    return {"arrived": c["total"]["arrived"], "people": c["total"]["people"], "confirmed": c["total"]["confirmed"],
            "invited": c["invited"]["listed"], "web": c["web"]["listed"], "walk_ins": c["walk_in"]["listed"],
            "total": c["total"]["listed"], "target": c["target_arrivals"]}
