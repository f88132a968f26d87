"""The board: ranking, ties, voids leave the totals, masking, the group board."""
from __future__ import annotations

import json

from core import board, cashier, checkin
from core.board import rank, rank_moves


def renew(seeded, i, commercial, advisor_id=None, reason=""):
    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[i])[0]
    return g, cashier.record_renewal(
        seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], vehicle_id=g["vehicles"][0]["id"],
        insurer="平安", compulsory="950", commercial=commercial, vehicle_tax="300", payment_method="pos", desk="收银1",
        staff_id=None, advisor_id=advisor_id, credit_reason=reason or ("改记" if advisor_id else ""))


def test_empty_board(seeded):
    snap = board.snapshot(seeded.engine, seeded.event_id)
    assert snap["totals"]["renewals"] == 0 and snap["totals"]["conversion"] is None
    assert snap["ticker"] == [] and snap["rhythm"] == []
    assert {r["rank"] for r in snap["ranking"]} == {1}  # everyone level at zero


def test_totals_ranking_and_void(seeded):
    a, b = seeded.advisor_id, seeded.advisor_id + 1
    renew(seeded, 0, "3000", a)
    renew(seeded, 1, "2000", a)
    _, r3 = renew(seeded, 2, "9000", b)
    checkin.check_in(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[3], desk="签到1", staff_id=None)
    snap = board.snapshot(seeded.engine, seeded.event_id)
    t = snap["totals"]
    assert t["arrived"] == 4 and t["renewals"] == 3
    assert t["premium_fen"] == (950 * 3 + 3000 + 2000 + 9000) * 100  # vehicle tax is not premium
    assert t["conversion"] == 3 / 4
    top = snap["ranking"][0]
    assert top["staff_id"] == a and top["renewals"] == 2 and top["rank"] == 1
    assert snap["ranking"][1]["staff_id"] == b and snap["rhythm"][0]["renewals"] == 3
    cashier.void_renewal(seeded.engine, renewal_id=r3["renewal_id"], reason="退保", desk="收银1", staff_id=seeded.manager_id)
    snap = board.snapshot(seeded.engine, seeded.event_id)
    assert snap["totals"]["renewals"] == 2 and len(snap["ticker"]) == 2


def test_ties_share_a_rank():
    rows = [{"staff_id": i, "name": n, "renewals": r, "premium_fen": p}
            for i, (n, r, p) in enumerate([("甲", 3, 100), ("乙", 3, 100), ("丙", 3, 90), ("丁", 1, 500)])]
    assert [(r["name"], r["rank"]) for r in rank(rows)] == [("乙", 1), ("甲", 1), ("丙", 3), ("丁", 4)]
    moves = rank_moves({0: 3, 1: 1, 3: 2}, rank(rows))
    assert moves == {1: "", 0: "up", 2: "", 3: "down"}


def test_public_data_is_masked(seeded):
    g, _ = renew(seeded, 0, "3000")
    snap = json.dumps(board.snapshot(seeded.engine, seeded.event_id), ensure_ascii=False)
    assert g["phone"] not in snap
    assert g["vehicles"][0]["plate"] not in snap and g["vehicles"][0]["plate"].replace("·", "") not in snap
    if len(g["name"]) > 1:
        assert f'"{g["name"]}' not in snap and f'{g["name"]} ·' not in snap


def test_group_board_ranks_stores(seeded):
    from datetime import date

    from core.events import create_event
    from core.store import write_session

    with write_session(seeded.engine) as s:
        create_event(s, name="同日 B 店", event_date=date(2026, 12, 5), store_name="B 店")
    renew(seeded, 0, "3000")
    rows = board.group_board(seeded.engine, date(2026, 12, 5))
    assert [r["name"] for r in rows] == ["测试4S店", "B 店"] and rows[0]["renewals"] == 1
