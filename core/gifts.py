"""The gift and lucky-draw desk: what is due, handing out, the draw box, stock and reclaim."""
from __future__ import annotations

import json
import secrets
from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import lookup
from core.audit import bind_event, run_action
from core.checkin import require_manager
from core.clock import now
from core.errors import DeskError
from core.models import CheckIn, DrawResult, Event, GiftIssue, GiftType, Invitation, Renewal
from core.store import read_session

BLANK = "谢谢参与"


def draws_allowed(event: Event, renewal: Renewal) -> int:
    """One draw per renewal, plus one per extra_draw_per_fen of premium when the store sets it."""
    extra = renewal.total_fen // event.extra_draw_per_fen if event.extra_draw_per_fen > 0 else 0
    return 1 + int(extra)


def _entitlements(s: Session, event_id: int, invitation_id: int) -> dict:
    event = s.get(Event, event_id)
    inv = s.get(Invitation, invitation_id)
    card = lookup.guest_card(s, inv)
    renewals = []
    for r in lookup.renewals_of(s, invitation_id):
        gift = s.execute(select(GiftIssue).where(GiftIssue.renewal_id == r.id, GiftIssue.kind == "renewal")).scalar_one_or_none()
        draws = s.execute(select(DrawResult).where(DrawResult.renewal_id == r.id).order_by(DrawResult.chance_no)).scalars().all()
        plate = next((v["plate"] for v in card["vehicles"] if v["id"] == r.vehicle_id), "")
        allowed = draws_allowed(event, r) if r.voided_at is None else 0
        renewals.append({
            "renewal_id": r.id, "receipt_no": r.receipt_no, "plate": plate, "voided": r.voided_at is not None,
            "gift_due": r.voided_at is None and gift is None,
            "gift_given": _gift_name(s, gift.gift_type_id) if gift else "",
            "draws_allowed": allowed, "draws_done": len(draws),
            "draws_due": max(0, allowed - len(draws)) if r.voided_at is None else 0,
            "draw_results": [_prize_name(s, d.prize_id) for d in draws]})
    checked = s.execute(select(CheckIn).where(CheckIn.invitation_id == invitation_id, CheckIn.undone_at.is_(None))).first()
    arrival_given = s.execute(select(GiftIssue.id).where(GiftIssue.invitation_id == invitation_id,
                                                         GiftIssue.kind == "arrival")).first()
    reclaim = [{"kind": "gift", "id": g.id, "item": _gift_name(s, g.gift_type_id)} for g in s.execute(
        select(GiftIssue).where(GiftIssue.invitation_id == invitation_id, GiftIssue.reclaim,
                                GiftIssue.reclaimed_at.is_(None))).scalars()]
    reclaim += [{"kind": "draw", "id": d.id, "item": _prize_name(s, d.prize_id)} for d in s.execute(
        select(DrawResult).where(DrawResult.invitation_id == invitation_id, DrawResult.reclaim,
                                 DrawResult.reclaimed_at.is_(None))).scalars()]
    return {"guest": card, "renewals": renewals, "reclaim": reclaim,
            "arrival_due": bool(event.arrival_gift_on and checked and not arrival_given),
            "renewal_gift": gift_offer(s, event_id, "renewal")}


def gift_offer(s: Session, event_id: int, kind: str) -> dict:
    """What the desk hands out for this kind right now: the planned gift, or, when it is out,
    its substitute (so 'substitute + draw' is one tap and one receipt)."""
    primary = primary_gift(s, event_id, kind)
    if primary is None:
        return {"gift": "", "gift_type_id": None, "out": True, "substitute": "", "substitute_id": None}
    sub = s.get(GiftType, primary.substitute_id) if primary.substitute_id else None
    usable = sub is not None and sub.stock > 0
    return {"gift": primary.name, "gift_type_id": primary.id, "out": primary.stock <= 0,
            "substitute": sub.name if usable else "", "substitute_id": sub.id if usable else None,
            "substitute_stock": sub.stock if sub else 0}


def entitlements(engine: Engine, *, event_id: int, invitation_id: int) -> dict:
    with read_session(engine) as s:
        return _entitlements(s, event_id, invitation_id)


def _gift_name(s: Session, gift_type_id: int | None) -> str:
    g = s.get(GiftType, gift_type_id) if gift_type_id else None
    return g.name if g else ""


def _prize_name(s: Session, prize_id: int | None) -> str:
    return _gift_name(s, prize_id) if prize_id else BLANK


