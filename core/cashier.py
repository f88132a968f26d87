"""The cashier desk: record a renewal, mark the invoice, void, and the desk's cash-up."""
from __future__ import annotations

import re

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import finance, lookup
from core.audit import bind_event, run_action
from core.checkin import arrive, require_manager, resolve_invitation
from core.clock import now
from core.errors import DeskError
from core.models import PAYMENT_METHODS, DrawResult, GiftIssue, Invitation, Renewal, Setting, Staff, Vehicle
from core.store import read_session
from core.validate import clean, format_plate, parse_yuan

INSURERS = ("人保 PICC", "平安", "太平洋", "国寿财险", "中华联合", "大地", "阳光", "太平", "华安", "天安", "其他")
COVERAGES = ("damage", "third", "seats")  # what a renewal covers, stored as codes: "damage|third:200万|seats:1万/座"
_POLICY = re.compile(r"^[A-Z0-9\-]{10,30}$")
_REF = re.compile(r"^[A-Za-z0-9\-]{0,40}$")
_INVOICE = re.compile(r"^[A-Z0-9]{8,20}$")


def insurers(engine: Engine) -> list[str]:
    """The editable insurer list (Setting 'insurers', one per line), defaulting to the common ones."""
    with read_session(engine) as s:
        row = s.get(Setting, "insurers")
    items = [x.strip() for x in (row.value.splitlines() if row else []) if x.strip()]
    return items or list(INSURERS)


def save_insurers(engine: Engine, text: str) -> list[str]:
    items = [clean(x)[:30] for x in text.splitlines() if clean(x) and "<" not in x and ">" not in x]
    from core.store import write_session

    with write_session(engine) as s:
        row = s.get(Setting, "insurers") or Setting(key="insurers")
        row.value = "\n".join(items)
        s.add(row)
    return items or list(INSURERS)


def parse_amounts(compulsory: str, commercial: str, vehicle_tax: str) -> dict[str, int]:
    out = {}
    for key, raw in (("compulsory", compulsory), ("commercial", commercial), ("vehicle_tax", vehicle_tax)):
        try:
            out[key] = parse_yuan(raw)
        except ValueError as e:
            raise DeskError(str(e), field=key) from None  # a code: the page names the field in its language
    return out


def coverage_code(*, damage: bool = False, third: str = "", seats: str = "") -> str:
    """The cover a cashier ticked, as stored: codes and the amounts typed, never the UI's words."""
    parts = ["damage"] if damage else []
    parts += [f"{k}:{clean(v).replace('|', '')[:20]}" for k, v in (("third", third), ("seats", seats)) if clean(v)]
    return "|".join(parts)


def coverage_parts(code: str) -> list[tuple[str, str]]:
    """(code, amount) pairs of a stored coverage, for a page or a receipt to word in its language."""
    out = []
    for part in (code or "").split("|"):
        key, _, value = part.partition(":")
        if key in COVERAGES:
            out.append((key, value))
    return out


