"""Before the event (N-12 … N-1): the callers' worklists and the call log.

One row per call (CallLog). Invitation.call_outcome is the customer's standing: the latest
*decisive* outcome (确定 confirmed, 不确定 unsure, 无意向 not interested — a 确定 with a new arrival
time is a decisive 确定 again). A call that reaches nobody (未接通: no answer, busy, switched off,
rejected…) is recorded and shown in the history, but it never replaces a decisive answer: a
customer who said 确定 and misses the N-1 re-confirm call is still confirmed ("确定 · 复核未接通").
Only a customer never reached stands at 未接通. Every count (core.counts) reads the standing.
The worklist is sorted so the next call to make is on top.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import run_action
from core.clock import now
from core.counts import ALL, event_counts
from core.errors import DeskError
from core.models import (CALL_OUTCOMES, CALL_REASONS, CallLog, CallPlan, CheckIn, Customer, Event, Invitation,
                         Renewal, Staff, Vehicle)
from core.store import read_session
from core.validate import clean, format_plate

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DECISIVE = ("confirmed", "unsure", "not_interested")  # an answer; 未接通 is only a call that reached nobody


def standing(before: str | None, outcome: str) -> str:
    """The customer's outcome after a call with this outcome: a decisive answer replaces anything;
    a call that reached nobody keeps the decisive answer given before."""
    return outcome if outcome in DECISIVE or before not in DECISIVE else before

# Worklist ranks: the smaller, the sooner the call.
RANK_RECONFIRM = 0  # confirmed, event tomorrow (N-1) or today: call to re-confirm
RANK_NEW = 1  # never called
RANK_RETRY = 2  # not reached, not tried today
RANK_FOLLOW_UP = 3  # unsure, not called today
RANK_LATER = 5  # called today already, no final answer: later today or tomorrow
RANK_CONFIRMED = 6
RANK_ARRIVED = 7
RANK_NOT_INTERESTED = 8
RANK_NAMES = {RANK_RECONFIRM: "reconfirm", RANK_NEW: "new", RANK_RETRY: "retry", RANK_FOLLOW_UP: "follow_up",
              RANK_LATER: "later", RANK_CONFIRMED: "confirmed", RANK_ARRIVED: "arrived",
              RANK_NOT_INTERESTED: "not_interested"}


def rank(outcome: str | None, last_at: datetime | None, *, today: date, event_date: date, arrived: bool = False,
         last_outcome: str | None = None) -> int:
    """Where a customer stands in the caller's queue (see the RANK_ constants). outcome is the
    standing; last_outcome the latest call's own (a missed re-confirm is tried again later)."""
    called_today = last_at is not None and last_at.date() == today
    if arrived:
        return RANK_ARRIVED
    if outcome == "not_interested":
        return RANK_NOT_INTERESTED
    if outcome == "confirmed":
        reconfirm_due = today >= event_date - timedelta(days=1)
        if reconfirm_due and not called_today:
            return RANK_RECONFIRM
        missed = reconfirm_due and last_outcome is not None and last_outcome not in DECISIVE
        return RANK_LATER if missed else RANK_CONFIRMED
    if outcome is None or last_at is None:
        return RANK_NEW if outcome is None else RANK_RETRY
    if called_today:
        return RANK_LATER
    return RANK_RETRY if outcome == "no_answer" else RANK_FOLLOW_UP