def primary_gift(s: Session, event_id: int, kind: str) -> GiftType | None:
    """The gift of this kind that is nobody's substitute (the one the plan sized)."""
    substitutes = select(GiftType.substitute_id).where(GiftType.event_id == event_id, GiftType.substitute_id.is_not(None))
    return s.execute(select(GiftType).where(GiftType.event_id == event_id, GiftType.kind == kind,
                                            GiftType.id.not_in(substitutes)).order_by(GiftType.id)).scalars().first()


def _take_one(s: Session, gift: GiftType) -> None:
    """Stock minus one, atomically; never below zero (the CHECK constraint backs this up)."""
    taken = s.execute(update(GiftType).where(GiftType.id == gift.id, GiftType.stock > 0)
                      .values(stock=GiftType.stock - 1)).rowcount
    if taken != 1:
        sub = s.get(GiftType, gift.substitute_id) if gift.substitute_id else None
        usable = sub is not None and sub.stock > 0  # the page words the hint: the substitute, or ask for stock
        raise DeskError("out_of_stock", gift=gift.name, substitute=sub.name if usable else "",
                        left=sub.stock if usable else 0, substitute_id=sub.id if usable else None)


def _hand_out(s: Session, *, event_id: int, invitation_id: int, desk: str, staff_id: int | None, kind: str,
              renewal_id: int | None, gift_type_id: int | None) -> dict:
    """The hand-out inside the caller's transaction; every refusal is raised before anything is written."""
    inv = s.execute(select(Invitation).where(Invitation.id == invitation_id).with_for_update()).scalar_one_or_none()
    if inv is None or inv.event_id != event_id:
        raise DeskError("unknown_code")
    if kind == "renewal":
        r = s.get(Renewal, renewal_id) if renewal_id else None
        if r is None or r.invitation_id != invitation_id or r.voided_at is not None:
            raise DeskError("not_renewed")
        given = s.execute(select(GiftIssue).where(GiftIssue.renewal_id == r.id, GiftIssue.kind == "renewal")).scalar_one_or_none()
        if given is not None:
            raise DeskError("gift_already_given", at=given.at.strftime("%H:%M:%S"), desk=given.desk)
    else:
        if not s.execute(select(CheckIn.id).where(CheckIn.invitation_id == invitation_id, CheckIn.undone_at.is_(None))).first():
            raise DeskError("not_checked_in")
        given = s.execute(select(GiftIssue).where(GiftIssue.invitation_id == invitation_id, GiftIssue.kind == "arrival")).scalar_one_or_none()
        if given is not None:
            raise DeskError("gift_already_given", at=given.at.strftime("%H:%M:%S"), desk=given.desk)
    primary = primary_gift(s, event_id, kind)
    gift = s.get(GiftType, gift_type_id) if gift_type_id else primary
    if gift is None or gift.event_id != event_id or gift.kind != kind:
        raise DeskError("gift_unknown")
    if gift.id != (primary.id if primary else None) and (primary is None or primary.substitute_id != gift.id):
        raise DeskError("gift_unknown")
    s.execute(select(GiftType.id).where(GiftType.id == gift.id).with_for_update())
    _take_one(s, gift)
    issue = GiftIssue(event_id=event_id, invitation_id=invitation_id, renewal_id=renewal_id if kind == "renewal" else None,
                      gift_type_id=gift.id, kind=kind, substituted_for=primary.id if primary and gift.id != primary.id else None,
                      desk=desk, staff_id=staff_id, at=now())
    s.add(issue)
    s.flush()
    return {"gift_issue_id": issue.id, "gift": gift.name, "kind": kind, "substitute": issue.substituted_for is not None}


def hand_out_gift(engine: Engine, *, event_id: int, invitation_id: int, desk: str, staff_id: int | None,
                  kind: str = "renewal", renewal_id: int | None = None, gift_type_id: int | None = None,
                  nonce: str | None = None) -> dict:
    """Hand out the renewal gift for one renewal (or the arrival gift for a checked-in batch)."""
    def body(s: Session) -> dict:
        return _hand_out(s, event_id=event_id, invitation_id=invitation_id, desk=desk, staff_id=staff_id, kind=kind,
                         renewal_id=renewal_id, gift_type_id=gift_type_id)

    return run_action(engine, f"gift_{kind}", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=f"inv {invitation_id} r {renewal_id} g {gift_type_id}", nonce=nonce)


