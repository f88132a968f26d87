"""Receipts at the gift desk: stored as print jobs with their exact bytes before sending,
sent within the printer's timeout, reprinted from a searchable list.

Receipt numbers (LP<event>-00001 …) count real receipts only: test prints and reprints take no
number. A reprint is marked 副本 only when the receipt was already handed over once (printed on
paper, or shown on the screen of a desk without a printer); a receipt that never came out comes
out as the original."""
from __future__ import annotations

import json

from sqlalchemy import func, select, union_all, update
from sqlalchemy.engine import Engine

from core.clock import now
from core.errors import DeskError
from core.models import Customer, DeskPrinter, DrawResult, Event, GiftIssue, GiftType, Invitation, PrintJob, Staff, Vehicle
from core.printing import Receipt, build_receipt, send_bytes, send_local
from core.privacy import mask_name, mask_phone, mask_plate
from core.store import read_session, write_session

TITLE = "续保礼品领取凭证"
TITLES = {"renewal": TITLE, "arrival": "到店礼领取凭证", "prize": "抽奖领奖凭证"}


def receipt_title(gift_kinds: list[str], draws: int) -> str:
    """The title per kind: the renewal gift's receipt (with or without its draws), the arrival
    gift's, or a draw-only one."""
    if "renewal" in gift_kinds:
        return TITLES["renewal"]
    if "arrival" in gift_kinds:
        return TITLES["arrival"]
    return TITLES["prize"] if draws else TITLE


def desk_printer(engine: Engine, desk: str) -> DeskPrinter:
    with read_session(engine) as s:
        row = s.execute(select(DeskPrinter).where(DeskPrinter.desk == desk)).scalar_one_or_none()
    return row or DeskPrinter(desk=desk)


def save_desk_printer(engine: Engine, *, desk: str, connection: str, host: str = "", port: int = 9100,
                      usb_vendor: str = "", usb_product: str = "", serial_device: str = "", render: str = "text",
                      paper_mm: int = 80, timeout_s: float = 2.5) -> None:
    if connection not in ("none", "network", "usb", "serial") or render not in ("text", "image") \
            or paper_mm not in (58, 80) or not 0.5 <= float(timeout_s) <= 3 or not 0 < int(port) < 65536:
        raise DeskError("printer_settings_invalid")
    if connection == "network" and not host.strip():
        raise DeskError("printer_settings_invalid")
    with write_session(engine) as s:
        row = s.execute(select(DeskPrinter).where(DeskPrinter.desk == desk)).scalar_one_or_none() or DeskPrinter(desk=desk)
        row.connection, row.host, row.port, row.render, row.paper_mm = connection, host.strip(), int(port), render, paper_mm
        row.usb_vendor, row.usb_product, row.serial_device, row.timeout_s = usb_vendor, usb_product, serial_device, float(timeout_s)
        s.add(row)


def _receipt(s, *, event_id: int, invitation_id: int, gift_issue_ids: list[int], draw_ids: list[int], desk: str,
             staff_id: int | None, receipt_no: str) -> Receipt:
    event = s.get(Event, event_id)
    inv = s.get(Invitation, invitation_id)
    customer = s.get(Customer, inv.customer_id)
    staff = s.get(Staff, staff_id) if staff_id else None
    items: list[tuple[str, str]] = []
    plates: list[str] = []
    kinds: list[str] = []
    for gid in gift_issue_ids:
        g = s.get(GiftIssue, gid)
        kinds.append(g.kind)
        label = "续保礼" if g.kind == "renewal" else "到店礼"
        name = s.get(GiftType, g.gift_type_id).name + ("（替代品）" if g.substituted_for else "")
        items.append((label, f"{name} ×1"))
    for did in draw_ids:
        d = s.get(DrawResult, did)
        prize = s.get(GiftType, d.prize_id).name if d.prize_id else "谢谢参与"
        items.append((f"抽奖第{d.chance_no}次", prize))
    renewal_ids = {s.get(GiftIssue, g).renewal_id for g in gift_issue_ids} | {s.get(DrawResult, d).renewal_id for d in draw_ids}
    from core.models import Renewal

    for rid in sorted(r for r in renewal_ids if r):
        v = s.get(Vehicle, s.get(Renewal, rid).vehicle_id)
        if v.plate:
            plates.append(mask_plate(v.plate))
    return Receipt(store=event.store_name or "", event=event.name, title=receipt_title(kinds, len(draw_ids)),
                   receipt_no=receipt_no,
                   time=now().strftime("%Y-%m-%d %H:%M:%S"), desk=desk, staff=staff.name if staff else "",
                   customer=mask_name(customer.name), phone=mask_phone(customer.phone), plates="、".join(plates),
                   items=items)