def record_renewal(engine: Engine, *, event_id: int, vehicle_id: int | None, insurer: str, compulsory: str,
                   commercial: str, vehicle_tax: str, payment_method: str, desk: str, staff_id: int | None,
                   invitation_id: int | None = None, raw: str | None = None, payment_ref: str = "",
                   policy_numbers: str = "", coverage: str = "", advisor_id: int | None = None,
                   credit_reason: str = "", confirm_high: bool = False, confirmed: str = "",
                   seats: int | None = None, invoice_kind: str = "", invoice_title: str = "",
                   invoice_tax_id: str = "", nonce: str | None = None) -> dict:
    """Sign a renewal for one vehicle. A guest not yet checked in is checked in by it.

    Amounts are what the cashier typed, in yuan; they are stored exactly, in fen. An amount
    outside what its field usually is (core.finance.plausibility) is refused with
    `amount_needs_confirm` and the checks; it is saved only when `confirmed` is that refusal's
    `confirm_key` (the same amounts) or `confirm_high` confirms whatever is typed (CLI, tests)."""
    def body(s: Session) -> dict:
        inv = resolve_invitation(s, event_id, raw, invitation_id)
        inv = s.execute(select(Invitation).where(Invitation.id == inv.id).with_for_update()).scalar_one()
        if not vehicle_id:
            raise DeskError("vehicle_missing")
        vehicle = s.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.customer_id != inv.customer_id:
            raise DeskError("vehicle_not_guest")
        if not clean(insurer):
            raise DeskError("insurer_missing")
        if payment_method not in PAYMENT_METHODS:
            raise DeskError("payment_missing")
        fen = parse_amounts(compulsory, commercial, vehicle_tax)
        total = sum(fen.values())
        if fen["compulsory"] + fen["commercial"] == 0:
            raise DeskError("amount_zero")
        if seats is not None and not 1 <= int(seats) <= 60:
            raise DeskError("seats_invalid")
        seats_n = int(seats) if seats else vehicle.seats
        checks = finance.plausibility(fen, seats=seats_n, commercial_last_fen=vehicle.commercial_last_fen,
                                      settings=finance._settings(s))
        key = finance.confirm_key(checks)
        if checks and not (confirm_high or confirmed == key):
            # codes and values only: the page words each check (the first also as {what} {amount})
            raise DeskError("amount_needs_confirm", what=checks[0]["field"], amount=checks[0]["amount"],
                            checks=checks, confirm_key=key)
        note = "；".join(finance.check_text_zh(c) for c in checks) + "（收银已确认）" if checks else ""
        inv_kind, inv_title, inv_tax = finance.invoice_details(invoice_kind, invoice_title, invoice_tax_id)
        policies = [p for p in re.split(r"[\s,，;；、]+", clean(policy_numbers).upper()) if p]
        for p in policies:
            if not _POLICY.match(p):
                raise DeskError("policy_invalid", value=p)
        if not _REF.match(clean(payment_ref)):
            raise DeskError("payment_ref_invalid")
        credited = advisor_id if advisor_id is not None else inv.advisor_id
        if credited is not None and s.get(Staff, credited) is None:
            raise DeskError("staff_unknown")
        if credited != inv.advisor_id and inv.advisor_id is not None and not clean(credit_reason):
            raise DeskError("reason_missing")
        live = s.execute(select(Renewal).where(Renewal.event_id == event_id, Renewal.vehicle_id == vehicle_id,
                                               Renewal.voided_at.is_(None))).scalar_one_or_none()
        if live is not None:
            raise DeskError("already_renewed", receipt_no=live.receipt_no)
        arrived_now = arrive(s, inv, event_id=event_id, desk=desk, staff_id=staff_id)[0] is None
        ts = now()
        renewal = Renewal(event_id=event_id, invitation_id=inv.id, vehicle_id=vehicle_id,
                          receipt_no=f"tmp-{inv.id}-{vehicle_id}-{ts.timestamp()}", insurer=clean(insurer)[:30],
                          compulsory_fen=fen["compulsory"], commercial_fen=fen["commercial"],
                          vehicle_tax_fen=fen["vehicle_tax"], total_fen=total, coverage=clean(coverage)[:200],
                          policy_numbers=" ".join(policies), payment_method=payment_method,
                          payment_ref=clean(payment_ref), advisor_id=credited, credit_reason=clean(credit_reason)[:200],
                          cashier_id=staff_id, desk=desk, created_at=ts, invoice_kind=inv_kind,
                          invoice_title=inv_title, invoice_tax_id=inv_tax, amount_note=note[:300])
        if seats and not vehicle.seats:
            vehicle.seats = int(seats)
        s.add(renewal)
        s.flush()
        renewal.receipt_no = f"XB{event_id:02d}-{renewal.id:05d}"
        s.flush()
        return {"renewal_id": renewal.id, "receipt_no": renewal.receipt_no, "total_fen": total,
                "plate": format_plate(vehicle.plate), "checked_in_now": arrived_now,
                "guest": lookup.guest_card(s, inv)}

    return run_action(engine, "renewal", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=f"{raw or invitation_id} v{vehicle_id} {compulsory}/{commercial}/{vehicle_tax} {payment_method}",
                      nonce=nonce)


def add_vehicle(engine: Engine, *, invitation_id: int, plate: str, desk: str, staff_id: int | None) -> dict:
    """A car the list did not have (a new car, a second family car) added at the desk."""
    from core.validate import normalize_plate

    plate_n = normalize_plate(plate)

    def body(s: Session) -> dict:
        if plate_n is None:
            raise DeskError("plate_invalid")
        inv = s.get(Invitation, invitation_id)
        if inv is None:
            raise DeskError("unknown_code")
        bind_event(s, inv.event_id)
        found = s.execute(select(Vehicle).where(Vehicle.customer_id == inv.customer_id,
                                                Vehicle.plate == plate_n)).scalar_one_or_none()
        if found is None:
            found = Vehicle(customer_id=inv.customer_id, plate=plate_n)
            s.add(found)
            s.flush()
        return {"vehicle_id": found.id, "plate": format_plate(plate_n)}

    return run_action(engine, "add_vehicle", body, event_id=None, desk=desk, staff_id=staff_id, raw=plate)