def log_call(engine: Engine, *, invitation_id: int, outcome: str, reason: str = "", party_size: int = 1,
             expected_arrival: str = "", note: str = "", sms_sent: bool = False, sms_receipt: bool = False,
             staff_id: int | None, desk: str = "") -> dict:
    """Record one call; a decisive outcome becomes the invitation's standing, a call that reached
    nobody keeps the standing it had (see the module's docstring). A caller logs calls on their own
    customers; a manager on anyone's."""
    note_c, arrival = clean(note)[:300], clean(expected_arrival)
    reason = clean(reason)

    def body(s: Session) -> dict:
        if outcome not in CALL_OUTCOMES:
            raise DeskError("call_outcome_invalid")
        allowed = CALL_REASONS.get(outcome, ())
        if reason and reason not in allowed:
            raise DeskError("call_reason_invalid")
        try:
            size = int(party_size)
        except (TypeError, ValueError):
            raise DeskError("party_size_invalid") from None
        if not 1 <= size <= 10:
            raise DeskError("party_size_invalid")
        if arrival and not _HHMM.match(arrival):
            raise DeskError("arrival_time_invalid")
        if sms_receipt and not sms_sent:
            raise DeskError("sms_receipt_without_sms")
        inv = s.execute(select(Invitation).where(Invitation.id == invitation_id).with_for_update()).scalar_one_or_none()
        if inv is None or inv.cancelled:
            raise DeskError("unknown_code")
        staff = s.get(Staff, staff_id) if staff_id else None
        if staff is None:
            raise DeskError("staff_unknown")
        if staff.role != "manager" and inv.advisor_id != staff.id:
            raise DeskError("not_your_customer")
        row = CallLog(event_id=inv.event_id, invitation_id=inv.id, caller_id=staff.id, at=now(), outcome=outcome,
                      reason=reason, party_size=size, expected_arrival=arrival, note=note_c,
                      sms_sent=bool(sms_sent), sms_receipt=bool(sms_receipt))
        s.add(row)
        before = inv.call_outcome
        inv.call_outcome = standing(before, outcome)
        if outcome == "confirmed":
            inv.party_size = size
        s.flush()
        return {"call_id": row.id, "invitation_id": inv.id, "outcome": outcome, "from": before,
                "standing": inv.call_outcome, "kept": inv.call_outcome != outcome}

    return run_action(engine, "log_call", body, event_id=None, desk=desk, staff_id=staff_id,
                      raw=f"#{invitation_id} {outcome} {reason}")


