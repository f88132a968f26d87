"""Closing the day: what an amount usually is (the plausibility guard), invoice details, the
event-wide renewal list, the cash-up of every desk, the finance workbook and the 收款凭证.

Amounts are integer fen throughout; yuan appear only in texts and in the workbook's cells."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import audit, run_action
from core.checkin import require_manager
from core.errors import DeskError
from core.models import PAYMENT_METHODS, Customer, Event, Invitation, PrintJob, Renewal, Setting, Staff, Vehicle
from core.store import read_session, write_session
from core.validate import clean, format_plate, format_yuan, parse_yuan

PAY_ZH = {"pos": "POS刷卡", "wechat": "微信", "alipay": "支付宝", "cash": "现金", "transfer": "转账"}
INVOICE_KINDS = ("none", "personal", "company")
INVOICE_STATES = ("pending", "invoiced", "not_wanted")

# --- the plausibility guard ---------------------------------------------------------------
# 交强险 (China's standard compulsory premium, family cars): ≤ 6 seats 950 元, 7–10 seats 1 100 元;
# larger vehicles 1 100 元 and up. The regional floating rate moves it −10 % … −50 % (claim-free
# years) or +10 % … +30 % (claims), in steps of 10 %.
COMPULSORY_BASE_FEN = {"small": 950_00, "mid": 1_100_00}
FLOAT_STEPS = (-50, -40, -30, -20, -10, 0, 10, 20, 30)
LARGE_RANGE_FEN = (550_00, 1_651_00)  # > 10 seats: 1 100 … 1 270 元 base, floated
VEHICLE_TAX_MAX_FEN = 5_400_00  # the highest yearly 车船税 for a passenger car (> 4.0 L)
SETTINGS_KEY = "finance.commercial_guard"


def seat_class(seats: int | None) -> str | None:
    if not seats:
        return None
    return "small" if seats <= 6 else "mid" if seats <= 10 else "large"


def compulsory_levels(cls: str | None) -> list[int]:
    """The standard 交强险 premiums (fen) for a seat class; both family tables when it is unknown."""
    bases = [COMPULSORY_BASE_FEN[cls]] if cls in COMPULSORY_BASE_FEN else list(COMPULSORY_BASE_FEN.values())
    return sorted({base * (100 + step) // 100 for base in bases for step in FLOAT_STEPS})


@dataclass
class GuardSettings:
    """The manager's range for 商业险 when last year's premium is not known, and how far a
    renewal may move from last year's premium before the cashier is asked to confirm."""
    commercial_min_fen: int = 1_000_00
    commercial_max_fen: int = 20_000_00
    ratio_low: float = 0.5
    ratio_high: float = 2.0


def _settings(s: Session) -> GuardSettings:
    row = s.get(Setting, SETTINGS_KEY)
    if row is None or not row.value:
        return GuardSettings()
    try:
        return GuardSettings(**{k: v for k, v in json.loads(row.value).items() if k in GuardSettings.__annotations__})
    except (ValueError, TypeError):
        return GuardSettings()


def guard_settings(engine: Engine) -> GuardSettings:
    with read_session(engine) as s:
        return _settings(s)


def save_guard_settings(engine: Engine, *, commercial_min: str, commercial_max: str, ratio_low: float,
                        ratio_high: float, desk: str, staff_id: int | None) -> GuardSettings:
    """The manager sets the 商业险 range (yuan, as typed) and the ratio to last year's premium."""
    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        try:
            low, high = parse_yuan(commercial_min), parse_yuan(commercial_max)
        except ValueError as e:
            raise DeskError(str(e), field="商业险范围") from None
        if not 0 < low < high:
            raise DeskError("guard_range_invalid")
        if not 0 < float(ratio_low) < 1 < float(ratio_high) <= 20:
            raise DeskError("guard_ratio_invalid")
        value = GuardSettings(low, high, round(float(ratio_low), 2), round(float(ratio_high), 2))
        row = s.get(Setting, SETTINGS_KEY) or Setting(key=SETTINGS_KEY)
        row.value = json.dumps(asdict(value))
        s.add(row)
        return asdict(value)

    return GuardSettings(**run_action(engine, "guard_settings", body, event_id=None, desk=desk, staff_id=staff_id,
                                      raw=f"{commercial_min}-{commercial_max} ×{ratio_low}-{ratio_high}"))