def store_receipt(s, *, event_id: int, invitation_id: int, desk: str, staff_id: int | None,
                  gift_issue_ids: list[int] = (), draw_ids: list[int] = ()) -> PrintJob:
    """Inside the hand-out's own transaction: number the receipt, store it as a print job with its
    exact bytes ('pending', or 'screen' with no printer) and stamp the receipt number on what was
    handed out. Nothing is sent here: send_job runs after the commit. A crash between the two
    leaves a pending job that recover_pending turns into a reprintable one, never a hand-out
    without its receipt."""
    printer = s.execute(select(DeskPrinter).where(DeskPrinter.desk == desk)).scalar_one_or_none() or DeskPrinter(desk=desk)
    receipt = _receipt(s, event_id=event_id, invitation_id=invitation_id, gift_issue_ids=list(gift_issue_ids),
                       draw_ids=list(draw_ids), desk=desk, staff_id=staff_id, receipt_no=next_receipt_no(s, event_id))
    job = store_job(s, receipt, printer, event_id=event_id, desk=desk)
    if gift_issue_ids:
        s.execute(update(GiftIssue).where(GiftIssue.id.in_(list(gift_issue_ids))).values(receipt_no=job.receipt_no))
    if draw_ids:
        s.execute(update(DrawResult).where(DrawResult.id.in_(list(draw_ids))).values(receipt_no=job.receipt_no))
    return job


def issue_receipt(engine: Engine, *, event_id: int, invitation_id: int, desk: str, staff_id: int | None,
                  gift_issue_ids: list[int] = (), draw_ids: list[int] = ()) -> dict:
    """Store the receipt for what was handed out earlier (a print job with its exact bytes), then
    send it. The gift desk stores it in the hand-out's own transaction instead (gifts.serve)."""
    with write_session(engine) as s:
        job_id = store_receipt(s, event_id=event_id, invitation_id=invitation_id, desk=desk, staff_id=staff_id,
                               gift_issue_ids=gift_issue_ids, draw_ids=draw_ids).id
    return send_job(engine, job_id)


def job_state(engine: Engine, job_id: int) -> dict:
    """A stored job as it stands now (a replayed hand-out shows its receipt without sending it again)."""
    with read_session(engine) as s:
        job = s.get(PrintJob, job_id)
        if job is None:
            raise DeskError("receipt_unknown")
        return job_view(job)


def receipt_prefix(event_id: int) -> str:
    return f"LP{event_id:02d}-"


def next_receipt_no(s, event_id: int) -> str:
    """The event's next receipt number, counting real receipts only (not test prints, not
    reprints); after the highest one used, so a store numbered the old way never repeats one. The event row is locked so two desks cannot take the same number (SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    s.execute(select(Event.id).where(Event.id == event_id).with_for_update())
    prefix = receipt_prefix(event_id)
    last = s.execute(select(func.max(PrintJob.receipt_no)).where(
        PrintJob.event_id == event_id, PrintJob.receipt_no.like(prefix + "%"))).scalar_one()
    tail = (last or "")[len(prefix):]
    return f"{prefix}{(int(tail) if tail.isdigit() else 0) + 1:05d}"  # after the highest: never a number twice


def store_job(s, receipt, printer: DeskPrinter, *, event_id: int | None, desk: str, is_copy: bool = False) -> PrintJob:
    """Store a receipt as a print job with its exact bytes, inside the caller's transaction, before
    anything is sent: a crash or a dead printer leaves a job to reprint, never a lost receipt."""
    job = PrintJob(event_id=event_id, receipt_no=receipt.receipt_no, desk=desk, is_copy=is_copy, created_at=now(),
                   payload=build_receipt(receipt, render=printer.render, paper_mm=printer.paper_mm),
                   preview=json.dumps({"receipt": receipt.as_dict(), "render": printer.render,
                                       "paper_mm": printer.paper_mm}, ensure_ascii=False),
                   status="pending" if printer.connection != "none" else "screen", target=_target(printer))
    s.add(job)
    s.flush()
    return job


def _target(p: DeskPrinter) -> str:
    if p.connection == "network":
        return f"{p.host}:{p.port}"
    if p.connection == "usb":
        return f"usb:{p.usb_vendor}:{p.usb_product}"
    if p.connection == "serial":
        return f"serial:{p.serial_device}"
    return "screen"


def send_job(engine: Engine, job_id: int) -> dict:
    """Send a stored job to its desk's printer; the outcome is recorded on the job."""
    with read_session(engine) as s:
        job = s.get(PrintJob, job_id)
    printer = desk_printer(engine, job.desk)
    if printer.connection == "none":
        return job_view(job)
    if printer.connection == "network":
        result = send_bytes(printer.host, printer.port, job.payload, timeout=min(printer.timeout_s, 3.0))
    else:
        result = send_local(printer.connection, job.payload, usb_vendor=printer.usb_vendor,
                            usb_product=printer.usb_product, serial_device=printer.serial_device)
    with write_session(engine) as s:
        job = s.get(PrintJob, job_id)
        job.status = "printed" if result.ok else "failed"
        job.error = result.error
        job.finished_at = now()
        job.target = _target(printer)
    return {**job_view(job), "printer_status": result.status, "seconds": round(result.seconds, 3)}