def _draw(s: Session, *, event_id: int, renewal_id: int, desk: str, staff_id: int | None,
          randbelow: Callable[[int], int]) -> dict:
    """One draw inside the caller's transaction; every refusal is raised before anything is written."""
    r = s.execute(select(Renewal).where(Renewal.id == renewal_id).with_for_update()).scalar_one_or_none()
    if r is None or r.event_id != event_id or r.voided_at is not None:
        raise DeskError("not_renewed")
    event = s.get(Event, event_id)
    done = s.execute(select(func.count()).select_from(DrawResult).where(DrawResult.renewal_id == r.id)).scalar_one()
    if done >= draws_allowed(event, r):
        raise DeskError("no_draw_left")
    prizes = s.execute(select(GiftType).where(GiftType.event_id == event_id, GiftType.kind == "prize")
                       .order_by(GiftType.id).with_for_update()).scalars().all()
    ts = now()
    box = [p for p in prizes if not p.is_consolation and (p.release_after is None or p.release_after <= ts)]
    if event.draw_mode == "odds":
        tickets = [(p, p.initial_stock) for p in box]
        blanks = event.draw_blank_tickets
    else:
        tickets = [(p, p.stock) for p in box]
        blank_drawn = s.execute(select(func.count()).select_from(DrawResult).where(
            DrawResult.event_id == event_id, DrawResult.drawn_prize_id.is_(None))).scalar_one()
        blanks = max(0, event.draw_blank_tickets - blank_drawn)
    total = sum(n for _, n in tickets) + blanks
    if total <= 0:
        raise DeskError("box_empty")
    pick = randbelow(total)
    drawn = None
    acc = 0
    for p, n in tickets:
        acc += n
        if pick < acc:
            drawn = p
            break
    prize = drawn
    if drawn is not None and drawn.stock <= 0:  # odds mode: that prize has run out
        consolation = next((p for p in prizes if p.is_consolation and p.stock > 0), None)
        prize = consolation
    if prize is not None:
        s.execute(update(GiftType).where(GiftType.id == prize.id, GiftType.stock > 0).values(stock=GiftType.stock - 1))
    seen = {p.name: n for p, n in tickets}
    seen[BLANK] = blanks
    result = DrawResult(event_id=event_id, invitation_id=r.invitation_id, renewal_id=r.id, chance_no=done + 1,
                        prize_id=prize.id if prize else None, drawn_prize_id=drawn.id if drawn else None,
                        box_seen=json.dumps(seen, ensure_ascii=False), random_value=pick, mode=event.draw_mode,
                        desk=desk, staff_id=staff_id, at=ts)
    s.add(result)
    s.flush()
    return {"draw_id": result.id, "chance_no": result.chance_no, "prize": prize.name if prize else BLANK,
            "won": prize is not None, "consolation": prize is not None and prize is not drawn,
            "value_fen": prize.value_fen if prize else 0, "random_value": pick, "tickets": total}


def draw_prize(engine: Engine, *, event_id: int, renewal_id: int, desk: str, staff_id: int | None,
               nonce: str | None = None, randbelow: Callable[[int], int] = secrets.randbelow) -> dict:
    """Draw one ticket for a renewal's next chance.

    Box mode: a ticket is taken at random weighted by what is left (prize stock plus the
    blanks not yet drawn), and is gone. Odds mode: fixed odds from the set-up counts, with a
    consolation prize when the drawn prize has run out. A top prize joins only after its
    release time. The box as seen and the random number are recorded."""
    def body(s: Session) -> dict:
        return _draw(s, event_id=event_id, renewal_id=renewal_id, desk=desk, staff_id=staff_id, randbelow=randbelow)

    return run_action(engine, "draw", body, event_id=event_id, desk=desk, staff_id=staff_id,
                      raw=f"renewal {renewal_id}", nonce=nonce)


def top_up(engine: Engine, *, gift_type_id: int, add: int, desk: str, staff_id: int | None) -> dict:
    """Stock added during the day (audited)."""
    def body(s: Session) -> dict:
        if not isinstance(add, int) or add <= 0:
            raise DeskError("stock_invalid")
        g = s.execute(select(GiftType).where(GiftType.id == gift_type_id).with_for_update()).scalar_one_or_none()
        if g is None:
            raise DeskError("gift_unknown")
        bind_event(s, g.event_id)
        g.stock += add
        g.initial_stock += add
        return {"gift": g.name, "added": add, "stock": g.stock}

    return run_action(engine, "top_up", body, event_id=None, desk=desk, staff_id=staff_id, raw=str(add))


