"""The nightly report (before 22:30) in the exact text the plan prescribes, and the same figures
per caller. Counted in 批 (batches): one invitation called that day is one batch, counted once,
by the outcome of its last call that day (the day's calls, not the customers' standing). The
list's make-up and each caller's customers are core.counts' figures: 保有 + 自然 + 流失 = 邀约 (共计),
网络集客 apart, then 名单合计."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from core.models import CALL_OUTCOMES, CallLog, CallPlan, Event, Staff
from core.counts import event_counts
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
    """The list by group (core.counts: cancelled invitations and walk-ins are not on it)."""
    by_group = event_counts(engine, event_id=event_id)["by_group"]
    return {g: by_group.get(g, {}).get("listed", 0) for g in ("retained", "natural", "lost", "web")}


def report_lines(*, day: date, store: str, planned_calls: int, planned_sms: int, total: DayFigures,
                 groups: dict[str, int]) -> list[str]:
    d = f"{day.month}月{day.day}日"
    o = total.outcomes
    lines = [
        f"{d}，{store}计划总回访量{planned_calls}批，实际{total.called}批：确定{o['confirmed']}批，"
        f"不确定{o['unsure']}批，未接通{o['no_answer']}批，无意向{o['not_interested']}批。",
        f"{d}，{store}计划短信回访{planned_sms}批，实际{total.sms_sent}批，回执确认{total.sms_receipts}批。",
    ]
    invited = sum(groups.get(g, 0) for g in ("retained", "natural", "lost"))
    parts = f"保有{groups.get('retained', 0)}批，自然{groups.get('natural', 0)}批，流失{groups.get('lost', 0)}批"
    if groups.get("web"):  # web leads apart from 共计 (邀约), then the labelled list total
        lines.append(f"{store}，客户构成为：{parts}，共计{invited}批；另有网络集客{groups['web']}批，"
                     f"名单合计{invited + groups['web']}批。")
    else:
        lines.append(f"{store}，客户构成为：{parts}，共计{invited}批。")
    return lines


def nightly(engine: Engine, *, event_id: int, day: date) -> NightlyReport:
    """The report for one day and one store (the event's store)."""
    with read_session(engine) as s:
        event = s.get(Event, event_id)
        plan = s.execute(select(CallPlan).where(CallPlan.event_id == event_id, CallPlan.day == day)).scalar_one_or_none()
        names = dict(s.execute(select(Staff.id, Staff.name)).all())
    mine = event_counts(engine, event_id=event_id)["by_caller"]
    store = event.store_name or event.name
    planned_calls, planned_sms = (plan.planned_calls, plan.planned_sms) if plan else (0, 0)
    total, per = day_figures(engine, event_id=event_id, day=day)
    groups = make_up(engine, event_id=event_id)
    table = []
    for caller in sorted(set(per) | {k for k in mine if k is not None}, key=lambda k: (k is None, names.get(k, ""))):
        f = per.get(caller, DayFigures())
        table.append({"caller_id": caller, "caller": names.get(caller, "—"),
                      "invited": mine.get(caller, {}).get("invited", 0), "web": mine.get(caller, {}).get("web", 0),
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
