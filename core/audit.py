"""Run a desk action as one transaction, audit every attempt, replay a repeated nonce.

Modelled on pretix's check-in service: the action raises DeskError with a reason code on
refusal; the refusal is audited in its own transaction after the action's is rolled back.
Before the body runs, the acting staff member's role is checked against the permission table
(core.security.PERMISSIONS), so every service is checked in core, not only by the menu.
A unique or check constraint the database enforced becomes the reason code it stands for;
anything unexpected is audited, logged with its traceback and reported as `system_error`
(nothing of the action was saved: its transaction was rolled back).
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.clock import now
from core.errors import DeskError
from core.models import ActionNonce, AuditEntry
from core.store import write_session

log = logging.getLogger("renewday")
_INSERT_AUDIT = insert(AuditEntry.__table__)

# Named constraints (PostgreSQL names them; SQLite names CHECKs and lists a UNIQUE's columns).
CONSTRAINT_REASONS = {
    "uq_gift_type_event_name": "gift_name_taken", "gifttype.event_id, gifttype.name": "gift_name_taken",
    "ck_gift_type_stock_nonnegative": "out_of_stock",
    "uq_renewal_vehicle_live": "already_renewed", "renewal.event_id, renewal.vehicle_id": "already_renewed",
    "renewal_receipt_no_key": "conflict", "renewal.receipt_no": "conflict",
    "checkin_invitation_id_key": "already_checked_in", "checkin.invitation_id": "already_checked_in",
    "uq_gift_renewal": "gift_already_given", "giftissue.renewal_id": "gift_already_given",
    "uq_gift_arrival": "gift_already_given", "giftissue.invitation_id": "gift_already_given",
    "uq_draw_renewal_chance": "conflict", "drawresult.renewal_id, drawresult.chance_no": "conflict",
    "staff_name_key": "staff_name_taken", "ix_staff_name": "staff_name_taken", "staff.name": "staff_name_taken",
    "event_name_key": "event_name_taken", "ix_event_name": "event_name_taken", "event.name": "event_name_taken",
    "uq_invitation_event_customer": "conflict", "invitation.event_id, invitation.customer_id": "conflict",
    "deskprinter_desk_key": "conflict", "deskprinter.desk": "conflict",
}
_RACES = {"already_renewed", "already_checked_in", "gift_already_given", "out_of_stock", "conflict"}


def constraint_of(exc: IntegrityError) -> str:
    """The violated constraint's name (PostgreSQL) or SQLite's description of it."""
    diag = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if diag:
        return diag
    text = str(exc.orig)
    if "FOREIGN KEY" in text.upper() or "foreign key" in text:
        return "foreign_key"
    m = re.search(r"(?:UNIQUE|CHECK) constraint failed: (.+)$", text, re.M)
    return m.group(1).strip() if m else ""


def reason_for(exc: IntegrityError) -> str:
    name = constraint_of(exc)
    if name == "foreign_key" or name.endswith("_fkey"):
        return "reference_missing"
    return CONSTRAINT_REASONS.get(name, "conflict")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def audit(session: Session, action: str, *, event_id: int | None, desk: str, staff_id: int | None,
          raw: str = "", result: str = "ok", detail: Any = None) -> None:
    from core.validate import strip_controls

    session.connection().execute(_INSERT_AUDIT, {  # raw input as typed, minus what no database stores (NUL…)
        "at": now(), "event_id": event_id, "desk": strip_controls(desk or "")[:60], "staff_id": staff_id, "action": action,
        "raw_input": strip_controls((raw or "")[:500]), "result": result,
        "detail": strip_controls(_dump(detail)) if detail is not None else ""})


def bind_event(session: Session, event_id: int | None) -> None:
    """The action touched a row of this event: audit it with the event, and refuse a row of
    another event when the desk said which event it serves."""
    if event_id is None:
        return
    asked = session.info.get("desk_event_id")
    if asked is not None and asked != event_id:
        raise DeskError("foreign_event", event=str(event_id))
    session.info["audit_event_id"] = event_id


def _audit_apart(engine: Engine, action: str, **kw) -> None:
    try:
        with write_session(engine) as session:
            audit(session, action, **kw)
    except Exception:  # noqa: BLE001 - the audit of a failure must not hide the failure
        log.exception("could not audit %s", action)


def run_action(engine: Engine, action: str, body: Callable[[Session], dict], *, event_id: int | None,
               desk: str, staff_id: int | None, raw: str = "", nonce: str | None = None) -> dict:
    """Run body(session) -> result dict in one write transaction; audit it either way."""
    from core.security import check_actor

    bound: dict[str, int | None] = {"event": event_id}
    for attempt in (1, 2):
        try:
            with write_session(engine) as session:
                session.info["desk_event_id"] = event_id
                if nonce:
                    seen = session.get(ActionNonce, nonce)
                    if seen is not None:
                        return {**json.loads(seen.result), "replayed": True}
                try:
                    check_actor(session, action, staff_id)
                    result = body(session)
                finally:
                    bound["event"] = session.info.get("audit_event_id", event_id)
                audit(session, action, event_id=bound["event"], desk=desk, staff_id=staff_id, raw=raw,
                      detail=result)
                if nonce:
                    session.add(ActionNonce(nonce=nonce, action=action, result=_dump(result), at=now()))
            return result
        except DeskError as refusal:
            if refusal.reason == "store_busy":  # auditing would wait as long again: log it instead
                log.warning("action %s at desk %s: store busy, not done", action, desk)
                raise
            _audit_apart(engine, action, event_id=bound["event"], desk=desk, staff_id=staff_id, raw=raw,
                         result=refusal.reason, detail=refusal.info)
            raise
        except IntegrityError as exc:
            reason = reason_for(exc)
            # A race the database settled: the second attempt sees the other desk's row and
            # refuses with the proper reason. Anything else is refused at once with its reason.
            if attempt == 2 or reason not in _RACES:
                _audit_apart(engine, action, event_id=bound["event"], desk=desk, staff_id=staff_id, raw=raw,
                             result=reason, detail={"constraint": constraint_of(exc)})
                raise DeskError(reason) from None
        except Exception as exc:  # noqa: BLE001 - audited, logged, and told truthfully
            log.exception("action %s failed at desk %s", action, desk)
            _audit_apart(engine, action, event_id=bound["event"], desk=desk, staff_id=staff_id, raw=raw,
                         result="system_error", detail={"error": type(exc).__name__})
            raise DeskError("system_error", action=action) from exc
    raise AssertionError("unreachable")


# --- the manager's view of the log --------------------------------------------------------
def audit_rows(engine: Engine, *, event_id: int | None = None, action: str | None = None,
               by_staff: int | None = None, outcome: str | None = None, text: str = "", limit: int = 2000) -> list[dict]:
    """Audit rows newest first. outcome: 'ok', 'refused' (any reason code) or a reason code."""
    from sqlalchemy import or_, select

    from core.lookup import like_escape
    from core.models import Staff
    from core.store import read_session
    from core.validate import clean

    q = (select(AuditEntry, Staff.name).outerjoin(Staff, Staff.id == AuditEntry.staff_id)
         .order_by(AuditEntry.id.desc()).limit(limit))
    if event_id is not None:
        q = q.where(AuditEntry.event_id == event_id)
    if action:
        q = q.where(AuditEntry.action == action)
    if by_staff is not None:
        q = q.where(AuditEntry.staff_id == by_staff)
    if outcome == "refused":
        q = q.where(AuditEntry.result != "ok")
    elif outcome:
        q = q.where(AuditEntry.result == outcome)
    needle = clean(text)
    if needle:
        pattern = f"%{like_escape(needle)}%"
        q = q.where(or_(AuditEntry.raw_input.like(pattern, escape="\\"), AuditEntry.detail.like(pattern, escape="\\"),
                        AuditEntry.desk.like(pattern, escape="\\")))
    with read_session(engine) as s:
        rows = s.execute(q).all()
    return [{"id": a.id, "at": a.at, "event_id": a.event_id, "desk": a.desk, "staff": name or "", "staff_id": a.staff_id,
             "action": a.action, "result": a.result, "raw": a.raw_input, "detail": a.detail} for a, name in rows]


def audit_actions(engine: Engine) -> list[str]:
    from sqlalchemy import select

    from core.store import read_session

    with read_session(engine) as s:
        return sorted(s.execute(select(AuditEntry.action).distinct()).scalars())


def export_audit(engine: Engine, *, staff_id: int | None, desk: str = "", event_id: int | None = None,
                 **filters) -> bytes:
    """The filtered log as .xlsx (formula-safe); the export itself is audited (manager only)."""
    from core.xlsx import Sheet, write_book

    def body(_s: Session) -> dict:
        return {"filters": {k: v for k, v in filters.items() if v}}

    out = run_action(engine, "audit_export", body, event_id=event_id, desk=desk, staff_id=staff_id)
    rows = audit_rows(engine, event_id=event_id, limit=100_000, **filters)
    sheet = Sheet(title="审计日志", headers=["编号", "时间", "活动", "工作台", "员工", "操作", "结果", "输入", "详情"],
                  rows=[[r["id"], r["at"], r["event_id"], r["desk"], r["staff"], r["action"], r["result"], r["raw"],
                         r["detail"]] for r in rows], widths={1: 20, 7: 30, 8: 60})
    del out
    return write_book([sheet])
