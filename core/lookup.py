"""Find a guest the way a desk is asked: a scanned code, a phone (full or last four digits),
a plate (with or without the dot), a name, or the start of a code. Shared by every desk."""
from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from core import codes
from core.models import CheckIn, Customer, Event, Invitation, Renewal, Staff, Vehicle
from core.validate import clean, format_plate, normalize_phone, normalize_plate

MAX_MATCHES = 20


def guest_card(session: Session, invitation: Invitation) -> dict:
    """What a desk shows about a guest (full data: staff desks only)."""
    customer = session.get(Customer, invitation.customer_id)
    advisor = session.get(Staff, invitation.advisor_id) if invitation.advisor_id else None
    vehicles = session.execute(select(Vehicle).where(Vehicle.customer_id == customer.id).order_by(Vehicle.id)).scalars().all()
    checkin = session.execute(select(CheckIn).where(CheckIn.invitation_id == invitation.id)).scalar_one_or_none()
    return {
        "invitation_id": invitation.id, "event_id": invitation.event_id, "code": invitation.code,
        "name": customer.name, "phone": customer.phone or "", "group": invitation.group,
        "party_size": invitation.party_size, "advisor": advisor.name if advisor else "",
        "advisor_id": invitation.advisor_id, "call_outcome": invitation.call_outcome or "",
        "vehicles": [{"id": v.id, "plate": format_plate(v.plate), "vin": v.vin or "", "model": v.model,
                      "insurer_last": v.insurer_last} for v in vehicles],
        "plates": "、".join(format_plate(v.plate) for v in vehicles if v.plate),
        "checked_in_at": checkin.at.strftime("%H:%M:%S") if checkin and not checkin.undone_at else "",
        "checked_in_desk": checkin.desk if checkin and not checkin.undone_at else "",
        "cancelled": invitation.cancelled,
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
        conds.append(Customer.phone.like(f"%{digits}"))
    plate = normalize_plate(text)
    plate_text = re.sub(r"[\s·•・.\-]", "", text).upper()
    if plate:
        conds.append(Vehicle.plate == plate)
    elif len(plate_text) >= 3 and re.search(r"[A-Z0-9]", plate_text):
        conds.append(Vehicle.plate.like(f"%{plate_text}%"))
    if re.search(r"[\u4e00-\u9fff]", text) and not plate:
        conds.append(Customer.name.like(f"{text}%"))
    if len(code) >= 4 and re.fullmatch(rf"[{codes.ALPHABET}]+", code):
        conds.append(Invitation.code.like(f"{code}%"))
    if not conds:
        return []
    ids = session.execute(
        select(Invitation.id).join(Customer, Customer.id == Invitation.customer_id)
        .outerjoin(Vehicle, Vehicle.customer_id == Customer.id)
        .where(Invitation.event_id == event_id, or_(*conds))
        .distinct().order_by(Invitation.id).limit(MAX_MATCHES)).scalars().all()
    return [guest_card(session, session.get(Invitation, i)) for i in ids]


def event_name(session: Session, event_id: int) -> str:
    ev = session.get(Event, event_id)
    return ev.name if ev else ""


def renewals_of(session: Session, invitation_id: int) -> list[Renewal]:
    return list(session.execute(select(Renewal).where(Renewal.invitation_id == invitation_id)
                                .order_by(Renewal.id)).scalars())


