"""The board: ranking, ties, voids leave the totals, masking, the group board."""
from __future__ import annotations

import json

import pytest

from core import board, cashier, checkin
from core.board import rank, rank_moves
from tests.conftest import desk_staff


def renew(seeded, i, commercial, advisor_id=None, reason=""):
    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[i])[0]
    return g, cashier.record_renewal(
        seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], vehicle_id=g["vehicles"][0]["id"],
        insurer="平安", compulsory="950", commercial=commercial, vehicle_tax="300", payment_method="pos", desk="收银1",
        staff_id=desk_staff(seeded.engine), advisor_id=advisor_id, credit_reason=reason or ("改记" if advisor_id else ""),
        confirm_high=True)  # amounts chosen for the ranking, not for the plausibility guard


def test_empty_board(seeded):
    snap = board.snapshot(seeded.engine, seeded.event_id)
    assert snap["totals"]["renewals"] == 0 and snap["totals"]["conversion"] is None
    assert snap["ticker"] == [] and snap["rhythm"] == []
    assert {r["rank"] for r in snap["ranking"]} == {None}  # nobody is ranked for nothing


def test_totals_ranking_and_void(seeded):
    a, b = seeded.advisor_id, seeded.advisor_id + 1
    renew(seeded, 0, "3000", a)
    renew(seeded, 1, "2000", a)
    _, r3 = renew(seeded, 2, "9000", b)
    checkin.check_in(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[3], desk="签到1", staff_id=desk_staff(seeded.engine))
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


def test_no_renewal_no_rank_and_ties_among_the_others_share():
    rows = [{"staff_id": i, "name": n, "renewals": r, "premium_fen": p}
            for i, (n, r, p) in enumerate([("甲", 2, 100), ("乙", 2, 100), ("丙", 0, 0), ("丁", 1, 50), ("戊", 0, 0)])]
    assert [(r["name"], r["rank"]) for r in rank(rows)] == [("乙", 1), ("甲", 1), ("丁", 3), ("丙", None), ("戊", None)]
    assert [(r["name"], r["rank"]) for r in rank(rows, "premium")][-2:] == [("丙", None), ("戊", None)]
    before = rank([{**r, "renewals": 0, "premium_fen": 0} if r["name"] == "丁" else r for r in rows])
    assert board.rank_moves_since(before, rank(rows), 3) == {}  # entering the ranking at 3rd is no ▲, and nobody ▼
    assert rank([]) == [] and all(r["rank"] is None for r in rank(rows[2:3] + rows[4:]))


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


# --- who is ranked, ▲▼, team totals, the manager's rule and pin --------------------------------
def staff_id(seeded, name):
    from sqlalchemy import select

    from core.models import Staff
    from core.store import read_session

    with read_session(seeded.engine) as s:
        return s.execute(select(Staff.id).where(Staff.name == name)).scalar_one()


def test_only_active_callers_are_ranked_and_teams_add_up(seeded):
    from sqlalchemy import update

    from core.events import add_staff
    from core.models import Staff
    from core.store import write_session

    with write_session(seeded.engine) as s:
        ghost = add_staff(s, name="王 磊", role="advisor", team="续保组").id  # an auto-created twin, switched off
        s.execute(update(Staff).where(Staff.id == ghost).values(active=False))
        lone = add_staff(s, name="周无组", role="telesales").id  # a caller with no team
    renew(seeded, 0, "3000", seeded.advisor_id)
    renew(seeded, 1, "2000", seeded.gift_staff_id, "礼品台帮忙")  # credited to a desk person (cashier role)
    renew(seeded, 2, "1000", ghost, "改记")
    renew(seeded, 3, "4000", lone, "改记")
    snap = board.snapshot(seeded.engine, seeded.event_id)
    names = {r["name"] for r in snap["ranking"]}
    assert names == {"陈晓东", "李婷", "王磊", "周无组"}  # no 马礼品 (cashier), 林经理, 郑收银, nor the inactive 王 磊
    t = snap["totals"]
    assert sum(tm["renewals"] for tm in snap["teams"]) == t["renewals"] == 4
    assert sum(tm["premium_fen"] for tm in snap["teams"]) == t["premium_fen"]
    assert sum(tm["arrivals"] for tm in snap["teams"]) == t["arrived"]
    assert snap["teams"][-1]["team"] == board.OTHER_TEAM and snap["teams"][-1]["renewals"] == 3


