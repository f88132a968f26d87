"""Invitations for sending: the SMS sheet and a printable card with the QR code."""
from __future__ import annotations

import io
from pathlib import Path

import qrcode
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from core import fonts
from core.models import Customer, Event, Invitation, Staff, Vehicle
from core.store import read_session
from core.validate import format_plate

GROUP_ZH = {"retained": "保有", "lost": "流失", "natural": "自然", "web": "网络集客"}
OUTCOME_ZH = {"confirmed": "确定", "unsure": "不确定", "no_answer": "未接通", "not_interested": "无意向", None: ""}


def sms_text(event: Event, name: str, code: str) -> str:
    who = f"{name}您好" if name else "您好"
    return (f"【{event.store_name or event.name}】{who}！诚邀您于{event.event_date.month}月{event.event_date.day}日"
            f"莅临本店参加“{event.name}”，续保即送好礼并可参加抽奖。到店请出示邀请码 {code}。")


def invitation_rows(engine: Engine, event_id: int) -> tuple[Event, list[dict]]:
    advisor = aliased(Staff)
    with read_session(engine) as s:
        event = s.get(Event, event_id)
        rows = s.execute(
            select(Invitation.id, Invitation.code, Invitation.group, Invitation.call_outcome, Invitation.party_size,
                   Customer.id.label("customer_id"), Customer.name, Customer.phone, advisor.name.label("advisor"))
            .join(Customer, Customer.id == Invitation.customer_id)
            .outerjoin(advisor, advisor.id == Invitation.advisor_id)
            .where(Invitation.event_id == event_id, Invitation.cancelled.is_(False))
            .order_by(Invitation.id)).all()
        plates: dict[int, list[str]] = {}
        for cid, plate in s.execute(select(Vehicle.customer_id, Vehicle.plate).where(Vehicle.plate.is_not(None))):
            plates.setdefault(cid, []).append(format_plate(plate))
    out = [{"id": r.id, "code": r.code, "name": r.name, "phone": r.phone, "advisor": r.advisor or "",
            "group": r.group, "outcome": r.call_outcome, "party_size": r.party_size,
            "plates": "、".join(plates.get(r.customer_id, []))} for r in rows]
    return event, out


def export_invitations(engine: Engine, event_id: int, path) -> int:
    """The sheet used to send the SMS: one row per invitation with its code and text.
    `path` is a file path or a binary file object (the import page's download)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    event, rows = invitation_rows(engine, event_id)
    book = Workbook()
    sheet = book.active
    sheet.title = "邀请名单"
    header = ["序号", "姓名", "手机号", "车牌", "顾问", "客户类别", "回访结果", "邀请码", "短信内容"]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, r in enumerate(rows, 1):
        sheet.append([i, r["name"], r["phone"], r["plates"], r["advisor"], GROUP_ZH.get(r["group"], r["group"]),
                      OUTCOME_ZH.get(r["outcome"], ""), r["code"], sms_text(event, r["name"], r["code"])])
    for col, width in zip("ABCDEFGHI", (6, 10, 14, 20, 10, 10, 10, 22, 90)):
        sheet.column_dimensions[col].width = width
    book.save(path if hasattr(path, "write") else str(path))
    return len(rows)


def qr_image(data: str, box_size: int = 8):
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=2)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").convert("RGB")


def invitation_card(event: Event, *, name: str, code: str, advisor: str = "") -> bytes:
    """A printable card (PNG, 90 × 54 mm at 300 dpi is 1063 × 638; we use 1200 × 700)."""
    from PIL import Image, ImageDraw

    card = Image.new("RGB", (1200, 700), "white")
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, 1199, 110), fill=(178, 34, 34))
    draw.text((40, 25), event.store_name or "RenewDay", font=fonts.font(52), fill="white")
    draw.text((40, 150), event.name, font=fonts.font(46), fill="black")
    draw.text((40, 230), f"{event.event_date.year}年{event.event_date.month}月{event.event_date.day}日", font=fonts.font(40), fill="black")
    draw.text((40, 320), f"尊敬的 {name or '客户'}：", font=fonts.font(40), fill="black")
    draw.text((40, 380), "到店请出示此码签到，续保即送好礼并可抽奖。", font=fonts.font(32), fill=(60, 60, 60))
    if advisor:
        draw.text((40, 440), f"您的顾问：{advisor}", font=fonts.font(32), fill=(60, 60, 60))
    draw.text((40, 610), code, font=fonts.font(40), fill="black")
    card.paste(qr_image(code, box_size=14).resize((460, 460)), (710, 160))
    buf = io.BytesIO()
    card.save(buf, format="PNG")
    return buf.getvalue()
