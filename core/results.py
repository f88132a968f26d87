"""After the event (N+1): the funnel, premium by insurer and payment, gifts left, the N+1 list
(二次邀约), winners and hand-outs, and one workbook for the general manager.

The funnel counts what core.counts defines, nothing of its own: invited (邀约) → reached (the
customer's standing is an answer: 确定 / 不确定 / 无意向) → confirmed (确定) → arrived (a live check-in)
→ renewed (at least one live renewal), in 批. Web leads (网络集客) and walk-ins (现场登记) are
counted apart and added in the 合计 row; per caller and per group is the list (邀约 + 网络集客)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from core import codes
from core.audit import run_action
from core.clock import now
from core.errors import DeskError
from core.i18n import t
from core.models import (CheckIn, Customer, DrawResult, Event, GiftIssue, GiftType, Invitation, Renewal, Staff,
                         Vehicle)
from core.counts import POPULATIONS, event_counts
from core.store import read_session
from core.validate import format_plate
from core.xlsx import Sheet, write_book

STAGES = ("invited", "reached", "confirmed", "arrived", "renewed")
REACHED = ("confirmed", "unsure", "not_interested")
N1_REASONS = ("confirmed_no_show", "came_no_renewal", "renewed_no_gift")


def _guest_rows(s: Session, event_id: int) -> list[dict]:
    arrived = set(s.execute(select(CheckIn.invitation_id).where(CheckIn.event_id == event_id,
                                                               CheckIn.undone_at.is_(None))).scalars())
    live = s.execute(select(Renewal.id, Renewal.invitation_id).where(Renewal.event_id == event_id,
                                                                    Renewal.voided_at.is_(None))).all()
    renewed = {r.invitation_id for r in live}
    gifted = set(s.execute(select(GiftIssue.renewal_id).where(GiftIssue.event_id == event_id,
                                                             GiftIssue.kind == "renewal")).scalars())
    no_gift = {r.invitation_id for r in live if r.id not in gifted}
    rows = s.execute(select(Invitation.id, Invitation.group, Invitation.call_outcome, Invitation.advisor_id,
                            Invitation.source, Invitation.party_size, Invitation.customer_id, Staff.name.label("advisor"))
                     .outerjoin(Staff, Staff.id == Invitation.advisor_id)
                     .where(Invitation.event_id == event_id, Invitation.cancelled.is_(False))).all()
    return [{"id": r.id, "group": r.group, "outcome": r.call_outcome, "advisor_id": r.advisor_id,
             "advisor": r.advisor or "", "walk_in": r.source == "walk_in", "customer_id": r.customer_id,
             "party_size": r.party_size, "arrived": r.id in arrived, "renewed": r.id in renewed,
             "renewed_no_gift": r.id in no_gift} for r in rows]


def _stages(c: dict) -> dict[str, int]:
    """core.counts' figures under the funnel's names (listed → invited)."""
    return {"invited": c["listed"], "reached": c["reached"], "confirmed": c["confirmed"], "arrived": c["arrived"],
            "renewed": c["renewed"]}


def funnel(engine: Engine, *, event_id: int) -> dict:
    """{'overall': stages of 邀约, 'populations': [{population, **stages, renewals}] for 邀约 / 网络集客 /
    现场登记 / 合计, 'by_caller': [{caller, invited, web, **stages}], 'by_group': [{group, **stages}],
    'walk_ins': {arrived, renewed}} — all from core.counts.event_counts."""
    c = event_counts(engine, event_id=event_id)
    with read_session(engine) as s:
        names = dict(s.execute(select(Staff.id, Staff.name)).all())
    by_caller = sorted(({"caller": names.get(k, "—") if k is not None else "—", **_stages(v),
                         "invited": v["invited"], "web": v["web"]} for k, v in c["by_caller"].items()),
                       key=lambda r: (r["caller"] == "—", r["caller"]))
    return {"overall": _stages(c["invited"]),
            "populations": [{"population": p, **_stages(c[p]), "renewals": c[p]["renewals"]} for p in POPULATIONS],
            "list": _stages(c["list"]),
            "by_caller": by_caller,
            "by_group": [{"group": g, **_stages(c["by_group"][g])} for g in ("retained", "lost", "natural", "web")
                         if g in c["by_group"]],
            "walk_ins": {"arrived": c["walk_in"]["arrived"], "renewed": c["walk_in"]["renewed"]}}


def premium(engine: Engine, *, event_id: int) -> dict[str, list[dict]]:
    """Live renewals by insurer and by payment method: count and premium (fen), largest first."""
    out = {}
    with read_session(engine) as s:
        for key, col in (("insurer", Renewal.insurer), ("payment", Renewal.payment_method)):
            rows = s.execute(select(col, func.count(), func.coalesce(func.sum(Renewal.total_fen), 0))
                             .where(Renewal.event_id == event_id, Renewal.voided_at.is_(None))
                             .group_by(col)).all()
            out[key] = sorted(({"name": k, "count": n, "total_fen": int(f)} for k, n, f in rows),
                              key=lambda r: (-r["total_fen"], r["name"]))
    return out


def gifts_left(engine: Engine, *, event_id: int) -> list[dict]:
    """Every gift and prize: stock at the start, handed out, left."""
    with read_session(engine) as s:
        types = list(s.execute(select(GiftType).where(GiftType.event_id == event_id)
                               .order_by(GiftType.kind, GiftType.id)).scalars())
        given = dict(s.execute(select(GiftIssue.gift_type_id, func.count()).where(
            GiftIssue.event_id == event_id, GiftIssue.reclaimed_at.is_(None)).group_by(GiftIssue.gift_type_id)).all())
        won = dict(s.execute(select(DrawResult.prize_id, func.count()).where(
            DrawResult.event_id == event_id, DrawResult.prize_id.is_not(None), DrawResult.reclaimed_at.is_(None))
            .group_by(DrawResult.prize_id)).all())
    return [{"gift_type_id": g.id, "name": g.name, "kind": g.kind, "initial": g.initial_stock,
             "handed_out": given.get(g.id, 0) + won.get(g.id, 0), "left": g.stock, "value_fen": g.value_fen}
            for g in types]


def n1_list(engine: Engine, *, event_id: int) -> list[dict]:
    """二次邀约: confirmed but did not come; came but did not renew; renewed but left without
    the renewal gift. One row per guest, with the reason and their caller."""
    with read_session(engine) as s:
        rows = _guest_rows(s, event_id)
        wanted = []
        for r in rows:
            if r["renewed_no_gift"]:
                reason = "renewed_no_gift"
            elif r["arrived"] and not r["renewed"]:
                reason = "came_no_renewal"
            elif r["outcome"] == "confirmed" and not r["arrived"] and not r["walk_in"]:
                reason = "confirmed_no_show"
            else:
                continue
            wanted.append((r, reason))
        ids = [r["customer_id"] for r, _ in wanted]
        customers = {c.id: c for c in s.execute(select(Customer).where(Customer.id.in_(ids))).scalars()} if ids else {}
        vehicles: dict[int, list] = {}
        if ids:
            for v in s.execute(select(Vehicle).where(Vehicle.customer_id.in_(ids)).order_by(Vehicle.id)).scalars():
                vehicles.setdefault(v.customer_id, []).append(v)
    out = []
    for r, reason in wanted:
        c = customers[r["customer_id"]]
        vs = vehicles.get(c.id, [])
        v = vs[0] if vs else None
        out.append({"invitation_id": r["id"], "customer_id": c.id, "name": c.name, "phone": c.phone or "",
                    "plate": format_plate(v.plate) if v and v.plate else "", "vin": (v.vin or "") if v else "",
                    "model": v.model if v else "", "insurer_last": v.insurer_last if v else "",
                    "commercial_expiry": v.commercial_expiry if v else None,
                    "compulsory_expiry": v.compulsory_expiry if v else None,
                    "group": r["group"], "advisor_id": r["advisor_id"], "advisor": r["advisor"], "reason": reason})
    out.sort(key=lambda g: (N1_REASONS.index(g["reason"]), g["advisor"], g["invitation_id"]))
    return out


def load_n1(engine: Engine, *, source_event_id: int, target_event_id: int | None = None, new_event_name: str = "",
            new_event_date: date | None = None, staff_id: int | None, desk: str = "") -> dict:
    """Load the N+1 list of one event as the call list of another (an existing one, or a new one
    made in the same transaction): one invitation per guest, same caller and group, not yet
    called. Guests already on the target list are left as they are."""
    from core.checkin import require_manager
    from core.events import create_event

    guests = n1_list(engine, event_id=source_event_id)

    def body(s: Session) -> dict:
        nonlocal target_event_id
        require_manager(s, staff_id)
        if target_event_id is None:
            if new_event_date is None:
                raise DeskError("n1_target_invalid")
            source = s.get(Event, source_event_id)
            target_event_id = create_event(s, name=new_event_name, event_date=new_event_date,
                                           store_name=source.store_name if source else "").id
        if target_event_id == source_event_id or s.get(Event, target_event_id) is None:
            raise DeskError("n1_target_invalid")
        existing = set(s.execute(select(Invitation.customer_id).where(Invitation.event_id == target_event_id)).scalars())
        added = 0
        ts = now()
        for g in guests:
            if g["customer_id"] in existing:
                continue
            s.add(Invitation(event_id=target_event_id, customer_id=g["customer_id"], advisor_id=g["advisor_id"],
                             group=g["group"], code=codes.new_code(), source="import", created_at=ts))
            existing.add(g["customer_id"])
            added += 1
        return {"added": added, "skipped": len(guests) - added, "from": source_event_id, "to": target_event_id}

    return run_action(engine, "load_n1", body, event_id=target_event_id, desk=desk, staff_id=staff_id,
                      raw=f"{source_event_id}->{target_event_id}")


def hand_outs(engine: Engine, *, event_id: int) -> list[dict]:
    """Every gift handed out and every draw, in time order: who, what, when, desk, receipt."""
    cashier = aliased(Staff)
    with read_session(engine) as s:
        gifts = s.execute(select(GiftIssue, GiftType.name, Customer.name, Customer.phone, cashier.name)
                          .join(GiftType, GiftType.id == GiftIssue.gift_type_id)
                          .join(Invitation, Invitation.id == GiftIssue.invitation_id)
                          .join(Customer, Customer.id == Invitation.customer_id)
                          .outerjoin(cashier, cashier.id == GiftIssue.staff_id)
                          .where(GiftIssue.event_id == event_id)).all()
        prize = aliased(GiftType)
        draws = s.execute(select(DrawResult, prize.name, Customer.name, Customer.phone, cashier.name)
                          .outerjoin(prize, prize.id == DrawResult.prize_id)
                          .join(Invitation, Invitation.id == DrawResult.invitation_id)
                          .join(Customer, Customer.id == Invitation.customer_id)
                          .outerjoin(cashier, cashier.id == DrawResult.staff_id)
                          .where(DrawResult.event_id == event_id)).all()
    out = [{"at": g.at, "kind": g.kind, "item": name, "name": cname, "phone": phone or "", "desk": g.desk,
            "staff": staff or "", "receipt_no": g.receipt_no, "reclaimed": g.reclaimed_at is not None}
           for g, name, cname, phone, staff in gifts]
    out += [{"at": d.at, "kind": "draw", "item": name or "谢谢参与", "name": cname, "phone": phone or "",
             "desk": d.desk, "staff": staff or "", "receipt_no": d.receipt_no, "reclaimed": d.reclaimed_at is not None,
             "won": d.prize_id is not None} for d, name, cname, phone, staff in draws]
    out.sort(key=lambda r: (r["at"], r["receipt_no"]))
    return out


# --- workbooks ------------------------------------------------------------------------------
def _stage_headers(lang: str) -> list[str]:
    return [t(f"results.stage.{k}", lang) for k in STAGES]


def hand_outs_sheet(rows: list[dict], lang: str = "zh-CN") -> Sheet:
    h = [t(f"results.col.{k}", lang) for k in ("at", "kind", "item", "guest", "phone", "desk", "staff", "receipt_no",
                                               "reclaimed")]
    return Sheet(t("results.sheet.hand_outs", lang), h,
                 [[r["at"].strftime("%Y-%m-%d %H:%M:%S"), t(f"results.kind.{r['kind']}", lang), r["item"], r["name"],
                   r["phone"], r["desk"], r["staff"], r["receipt_no"], t("ui.yes", lang) if r["reclaimed"] else ""]
                  for r in rows], widths={0: 20, 2: 18, 4: 14, 7: 18})


def winners_book(engine: Engine, *, event_id: int, lang: str = "zh-CN") -> bytes:
    """Prize winners and gift hand-outs (the lucky-draw list people ask for first)."""
    rows = hand_outs(engine, event_id=event_id)
    winners = [r for r in rows if r["kind"] == "draw" and r.get("won")]
    sheet_w = hand_outs_sheet(winners, lang)
    sheet_w.title = t("results.sheet.winners", lang)
    return write_book([sheet_w, hand_outs_sheet(rows, lang)])


def n1_sheet(rows: list[dict], lang: str = "zh-CN") -> Sheet:
    """Headers the DMS import reads, so the sheet can be loaded as a call list through 客户导入 too."""
    h = ["客户姓名", "手机号", "车牌号", "车架号", "品牌型号", "商业险到期日期", "交强险到期日期", "上年承保公司", "客户类别",
         "服务顾问", t("results.col.second_reason", lang)]
    return Sheet(t("results.sheet.second", lang), h,
                 [[r["name"], r["phone"], r["plate"].replace("·", ""), r["vin"], r["model"], r["commercial_expiry"],
                   r["compulsory_expiry"], r["insurer_last"], t(f"group.{r['group']}", "zh-CN"), r["advisor"],
                   t(f"results.second.{r['reason']}", lang)] for r in rows], widths={1: 14, 3: 20, 10: 20})


def n1_book(engine: Engine, *, event_id: int, lang: str = "zh-CN") -> bytes:
    return write_book([n1_sheet(n1_list(engine, event_id=event_id), lang)])


def results_book(engine: Engine, *, event_id: int, lang: str = "zh-CN") -> bytes:
    """One workbook, a sheet per view, for the general manager."""
    from core import incentive

    f = funnel(engine, event_id=event_id)
    p = premium(engine, event_id=event_id)
    g = gifts_left(engine, event_id=event_id)
    pay, basis = incentive.payouts(engine, event_id=event_id)
    stages = _stage_headers(lang)
    o = f["overall"]
    sheets = [
        Sheet(t("results.sheet.funnel", lang), [t("results.col.stage", lang), t("results.col.count", lang),
                                                t("results.col.rate", lang)],
              [[stages[i], o[k], f"{o[k] / o['invited']:.1%}" if o["invited"] else "—"] for i, k in enumerate(STAGES)]),
        Sheet(t("results.sheet.populations", lang),
              [t("results.col.population", lang), t("results.col.count", lang), *stages[1:], t("results.col.renewals", lang)],
              [[t(f"counts.{r['population']}", lang), *(r[k] for k in STAGES), r["renewals"]] for r in f["populations"]],
              widths={0: 14}),
        Sheet(t("results.sheet.by_caller", lang),
              [t("results.col.caller", lang), stages[0], t("counts.web", lang), *stages[1:]],
              [[r["caller"], r["invited"], r["web"], *(r[k] for k in STAGES[1:])] for r in f["by_caller"]],
              totals=[t("results.total", lang), o["invited"], f["populations"][1]["invited"],
                      *(f["list"][k] for k in STAGES[1:])]),
        Sheet(t("results.sheet.by_group", lang), [t("results.col.group", lang), *stages],
              [[t(f"group.{r['group']}", lang), *(r[k] for k in STAGES)] for r in f["by_group"]],
              totals=[t("results.total", lang), *(f["list"][k] for k in STAGES)]),
    ]
    for key, label in (("insurer", "results.sheet.by_insurer"), ("payment", "results.sheet.by_payment")):
        rows = p[key]
        name = (lambda v: v) if key == "insurer" else (lambda v: t(f"pay.{v}", lang))
        sheets.append(Sheet(t(label, lang), [t(f"results.col.{key}", lang), t("results.col.renewals", lang),
                                             t("results.col.premium", lang)],
                            [[name(r["name"]), r["count"], r["total_fen"] / 100] for r in rows],
                            totals=[t("results.total", lang), sum(r["count"] for r in rows),
                                    sum(r["total_fen"] for r in rows) / 100], money_columns=(2,)))
    sheets.append(Sheet(t("results.sheet.gifts", lang), [t("results.col.item", lang), t("results.col.kind", lang),
                                                         t("results.col.initial", lang), t("results.col.handed_out", lang),
                                                         t("results.col.left", lang)],
                        [[r["name"], t(f"kind.{r['kind']}", lang), r["initial"], r["handed_out"], r["left"]] for r in g],
                        widths={0: 20}))
    sheets.append(Sheet(t("results.sheet.incentive", lang),
                        [t("results.col.caller", lang), t("results.col.team", lang),
                         t(f"incentive.basis.{basis}", lang), t("results.col.tier", lang), t("results.col.payout", lang)],
                        [[r["caller"], r["team"], r["batches"], r["tier"], r["payout"]] for r in pay],
                        totals=[t("results.total", lang), "", sum(r["batches"] for r in pay), "",
                                sum(r["payout"] for r in pay)]))
    sheets.append(n1_sheet(n1_list(engine, event_id=event_id), lang))
    sheets.append(hand_outs_sheet(hand_outs(engine, event_id=event_id), lang))
    return write_book(sheets)


def incentive_book(engine: Engine, *, event_id: int, lang: str = "zh-CN") -> bytes:
    from core import incentive

    pay, basis = incentive.payouts(engine, event_id=event_id)
    return write_book([Sheet(t("results.sheet.incentive", lang),
                             [t("results.col.caller", lang), t("results.col.team", lang),
                              t(f"incentive.basis.{basis}", lang), t("results.col.tier", lang),
                              t("results.col.payout", lang)],
                             [[r["caller"], r["team"], r["batches"], r["tier"], r["payout"]] for r in pay],
                             totals=[t("results.total", lang), "", sum(r["batches"] for r in pay), "",
                                     sum(r["payout"] for r in pay)])])


def event_day(engine: Engine, event_id: int) -> date:
    with read_session(engine) as s:
        return s.get(Event, event_id).event_date