def test_arrows_only_for_a_real_change_since_the_last_renewal(seeded):
    a, b = seeded.advisor_id, staff_id(seeded, "李婷")
    renew(seeded, 0, "3000", a)  # the first sale: nobody else gets a red ▼
    snap = board.snapshot(seeded.engine, seeded.event_id)
    assert {r["name"]: r["move"] for r in snap["ranking"]} == {"陈晓东": "", "李婷": "", "王磊": ""}
    assert [r["rank"] for r in snap["ranking"]] == [1, None, None]  # no renewal, no rank
    renew(seeded, 1, "1000", b)  # 李婷 second (same count, less premium)
    assert {r["name"]: r["move"] for r in board.snapshot(seeded.engine, seeded.event_id)["ranking"]}["李婷"] == ""  # still 2nd
    renew(seeded, 2, "3000", b)  # 李婷 passes 陈晓东
    snap = board.snapshot(seeded.engine, seeded.event_id)
    moves = {r["name"]: r["move"] for r in snap["ranking"]}
    assert moves == {"李婷": "up", "陈晓东": "down", "王磊": ""}
    assert board.snapshot(seeded.engine, seeded.event_id)["ranking"] == snap["ranking"]  # same on every screen, every tick
    renew(seeded, 3, "100", a)  # a level again (2-2) on renewals, 李婷 still ahead on premium
    moves = {r["name"]: r["move"] for r in board.snapshot(seeded.engine, seeded.event_id)["ranking"]}
    assert moves == {"李婷": "", "陈晓东": "", "王磊": ""}


def test_the_manager_chooses_the_ranking_rule(seeded):
    from core.errors import DeskError

    a, b = seeded.advisor_id, staff_id(seeded, "李婷")
    renew(seeded, 0, "1000", a)
    renew(seeded, 1, "1000", a)
    renew(seeded, 2, "9000", b)
    assert [r["name"] for r in board.snapshot(seeded.engine, seeded.event_id)["ranking"]][:2] == ["陈晓东", "李婷"]
    with pytest.raises(DeskError, match="not_manager"):
        board.set_rank_rule(seeded.engine, event_id=seeded.event_id, rule="premium", staff_id=seeded.cashier_id)
    with pytest.raises(DeskError, match="board_rule_invalid"):
        board.set_rank_rule(seeded.engine, event_id=seeded.event_id, rule="fastest", staff_id=seeded.manager_id)
    board.set_rank_rule(seeded.engine, event_id=seeded.event_id, rule="premium", staff_id=seeded.manager_id)
    snap = board.snapshot(seeded.engine, seeded.event_id)
    assert snap["rule"] == "premium" and [r["name"] for r in snap["ranking"]][:2] == ["李婷", "陈晓东"]
    assert board.rank_rule(seeded.engine, seeded.event_id) == "premium"


def test_the_tv_shows_the_pinned_event_not_the_newest(seeded):
    from datetime import date

    from core.errors import DeskError
    from core.events import create_event
    from core.store import write_session

    with write_session(seeded.engine) as s:
        newer = create_event(s, name="下一场续保会", event_date=date(2027, 1, 9), store_name="测试4S店").id
    assert board.pinned_event_id(seeded.engine) is None
    with pytest.raises(DeskError, match="not_manager"):
        board.pin_event(seeded.engine, event_id=seeded.event_id, staff_id=seeded.advisor_id)
    board.pin_event(seeded.engine, event_id=seeded.event_id, staff_id=seeded.manager_id)
    assert board.board_event(seeded.engine).id == seeded.event_id != newer
    board.pin_event(seeded.engine, event_id=newer, staff_id=seeded.manager_id)
    assert board.board_event(seeded.engine).id == newer


# --- the page, reached through app.py: the TV (nobody signed in) and a signed-in manager ----------
@pytest.fixture
def tv_store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    return seeded_sqlite