def mark_invoiced(engine: Engine, *, renewal_id: int, invoice_no: str, desk: str, staff_id: int | None,
                  nonce: str | None = None) -> dict:
    number = clean(invoice_no).upper()

    def body(s: Session) -> dict:
        r = s.execute(select(Renewal).where(Renewal.id == renewal_id).with_for_update()).scalar_one_or_none()
        if r is None:
            raise DeskError("renewal_unknown")
        bind_event(s, r.event_id)
        if r.voided_at is not None:
            raise DeskError("voided")
        if r.invoice_no:
            raise DeskError("already_invoiced", invoice_no=r.invoice_no)
        if not _INVOICE.match(number):
            raise DeskError("invoice_invalid")
        r.invoice_no, r.invoiced_at, r.invoiced_by = number, now(), staff_id
        return {"renewal_id": r.id, "receipt_no": r.receipt_no, "invoice_no": number}

    return run_action(engine, "invoice", body, event_id=None, desk=desk, staff_id=staff_id, raw=invoice_no,
                      nonce=nonce)


def void_renewal(engine: Engine, *, renewal_id: int | None, reason: str, desk: str, staff_id: int | None,
                 nonce: str | None = None) -> dict:
    """A manager voids a renewal: it stays, marked void, leaves the totals; its gift and draws
    are flagged for reclaim at the gift desk."""
    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        if renewal_id is None:
            raise DeskError("renewal_not_chosen")
        if not clean(reason):
            raise DeskError("reason_missing")
        r = s.execute(select(Renewal).where(Renewal.id == renewal_id).with_for_update()).scalar_one_or_none()
        if r is None:
            raise DeskError("renewal_unknown")
        bind_event(s, r.event_id)
        if r.voided_at is not None:
            raise DeskError("voided")
        r.voided_at, r.voided_by, r.void_reason = now(), staff_id, clean(reason)[:200]
        gifts = s.execute(update(GiftIssue).where(GiftIssue.renewal_id == r.id).values(reclaim=True)).rowcount
        draws = s.execute(update(DrawResult).where(DrawResult.renewal_id == r.id, DrawResult.prize_id.is_not(None))
                          .values(reclaim=True)).rowcount
        return {"renewal_id": r.id, "receipt_no": r.receipt_no, "reclaim_gifts": gifts, "reclaim_prizes": draws}

    return run_action(engine, "void_renewal", body, event_id=None, desk=desk, staff_id=staff_id, raw=reason,
                      nonce=nonce)


def renewal_rows(engine: Engine, event_id: int, *, desk: str | None = None, pending_invoice: bool = False,
                 invitation_id: int | None = None, limit: int | None = 200) -> list[dict]:
    from core.models import Customer

    with read_session(engine) as s:
        q = (select(Renewal, Customer.name, Vehicle.plate, Staff.name.label("advisor"))
             .join(Invitation, Invitation.id == Renewal.invitation_id)
             .join(Customer, Customer.id == Invitation.customer_id)
             .join(Vehicle, Vehicle.id == Renewal.vehicle_id)
             .outerjoin(Staff, Staff.id == Renewal.advisor_id)
             .where(Renewal.event_id == event_id).order_by(Renewal.id.desc()))
        if limit is not None:
            q = q.limit(limit)
        if desk:
            q = q.where(Renewal.desk == desk)
        if invitation_id is not None:
            q = q.where(Renewal.invitation_id == invitation_id)
        if pending_invoice:
            q = q.where(Renewal.invoice_no == "", Renewal.voided_at.is_(None), Renewal.invoice_kind != "none")
        rows = s.execute(q).all()
    return [{"renewal_id": r.id, "vehicle_id": r.vehicle_id, "receipt_no": r.receipt_no, "time": r.created_at.strftime("%H:%M"), "name": name,
             "plate": format_plate(plate), "insurer": r.insurer, "total_fen": r.total_fen,
             "payment_method": r.payment_method, "advisor": advisor or "", "invoice_no": r.invoice_no,
             "invoice_kind": r.invoice_kind, "invoice_title": r.invoice_title, "invoice_tax_id": r.invoice_tax_id,
             "voided": r.voided_at is not None} for r, name, plate, advisor in rows]


def cash_up(engine: Engine, event_id: int, desk: str | None = None) -> dict[str, dict]:
    """Totals by payment method for the end-of-day reconciliation (voided renewals left out)."""
    with read_session(engine) as s:
        q = (select(Renewal.payment_method, func.count(), func.sum(Renewal.total_fen))
             .where(Renewal.event_id == event_id, Renewal.voided_at.is_(None)).group_by(Renewal.payment_method))
        if desk:
            q = q.where(Renewal.desk == desk)
        rows = s.execute(q).all()
    out = {m: {"count": 0, "total_fen": 0} for m in PAYMENT_METHODS}
    for method, n, total in rows:
        out[method] = {"count": n, "total_fen": int(total or 0)}
    return out

