"""The 风云榜: one snapshot of the event for the big screen. Everything personal is masked here,
so the screen never holds a full name, phone or plate.

Ranked: the people who can be credited (CALLER_ROLES, active). ▲▼ compare the ranking with the
one just before the latest renewal, so they mark a real change of rank, the same on every
screen. Team rows add up to the totals (what no team holds is one 'other' row). The manager
chooses the ranking rule (renewals or premium) and which event the TV shows (上大屏)."""
from __future__ import annotations

from sqlalchemy import case, func, literal, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import now
from core.counts import event_counts
from core.errors import DeskError
from core.models import CALLER_ROLES, CheckIn, Customer, DrawResult, Event, GiftType, Invitation, Renewal, Setting, Staff, Vehicle
from core.privacy import mask_name, mask_plate
from core.store import read_session

TICKER = 10
RULES = ("renewals", "premium")
PINNED_KEY = "board.pinned_event"
OTHER_TEAM = ""  # the row for what no ranked person's team holds (no advisor, no team, not a caller)


def _rule_key(event_id: int) -> str:
    return f"board.rank_by.{event_id}"


def _rule(s: Session, event_id: int) -> str:
    row = s.get(Setting, _rule_key(event_id))
    return row.value if row is not None and row.value in RULES else "renewals"


def rank_rule(engine: Engine, event_id: int) -> str:
    """'renewals' (the default) or 'premium'."""
    with read_session(engine) as s:
        return _rule(s, event_id)


def set_rank_rule(engine: Engine, *, event_id: int, rule: str, staff_id: int | None, desk: str = "") -> dict:
    """The manager chooses what the board ranks by (audited)."""
    from core.audit import run_action
    from core.checkin import require_manager

    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        if rule not in RULES or s.get(Event, event_id) is None:
            raise DeskError("board_rule_invalid")
        row = s.get(Setting, _rule_key(event_id)) or Setting(key=_rule_key(event_id))
        row.value = rule
        s.add(row)
        return {"event_id": event_id, "rule": rule}

    return run_action(engine, "board_rule", body, event_id=event_id, desk=desk, staff_id=staff_id, raw=rule)


def pinned_event_id(engine: Engine) -> int | None:
    """The event the manager put on the TV (上大屏), if it still exists."""
    with read_session(engine) as s:
        row = s.get(Setting, PINNED_KEY)
        if row is None or not row.value.isdigit():
            return None
        return int(row.value) if s.get(Event, int(row.value)) is not None else None


def pin_event(engine: Engine, *, event_id: int, staff_id: int | None, desk: str = "") -> dict:
    """上大屏: the TV (/board without ?event=) shows this event from now on (audited)."""
    from core.audit import run_action
    from core.checkin import require_manager

    def body(s: Session) -> dict:
        require_manager(s, staff_id)
        ev = s.get(Event, event_id)
        if ev is None:
            raise DeskError("event_unknown")
        row = s.get(Setting, PINNED_KEY) or Setting(key=PINNED_KEY)
        row.value = str(event_id)
        s.add(row)
        return {"event_id": event_id, "name": ev.name}

    return run_action(engine, "board_pin", body, event_id=event_id, desk=desk, staff_id=staff_id, raw=str(event_id))