def reprint(engine: Engine, *, job_id: int, desk: str, staff_id: int | None = None) -> dict:
    """Print a receipt again, whatever became of it, as a new job with the same receipt number.
    Marked 副本 (on paper and on screen alike) when the receipt already came out once, printed or
    shown on a printer-less desk's screen; one that never came out is the original. Audited."""
    from core.audit import audit

    with read_session(engine) as s:
        original = s.get(PrintJob, job_id)
        if original is None or not original.preview:
            raise DeskError("receipt_unknown")
        printed = _printed_before(s, original)
    meta = json.loads(original.preview)
    receipt = Receipt.from_dict(meta["receipt"])
    receipt.copy = printed
    printer = desk_printer(engine, desk)
    with write_session(engine) as s:
        new_id = store_job(s, receipt, printer, event_id=original.event_id, desk=desk, is_copy=printed).id
        audit(s, "reprint", event_id=original.event_id, desk=desk, staff_id=staff_id, raw=original.receipt_no,
              detail={"job_id": new_id, "of_job": job_id, "copy": printed})
    return send_job(engine, new_id)


DELIVERED = ("printed", "screen")  # the receipt came out: on paper, or on a printer-less desk's screen


def _printed_before(s, job: PrintJob) -> bool:
    """Whether this receipt already came out once (paper or screen): its reprint is then a 副本."""
    q = select(PrintJob.id).where(PrintJob.receipt_no == job.receipt_no, PrintJob.status.in_(DELIVERED))
    q = q.where(PrintJob.event_id == job.event_id) if job.event_id is not None else q.where(PrintJob.id == job.id)
    return s.execute(q.limit(1)).first() is not None


def job_view(job: PrintJob) -> dict:
    return {"job_id": job.id, "receipt_no": job.receipt_no, "status": job.status, "error": job.error,
            "is_copy": job.is_copy, "desk": job.desk, "target": job.target,
            "time": job.created_at.strftime("%H:%M:%S")}


def jobs(engine: Engine, *, event_id: int, desk: str | None = None, failed_only: bool = False, limit: int = 50) -> list[dict]:
    """The event's print jobs, newest first. failed_only: the receipts still unprinted, one row
    each (its latest failed attempt); a receipt that printed since, e.g. by a reprint, leaves it."""
    with read_session(engine) as s:
        q = select(PrintJob).where(PrintJob.event_id == event_id).order_by(PrintJob.id.desc())
        if desk:
            q = q.where(PrintJob.desk == desk)
        if not failed_only:
            return [job_view(j) for j in s.execute(q.limit(limit)).scalars()]
        printed = select(PrintJob.receipt_no).where(PrintJob.event_id == event_id, PrintJob.status == "printed")
        q = q.where(PrintJob.status == "failed", PrintJob.receipt_no.not_in(printed))
        out, seen = [], set()
        for j in s.execute(q).scalars():
            if j.receipt_no in seen:
                continue
            seen.add(j.receipt_no)
            out.append(job_view(j))
            if len(out) >= limit:
                break
        return out