def worklist(engine: Engine, *, event_id: int, caller_id: int | None, today: date | None = None) -> list[dict]:
    """A caller's customers (caller_id None: everyone's), the next call to make on top."""
    today = today or now().date()
    with read_session(engine) as s:
        event = s.get(Event, event_id)
        q = (select(Invitation.id, Invitation.code, Invitation.group, Invitation.source, Invitation.call_outcome,
                    Invitation.party_size,
                    Invitation.advisor_id, Invitation.customer_id, Customer.name, Customer.phone,
                    Staff.name.label("advisor"))
             .join(Customer, Customer.id == Invitation.customer_id)
             .outerjoin(Staff, Staff.id == Invitation.advisor_id)
             .where(Invitation.event_id == event_id, Invitation.cancelled.is_(False)))
        if caller_id is not None:
            q = q.where(Invitation.advisor_id == caller_id)
        rows = s.execute(q).all()
        last: dict[int, tuple] = {}
        counts: dict[int, int] = {}
        for inv_id, n, at in s.execute(select(CallLog.invitation_id, func.count(), func.max(CallLog.at))
                                       .where(CallLog.event_id == event_id).group_by(CallLog.invitation_id)):
            counts[inv_id], last[inv_id] = n, at
        last_call: dict[int, CallLog] = {}
        if last:
            for c in s.execute(select(CallLog).where(CallLog.event_id == event_id).order_by(CallLog.at, CallLog.id)).scalars():
                last_call[c.invitation_id] = c
        arrived = set(s.execute(select(CheckIn.invitation_id).where(CheckIn.event_id == event_id,
                                                                   CheckIn.undone_at.is_(None))).scalars())
        rows = [r for r in rows if r.source != "walk_in" or r.id in arrived]  # as core.counts counts walk-ins
        customers = {r.customer_id for r in rows}
        vehicles: dict[int, list] = {}
        if customers:
            for v in s.execute(select(Vehicle).where(Vehicle.customer_id.in_(customers)).order_by(Vehicle.id)).scalars():
                vehicles.setdefault(v.customer_id, []).append(v)
    out = []
    for r in rows:
        vs = vehicles.get(r.customer_id, [])
        expiries = [d for v in vs for d in (v.commercial_expiry, v.compulsory_expiry) if d]
        lc = last_call.get(r.id)
        out.append({
            "invitation_id": r.id, "code": r.code, "name": r.name, "phone": r.phone or "", "group": r.group,
            "outcome": r.call_outcome, "party_size": r.party_size, "advisor_id": r.advisor_id, "advisor": r.advisor or "",
            "plates": "、".join(format_plate(v.plate) for v in vs if v.plate),
            "models": "、".join(v.model for v in vs if v.model),
            "insurer_last": "、".join(sorted({v.insurer_last for v in vs if v.insurer_last})),
            "commercial_expiry": min((v.commercial_expiry for v in vs if v.commercial_expiry), default=None),
            "compulsory_expiry": min((v.compulsory_expiry for v in vs if v.compulsory_expiry), default=None),
            "calls": counts.get(r.id, 0), "last_at": last.get(r.id),
            "last_reason": lc.reason if lc else "", "expected_arrival": lc.expected_arrival if lc else "",
            "last_outcome": lc.outcome if lc else None,
            # the latest call reached nobody, the standing is an earlier answer: 确定 · 复核未接通
            "kept": bool(lc and lc.outcome != r.call_outcome and r.call_outcome in DECISIVE),
            "arrived": r.id in arrived,
            "rank": rank(r.call_outcome, last.get(r.id), today=today, event_date=event.event_date,
                         arrived=r.id in arrived, last_outcome=lc.outcome if lc else None),
            "_expiry": min(expiries, default=date.max),
        })
    out.sort(key=lambda g: (g["rank"], g["last_at"] or datetime.min, g["_expiry"], g["invitation_id"]))
    for g in out:
        del g["_expiry"]
    return out


def history(engine: Engine, *, invitation_id: int) -> list[dict]:
    """Every call on one invitation, newest first, each with the standing it left ('standing'
    differs from 'outcome' for a call that reached nobody after an answer: 未接通 · 仍为确定)."""
    with read_session(engine) as s:
        rows = s.execute(select(CallLog, Staff.name).outerjoin(Staff, Staff.id == CallLog.caller_id)
                         .where(CallLog.invitation_id == invitation_id)
                         .order_by(CallLog.at, CallLog.id)).all()
    out, now_standing = [], None
    for c, name in rows:
        now_standing = standing(now_standing, c.outcome)
        out.append({"at": c.at, "caller": name or "", "outcome": c.outcome, "standing": now_standing,
                    "reason": c.reason, "party_size": c.party_size, "expected_arrival": c.expected_arrival,
                    "note": c.note, "sms_sent": c.sms_sent, "sms_receipt": c.sms_receipt})
    return out[::-1]


def callers(engine: Engine) -> list[Staff]:
    from core.models import CALLER_ROLES

    with read_session(engine) as s:
        return list(s.execute(select(Staff).where(Staff.active, Staff.role.in_(CALLER_ROLES))
                              .order_by(Staff.id)).scalars())


# --- the daily plan --------------------------------------------------------------------------
def set_plan(engine: Engine, *, event_id: int, day: date, planned_calls: int, planned_sms: int,
             staff_id: int | None, desk: str = "") -> dict:
    """The store's plan for one calling day (manager only)."""
    from core.checkin import require_manager

    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        try:
            calls, sms = int(planned_calls), int(planned_sms)
        except (TypeError, ValueError):
            raise DeskError("plan_invalid") from None
        if calls < 0 or sms < 0:
            raise DeskError("plan_invalid")
        row = s.execute(select(CallPlan).where(CallPlan.event_id == event_id, CallPlan.day == day)
                        .with_for_update()).scalar_one_or_none()
        if row is None:
            row = CallPlan(event_id=event_id, day=day)
            s.add(row)
        row.planned_calls, row.planned_sms = calls, sms
        return {"day": day.isoformat(), "planned_calls": calls, "planned_sms": sms}

    return run_action(engine, "set_call_plan", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=f"{day} {planned_calls} {planned_sms}")


