"""Receipts at the gift desk: stored as print jobs with their exact bytes before sending,
sent within the printer's timeout, reprinted as marked copies."""
from __future__ import annotations

import json

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from core.clock import now
from core.errors import DeskError
from core.models import Customer, DeskPrinter, DrawResult, Event, GiftIssue, GiftType, Invitation, PrintJob, Staff, Vehicle
from core.printing import Receipt, build_receipt, send_bytes, send_local
from core.privacy import mask_name, mask_phone, mask_plate
from core.store import read_session, write_session

TITLE = "续保礼品领取凭证"


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
    for gid in gift_issue_ids:
        g = s.get(GiftIssue, gid)
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
    return Receipt(store=event.store_name or "", event=event.name, title=TITLE, receipt_no=receipt_no,
                   time=now().strftime("%Y-%m-%d %H:%M:%S"), desk=desk, staff=staff.name if staff else "",
                   customer=mask_name(customer.name), phone=mask_phone(customer.phone), plates="、".join(plates),
                   items=items)


def issue_receipt(engine: Engine, *, event_id: int, invitation_id: int, desk: str, staff_id: int | None,
                  gift_issue_ids: list[int] = (), draw_ids: list[int] = ()) -> dict:
    """Store the receipt for what was just handed out (a print job with its exact bytes), then send it."""
    printer = desk_printer(engine, desk)
    with write_session(engine) as s:
        job = PrintJob(event_id=event_id, receipt_no="", desk=desk, payload=b"", created_at=now(),
                       target=_target(printer), status="pending" if printer.connection != "none" else "screen")
        s.add(job)
        s.flush()
        job.receipt_no = f"LP{event_id:02d}-{job.id:05d}"
        receipt = _receipt(s, event_id=event_id, invitation_id=invitation_id, gift_issue_ids=list(gift_issue_ids),
                           draw_ids=list(draw_ids), desk=desk, staff_id=staff_id, receipt_no=job.receipt_no)
        job.preview = json.dumps({"receipt": receipt.as_dict(), "render": printer.render, "paper_mm": printer.paper_mm},
                                 ensure_ascii=False)
        job.payload = build_receipt(receipt, render=printer.render, paper_mm=printer.paper_mm)
        if gift_issue_ids:
            s.execute(update(GiftIssue).where(GiftIssue.id.in_(list(gift_issue_ids))).values(receipt_no=job.receipt_no))
        if draw_ids:
            s.execute(update(DrawResult).where(DrawResult.id.in_(list(draw_ids))).values(receipt_no=job.receipt_no))
        job_id = job.id
    return send_job(engine, job_id)


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


def reprint(engine: Engine, *, job_id: int, desk: str) -> dict:
    """A copy (副本) of a receipt, as a new job with the same receipt number."""
    with read_session(engine) as s:
        original = s.get(PrintJob, job_id)
    if original is None:
        raise DeskError("receipt_unknown")
    meta = json.loads(original.preview)
    receipt = Receipt.from_dict(meta["receipt"])
    receipt.copy = True
    printer = desk_printer(engine, desk)
    with write_session(engine) as s:
        job = PrintJob(event_id=original.event_id, receipt_no=original.receipt_no, desk=desk, is_copy=True,
                       payload=build_receipt(receipt, render=printer.render, paper_mm=printer.paper_mm),
                       preview=json.dumps({"receipt": receipt.as_dict(), "render": printer.render,
                                           "paper_mm": printer.paper_mm}, ensure_ascii=False),
                       created_at=now(), status="pending" if printer.connection != "none" else "screen",
                       target=_target(printer))
        s.add(job)
        s.flush()
        job_id = job.id
    return send_job(engine, job_id)


def job_view(job: PrintJob) -> dict:
    return {"job_id": job.id, "receipt_no": job.receipt_no, "status": job.status, "error": job.error,
            "is_copy": job.is_copy, "desk": job.desk, "target": job.target,
            "time": job.created_at.strftime("%H:%M:%S")}


def jobs(engine: Engine, *, event_id: int, desk: str | None = None, failed_only: bool = False, limit: int = 50) -> list[dict]:
    with read_session(engine) as s:
        q = select(PrintJob).where(PrintJob.event_id == event_id).order_by(PrintJob.id.desc()).limit(limit)
        if desk:
            q = q.where(PrintJob.desk == desk)
        if failed_only:
            q = q.where(PrintJob.status == "failed")
        return [job_view(j) for j in s.execute(q).scalars()]


def preview(engine: Engine, job_id: int) -> dict:
    """What was sent: the receipt's lines (text mode) and its image when rendered as one."""
    from core.printing import lines

    with read_session(engine) as s:
        job = s.get(PrintJob, job_id)
    meta = json.loads(job.preview)
    receipt = Receipt.from_dict(meta["receipt"])
    return {"receipt": receipt, "render": meta["render"], "paper_mm": meta["paper_mm"],
            "lines": [text for style, text in lines(receipt, meta["paper_mm"]) if style != "qr"],
            "bytes": len(job.payload)}


def test_print(engine: Engine, *, desk: str) -> dict:
    """A sample receipt with Chinese, punctuation, ￥ and a QR, to check a printer before the doors open."""
    from core.printing import Receipt

    receipt = Receipt(store="RenewDay", event="打印测试", title="测试小票", receipt_no=f"TEST-{now():%H%M%S}",
                      time=now().strftime("%Y-%m-%d %H:%M:%S"), desk=desk, staff="", customer="张*明",
                      phone="138****5678", plates="粤B·***45",
                      items=[("中文", "续保礼品领取凭证"), ("标点", "“”，。！？、；："), ("金额", "¥128.00")])
    printer = desk_printer(engine, desk)
    with write_session(engine) as s:
        job = PrintJob(event_id=None, receipt_no=receipt.receipt_no, desk=desk, created_at=now(), target=_target(printer),
                       payload=build_receipt(receipt, render=printer.render, paper_mm=printer.paper_mm),
                       preview=json.dumps({"receipt": receipt.as_dict(), "render": printer.render,
                                           "paper_mm": printer.paper_mm}, ensure_ascii=False),
                       status="pending" if printer.connection != "none" else "screen")
        s.add(job)
        s.flush()
        job_id = job.id
    return send_job(engine, job_id)


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
