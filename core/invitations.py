"""Invitations for sending: the SMS sheet and a printable card with the QR code."""
from __future__ import annotations

import io
import re
import zipfile
from typing import Callable

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


WEEKDAYS = "一二三四五六日"
SMS_SEGMENT = 70  # one SMS in UCS-2, signature included
OPT_OUT = "回T退订"
_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})(?:\s*[-~～至到]\s*(\d{1,2})[:：](\d{2}))?$")


def _when(event: Event) -> str:
    d = event.event_date
    return f"{d.month}月{d.day}日（周{WEEKDAYS[d.weekday()]}）{event.start_time}"


def sms_text(event: Event, name: str, code: str, *, short: bool = False) -> str:
    """The invitation SMS: date, time, address, the code and the opt-out. `short` fits one
    segment (<= 70 characters): the richest wording that fits, the address shortened last."""
    sig = f"【{event.store_name or event.name}】"
    d = event.event_date
    if short:
        sig = f"【{(event.store_name or event.name)[:12]}】"
    else:
        who = f"{name}您好" if name else "您好"
        where = f"到{event.address}" if event.address else "莅临本店"
        return (f"{sig}{who}！诚邀您于{_when(event)}{where}参加“{event.name}”，续保即送好礼并可参加抽奖。"
                f"到店请出示邀请码 {code}。{OPT_OUT}")
    date_time = f"{d.month}月{d.day}日{event.start_time}"
    addr = event.address or "本店"
    variants = [
        f"{sig}{name}您好！{date_time}{addr}续保会，到店送礼抽奖，凭码{code}签到。{OPT_OUT}" if name else None,
        f"{sig}{date_time}{addr}续保会，到店送礼抽奖，凭码{code}签到。{OPT_OUT}",
        f"{sig}{date_time}{addr}续保送礼抽奖，凭码{code}。{OPT_OUT}",
        f"{sig}{date_time}{addr}续保有礼，码{code}。{OPT_OUT}",
    ]
    for text in variants:
        if text and len(text) <= SMS_SEGMENT:
            return text
    fixed = f"{sig}{date_time}，码{code}。{OPT_OUT}"
    room = SMS_SEGMENT - len(fixed)
    if room >= 3:
        return f"{sig}{date_time}{addr[:room - 1]}…，码{code}。{OPT_OUT}"
    return fixed[:SMS_SEGMENT]


def set_invitation_details(engine: Engine, *, event_id: int, address: str, start_time: str, staff_id: int | None,
                           desk: str = "") -> None:
    """Where and when the SMS sends the guest. A manager's action, audited."""
    from core.audit import audit
    from core.errors import DeskError
    from core.importer import cell_text
    from core.store import write_session

    address = cell_text(address)[:60]
    when = cell_text(start_time).replace("：", ":")
    if not address:
        raise DeskError("event_address_missing")
    m = _TIME.match(when)
    if not m or int(m[1]) > 23 or int(m[2]) > 59 or (m[3] and (int(m[3]) > 23 or int(m[4]) > 59)):
        raise DeskError("event_time_invalid", value=when)
    when = f"{int(m[1]):02d}:{m[2]}" + (f"-{int(m[3]):02d}:{m[4]}" if m[3] else "")
    with write_session(engine) as s:
        actor = s.get(Staff, staff_id) if staff_id else None
        if actor is None or actor.role != "manager":
            raise DeskError("not_manager")
        ev = s.get(Event, event_id)
        audit(s, "event_details", event_id=event_id, desk=desk, staff_id=staff_id,
              detail={"address": [ev.address, address], "start_time": [ev.start_time, when]})
        ev.address, ev.start_time = address, when


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


def export_invitations(engine: Engine, event_id: int, path=None, *, short: bool = False) -> int:
    """The sheet used to send the SMS: one row per invitation with its code and text, written
    through core.xlsx (a name that starts like a formula stays text). `path` is a file path or a
    binary file object (the import page's download)."""
    from core.xlsx import Sheet, write_book

    event, rows = invitation_rows(engine, event_id)
    out = []
    for i, r in enumerate(rows, 1):
        text = sms_text(event, r["name"], r["code"], short=short)
        out.append([i, r["name"], r["phone"], r["plates"], r["advisor"], GROUP_ZH.get(r["group"], r["group"]),
                    OUTCOME_ZH.get(r["outcome"], ""), r["code"], text, len(text)])
    write_book([Sheet(title="邀请名单", headers=["序号", "姓名", "手机号", "车牌", "顾问", "客户类别", "回访结果",
                                              "邀请码", "短信内容", "字数"], rows=out,
                      widths={0: 6, 1: 10, 2: 14, 3: 20, 4: 10, 5: 10, 6: 10, 7: 22, 8: 90, 9: 6})], path)
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
    draw.text((40, 220), f"{event.event_date.year}年{_when(event)}", font=fonts.font(40), fill="black")
    if event.address:
        draw.text((40, 275), event.address[:22], font=fonts.font(32), fill=(60, 60, 60))
    draw.text((40, 340), f"尊敬的 {name or '客户'}：", font=fonts.font(40), fill="black")
    draw.text((40, 400), "到店请出示此码签到，续保即送好礼并可抽奖。", font=fonts.font(32), fill=(60, 60, 60))
    if advisor:
        draw.text((40, 460), f"您的顾问：{advisor}", font=fonts.font(32), fill=(60, 60, 60))
    draw.text((40, 610), code, font=fonts.font(40), fill="black")
    card.paste(qr_image(code, box_size=14).resize((460, 460)), (710, 160))
    buf = io.BytesIO()
    card.save(buf, format="PNG")
    return buf.getvalue()


_UNSAFE_FILE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def _file_part(text: str) -> str:
    return _UNSAFE_FILE.sub("_", text).strip(" .")[:20] or "客户"


def card_zips(engine: Engine, event_id: int, *, unassigned: str = "未分配",
              progress: Callable[[int, int], None] | None = None) -> dict[str, tuple[int, bytes]]:
    """Invitation cards, one zip per advisor: advisor -> (cards, zip bytes). Each card is named
    by advisor and customer (陈晓东-张三明-5678.png), so an advisor can send their own."""
    event, rows = invitation_rows(engine, event_id)
    by_advisor: dict[str, list[dict]] = {}
    for r in rows:
        by_advisor.setdefault(r["advisor"] or unassigned, []).append(r)
    out: dict[str, tuple[int, bytes]] = {}
    done = 0
    for advisor, items in sorted(by_advisor.items()):
        buf = io.BytesIO()
        seen: set[str] = set()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # PNGs do not compress further
            for r in items:
                base = f"{_file_part(advisor)}-{_file_part(r['name'] or '客户')}-{(r['phone'] or '')[-4:]}"
                fname, n = f"{base}.png", 1
                while fname in seen:
                    n += 1
                    fname = f"{base}-{n}.png"
                seen.add(fname)
                z.writestr(fname, invitation_card(event, name=r["name"], code=r["code"],
                                                  advisor="" if advisor == unassigned else advisor))
                done += 1
                if progress:
                    progress(done, len(rows))
        out[advisor] = (len(items), buf.getvalue())
    return out
