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
One grouped query, so the check-in desk can afford it on every scan.
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


def event_counts(engine: Engine, *, event_id: int, advisor_id=ALL) -> dict:
    """{'invited'|'web'|'walk_in'|'total': {stage: n}, 'list': invited + web, 'by_caller': {advisor_id:
    {'invited': n, 'web': n, stage: n…}}, 'by_group': {group: {stage: n}}, 'target_arrivals': n}.
    advisor_id narrows everything to one caller's invitations (None: those of no caller)."""
    live_checkin = (select(CheckIn.invitation_id, CheckIn.party_size)
                    .where(CheckIn.event_id == event_id, CheckIn.undone_at.is_(None)).subquery())
    live_renewals = (select(Renewal.invitation_id, func.count().label("n"))
                     .where(Renewal.event_id == event_id, Renewal.voided_at.is_(None))
                     .group_by(Renewal.invitation_id).subquery())
    arrived = live_checkin.c.invitation_id.is_not(None)
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731 - how many rows match
    q = (select(Invitation.source, Invitation.group, Invitation.advisor_id, func.count(),
                one(Invitation.call_outcome.in_(REACHED)), one(Invitation.call_outcome == "confirmed"),
                one(arrived), func.coalesce(func.sum(live_checkin.c.party_size), 0),
                one(live_renewals.c.n.is_not(None)), func.coalesce(func.sum(live_renewals.c.n), 0))
         .outerjoin(live_checkin, live_checkin.c.invitation_id == Invitation.id)
         .outerjoin(live_renewals, live_renewals.c.invitation_id == Invitation.id)
         .where(Invitation.event_id == event_id, Invitation.cancelled.is_(False))
         .group_by(Invitation.source, Invitation.group, Invitation.advisor_id))
    if advisor_id is not ALL:
        q = q.where(Invitation.advisor_id.is_(None) if advisor_id is None else Invitation.advisor_id == advisor_id)
    with read_session(engine) as s:
        rows = s.execute(q).all()
        target = s.execute(select(Event.target_arrivals).where(Event.id == event_id)).scalar_one_or_none() or 0
    out = {p: _zero() for p in POPULATIONS}
    out["list"] = _zero()
    by_caller: dict = {}
    by_group: dict = {}
    for source, group, advisor, n, reached, confirmed, arrived_n, people, renewed, renewals in rows:
        pop = population(source, group)
        row = {"listed": int(n), "reached": int(reached or 0), "confirmed": int(confirmed or 0),
               "arrived": int(arrived_n or 0), "people": int(people or 0), "renewed": int(renewed or 0),
               "renewals": int(renewals or 0)}
        if pop == "walk_in":  # registered at the door: counted once checked in, never called
            row.update(listed=row["arrived"], reached=0, confirmed=0)
        _add(out[pop], row)
        _add(out["total"], row)
        if pop == "walk_in":
            continue
        _add(out["list"], row)
        _add(by_group.setdefault(group, _zero()), row)
        caller = by_caller.setdefault(advisor, {"invited": 0, "web": 0, **_zero()})
        caller[pop] += row["listed"]
        _add(caller, row)
    out["by_caller"], out["by_group"], out["target_arrivals"] = by_caller, by_group, target
    return out
