"""Run a desk action as one transaction, audit every attempt, replay a repeated nonce.

Modelled on pretix's check-in service: the action raises DeskError with a reason code on
refusal; the refusal is audited in its own transaction after the action's is rolled back.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.clock import now
from core.errors import DeskError
from core.models import ActionNonce, AuditEntry
from core.store import write_session


_INSERT_AUDIT = insert(AuditEntry.__table__)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def audit(session: Session, action: str, *, event_id: int | None, desk: str, staff_id: int | None,
          raw: str = "", result: str = "ok", detail: Any = None) -> None:
    session.connection().execute(_INSERT_AUDIT, {
        "at": now(), "event_id": event_id, "desk": desk, "staff_id": staff_id, "action": action,
        "raw_input": (raw or "")[:500], "result": result, "detail": _dump(detail) if detail is not None else ""})


def run_action(engine: Engine, action: str, body: Callable[[Session], dict], *, event_id: int | None,
               desk: str, staff_id: int | None, raw: str = "", nonce: str | None = None) -> dict:
    """Run body(session) -> result dict in one write transaction; audit it either way."""
    for attempt in (1, 2):
        try:
            with write_session(engine) as session:
                if nonce:
                    seen = session.get(ActionNonce, nonce)
                    if seen is not None:
                        return {**json.loads(seen.result), "replayed": True}
                result = body(session)
                audit(session, action, event_id=event_id, desk=desk, staff_id=staff_id, raw=raw,
                      detail=result)
                if nonce:
                    session.add(ActionNonce(nonce=nonce, action=action, result=_dump(result), at=now()))
            return result
        except DeskError as refusal:
            with write_session(engine) as session:
                audit(session, action, event_id=event_id, desk=desk, staff_id=staff_id, raw=raw,
                      result=refusal.reason, detail=refusal.info)
            raise
        except IntegrityError:
            # Another desk won a race the database settled; the second attempt sees its row
            # and refuses with the proper reason.
            if attempt == 2:
                with write_session(engine) as session:
                    audit(session, action, event_id=event_id, desk=desk, staff_id=staff_id, raw=raw,
                          result="conflict")
                raise DeskError("conflict") from None
    raise AssertionError("unreachable")