def add_gift_type(engine: Engine, *, event_id: int, name: str, kind: str, stock: int, value_fen: int = 0,
                  substitute_id: int | None = None, low_threshold: int = 0, desk: str = "", staff_id: int | None = None,
                  release_after=None, is_consolation: bool = False) -> dict:
    from core.validate import clean

    def body(s: Session) -> dict:
        nm = clean(name)
        if not nm or "<" in nm or ">" in nm:
            raise DeskError("gift_name_invalid")
        if stock < 0 or value_fen < 0:
            raise DeskError("stock_invalid")
        g = GiftType(event_id=event_id, name=nm[:30], kind=kind, stock=stock, initial_stock=stock, value_fen=value_fen,
                     substitute_id=substitute_id, low_threshold=low_threshold, release_after=release_after,
                     is_consolation=is_consolation)
        s.add(g)
        s.flush()
        return {"gift_type_id": g.id, "name": g.name}

    return run_action(engine, "gift_type", body, event_id=event_id, desk=desk, staff_id=staff_id, raw=name)


def stock_report(engine: Engine, event_id: int) -> list[dict]:
    """Per gift: set up, handed out, left, and a warning below its threshold."""
    with read_session(engine) as s:
        gifts = s.execute(select(GiftType).where(GiftType.event_id == event_id).order_by(GiftType.kind, GiftType.id)).scalars().all()
        handed = dict(s.execute(select(GiftIssue.gift_type_id, func.count()).where(GiftIssue.event_id == event_id)
                                .group_by(GiftIssue.gift_type_id)).all())
        won = dict(s.execute(select(DrawResult.prize_id, func.count()).where(DrawResult.event_id == event_id,
                                                                             DrawResult.prize_id.is_not(None))
                             .group_by(DrawResult.prize_id)).all())
    return [{"id": g.id, "name": g.name, "kind": g.kind, "initial": g.initial_stock,
             "handed_out": handed.get(g.id, 0) + won.get(g.id, 0), "left": g.stock, "low": g.stock <= g.low_threshold,
             "release_after": g.release_after.strftime("%H:%M") if g.release_after else "",
             "is_consolation": g.is_consolation, "value_fen": g.value_fen} for g in gifts]


def mark_reclaimed(engine: Engine, *, kind: str, item_id: int, desk: str, staff_id: int | None) -> dict:
    """A gift or prize of a voided renewal came back: back into stock, reclaim closed."""
    def body(s: Session) -> dict:
        if kind == "gift":
            row = s.get(GiftIssue, item_id)
            if row is None or not row.reclaim or row.reclaimed_at is not None:
                raise DeskError("gift_unknown")
            row.reclaimed_at = now()
            gift_id = row.gift_type_id
        else:
            row = s.get(DrawResult, item_id)
            if row is None or not row.reclaim or row.reclaimed_at is not None:
                raise DeskError("gift_unknown")
            row.reclaimed_at = now()
            gift_id = row.prize_id
        bind_event(s, row.event_id)
        s.execute(update(GiftType).where(GiftType.id == gift_id).values(stock=GiftType.stock + 1))
        return {"kind": kind, "id": item_id}

    return run_action(engine, "reclaim", body, event_id=None, desk=desk, staff_id=staff_id, raw=f"{kind} {item_id}")


def set_draw_rules(engine: Engine, *, event_id: int, mode: str, blank_tickets: int, extra_draw_per_fen: int,
                   arrival_gift_on: bool, staff_id: int | None, desk: str = "") -> dict:
    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        if mode not in ("box", "odds") or blank_tickets < 0 or extra_draw_per_fen < 0:
            raise DeskError("draw_rules_invalid")
        ev = s.get(Event, event_id)
        ev.draw_mode, ev.draw_blank_tickets, ev.extra_draw_per_fen = mode, blank_tickets, extra_draw_per_fen
        ev.arrival_gift_on = arrival_gift_on
        return {"mode": mode, "blank_tickets": blank_tickets, "extra_draw_per_fen": extra_draw_per_fen}

    return run_action(engine, "draw_rules", body, event_id=event_id, desk=desk, staff_id=staff_id, raw=mode)


class _NothingDone(DeskError):
    """Every part of a gift-desk tap was refused: nothing is saved, the first refusal is audited."""
    def __init__(self, refusals: list[DeskError]):
        super().__init__(refusals[0].reason, **refusals[0].info)
        self.refusals = refusals
        if len(refusals) > 1:
            self.info = {**refusals[0].info, "also": [r.reason for r in refusals[1:]]}