def plausibility(fen: dict[str, int], *, seats: int | None, commercial_last_fen: int | None,
                 settings: GuardSettings) -> list[dict]:
    """Each amount outside what that field usually is, as {code, field, …} (values as yuan text)."""
    out: list[dict] = []
    comp, comm, tax = fen["compulsory"], fen["commercial"], fen["vehicle_tax"]
    cls = seat_class(seats)
    if comp:
        if cls == "large":
            ok = LARGE_RANGE_FEN[0] <= comp <= LARGE_RANGE_FEN[1]
            low, high = LARGE_RANGE_FEN
        else:
            levels = compulsory_levels(cls)
            ok = comp in levels
            low, high = levels[0], levels[-1]
        if not ok:
            out.append({"code": "compulsory_table", "field": "compulsory", "fen": comp, "amount": format_yuan(comp),
                        "seats": cls or "unknown", "low": format_yuan(low), "high": format_yuan(high)})
    if comm:
        if commercial_last_fen:
            ratio = comm / commercial_last_fen
            if not settings.ratio_low <= ratio <= settings.ratio_high:
                out.append({"code": "commercial_vs_last", "field": "commercial", "fen": comm,
                            "amount": format_yuan(comm), "last": format_yuan(commercial_last_fen),
                            "ratio": f"{ratio:.1f}" if ratio >= 0.1 else f"{ratio:.2f}"})
        elif not settings.commercial_min_fen <= comm <= settings.commercial_max_fen:
            out.append({"code": "commercial_range", "field": "commercial", "fen": comm, "amount": format_yuan(comm),
                        "low": format_yuan(settings.commercial_min_fen), "high": format_yuan(settings.commercial_max_fen)})
    if tax > VEHICLE_TAX_MAX_FEN:
        out.append({"code": "vehicle_tax_high", "field": "vehicle_tax", "fen": tax, "amount": format_yuan(tax),
                    "high": format_yuan(VEHICLE_TAX_MAX_FEN)})
    return out


def confirm_key(checks: list[dict]) -> str:
    """What a confirmation covers: these checks on these exact amounts, nothing typed afterwards."""
    return "|".join(sorted(f"{c['code']}:{c['fen']}" for c in checks))


_SEATS_ZH = {"small": "6座及以下", "mid": "7–10座", "large": "10座以上", "unknown": "座位数未知"}


def check_text_zh(c: dict) -> str:
    """A check in Chinese, for the audit and the renewal's note (the page translates its own)."""
    if c["code"] == "compulsory_table":
        return f"交强险 {c['amount']} 元不是标准保费（{_SEATS_ZH[c['seats']]}：{c['low']}–{c['high']} 元）"
    if c["code"] == "commercial_vs_last":
        return f"商业险 {c['amount']} 元是上年 {c['last']} 元的 {c['ratio']} 倍"
    if c["code"] == "commercial_range":
        return f"商业险 {c['amount']} 元不在常见范围 {c['low']}–{c['high']} 元内"
    return f"车船税 {c['amount']} 元高于常见上限 {c['high']} 元"


# --- invoice details ----------------------------------------------------------------------
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_tax_id(value: str) -> str | None:
    """A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from its
    31-character alphabet, with the check character last. Returns it normalised, or None."""
    code = re.sub(r"[\s\-]", "", clean(value)).upper()
    if len(code) != 18 or any(ch not in _USCC_CHARS for ch in code):
        return None
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(code, _USCC_WEIGHTS))
    return code if _USCC_CHARS[(31 - total % 31) % 31] == code[17] else None


def invoice_details(kind: str, title: str, tax_id: str) -> tuple[str, str, str]:
    """(kind, 抬头, 税号) as stored; refusals as reason codes."""
    kind = kind or ""
    if kind not in ("",) + INVOICE_KINDS:
        raise DeskError("invoice_kind_invalid")
    title, tax = clean(title), clean(tax_id)
    if kind in ("", "none"):
        return kind, "", ""
    if not title:
        raise DeskError("invoice_title_missing")
    if "<" in title or ">" in title or len(title) > 100:
        raise DeskError("invoice_title_invalid")
    if kind == "personal":
        if tax:
            raise DeskError("tax_id_personal")
        return kind, title, ""
    code = check_tax_id(tax)
    if code is None:
        raise DeskError("tax_id_invalid", value=tax[:30])
    return kind, title, code


