"""The 风云榜: one snapshot of the event for the big screen. Everything personal is masked here,
so the screen never holds a full name, phone or plate."""
from __future__ import annotations

from sqlalchemy import case, func, literal, select
from sqlalchemy.engine import Engine

from core.clock import now
from core.models import CALLER_ROLES, CheckIn, Customer, DrawResult, Event, GiftType, Invitation, Renewal, Staff, Vehicle
from core.privacy import mask_name, mask_plate
from core.store import read_session

TICKER = 10


def _half_hour(col, dialect: str):
    """'HH:00' or 'HH:30' for a timestamp column, on SQLite and PostgreSQL."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS…': cut the text, no date parsing per row
        minute_tens = func.substr(col, 15, 1)
        return func.substr(col, 12, 2) + literal(":") + case((minute_tens < "3", literal("00")), else_=literal("30"))
    hour = func.to_char(col, "HH24")
    return hour + literal(":") + case((func.extract("minute", col) < 30, literal("00")), else_=literal("30"))


def snapshot(engine: Engine, event_id: int) -> dict:
    """Totals against targets, the advisors' ranking, teams, the ticker and the rhythm chart."""
    dialect = engine.dialect.name
    premium = Renewal.compulsory_fen + Renewal.commercial_fen
    live = (Renewal.event_id == event_id, Renewal.voided_at.is_(None))
    with read_session(engine) as s:
        ev = s.get(Event, event_id)
        if ev is None:
            return {}
        arrived = s.execute(select(func.count()).select_from(CheckIn).where(
            CheckIn.event_id == event_id, CheckIn.undone_at.is_(None))).scalar_one()
        per_advisor = {a: (n, int(p or 0)) for a, n, p in s.execute(
            select(Renewal.advisor_id, func.count(), func.sum(premium)).where(*live).group_by(Renewal.advisor_id))}
        renewals = sum(n for n, _ in per_advisor.values())
        premium_fen = sum(p for _, p in per_advisor.values())
        arrivals = dict(s.execute(select(Invitation.advisor_id, func.count()).join(CheckIn, CheckIn.invitation_id == Invitation.id)
                                  .where(Invitation.event_id == event_id, CheckIn.undone_at.is_(None))
                                  .group_by(Invitation.advisor_id)).all())
        staff = s.execute(select(Staff.id, Staff.name, Staff.team, Staff.role)).all()
        latest = s.execute(select(Renewal.created_at, Renewal.insurer, Renewal.id, Customer.name, Vehicle.plate,
                                  Staff.name.label("advisor"))
                           .join(Invitation, Invitation.id == Renewal.invitation_id)
                           .join(Customer, Customer.id == Invitation.customer_id)
                           .join(Vehicle, Vehicle.id == Renewal.vehicle_id)
                           .outerjoin(Staff, Staff.id == Renewal.advisor_id)
                           .where(*live).order_by(Renewal.created_at.desc(), Renewal.id.desc())  # the index's order
                           .limit(TICKER)).all()
        wins = s.execute(select(DrawResult.at, DrawResult.id, GiftType.name, Customer.name.label("customer"))
                         .join(GiftType, GiftType.id == DrawResult.prize_id)
                         .join(Invitation, Invitation.id == DrawResult.invitation_id)
                         .join(Customer, Customer.id == Invitation.customer_id)
                         .where(DrawResult.event_id == event_id, DrawResult.reclaim.is_(False))
                         .order_by(DrawResult.id.desc()).limit(TICKER)).all()
        bucket = _half_hour(Renewal.created_at, dialect)
        rhythm = s.execute(select(bucket.label("slot"), func.count(), func.sum(premium)).where(*live)
                           .group_by(bucket).order_by(bucket)).all()
    names = {sid: (name, team, role) for sid, name, team, role in staff}
    rows = []
    for sid, (name, team, role) in names.items():
        n, p = per_advisor.get(sid, (0, 0))
        if role not in CALLER_ROLES and not n:
            continue
        rows.append({"staff_id": sid, "name": name, "team": team or "", "renewals": n, "premium_fen": p,
                     "arrivals": arrivals.get(sid, 0)})
    ranking = rank(rows)
    teams: dict[str, dict] = {}
    for r in ranking:
        if r["team"]:
            t = teams.setdefault(r["team"], {"team": r["team"], "renewals": 0, "premium_fen": 0, "arrivals": 0, "people": 0})
            t["renewals"] += r["renewals"]
            t["premium_fen"] += r["premium_fen"]
            t["arrivals"] += r["arrivals"]
            t["people"] += 1
    ticker = [{"at": at.strftime("%H:%M"), "id": f"r{rid}", "kind": "renewal",
               "text": " · ".join(x for x in (mask_name(name), mask_plate(plate) if plate else "", insurer) if x),
               "advisor": advisor or ""} for at, insurer, rid, name, plate, advisor in latest]
    ticker_wins = [{"at": at.strftime("%H:%M"), "id": f"d{did}", "kind": "win", "who": mask_name(customer),
                    "prize": prize, "text": f"{mask_name(customer)} · {prize}"} for at, did, prize, customer in wins]
    return {
        "event": {"id": ev.id, "name": ev.name, "store": ev.store_name, "date": ev.event_date.isoformat()},
        "totals": {"arrived": arrived, "renewals": renewals, "premium_fen": int(premium_fen),
                   "conversion": (renewals / arrived) if arrived else None,
                   "target_arrivals": ev.target_arrivals, "target_renewals": ev.target_renewals,
                   "target_premium_fen": ev.target_premium_fen},
        "ranking": ranking,
        "teams": sorted(teams.values(), key=lambda t: (-t["renewals"], -t["premium_fen"], t["team"])),
        "ticker": ticker, "wins": ticker_wins,
        "rhythm": [{"slot": slot, "renewals": n, "premium_wan": round(int(p or 0) / 1_000_000, 2)} for slot, n, p in rhythm],
        "as_of": now().strftime("%H:%M:%S"),
    }


