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
from contextlib import contextmanager
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


@contextmanager
def audited_refusals(engine: Engine, action: str, *, event_id: int | None, desk: str, staff_id: int | None,
                     raw: str = "", detail: Any = None):
    """For an action that writes its own success audit (the import): check the acting staff
    member first, and audit a refusal or an unexpected error the way run_action does."""
    from core.security import check_actor
    from core.store import read_session

    try:
        with read_session(engine) as s:
            check_actor(s, action, staff_id)
        yield
    except DeskError as refusal:
        if refusal.reason != "store_busy":
            _audit_apart(engine, action, event_id=event_id, desk=desk, staff_id=staff_id, raw=raw,
                         result=refusal.reason, detail={**(detail or {}), **refusal.info})
        raise
    except Exception as exc:  # noqa: BLE001 - audited, logged, and told truthfully
        log.exception("action %s failed at desk %s", action, desk)
        _audit_apart(engine, action, event_id=event_id, desk=desk, staff_id=staff_id, raw=raw,
                     result="system_error", detail={**(detail or {}), "error": type(exc).__name__})
        raise DeskError("system_error", action=action) from exc


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


# --- the log in words: every action and result code translated, details as "key: value" ----------
class _Blank(dict):
    def __missing__(self, key):  # a message's placeholder the row's detail does not carry
        return "…"


def action_label(action: str, lang: str = "zh-CN") -> str:
    from core.i18n import t

    label = t(f"action.{action}", lang)
    return action if label == f"action.{action}" else label


def result_label(result: str, lang: str = "zh-CN", info: dict | None = None) -> str:
    """'成功', or the refusal's message as the desk saw it (its placeholders filled from the detail)."""
    from core.i18n import catalog

    if result == "ok":
        return catalog(lang).get("audit.outcome_ok") or catalog("zh-CN")["audit.outcome_ok"]
    text = catalog(lang).get(f"reason.{result}") or catalog("zh-CN").get(f"reason.{result}")
    if not text:
        return result
    try:
        return text.format_map(_Blank({k: _value(k, v, lang) for k, v in (info or {}).items()}))
    except (ValueError, IndexError, AttributeError):
        return text


_PUNCT = {"zh-CN": ("：", "；", "，", "（", "）", "、"), "en": (": ", "; ", ", ", "(", ")", ", ")}


def _punct(lang: str) -> tuple[str, ...]:
    return _PUNCT.get(lang, _PUNCT["zh-CN"])


def _value(key: str, value: Any, lang: str) -> str:
    from core.i18n import t

    colon, _, comma, left, right, enum = _punct(lang)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t("audit.yes" if value else "audit.no", lang)
    if isinstance(value, int) and (key.endswith("_fen") or key == "fen"):
        return f"{value / 100:,.2f} {t('audit.yuan', lang)}"
    if isinstance(value, dict):
        return left + comma.join(f"{_key(k, lang)}{colon}{_value(k, v, lang)}" for k, v in value.items()) + right \
            if value else "—"
    if isinstance(value, list):
        return enum.join(_value(key, v, lang) for v in value[:20]) + ("…" if len(value) > 20 else "") if value else "—"
    if key in ("role", "to_role") and isinstance(value, str):
        label = t(f"role.{value}", lang)
        return value if label == f"role.{value}" else label
    if key in ("action",) and isinstance(value, str):
        return action_label(value, lang)
    return str(value)


def _key(key: str, lang: str) -> str:
    from core.i18n import t

    label = t(f"audit.key.{key}", lang)
    return key.replace("_", " ") if label == f"audit.key.{key}" else label


def detail_text(detail: str, lang: str = "zh-CN") -> str:
    """A row's detail (stored as JSON) as words: '匹配数：3；顾问：陈晓东'."""
    if not detail:
        return ""
    try:
        value = json.loads(detail)
    except ValueError:
        return detail
    if isinstance(value, dict):
        colon, semi = _punct(lang)[:2]
        return semi.join(f"{_key(k, lang)}{colon}{_value(k, v, lang)}" for k, v in value.items())
    return _value("", value, lang)


def detail_info(detail: str) -> dict:
    try:
        value = json.loads(detail) if detail else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def audit_actions(engine: Engine) -> list[str]:
    from sqlalchemy import select

    from core.store import read_session

    with read_session(engine) as s:
        return sorted(s.execute(select(AuditEntry.action).distinct()).scalars())


EXPORT_HEADERS = {
    "zh-CN": ["编号", "时间", "活动", "工作台", "员工", "操作代码", "操作", "结果代码", "结果", "输入", "详情（原始）", "详情"],
    "en": ["ID", "Time", "Event", "Desk", "Staff", "Action code", "Action", "Result code", "Result", "Input",
           "Detail (raw)", "Detail"],
}


def export_audit(engine: Engine, *, staff_id: int | None, desk: str = "", event_id: int | None = None,
                 lang: str = "zh-CN", **filters) -> bytes:
    """The filtered log as .xlsx (formula-safe): the raw codes and JSON for a machine, and the
    same in words for a person. The export itself is audited (manager only)."""
    from core.xlsx import Sheet, write_book

    def body(_s: Session) -> dict:
        return {"filters": {k: v for k, v in filters.items() if v}}

    run_action(engine, "audit_export", body, event_id=event_id, desk=desk, staff_id=staff_id)
    rows = audit_rows(engine, event_id=event_id, limit=100_000, **filters)
    sheet = Sheet(title="审计日志" if lang == "zh-CN" else "Audit log", headers=EXPORT_HEADERS.get(lang, EXPORT_HEADERS["zh-CN"]),
                  rows=[[r["id"], r["at"], r["event_id"], r["desk"], r["staff"], r["action"], action_label(r["action"], lang),
                         r["result"], result_label(r["result"], lang, detail_info(r["detail"])), r["raw"], r["detail"],
                         detail_text(r["detail"], lang)] for r in rows],
                  widths={1: 20, 6: 14, 8: 30, 9: 30, 10: 40, 11: 60})
    return write_book([sheet])