def set_invoice_details(engine: Engine, *, renewal_id: int, kind: str, title: str, tax_id: str, desk: str,
                        staff_id: int | None) -> dict:
    """The customer decides on the invoice after paying: change it until the invoice is issued."""
    def body(s: Session) -> dict:
        r = s.execute(select(Renewal).where(Renewal.id == renewal_id).with_for_update()).scalar_one_or_none()
        if r is None:
            raise DeskError("renewal_unknown")
        if r.voided_at is not None:
            raise DeskError("voided")
        if r.invoice_no:
            raise DeskError("already_invoiced", invoice_no=r.invoice_no)
        r.invoice_kind, r.invoice_title, r.invoice_tax_id = invoice_details(kind, title, tax_id)
        return {"renewal_id": r.id, "receipt_no": r.receipt_no, "invoice_kind": r.invoice_kind}

    return run_action(engine, "invoice_details", body, event_id=None, desk=desk, staff_id=staff_id,
                      raw=f"{kind} {title} {tax_id}")


# --- the event-wide list ------------------------------------------------------------------
UNASSIGNED = -1


@dataclass
class Filters:
    desk: str | None = None
    advisor_id: int | None = None  # UNASSIGNED: renewals credited to nobody
    insurer: str | None = None
    payment_method: str | None = None
    invoice_state: str | None = None  # pending, invoiced, not_wanted
    status: str = "live"  # live, voided, all
    search: str = ""  # receipt number, name, plate, phone


def _where(q, event_id: int, f: Filters):
    q = q.where(Renewal.event_id == event_id)
    if f.status == "live":
        q = q.where(Renewal.voided_at.is_(None))
    elif f.status == "voided":
        q = q.where(Renewal.voided_at.is_not(None))
    if f.desk:
        q = q.where(Renewal.desk == f.desk)
    if f.advisor_id == UNASSIGNED:
        q = q.where(Renewal.advisor_id.is_(None))
    elif f.advisor_id is not None:
        q = q.where(Renewal.advisor_id == f.advisor_id)
    if f.insurer:
        q = q.where(Renewal.insurer == f.insurer)
    if f.payment_method:
        q = q.where(Renewal.payment_method == f.payment_method)
    if f.invoice_state == "pending":
        q = q.where(Renewal.invoice_no == "", Renewal.invoice_kind != "none")
    elif f.invoice_state == "invoiced":
        q = q.where(Renewal.invoice_no != "")
    elif f.invoice_state == "not_wanted":
        q = q.where(Renewal.invoice_no == "", Renewal.invoice_kind == "none")
    text = clean(f.search)
    if text:
        like = f"%{text.replace('·', '').upper()}%"
        q = q.where(or_(Renewal.receipt_no.ilike(f"%{text}%"), Customer.name.like(f"%{text}%"),
                        Vehicle.plate.like(like), Customer.phone.like(f"%{text}%")))
    return q


def _joined(q):
    return (q.join(Invitation, Invitation.id == Renewal.invitation_id)
            .join(Customer, Customer.id == Invitation.customer_id)
            .join(Vehicle, Vehicle.id == Renewal.vehicle_id))


def list_renewals(engine: Engine, event_id: int, filters: Filters | None = None, *, offset: int = 0,
                  limit: int | None = 50) -> tuple[list[dict], dict]:
    """One page of the event's renewals (newest first) and the totals of everything that matches."""
    f = filters or Filters()
    advisor = Staff.__table__.alias("advisor")
    cashier = Staff.__table__.alias("cashier")
    with read_session(engine) as s:
        q = _where(_joined(select(Renewal, Customer.name, Customer.phone, Vehicle.plate, advisor.c.name, cashier.c.name))
                   .outerjoin(advisor, advisor.c.id == Renewal.advisor_id)
                   .outerjoin(cashier, cashier.c.id == Renewal.cashier_id), event_id, f).order_by(Renewal.id.desc())
        if offset:
            q = q.offset(offset)
        if limit is not None:
            q = q.limit(limit)
        rows = s.execute(q).all()
        t = s.execute(_where(_joined(select(func.count(), func.coalesce(func.sum(Renewal.compulsory_fen), 0),
                                            func.coalesce(func.sum(Renewal.commercial_fen), 0),
                                            func.coalesce(func.sum(Renewal.vehicle_tax_fen), 0),
                                            func.coalesce(func.sum(Renewal.total_fen), 0))), event_id, f)).one()
    totals = {"count": int(t[0]), "compulsory_fen": int(t[1]), "commercial_fen": int(t[2]),
              "vehicle_tax_fen": int(t[3]), "total_fen": int(t[4])}
    return [_row(r, name, phone, plate, adv, cash) for r, name, phone, plate, adv, cash in rows], totals