def plan_for(engine: Engine, *, event_id: int, day: date) -> tuple[int, int]:
    with read_session(engine) as s:
        row = s.execute(select(CallPlan).where(CallPlan.event_id == event_id, CallPlan.day == day)).scalar_one_or_none()
    return (row.planned_calls, row.planned_sms) if row else (0, 0)


# --- live status of a caller's guests on the day (我的客户) ----------------------------------
def my_guests_status(engine: Engine, *, event_id: int, caller_id: int | None) -> dict:
    """The caller's guests (caller_id None: everyone's) that arrived: renewed, or still waiting
    (checked in, no renewal yet). One cheap read; the phone page polls it."""
    mine = (Invitation.advisor_id == caller_id) if caller_id is not None else Invitation.id.is_not(None)
    with read_session(engine) as s:
        rows = s.execute(
            select(Invitation.id, Customer.name, Customer.phone, Invitation.call_outcome, CheckIn.at, CheckIn.party_size,
                   CheckIn.desk,
                   select(func.count(Renewal.id)).where(Renewal.invitation_id == Invitation.id,
                                                        Renewal.voided_at.is_(None)).scalar_subquery().label("renewals"))
            .join(Customer, Customer.id == Invitation.customer_id)
            .join(CheckIn, CheckIn.invitation_id == Invitation.id)
            .where(Invitation.event_id == event_id, mine, Invitation.cancelled.is_(False), CheckIn.undone_at.is_(None))
            .order_by(CheckIn.at.desc())).all()
    guests = [{"invitation_id": r.id, "name": r.name, "phone": r.phone or "", "at": r.at, "party_size": r.party_size,
               "desk": r.desk, "renewed": r.renewals > 0, "confirmed": r.call_outcome == "confirmed"} for r in rows]
    c = caller_counts(engine, event_id=event_id, caller_id=caller_id)["total"]
    return {"arrived": c["arrived"], "renewed": c["renewed"], "waiting": sum(not g["renewed"] for g in guests),
            "confirmed": c["confirmed"], "guests": guests}


def caller_counts(engine: Engine, *, event_id: int, caller_id: int | None) -> dict:
    """core.counts for one caller's customers (caller_id None: the whole event, walk-ins included)."""
    return event_counts(engine, event_id=event_id, advisor_id=ALL if caller_id is None else caller_id, breakdown=False)


def reassign(engine: Engine, *, invitation_ids: list[int], to_caller_id: int, staff_id: int | None,
             desk: str = "") -> dict:
    """The manager moves customers to another caller, all or none; their call history stays."""
    from core.checkin import require_manager
    from core.models import CALLER_ROLES

    ids = sorted({int(i) for i in invitation_ids})

    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        if not ids:
            raise DeskError("reassign_none")
        to = s.get(Staff, to_caller_id)
        if to is None or not to.active or to.role not in CALLER_ROLES + ("manager",):
            raise DeskError("staff_unknown")
        rows = s.execute(select(Invitation).where(Invitation.id.in_(ids)).with_for_update()).scalars().all()
        if len(rows) != len(ids):
            raise DeskError("unknown_code")
        moved = {}
        for inv in rows:
            if inv.advisor_id != to.id:
                moved[inv.id] = inv.advisor_id
                inv.advisor_id = to.id
        return {"to": to.id, "moved": len(moved), "from": moved}

    return run_action(engine, "reassign", body, event_id=None, desk=desk, staff_id=staff_id,
                      raw=f"{len(ids)} -> {to_caller_id}")