def board_through_app(seeded, role: str | None = None):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from pages.common import Station

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=30)
    if role:
        staff = {"manager": seeded.manager_id, "cashier": seeded.cashier_id}[role]
        at.session_state["station"] = Station(staff_id=staff, staff_name="林经理", role=role, desk="礼品台1",
                                              event_id=seeded.event_id, event_name="测试续保会")
    at.run()
    at.switch_page("pages/board.py").run()
    assert not at.exception
    return at


def board_html(at) -> str:
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def test_tv_page_follows_the_pin_and_ranks_callers_only(tv_store):
    from datetime import date

    from core.events import create_event
    from core.store import write_session

    seeded = tv_store
    renew(seeded, 0, "3000", seeded.gift_staff_id, "帮忙")  # credited to the gift-desk person: counted, not ranked
    with write_session(seeded.engine) as s:
        newer = create_event(s, name="明年续保会", event_date=date(2031, 1, 1), store_name="测试4S店").id
    board.pin_event(seeded.engine, event_id=seeded.event_id, staff_id=seeded.manager_id)
    html = board_html(board_through_app(seeded))
    assert f"data-event='{seeded.event_id}'" in html and "测试续保会" in html  # the pinned one, not the newest
    assert "马礼品" not in html and "陈晓东" in html
    assert "上大屏" not in html
    board.pin_event(seeded.engine, event_id=newer, staff_id=seeded.manager_id)
    import streamlit as st

    st.cache_data.clear()  # the page's caches live 1 s
    assert f"data-event='{newer}'" in board_html(board_through_app(seeded))


def test_manager_pins_the_event_and_sets_the_rule_on_the_board(tv_store):
    import streamlit as st

    seeded = tv_store
    st.cache_data.clear()
    at = board_through_app(seeded, role="manager")
    pin = [b for b in at.button if b.label == "上大屏"]
    assert pin
    pin[0].click().run()
    assert not at.exception and board.pinned_event_id(seeded.engine) == seeded.event_id
    assert any("大屏正在显示本活动" in s.value for s in at.success)
    at.radio(key="board_rule").set_value("premium").run()
    assert board.rank_rule(seeded.engine, seeded.event_id) == "premium" and "按保费排名" in board_html(at)
    cashier_view = board_through_app(seeded, role="cashier")
    assert not [b for b in cashier_view.button if b.label == "上大屏"] and not cashier_view.radio


def test_tv_page_shows_no_rank_for_no_renewal(tv_store):
    """Before: 李婷 and 王磊 (no renewal) shared rank 2 on the TV. Now they are listed below with "—",
    and more advisors with nothing than the TV has room for are one counted line, not more pages."""
    import re

    import streamlit as st

    from core.events import add_staff
    from core.store import write_session

    seeded = tv_store
    st.cache_data.clear()
    html = board_html(board_through_app(seeded))
    assert re.search(r"<td>—</td><td>陈晓东</td>", html) and "<td>1 " not in html  # nobody ranked at the start
    renew(seeded, 0, "3000", seeded.advisor_id)
    st.cache_data.clear()
    html = board_html(board_through_app(seeded))
    cells = re.findall(r"<tr class='([^']*)'><td>([^<]*)</td><td>([^<]*)</td>", html)
    assert [(place.strip(), name) for _, place, name in cells if name in ("陈晓东", "李婷", "王磊")] == [
        ("1", "陈晓东"), ("—", "李婷"), ("—", "王磊")]
    assert "另有" not in html
    with write_session(seeded.engine) as s:
        for i in range(14):
            add_staff(s, name=f"新顾问{i:02d}", role="advisor")
    st.cache_data.clear()
    html = board_html(board_through_app(seeded))
    rows = re.findall(r"<tr class='([^']*)'><td>([^<]*)</td><td>([^<]*)</td>", html)
    on_tv = [r for r in rows if "rd-off" not in r[0]]
    assert len(on_tv) == 12 and on_tv[0][2] == "陈晓东"  # 13 rows: 12 people and the count of the others
    assert len(rows) == 17 and "另有 5 位尚未开单" in html and "class='rd-page'" not in html  # the phone lists all 17
