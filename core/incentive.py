"""Staff incentive (内促政策): a tier table by invited batches per caller, and the payouts.

A tier is (low, high, per_batch, fixed): a caller with low <= n <= high batches gets n * per_batch
yuan, or `fixed` yuan in total when per_batch is None (the penalty below the first tier).
high None means "and more". The table and the counting basis are per event, in Setting rows."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import run_action
from core.errors import DeskError
from core.models import CALLER_ROLES, CheckIn, Invitation, Setting, Staff
from core.store import read_session

BASES = ("checked_in", "confirmed")  # default first: the plan warns about cheating


@dataclass(frozen=True)
class Tier:
    low: int
    high: int | None
    per_batch: int | None  # yuan per batch; None: `fixed` yuan in total
    fixed: int = 0


DEFAULT_TIERS = (
    Tier(0, 14, None, -200),
    Tier(15, 20, 5),
    Tier(21, 25, 10),
    Tier(26, 30, 15),
    Tier(31, 35, 20),
    Tier(36, 40, 25),
    Tier(41, None, 30),
)


def _key(event_id: int) -> str:
    return f"incentive.{event_id}"


def payout(batches: int, tiers=DEFAULT_TIERS) -> int:
    """Yuan for this many batches (negative: a penalty)."""
    for t in tiers:
        if batches >= t.low and (t.high is None or batches <= t.high):
            return t.fixed if t.per_batch is None else batches * t.per_batch
    return 0


def check_tiers(tiers) -> list[Tier]:
    """Tiers from 0 upwards, contiguous, the last one open; else DeskError('tiers_invalid', row=…)."""
    out = []
    expected = 0
    for i, t in enumerate(tiers, start=1):
        t = Tier(int(t.low), None if t.high in (None, "") else int(t.high),
                 None if t.per_batch in (None, "") else int(t.per_batch), int(t.fixed or 0))
        if t.low != expected or (t.high is not None and t.high < t.low):
            raise DeskError("tiers_invalid", row=i)
        if t.high is None and i != len(tiers):
            raise DeskError("tiers_invalid", row=i)
        out.append(t)
        expected = (t.high + 1) if t.high is not None else None
    if not out or out[-1].high is not None:
        raise DeskError("tiers_open_end")
    return out


def policy(engine: Engine, event_id: int) -> tuple[list[Tier], str]:
    with read_session(engine) as s:
        row = s.get(Setting, _key(event_id))
    if row is None or not row.value:
        return list(DEFAULT_TIERS), BASES[0]
    data = json.loads(row.value)
    return [Tier(**t) for t in data["tiers"]], data.get("basis", BASES[0])


def save_policy(engine: Engine, *, event_id: int, tiers, basis: str, staff_id: int | None, desk: str = "") -> dict:
    """The manager's tier table and counting basis, checked whole; nothing saved on a bad row."""
    from core.checkin import require_manager

    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        if basis not in BASES:
            raise DeskError("basis_invalid")
        try:
            checked = check_tiers(tiers)
        except (TypeError, ValueError):
            raise DeskError("tiers_invalid", row=0) from None
        value = json.dumps({"tiers": [asdict(t) for t in checked], "basis": basis}, ensure_ascii=False)
        row = s.get(Setting, _key(event_id))
        if row is None:
            s.add(Setting(key=_key(event_id), value=value))
        else:
            row.value = value
        return {"basis": basis, "tiers": len(checked)}

    return run_action(engine, "incentive_policy", body, event_id=event_id, desk=desk, staff_id=staff_id, raw=basis)


def batches_per_caller(engine: Engine, *, event_id: int, basis: str) -> dict[int, int]:
    """Invited batches credited to each caller: their invitations that checked in (live), or
    that are confirmed. Walk-ins are nobody's invitation."""
    q = (select(Invitation.advisor_id, func.count()).where(Invitation.event_id == event_id,
                                                          Invitation.advisor_id.is_not(None),
                                                          Invitation.cancelled.is_(False),
                                                          Invitation.source != "walk_in")
         .group_by(Invitation.advisor_id))
    if basis == "confirmed":
        q = q.where(Invitation.call_outcome == "confirmed")
    else:
        q = q.join(CheckIn, CheckIn.invitation_id == Invitation.id).where(CheckIn.undone_at.is_(None))
    with read_session(engine) as s:
        return dict(s.execute(q).all())


def payouts(engine: Engine, *, event_id: int) -> tuple[list[dict], str]:
    """Every caller with their batches, tier and payout (yuan), highest first; and the basis."""
    tiers, basis = policy(engine, event_id)
    counts = batches_per_caller(engine, event_id=event_id, basis=basis)
    with read_session(engine) as s:
        staff = list(s.execute(select(Staff).where(Staff.role.in_(CALLER_ROLES))).scalars())
    rows = []
    for p in staff:
        if not p.active and p.id not in counts:
            continue
        n = counts.get(p.id, 0)
        tier = next((t for t in tiers if n >= t.low and (t.high is None or n <= t.high)), None)
        rows.append({"staff_id": p.id, "caller": p.name, "team": p.team, "batches": n,
                     "tier": tier_label(tier) if tier else "", "per_batch": tier.per_batch if tier else None,
                     "payout": payout(n, tiers)})
    rows.sort(key=lambda r: (-r["batches"], r["caller"]))
    return rows, basis


def tier_label(t: Tier) -> str:
    if t.high is None:
        return f"{t.low}+"
    if t.low == 0:
        return f"<{t.high + 1}"
    return f"{t.low}–{t.high}"
