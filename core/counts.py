"""Every count a page shows, defined once (the README's "Counting" section says the same).

Each invitation of an event that is not cancelled belongs to exactly one population:

- 邀约 ``invited``   — on the event's call list (imported from the DMS sheet or loaded from an N+1
  list; the groups 保有 / 流失 / 自然), whenever it was added, not registered at the door.
- 网络集客 ``web``   — on the call list too, but a web lead (H5 page, WeChat game: group ``web``).
  Counted apart from 邀约.
- 现场登记 ``walk_in`` — registered at the check-in desk (any source: 自然到店, 网络集客, 转介绍) and
  still checked in (an undone registration is not a walk-in).
- 合计 ``total``     — the three added up. "名单" (the list) is 邀约 + 网络集客: what callers call.

Cancelled invitations are counted nowhere. The stages, in each population:

- ``listed``    how many (for walk-ins: those checked in);
- ``reached``   the customer's standing (core.calls: the latest *decisive* answer) is 确定, 不确定 or 无意向;
- ``confirmed`` the standing is 确定 — a later call that reached nobody does not undo it;
- ``arrived``   a live check-in (批, batches); ``people`` the party sizes of those check-ins;
- ``renewed``   at least one live renewal (批: a guest renewing two cars counts once);
- ``renewals``  live renewals (单: one per vehicle; the board's and the cash-up's 续保单数).

Per caller (``by_caller``, keyed by the invitation's advisor) and per group (``by_group``) the
figures are the caller's / group's part of the list (邀约 + 网络集客); walk-ins belong to no caller.
Three small reads (the list through a covering index, check-ins, renewals), so the check-in
desk can afford them on every scan.
"""
from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from core.models import CheckIn, Event, Invitation, Renewal
from core.store import read_session

POPULATIONS = ("invited", "web", "walk_in", "total")
STAGES = ("listed", "reached", "confirmed", "arrived", "people", "renewed", "renewals")
REACHED = ("confirmed", "unsure", "not_interested")
ALL = object()  # every caller's invitations and the walk-ins


def population(source: str, group: str) -> str:
    if source == "walk_in":
        return "walk_in"
    return "web" if group == "web" else "invited"


def _zero() -> dict[str, int]:
    return {k: 0 for k in STAGES}


def _add(into: dict[str, int], row: dict[str, int]) -> None:
    for k in STAGES:
        into[k] += row[k]


def event_counts(engine: Engine, *, event_id: int, advisor_id=ALL, breakdown: bool = True) -> dict:
    """{'invited'|'web'|'walk_in'|'total'|'list': {stage: n}, 'arrived_by_caller': {advisor_id: n},
    'target_arrivals': n} and, with breakdown, 'by_caller': {advisor_id: {'invited': n, 'web': n,
    stage: n…}} and 'by_group': {group: {stage: n}}. advisor_id narrows everything to one caller's
    invitations (None: those of no caller). The check-in desk asks on every scan (breakdown False):
    the index ix_invitation_counts (migration 0009e) serves the grouping without a sort."""
    key = (Invitation.source, Invitation.group, Invitation.advisor_id)
    mine = [Invitation.event_id == event_id, Invitation.cancelled.is_(False)]
    if advisor_id is not ALL:
        mine.append(Invitation.advisor_id.is_(None) if advisor_id is None else Invitation.advisor_id == advisor_id)
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731 - how many rows match
    reached, confirmed = Invitation.call_outcome.in_(REACHED), Invitation.call_outcome == "confirmed"
    # check-ins and renewals are read from their own (small) tables, grouped; only the list is big
    q_arrived = (select(*key, func.count(), func.coalesce(func.sum(CheckIn.party_size), 0)).select_from(CheckIn)
                 .join(Invitation, Invitation.id == CheckIn.invitation_id)
                 .where(CheckIn.event_id == event_id, CheckIn.undone_at.is_(None), *mine).group_by(*key))
    q_renewed = (select(*key, func.count(func.distinct(Renewal.invitation_id)), func.count()).select_from(Renewal)
                 .join(Invitation, Invitation.id == Renewal.invitation_id)
                 .where(Renewal.event_id == event_id, Renewal.voided_at.is_(None), *mine).group_by(*key))
    table: dict[tuple, list[int]] = {}  # (source, group, advisor) → listed, reached, confirmed, arrived, people, renewed, renewals
    with read_session(engine) as s:
        by = key if breakdown else key[:2]  # the desk needs no caller: fewer groups, the same index
        for *k, n, r, c in s.execute(select(*by, func.count(), one(reached), one(confirmed)).where(*mine).group_by(*by)):
            table[(*k, None)[:3]] = [int(n), int(r or 0), int(c or 0), 0, 0, 0, 0]
        arrived_rows = s.execute(q_arrived).all()
        renewed_rows = s.execute(q_renewed).all()
        target = s.execute(select(Event.target_arrivals).where(Event.id == event_id)).scalar_one_or_none() or 0
    out = {p: _zero() for p in (*POPULATIONS, "list")}
    for (source, group, _), v in table.items():
        _add_row(out, population(source, group), v)
    arrived_by_caller: dict = {}
    for source, group, advisor, n, people in arrived_rows:
        _add_row(out, population(source, group), [0, 0, 0, int(n), int(people or 0), 0, 0])
        if population(source, group) != "walk_in":
            arrived_by_caller[advisor] = arrived_by_caller.get(advisor, 0) + int(n)
    for source, group, advisor, n, renewals in renewed_rows:
        _add_row(out, population(source, group), [0, 0, 0, 0, 0, int(n), int(renewals or 0)])
    out["arrived_by_caller"], out["target_arrivals"] = arrived_by_caller, target
    if breakdown:
        for source, group, advisor, n, people in arrived_rows:
            table.setdefault((source, group, advisor), [0] * 7)[3:5] = [int(n), int(people or 0)]
        for source, group, advisor, n, renewals in renewed_rows:
            table.setdefault((source, group, advisor), [0] * 7)[5:7] = [int(n), int(renewals or 0)]
        by_caller: dict = {}
        by_group: dict = {}
        for (source, group, advisor), v in table.items():
            pop = population(source, group)
            if pop == "walk_in":  # walk-ins belong to no caller and to no group of the list
                continue
            row = dict(zip(STAGES, v))
            _add(by_group.setdefault(group, _zero()), row)
            caller = by_caller.setdefault(advisor, {"invited": 0, "web": 0, **_zero()})
            caller[pop] += row["listed"]
            _add(caller, row)
        out["by_caller"], out["by_group"] = by_caller, by_group
    return out


def _add_row(out: dict, pop: str, values: list[int]) -> None:
    """Add one row of figures to its population, the total and (not for walk-ins) the list. A
    walk-in is counted once checked in and is never called: listed = arrived, no answers."""
    row = dict(zip(STAGES, values))
    if pop == "walk_in":
        row.update(listed=row["arrived"], reached=0, confirmed=0)
    _add(out[pop], row)
    _add(out["total"], row)
    if pop != "walk_in":
        _add(out["list"], row)