def rank(rows: list[dict]) -> list[dict]:
    """By renewals, then premium; equal on both = equal rank (1, 1, 3); name breaks display ties."""
    ordered = sorted(rows, key=lambda r: (-r["renewals"], -r["premium_fen"], r["name"]))
    out, prev, prev_rank = [], None, 0
    for i, r in enumerate(ordered, 1):
        key = (r["renewals"], r["premium_fen"])
        prev_rank = prev_rank if key == prev else i
        prev = key
        out.append({**r, "rank": prev_rank})
    return out


def rank_moves(previous: dict[int, int], ranking: list[dict]) -> dict[int, str]:
    """'up', 'down' or '' per staff id against the ranks of the previous tick."""
    moves = {}
    for r in ranking:
        before = previous.get(r["staff_id"])
        moves[r["staff_id"]] = "" if before is None or before == r["rank"] else ("up" if r["rank"] < before else "down")
    return moves


def group_board(engine: Engine, event_date) -> list[dict]:
    """The stores of a dealer group on one shared database, ranked for the same event day."""
    premium = Renewal.compulsory_fen + Renewal.commercial_fen
    with read_session(engine) as s:
        events = s.execute(select(Event.id, Event.store_name, Event.name, Event.target_renewals)
                           .where(Event.event_date == event_date)).all()
        ren = {e: (n, int(p or 0)) for e, n, p in s.execute(
            select(Renewal.event_id, func.count(), func.sum(premium)).where(Renewal.voided_at.is_(None))
            .group_by(Renewal.event_id))}
        arr = dict(s.execute(select(CheckIn.event_id, func.count()).where(CheckIn.undone_at.is_(None))
                             .group_by(CheckIn.event_id)).all())
    rows = [{"staff_id": eid, "name": store or name, "event": name, "renewals": ren.get(eid, (0, 0))[0],
             "premium_fen": ren.get(eid, (0, 0))[1], "arrivals": arr.get(eid, 0), "target_renewals": target}
            for eid, store, name, target in events]
    return rank(rows)