def serve(engine: Engine, *, event_id: int, invitation_id: int, desk: str, staff_id: int | None,
          renewal_id: int | None = None, gift: bool = True, draw: bool = False, kind: str = "renewal",
          gift_type_id: int | None = None, nonce: str | None = None,
          randbelow: Callable[[int], int] = secrets.randbelow) -> dict:
    """The gift desk's button: hand out and/or draw, and store their one receipt as a print job,
    all in ONE transaction (a crash can never leave a gift given without its receipt job); the
    receipt is sent after the commit. A refusal of one part never skips the other (a gift out of
    stock still draws; an empty box still gives the gift): each part runs in a savepoint, and its
    refusal comes back in 'refusals' (the first also in 'refusal') for the desk to show.
    gift_type_id picks the substitute, so substitute + draw is one call and one receipt.

    nonce: a repeated tap (double click, a retried request) replays the first answer, with the
    same receipt as it stands now: no second hand-out, draw, receipt or print job."""
    from core import receipts

    def body(s: Session) -> dict:
        out: dict = {"gift": None, "gift_issue_id": None, "substitute": False, "prize": None, "won": False,
                     "draw_id": None, "job": None, "refusals": []}
        refused: list[DeskError] = []
        if gift:
            try:
                with s.begin_nested():
                    given = _hand_out(s, event_id=event_id, invitation_id=invitation_id, desk=desk, staff_id=staff_id,
                                      kind=kind, renewal_id=renewal_id, gift_type_id=gift_type_id)
                out.update(gift=given["gift"], gift_issue_id=given["gift_issue_id"], substitute=given["substitute"])
            except DeskError as refusal:  # e.g. the gift ran out: the draw still happens
                refused.append(refusal)
        if draw:
            try:
                with s.begin_nested():
                    drawn = _draw(s, event_id=event_id, renewal_id=renewal_id, desk=desk, staff_id=staff_id,
                                  randbelow=randbelow)
                out.update(prize=drawn["prize"], won=drawn["won"], draw_id=drawn["draw_id"],
                           chance_no=drawn["chance_no"], random_value=drawn["random_value"])
            except DeskError as refusal:
                refused.append(refusal)
        if out["gift_issue_id"] is None and out["draw_id"] is None:
            raise _NothingDone(refused or [DeskError("nothing_due")])
        job = receipts.store_receipt(s, event_id=event_id, invitation_id=invitation_id, desk=desk, staff_id=staff_id,
                                     gift_issue_ids=[out["gift_issue_id"]] if out["gift_issue_id"] else [],
                                     draw_ids=[out["draw_id"]] if out["draw_id"] else [])
        out["job"] = receipts.job_view(job)
        out["refusals"] = [{"reason": r.reason, "info": r.info} for r in refused]
        return out

    done: dict = {"gift": None, "substitute": False, "prize": None, "won": False, "job": None, "refusal": None,
                  "refusals": [], "replayed": False}
    try:
        saved = run_action(engine, "gift_desk", body, event_id=event_id, desk=desk, staff_id=staff_id,
                           raw=f"inv {invitation_id} r {renewal_id} g {gift_type_id} {'gift' if gift else ''}"
                               f"{'+' if gift and draw else ''}{'draw' if draw else ''}", nonce=nonce)
    except _NothingDone as nothing:
        done["refusals"] = nothing.refusals
    except DeskError as refusal:  # the store refused or failed: nothing of this tap was saved
        done["refusals"] = [refusal]
    else:
        done.update({k: saved[k] for k in ("gift", "substitute", "prize", "won", "job")})
        done["refusals"] = [DeskError(r["reason"], **r["info"]) for r in saved["refusals"]]
        done["replayed"] = bool(saved.get("replayed"))
        job_id = saved["job"]["job_id"]
        try:
            if done["replayed"]:  # the first tap stored and sent it: show it as it stands, never send twice
                done["job"] = receipts.job_state(engine, job_id)
            elif saved["job"]["status"] == "pending":
                done["job"] = receipts.send_job(engine, job_id)
        except Exception:  # noqa: BLE001 - the hand-out and its job are saved; the job is offered for reprint
            import logging

            logging.getLogger("renewday").exception("sending the receipt of a saved hand-out failed")
    done["refusal"] = done["refusals"][0] if done["refusals"] else None
    return done
