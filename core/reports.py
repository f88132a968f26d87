"""The nightly report (before 22:30) in the exact text the plan prescribes, and the same figures
per caller. Counted in 批 (batches): one invitation called that day is one batch, counted once,
by the outcome of its last call that day."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core.models import CALL_OUTCOMES, CallLog, CallPlan, Event, Invitation, Staff
from core.store import read_session

OUTCOME_ZH = {"confirmed": "确定", "unsure": "不确定", "no_answer": "未接通", "not_interested": "无意向"}


@dataclass
class DayFigures:
    called: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {o: 0 for o in CALL_OUTCOMES})
    sms_sent: int = 0
    sms_receipts: int = 0


@dataclass
class NightlyReport:
    day: date
    store: str
    planned_calls: int
    planned_sms: int
    total: DayFigures
    per_caller: list[dict]
    make_up: dict[str, int]
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min)
    return start, start + timedelta(days=1)


def day_figures(engine: Engine, *, event_id: int, day: date) -> tuple[DayFigures, dict[int, DayFigures]]:
    """The day's batches overall and per caller (the caller who made the batch's last call that day)."""
    start, end = _day_bounds(day)
    with read_session(engine) as s:
        calls = s.execute(select(CallLog.invitation_id, CallLog.caller_id, CallLog.outcome, CallLog.sms_sent,
                                 CallLog.sms_receipt)
                          .where(CallLog.event_id == event_id, CallLog.at >= start, CallLog.at < end)
                          .order_by(CallLog.at, CallLog.id)).all()
    last: dict[int, tuple] = {}
    sms: dict[int, list[bool]] = {}
    for c in calls:
        last[c.invitation_id] = (c.caller_id, c.outcome)
        flags = sms.setdefault(c.invitation_id, [False, False])
        flags[0] |= bool(c.sms_sent)
        flags[1] |= bool(c.sms_receipt)
    total, per = DayFigures(), {}
    for inv_id, (caller, outcome) in last.items():
        for fig in (total, per.setdefault(caller, DayFigures())):
            fig.called += 1
            fig.outcomes[outcome] = fig.outcomes.get(outcome, 0) + 1
            fig.sms_sent += sms[inv_id][0]
            fig.sms_receipts += sms[inv_id][1]
    return total, per


def make_up(engine: Engine, *, event_id: int) -> dict[str, int]:
    """The invited list by group (walk-ins and cancelled invitations are not part of it)."""
    with read_session(engine) as s:
        rows = s.execute(select(Invitation.group, func.count()).where(
            Invitation.event_id == event_id, Invitation.cancelled.is_(False), Invitation.source != "walk_in")
            .group_by(Invitation.group)).all()
    counts = {"retained": 0, "natural": 0, "lost": 0, "web": 0}
    for g, n in rows:
        counts[g] = counts.get(g, 0) + n
    return counts


def report_lines(*, day: date, store: str, planned_calls: int, planned_sms: int, total: DayFigures,
                 groups: dict[str, int]) -> list[str]:
    d = f"{day.month}月{day.day}日"
    o = total.outcomes
    lines = [
        f"{d}，{store}计划总回访量{planned_calls}批，实际{total.called}批：确定{o['confirmed']}批，"
        f"不确定{o['unsure']}批，未接通{o['no_answer']}批，无意向{o['not_interested']}批。",
        f"{d}，{store}计划短信回访{planned_sms}批，实际{total.sms_sent}批，回执确认{total.sms_receipts}批。",
    ]
    parts = f"保有{groups.get('retained', 0)}批，自然{groups.get('natural', 0)}批，流失{groups.get('lost', 0)}批"
    if groups.get("web"):
        parts += f"，网络集客{groups['web']}批"
    lines.append(f"{store}，客户构成为：{parts}，共计{sum(groups.values())}批。")
    return lines


def nightly(engine: Engine, *, event_id: int, day: date) -> NightlyReport:
    """The report for one day and one store (the event's store)."""
    with read_session(engine) as s:
        event = s.get(Event, event_id)
        plan = s.execute(select(CallPlan).where(CallPlan.event_id == event_id, CallPlan.day == day)).scalar_one_or_none()
        names = dict(s.execute(select(Staff.id, Staff.name)).all())
        assigned = dict(s.execute(select(Invitation.advisor_id, func.count()).where(
            Invitation.event_id == event_id, Invitation.cancelled.is_(False)).group_by(Invitation.advisor_id)).all())
    store = event.store_name or event.name
    planned_calls, planned_sms = (plan.planned_calls, plan.planned_sms) if plan else (0, 0)
    total, per = day_figures(engine, event_id=event_id, day=day)
    groups = make_up(engine, event_id=event_id)
    table = []
    for caller in sorted(set(per) | {k for k in assigned if k is not None}, key=lambda k: (k is None, names.get(k, ""))):
        f = per.get(caller, DayFigures())
        table.append({"caller_id": caller, "caller": names.get(caller, "—"), "assigned": assigned.get(caller, 0),
                      "called": f.called, **f.outcomes, "sms_sent": f.sms_sent, "sms_receipts": f.sms_receipts})
    return NightlyReport(day=day, store=store, planned_calls=planned_calls, planned_sms=planned_sms, total=total,
                         per_caller=table, make_up=groups,
                         lines=report_lines(day=day, store=store, planned_calls=planned_calls, planned_sms=planned_sms,
                                            total=total, groups=groups))


def progress(engine: Engine, *, event_id: int) -> tuple[list[date], list[dict], dict[date, int]]:
    """Every caller's batches called per day, and the store's planned calls per day."""
    with read_session(engine) as s:
        rows = s.execute(select(CallLog.caller_id, CallLog.invitation_id, CallLog.at)
                         .where(CallLog.event_id == event_id)).all()
        plans = {p.day: p.planned_calls for p in s.execute(select(CallPlan).where(CallPlan.event_id == event_id)).scalars()}
        names = dict(s.execute(select(Staff.id, Staff.name)).all())
    seen: dict[tuple, set] = {}
    for caller, inv, at in rows:
        seen.setdefault((caller, at.date()), set()).add(inv)
    days = sorted({d for _, d in seen} | set(plans))
    out = []
    for caller in sorted({c for c, _ in seen}, key=lambda c: names.get(c, "")):
        out.append({"caller": names.get(caller, "—"), **{d.isoformat(): len(seen.get((caller, d), ())) for d in days}})
    return days, out, plans