def _row(r: Renewal, name, phone, plate, advisor, cashier) -> dict:
    if r.invoice_no:
        state = "invoiced"
    elif r.invoice_kind == "none":
        state = "not_wanted"
    else:
        state = "pending"
    return {"renewal_id": r.id, "receipt_no": r.receipt_no, "created_at": r.created_at,
            "time": r.created_at.strftime("%H:%M"), "desk": r.desk, "cashier": cashier or "", "name": name or "",
            "phone": phone or "", "plate": format_plate(plate), "insurer": r.insurer,
            "compulsory_fen": r.compulsory_fen, "commercial_fen": r.commercial_fen, "vehicle_tax_fen": r.vehicle_tax_fen,
            "total_fen": r.total_fen, "payment_method": r.payment_method, "payment_ref": r.payment_ref,
            "policy_numbers": r.policy_numbers, "advisor": advisor or "", "advisor_id": r.advisor_id,
            "invoice_state": state, "invoice_kind": r.invoice_kind, "invoice_title": r.invoice_title,
            "invoice_tax_id": r.invoice_tax_id, "invoice_no": r.invoice_no, "amount_note": r.amount_note,
            "voided": r.voided_at is not None, "void_reason": r.void_reason,
            "voided_at": r.voided_at.strftime("%H:%M") if r.voided_at else ""}


def filter_options(engine: Engine, event_id: int) -> dict:
    """What the filters offer: the desks, advisors and insurers that appear in this event."""
    with read_session(engine) as s:
        desks = list(s.execute(select(Renewal.desk).where(Renewal.event_id == event_id).distinct()
                               .order_by(Renewal.desk)).scalars())
        insurers = list(s.execute(select(Renewal.insurer).where(Renewal.event_id == event_id).distinct()
                                  .order_by(Renewal.insurer)).scalars())
        advisors = s.execute(select(Staff.id, Staff.name).where(Staff.id.in_(
            select(Renewal.advisor_id).where(Renewal.event_id == event_id))).order_by(Staff.name)).all()
    return {"desks": desks, "insurers": insurers, "advisors": [(i, n) for i, n in advisors]}


def cash_up_all(engine: Engine, event_id: int) -> dict:
    """Every desk by payment method (voided renewals left out): {desks: {desk: {method: {count,
    total_fen}}}, methods: {method: {count, total_fen}}, total_fen, count}."""
    with read_session(engine) as s:
        rows = s.execute(select(Renewal.desk, Renewal.payment_method, func.count(), func.sum(Renewal.total_fen))
                         .where(Renewal.event_id == event_id, Renewal.voided_at.is_(None))
                         .group_by(Renewal.desk, Renewal.payment_method)).all()
    empty = lambda: {m: {"count": 0, "total_fen": 0} for m in PAYMENT_METHODS}  # noqa: E731
    desks: dict[str, dict] = {}
    methods = empty()
    for desk, method, n, total in rows:
        cell = desks.setdefault(desk, empty()).setdefault(method, {"count": 0, "total_fen": 0})
        cell["count"] += n
        cell["total_fen"] += int(total or 0)
        m = methods.setdefault(method, {"count": 0, "total_fen": 0})
        m["count"] += n
        m["total_fen"] += int(total or 0)
    return {"desks": dict(sorted(desks.items())), "methods": methods,
            "count": sum(v["count"] for v in methods.values()),
            "total_fen": sum(v["total_fen"] for v in methods.values())}