def search(engine: Engine, *, event_id: int, query: str = "", limit: int = 20) -> list[dict]:
    """Receipts of the event for the reprint list, newest first, one row per receipt number:
    found by receipt number (or its last digits), the customer's name, or the phone's last
    digits. Each row carries the job to reprint, whether it ever printed, and the masked
    customer and items as printed."""
    q = (query or "").strip()
    with read_session(engine) as s:
        groups = s.execute(select(PrintJob.receipt_no, func.min(PrintJob.id), func.max(PrintJob.id),
                                  func.max(case_printed()), func.max(case_printed(DELIVERED)))
                           .where(PrintJob.event_id == event_id, PrintJob.receipt_no != "")
                           .group_by(PrintJob.receipt_no).order_by(func.min(PrintJob.id).desc())).all()
        match: set[str] | None = None
        if q:
            pairs = union_all(
                select(GiftIssue.receipt_no.label("receipt_no"), GiftIssue.invitation_id.label("inv"))
                .where(GiftIssue.event_id == event_id, GiftIssue.receipt_no != ""),
                select(DrawResult.receipt_no.label("receipt_no"), DrawResult.invitation_id.label("inv"))
                .where(DrawResult.event_id == event_id, DrawResult.receipt_no != "")).subquery()
            who = select(pairs.c.receipt_no).join(Invitation, Invitation.id == pairs.c.inv) \
                .join(Customer, Customer.id == Invitation.customer_id)
            digits = q.isdigit()
            from core.lookup import like_escape  # what was typed matches as itself: % and _ are not wildcards

            cond = Customer.phone.like(f"%{like_escape(q)}", escape="\\") if digits and len(q) >= 4 \
                else Customer.name.like(f"%{like_escape(q)}%", escape="\\")
            match = {r for (r,) in s.execute(who.where(cond)).all()}
            upper = q.upper()
            match |= {r for r, *_ in groups if upper in r.upper()}
        rows = []
        for receipt_no, first_id, last_id, printed, delivered in groups:
            if match is not None and receipt_no not in match:
                continue
            rows.append((receipt_no, first_id, last_id, bool(printed), bool(delivered)))
            if len(rows) >= limit:
                break
        out = []
        for receipt_no, first_id, last_id, printed, delivered in rows:
            first, last = s.get(PrintJob, first_id), s.get(PrintJob, last_id)
            meta = json.loads(first.preview) if first.preview else {"receipt": {}}
            r = meta["receipt"]
            out.append({"receipt_no": receipt_no, "job_id": last_id, "printed": printed, "delivered": delivered,
                        "status": last.status,
                        "error": last.error, "time": first.created_at.strftime("%H:%M:%S"), "desk": first.desk,
                        "title": r.get("title", ""), "customer": r.get("customer", ""), "phone": r.get("phone", ""),
                        "items": "、".join(v for _, v in r.get("items", [])), "copies": last_id != first_id})
        return out


def case_printed(statuses: tuple[str, ...] = ("printed",)):
    from sqlalchemy import case

    return case((PrintJob.status.in_(statuses), 1), else_=0)


def preview(engine: Engine, job_id: int) -> dict:
    """What was sent: the receipt's lines (text mode) and its image when rendered as one."""
    from core.printing import wrapped_lines

    with read_session(engine) as s:
        job = s.get(PrintJob, job_id)
    meta = json.loads(job.preview)
    receipt = Receipt.from_dict(meta["receipt"])
    return {"receipt": receipt, "render": meta["render"], "paper_mm": meta["paper_mm"],
            "lines": [text for style, text in wrapped_lines(receipt, meta["paper_mm"]) if style != "qr"],
            "bytes": len(job.payload)}


def test_print(engine: Engine, *, desk: str, staff_id: int | None, event_id: int | None = None) -> dict:
    """A sample receipt with Chinese, punctuation, ￥ and a QR, to check a printer before the doors open.
    It takes no receipt number (TEST-hhmmss) and belongs to no event; who asked for it is audited."""
    from core.audit import run_action
    from core.printing import Receipt

    receipt = Receipt(store="RenewDay", event="打印测试", title="测试小票", receipt_no=f"TEST-{now():%H%M%S}",
                      time=now().strftime("%Y-%m-%d %H:%M:%S"), desk=desk, staff="", customer="张*明",
                      phone="138****5678", plates="粤B·***45",
                      items=[("中文", "续保礼品领取凭证"), ("标点", "“”，。！？、；："), ("金额", "¥128.00")])
    printer = desk_printer(engine, desk)
    job = run_action(engine, "test_print", lambda s: {"job_id": store_job(s, receipt, printer, event_id=None, desk=desk).id,
                                                      "printer": printer.connection},
                     event_id=event_id, desk=desk, staff_id=staff_id, raw=receipt.receipt_no)
    return send_job(engine, job["job_id"])


def status_of(engine: Engine, desk: str) -> str:
    """online / paper_out / offline / unknown for a network printer; 'none' or 'unknown' otherwise."""
    from core.printing import printer_status

    p = desk_printer(engine, desk)
    if p.connection == "none":
        return "none"
    if p.connection != "network":
        return "unknown"
    return printer_status(p.host, p.port, timeout=min(1.0, p.timeout_s))


# A job is 'pending' only while it is being sent (≤ 3 s). One still pending well after that was
# cut off (the app was killed, the machine lost power): it is marked failed, so the gift desk
# offers it for reprint, instead of waiting forever.
STALE_PENDING_S = 10


def recover_pending(engine: Engine, *, older_than_s: float = STALE_PENDING_S) -> int:
    from datetime import timedelta

    cutoff = now() - timedelta(seconds=older_than_s)
    stale = (PrintJob.status == "pending", PrintJob.created_at < cutoff)
    with read_session(engine) as s:  # the common case, nothing stale, takes no write turn
        if s.execute(select(PrintJob.id).where(*stale).limit(1)).first() is None:
            return 0
    with write_session(engine) as s:
        return s.execute(update(PrintJob).where(*stale)
                         .values(status="failed", error="发送中断（系统重启），请重新打印", finished_at=now())).rowcount
