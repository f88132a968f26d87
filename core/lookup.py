"""Find a guest the way a desk is asked: a scanned code, a phone (full or last four digits),
a plate (with or without the dot), a name, or the start of a code. Shared by every desk."""
from __future__ import annotations

import re

from sqlalchemy import bindparam, or_, select
from sqlmodel import Session

from core import codes
from core.models import CheckIn, Customer, Event, Invitation, Renewal, Staff, Vehicle
from core.validate import clean, format_plate, normalize_phone, normalize_plate

MAX_MATCHES = 20


def like_escape(text: str) -> str:
    """What was typed matches as itself: % and _ are not wildcards (`%%%1` once listed 20 guests)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_CARD = (select(Invitation.id, Invitation.event_id, Invitation.code, Invitation.group, Invitation.party_size,
                Invitation.advisor_id, Invitation.call_outcome, Invitation.cancelled, Invitation.customer_id,
                Customer.name, Customer.phone, Staff.name.label("advisor"))
         .join(Customer, Customer.id == Invitation.customer_id)
         .outerjoin(Staff, Staff.id == Invitation.advisor_id))


# Prebuilt with bind parameters: the check-in desk's hot path compiles nothing per scan.
_CARD_BY = {
    ("code", False): _CARD.where(Invitation.code == bindparam("key")),
    ("code", True): _CARD.where(Invitation.code == bindparam("key")).with_for_update(of=Invitation),
    ("id", False): _CARD.where(Invitation.id == bindparam("key")),
    ("id", True): _CARD.where(Invitation.id == bindparam("key")).with_for_update(of=Invitation),
}
_VEHICLES = (select(Vehicle.id, Vehicle.plate, Vehicle.vin, Vehicle.model, Vehicle.insurer_last)
             .where(Vehicle.customer_id == bindparam("customer")).order_by(Vehicle.id))
_CHECKIN = select(CheckIn.id, CheckIn.at, CheckIn.desk, CheckIn.undone_at).where(CheckIn.invitation_id == bindparam("inv"))


def card_row(session: Session, *, code: str | None = None, invitation_id: int | None = None, lock: bool = False):
    """The invitation with its customer and advisor in one read; locked for the action when asked."""
    by = "code" if code is not None else "id"
    return session.connection().execute(_CARD_BY[by, lock], {"key": code if code is not None else invitation_id}).first()


def checkin_row(session: Session, invitation_id: int):
    return session.connection().execute(_CHECKIN, {"inv": invitation_id}).first()


def guest_card(session: Session, invitation, *, checkin=False) -> dict:
    """What a desk shows about a guest (full data: staff desks only). `invitation` is an
    Invitation, its id, or a card_row(); `checkin` a CheckIn row already read, None for none."""
    row = invitation if hasattr(invitation, "advisor") else card_row(
        session, invitation_id=invitation if isinstance(invitation, int) else invitation.id)
    vehicles = session.connection().execute(_VEHICLES, {"customer": row.customer_id}).all()
    if checkin is False:
        checkin = checkin_row(session, row.id)
    live = checkin is not None and checkin.undone_at is None
    return {
        "invitation_id": row.id, "event_id": row.event_id, "code": row.code,
        "name": row.name, "phone": row.phone or "", "group": row.group,
        "party_size": row.party_size, "advisor": row.advisor or "",
        "advisor_id": row.advisor_id, "call_outcome": row.call_outcome or "",
        "vehicles": [{"id": v.id, "plate": format_plate(v.plate), "vin": v.vin or "", "model": v.model,
                      "insurer_last": v.insurer_last} for v in vehicles],
        "plates": "、".join(format_plate(v.plate) for v in vehicles if v.plate),
        "checked_in_at": checkin.at.strftime("%H:%M:%S") if live else "",
        "checked_in_desk": checkin.desk if live else "",
        "cancelled": row.cancelled,
    }


def invitation_by_code(session: Session, code: str) -> Invitation | None:
    return session.execute(select(Invitation).where(Invitation.code == code)).scalar_one_or_none()


def search(session: Session, event_id: int, raw: str) -> list[dict]:
    """Guests of this event matching what was typed, best first (at most MAX_MATCHES)."""
    text = clean(raw)
    if not text:
        return []
    code = codes.normalize_code(text)
    conds = []
    if codes.looks_like_code(code):
        conds.append(Invitation.code == code)
    phone = normalize_phone(text)
    digits = re.sub(r"\D", "", text)
    if phone:
        conds.append(Customer.phone == phone)
    elif len(digits) == 4 and digits == text:
        conds.append(Customer.phone.like(f"%{digits}", escape="\\"))
    plate = normalize_plate(text)
    plate_text = re.sub(r"[\s·•・.\-]", "", text).upper()
    if plate:
        conds.append(Vehicle.plate == plate)
    elif len(plate_text) >= 3 and re.search(r"[A-Z0-9]", plate_text):
        conds.append(Vehicle.plate.like(f"%{like_escape(plate_text)}%", escape="\\"))
    if re.search(r"[\u4e00-\u9fff]", text) and not plate:
        conds.append(Customer.name.like(f"{like_escape(text)}%", escape="\\"))
    if len(code) >= 4 and re.fullmatch(rf"[{codes.ALPHABET}]+", code):
        conds.append(Invitation.code.like(f"{like_escape(code)}%", escape="\\"))
    if not conds:
        return []
    ids = session.execute(
        select(Invitation.id).join(Customer, Customer.id == Invitation.customer_id)
        .outerjoin(Vehicle, Vehicle.customer_id == Customer.id)
        .where(Invitation.event_id == event_id, or_(*conds))
        .distinct().order_by(Invitation.id).limit(MAX_MATCHES)).scalars().all()
    return [guest_card(session, i) for i in ids]


def event_name(session: Session, event_id: int) -> str:
    ev = session.get(Event, event_id)
    return ev.name if ev else ""


def renewals_of(session: Session, invitation_id: int) -> list[Renewal]:
    return list(session.execute(select(Renewal).where(Renewal.invitation_id == invitation_id)
                                .order_by(Renewal.id)).scalars())