# --- the workbook for finance -------------------------------------------------------------
def _y(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


_INVOICE_ZH = {"pending": "待开票", "invoiced": "已开票", "not_wanted": "不需要"}
_KIND_ZH = {"": "", "none": "不需要", "personal": "个人", "company": "单位"}


def export_workbook(engine: Engine, *, event_id: int, desk: str, staff_id: int | None, target=None) -> bytes:
    """续保明细 (one row per live renewal, a totals row), 按付款方式, 按收款台 and 作废 sheets.
    Amounts in yuan with two decimals; the export is the manager's and is audited."""
    from core.xlsx import Sheet, write_book

    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        event = s.get(Event, event_id)
        return {"event": event.name if event else "", "event_id": event_id}

    run_action(engine, "finance_export", body, event_id=event_id, desk=desk, staff_id=staff_id)
    live, totals = list_renewals(engine, event_id, Filters(status="live"), limit=None)
    voided, _ = list_renewals(engine, event_id, Filters(status="voided"), limit=None)
    live.reverse()
    voided.reverse()
    headers = ["收据号", "收款时间", "收款台", "收银员", "客户", "车牌", "承保公司", "交强险（元）", "商业险（元）",
               "车船税（元）", "合计（元）", "付款方式", "付款流水号", "保单号", "业绩顾问", "发票", "发票类型",
               "发票抬头", "税号", "发票号", "金额核对"]
    money = (7, 8, 9, 10)

    def line(r: dict) -> list:
        return [r["receipt_no"], r["created_at"].strftime("%Y-%m-%d %H:%M:%S"), r["desk"], r["cashier"], r["name"],
                r["plate"], r["insurer"], _y(r["compulsory_fen"]), _y(r["commercial_fen"]), _y(r["vehicle_tax_fen"]),
                _y(r["total_fen"]), PAY_ZH.get(r["payment_method"], r["payment_method"]), r["payment_ref"],
                r["policy_numbers"], r["advisor"], _INVOICE_ZH[r["invoice_state"]], _KIND_ZH.get(r["invoice_kind"], ""),
                r["invoice_title"], r["invoice_tax_id"], r["invoice_no"], r["amount_note"]]

    detail = Sheet(title="续保明细", headers=headers, rows=[line(r) for r in live], money_columns=money,
                   totals=["合计", f"{totals['count']} 笔", "", "", "", "", "", _y(totals["compulsory_fen"]),
                           _y(totals["commercial_fen"]), _y(totals["vehicle_tax_fen"]), _y(totals["total_fen"])],
                   widths={0: 14, 1: 20, 4: 10, 5: 12, 6: 12, 13: 26, 17: 28, 18: 22, 20: 40})
    by_method: dict[str, dict[str, int]] = {m: {"count": 0, "compulsory_fen": 0, "commercial_fen": 0,
                                                "vehicle_tax_fen": 0, "total_fen": 0} for m in PAYMENT_METHODS}
    for r in live:
        m = by_method.setdefault(r["payment_method"], {k: 0 for k in by_method["cash"]})
        m["count"] += 1
        for k in ("compulsory_fen", "commercial_fen", "vehicle_tax_fen", "total_fen"):
            m[k] += r[k]
    method_sheet = Sheet(
        title="按付款方式", headers=["付款方式", "笔数", "交强险（元）", "商业险（元）", "车船税（元）", "合计（元）"],
        rows=[[PAY_ZH.get(m, m), v["count"], _y(v["compulsory_fen"]), _y(v["commercial_fen"]), _y(v["vehicle_tax_fen"]),
               _y(v["total_fen"])] for m, v in by_method.items()],
        totals=["合计", totals["count"], _y(totals["compulsory_fen"]), _y(totals["commercial_fen"]),
                _y(totals["vehicle_tax_fen"]), _y(totals["total_fen"])], money_columns=(2, 3, 4, 5))
    cash = cash_up_all(engine, event_id)
    desk_sheet = Sheet(
        title="按收款台", headers=["收款台", *[f"{PAY_ZH[m]}（元）" for m in PAYMENT_METHODS], "笔数", "合计（元）"],
        rows=[[d, *[_y(v[m]["total_fen"]) for m in PAYMENT_METHODS], sum(x["count"] for x in v.values()),
               _y(sum(x["total_fen"] for x in v.values()))] for d, v in cash["desks"].items()],
        totals=["合计", *[_y(cash["methods"][m]["total_fen"]) for m in PAYMENT_METHODS], cash["count"],
                _y(cash["total_fen"])], money_columns=tuple(range(1, len(PAYMENT_METHODS) + 1)) + (len(PAYMENT_METHODS) + 2,))
    void_sheet = Sheet(title="作废", headers=headers + ["作废时间", "作废原因"],
                       rows=[line(r) + [r["voided_at"], r["void_reason"]] for r in voided], money_columns=money)
    return write_book([detail, method_sheet, desk_sheet, void_sheet], target)


# --- the 收款凭证 -------------------------------------------------------------------------
def payment_receipt(engine: Engine, *, renewal_id: int, desk: str, staff_id: int | None) -> dict:
    """Print the 收款凭证 of a renewal on the desk's printer. The first is stored as a print job
    with its exact bytes (numbered by the renewal's receipt number); once one has printed, the
    next is a marked copy through the receipts module's reprint."""
    from core import receipts
    from core.printing import Receipt
    from core.privacy import mask_name, mask_phone, mask_plate

    with read_session(engine) as s:
        r = s.get(Renewal, renewal_id)
        if r is None:
            raise DeskError("renewal_unknown")
        if r.voided_at is not None:
            raise DeskError("voided")
        printed = s.execute(select(PrintJob.id).where(PrintJob.receipt_no == r.receipt_no,
                                                      PrintJob.status == "printed").order_by(PrintJob.id)).first()
    if printed is not None:
        return receipts.reprint(engine, job_id=printed[0], desk=desk)
    printer = receipts.desk_printer(engine, desk)
    with write_session(engine) as s:
        r = s.get(Renewal, renewal_id)
        event = s.get(Event, r.event_id)
        customer = s.get(Customer, s.get(Invitation, r.invitation_id).customer_id)
        vehicle = s.get(Vehicle, r.vehicle_id)
        cashier = s.get(Staff, r.cashier_id) if r.cashier_id else None
        advisor = s.get(Staff, r.advisor_id) if r.advisor_id else None
        items = [("承保公司", r.insurer), ("交强险", f"{format_yuan(r.compulsory_fen)} 元"),
                 ("商业险", f"{format_yuan(r.commercial_fen)} 元"), ("车船税", f"{format_yuan(r.vehicle_tax_fen)} 元"),
                 ("合计", f"{format_yuan(r.total_fen)} 元"), ("付款方式", PAY_ZH.get(r.payment_method, r.payment_method))]
        if r.payment_ref:
            items.append(("流水号", r.payment_ref))
        if r.invoice_kind == "company":
            items.append(("发票抬头", r.invoice_title))
        elif r.invoice_kind == "personal":  # a person's name: masked like the customer's
            items.append(("发票抬头", mask_name(r.invoice_title)))
        if advisor:
            items.append(("服务顾问", advisor.name))
        receipt = Receipt(store=event.store_name or "", event=event.name, title="收款凭证", receipt_no=r.receipt_no,
                          time=r.created_at.strftime("%Y-%m-%d %H:%M:%S"), desk=r.desk or desk,
                          staff=cashier.name if cashier else "", customer=mask_name(customer.name),
                          phone=mask_phone(customer.phone), plates=mask_plate(vehicle.plate) if vehicle.plate else "",
                          items=items)
        job_id = receipts.store_job(s, receipt, printer, event_id=r.event_id, desk=desk).id
        audit(s, "payment_receipt", event_id=r.event_id, desk=desk, staff_id=staff_id, raw=r.receipt_no,
              detail={"job_id": job_id})
    return receipts.send_job(engine, job_id)


def vehicle_hints(engine: Engine, vehicle_ids: list[int]) -> dict[int, dict]:
    """What the desk shows next to the form: seats and last year's 商业险 when the import had them."""
    if not vehicle_ids:
        return {}
    with read_session(engine) as s:
        rows = s.execute(select(Vehicle.id, Vehicle.plate, Vehicle.seats, Vehicle.commercial_last_fen)
                         .where(Vehicle.id.in_(list(vehicle_ids)))).all()
    return {i: {"plate": format_plate(p), "seats": seats, "commercial_last_fen": last} for i, p, seats, last in rows}