def board_event(engine: Engine):
    """What the TV shows: the pinned event, else today's / the next / the latest."""
    from core.events import current_event

    pinned = pinned_event_id(engine)
    if pinned is not None:
        with read_session(engine) as s:
            ev = s.get(Event, pinned)
            if ev is not None:
                return ev
    return current_event(engine)


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
        per_advisor = {a: (n, int(p or 0)) for a, n, p in s.execute(
            select(Renewal.advisor_id, func.count(), func.sum(premium)).where(*live).group_by(Renewal.advisor_id))}
        renewals = sum(n for n, _ in per_advisor.values())
        premium_fen = sum(p for _, p in per_advisor.values())
        staff = s.execute(select(Staff.id, Staff.name, Staff.team, Staff.role, Staff.active)).all()
        rule = _rule(s, event_id)
        latest = s.execute(select(Renewal.created_at, Renewal.insurer, Renewal.id, Customer.name, Vehicle.plate,
                                  Staff.name.label("advisor"), Renewal.advisor_id, premium)
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
    counted = event_counts(engine, event_id=event_id, breakdown=False)  # arrivals as every page counts them
    arrived = counted["total"]["arrived"]
    arrivals = dict(counted["arrived_by_caller"])
    if counted["walk_in"]["arrived"]:  # walk-ins are nobody's: the 'other' team row
        arrivals[None] = arrivals.get(None, 0) + counted["walk_in"]["arrived"]
    rows, teams = [], {}
    ranked_ids = set()
    for sid, name, team, role, active in staff:
        if role not in CALLER_ROLES or not active:
            continue
        n, p = per_advisor.get(sid, (0, 0))
        ranked_ids.add(sid)
        rows.append({"staff_id": sid, "name": name, "team": team or "", "renewals": n, "premium_fen": p,
                     "arrivals": arrivals.get(sid, 0)})
    ranking = rank(rows, rule)
    last = (latest[0][6], latest[0][7]) if latest else None  # the latest renewal: who, and its premium
    if last is not None and last[0] in ranked_ids:
        previous = [{**r, "renewals": r["renewals"] - 1, "premium_fen": r["premium_fen"] - int(last[1] or 0)}
                    if r["staff_id"] == last[0] else r for r in rows]
        moves = rank_moves_since(rank(previous, rule), ranking, last[0], rule)
    else:
        moves = {}
    for r in ranking:
        r["move"] = moves.get(r["staff_id"], "")
    team_of = {r["staff_id"]: r["team"] for r in rows}

    def team_row(name: str) -> dict:
        return teams.setdefault(name, {"team": name, "renewals": 0, "premium_fen": 0, "arrivals": 0, "people": 0})

    for r in rows:
        if r["team"]:
            team_row(r["team"])["people"] += 1
    for sid, (n, p) in per_advisor.items():  # every live renewal lands in exactly one row
        t = team_row(team_of.get(sid) or OTHER_TEAM)
        t["renewals"] += n
        t["premium_fen"] += p
    for sid, n in arrivals.items():
        team_row(team_of.get(sid) or OTHER_TEAM)["arrivals"] += n
    other = teams.pop(OTHER_TEAM, None)
    team_list = sorted(teams.values(), key=lambda t: (-_key(t, rule)[0], -_key(t, rule)[1], t["team"]))
    if other and (other["renewals"] or other["premium_fen"] or other["arrivals"]):
        team_list.append(other)
    ticker = [{"at": at.strftime("%H:%M"), "id": f"r{rid}", "kind": "renewal",
               "text": " · ".join(x for x in (mask_name(name), mask_plate(plate) if plate else "", insurer) if x),
               "advisor": advisor or ""} for at, insurer, rid, name, plate, advisor, _, _ in latest]
    ticker_wins = [{"at": at.strftime("%H:%M"), "id": f"d{did}", "kind": "win", "who": mask_name(customer),
                    "prize": prize, "text": f"{mask_name(customer)} · {prize}"} for at, did, prize, customer in wins]
    return {
        "event": {"id": ev.id, "name": ev.name, "store": ev.store_name, "date": ev.event_date.isoformat()},
        "totals": {"arrived": arrived, "renewals": renewals, "premium_fen": int(premium_fen),
                   "conversion": (renewals / arrived) if arrived else None,
                   "target_arrivals": ev.target_arrivals, "target_renewals": ev.target_renewals,
                   "target_premium_fen": ev.target_premium_fen},
        "ranking": ranking, "rule": rule,
        "teams": team_list,
        "ticker": ticker, "wins": ticker_wins,
        "rhythm": [{"slot": slot, "renewals": n, "premium_wan": round(int(p or 0) / 1_000_000, 2)} for slot, n, p in rhythm],
        "as_of": now().strftime("%H:%M:%S"),
    }


def _key(r: dict, rule: str = "renewals") -> tuple[int, int]:
    return (r["premium_fen"], r["renewals"]) if rule == "premium" else (r["renewals"], r["premium_fen"])


def rank(rows: list[dict], rule: str = "renewals") -> list[dict]:
    """By renewals then premium (or premium then renewals); equal on both = equal rank (1, 1, 3);
    name breaks display ties. Nobody is ranked for nothing: a row with no renewal and no premium
    gets rank None and comes after the ranked ones (the board shows "—")."""
    ordered = sorted(rows, key=lambda r: (-_key(r, rule)[0], -_key(r, rule)[1], r["name"]))
    out, prev, prev_rank = [], None, 0
    for i, r in enumerate(ordered, 1):
        key = _key(r, rule)
        if not any(key):
            out.append({**r, "rank": None})
            continue
        prev_rank = prev_rank if key == prev else i
        prev = key
        out.append({**r, "rank": prev_rank})
    return out


def _place(r: dict) -> float:
    """A rank to compare: the unranked are behind everyone."""
    return float("inf") if r["rank"] is None else r["rank"]


def rank_moves_since(before: list[dict], after: list[dict], mover: int, rule: str = "renewals") -> dict[int, str]:
    """▲ for the person credited with the latest renewal when their rank improved; ▼ for those
    they passed (strictly ahead before, no longer ahead now, rank worse). Nobody else moves:
    after the first sale the others, level before and level after, get no arrow."""
    b = {r["staff_id"]: r for r in before}
    a = {r["staff_id"]: r for r in after}
    if mover not in a or mover not in b:
        return {}
    moves = {}
    if b[mover]["rank"] is not None and _place(a[mover]) < _place(b[mover]):  # entering the ranking is no move
        moves[mover] = "up"
    for sid, now_row in a.items():
        if sid == mover or sid not in b:
            continue
        was_ahead = _key(b[sid], rule) > _key(b[mover], rule)
        still_ahead = _key(now_row, rule) > _key(a[mover], rule)
        if was_ahead and not still_ahead and _place(now_row) > _place(b[sid]):
            moves[sid] = "down"
    return moves


def rank_moves(previous: dict[int, int], ranking: list[dict]) -> dict[int, str]:
    """'up', 'down' or '' per staff id against earlier ranks (kept for callers of the old API;
    the board uses each row's 'move', computed against the latest renewal)."""
    moves = {}
    for r in ranking:
        before = previous.get(r["staff_id"])
        moves[r["staff_id"]] = ("" if before is None or before == r["rank"] or r["rank"] is None
                                else ("up" if r["rank"] < before else "down"))
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
