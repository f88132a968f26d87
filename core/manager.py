"""Set-up actions whose storage lives in another module (printers in core.receipts, insurers in
core.cashier), checked and audited here: manager only, with the event. The check and the audit
row come first (run_action), then the save; a save refused afterwards is audited as refused."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from core.audit import run_action
from core.errors import DeskError


def _checked(engine: Engine, action: str, save, *, staff_id: int | None, desk: str, event_id: int | None,
             detail: dict, raw: str = ""):
    run_action(engine, action, lambda _s: {"asked": detail}, event_id=event_id, desk=desk, staff_id=staff_id, raw=raw)
    try:
        return save()
    except DeskError as e:
        run_action_refused(engine, action, e, staff_id=staff_id, desk=desk, event_id=event_id, raw=raw)
        raise


def run_action_refused(engine: Engine, action: str, e: DeskError, *, staff_id, desk, event_id, raw) -> None:
    from core.audit import audit
    from core.store import write_session

    with write_session(engine) as s:
        audit(s, action, event_id=event_id, desk=desk, staff_id=staff_id, raw=raw, result=e.reason, detail=e.info)


def save_printer(engine: Engine, *, staff_id: int | None, desk: str, event_id: int | None, printer_desk: str,
                 **settings) -> None:
    from core import receipts

    _checked(engine, "printer", lambda: receipts.save_desk_printer(engine, desk=printer_desk, **settings),
             staff_id=staff_id, desk=desk, event_id=event_id, detail={"desk": printer_desk, **settings}, raw=printer_desk)


def save_insurers(engine: Engine, *, staff_id: int | None, desk: str, event_id: int | None, text: str) -> list[str]:
    from core import cashier

    return _checked(engine, "insurers", lambda: cashier.save_insurers(engine, text), staff_id=staff_id, desk=desk,
                    event_id=event_id, detail={"lines": len(text.splitlines())})
