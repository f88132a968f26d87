"""Gift desk: entitlements, stock races, the draw box's weighting, reclaim after a void."""
from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from core import cashier, checkin, gifts
from core.errors import DeskError
from core.models import DrawResult, Event, GiftIssue, GiftType
from core.store import dispose_all, get_engine, read_session, write_session
from tests.conftest import race, desk_staff


def renewed_guest(seeded, i=0, commercial="3000"):
    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[i])[0]
    r = cashier.record_renewal(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                               vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950",
                               commercial=commercial, vehicle_tax="0", payment_method="pos", desk="收银1",
                               staff_id=seeded.cashier_id, confirm_high=True)  # amounts set by the draw rules
    return g, r


def gift(engine, event_id, name):
    with read_session(engine) as s:
        return s.execute(select(GiftType).where(GiftType.event_id == event_id, GiftType.name == name)).scalar_one()


def test_entitlements_and_hand_out(seeded):
    g, r = renewed_guest(seeded)
    due = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])
    assert due["renewals"][0]["gift_due"] and due["renewals"][0]["draws_due"] == 1 and due["arrival_due"]
    out = gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                              renewal_id=r["renewal_id"], desk="礼品1", staff_id=seeded.gift_staff_id)
    assert out["gift"] == "汽车应急工具包"
    assert gift(seeded.engine, seeded.event_id, "汽车应急工具包").stock == 149
    with pytest.raises(DeskError) as e:
        gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                            renewal_id=r["renewal_id"], desk="礼品2", staff_id=desk_staff(seeded.engine))
    assert e.value.reason == "gift_already_given" and e.value.info["desk"] == "礼品1"
    gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], kind="arrival",
                        desk="礼品1", staff_id=desk_staff(seeded.engine))
    due = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])
    assert not due["renewals"][0]["gift_due"] and not due["arrival_due"]


def test_not_renewed_gets_nothing(seeded):
    g = checkin.check_in(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[1], desk="签到1", staff_id=desk_staff(seeded.engine))
    due = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])
    assert due["renewals"] == [] and due["arrival_due"]
    with pytest.raises(DeskError, match="not_renewed"):
        gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], renewal_id=None,
                            desk="礼品1", staff_id=desk_staff(seeded.engine))


def test_out_of_stock_offers_the_substitute(seeded):
    g, r = renewed_guest(seeded)
    main = gift(seeded.engine, seeded.event_id, "汽车应急工具包")
    with write_session(seeded.engine) as s:
        s.execute(update(GiftType).where(GiftType.id == main.id).values(stock=0))
    with pytest.raises(DeskError) as e:
        gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                            renewal_id=r["renewal_id"], desk="礼品1", staff_id=desk_staff(seeded.engine))
    assert e.value.reason == "out_of_stock" and e.value.info["substitute"] == "车载香薰" and e.value.info["left"] > 0
    out = gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                              renewal_id=r["renewal_id"], gift_type_id=e.value.info["substitute_id"], desk="礼品1",
                              staff_id=desk_staff(seeded.engine))
    assert out["substitute"] and out["gift"] == "车载香薰"
    report = {row["name"]: row for row in gifts.stock_report(seeded.engine, seeded.event_id)}
    assert report["汽车应急工具包"]["low"] and report["车载香薰"]["handed_out"] == 1


def test_stock_never_below_zero_in_the_database(seeded):
    from sqlalchemy.exc import IntegrityError

    main = gift(seeded.engine, seeded.event_id, "汽车应急工具包")
    with pytest.raises(IntegrityError):
        with write_session(seeded.engine) as s:
            s.execute(update(GiftType).where(GiftType.id == main.id).values(stock=-1))


def test_top_up_is_audited(seeded):
    main = gift(seeded.engine, seeded.event_id, "汽车应急工具包")
    assert gifts.top_up(seeded.engine, gift_type_id=main.id, add=20, desk="礼品1", staff_id=seeded.manager_id)["stock"] == 170
    with pytest.raises(DeskError, match="stock_invalid"):
        gifts.top_up(seeded.engine, gift_type_id=main.id, add=-5, desk="礼品1", staff_id=seeded.manager_id)


def _grab(url, event_id, invitation_id, renewal_id, barrier, out):
    eng = get_engine(url)
    barrier.wait()
    try:
        gifts.hand_out_gift(eng, event_id=event_id, invitation_id=invitation_id, renewal_id=renewal_id,
                            desk="礼品", staff_id=desk_staff(eng))
        out.put("ok")
    except DeskError as e:
        out.put(e.reason)
    finally:
        dispose_all()


def test_two_desks_last_gift(seeded):
    """Two processes, two renewed guests, one gift left: one gets it, one is offered the substitute."""
    (g1, r1), (g2, r2) = renewed_guest(seeded, 0), renewed_guest(seeded, 1)
    main = gift(seeded.engine, seeded.event_id, "汽车应急工具包")
    with write_session(seeded.engine) as s:
        s.execute(update(GiftType).where(GiftType.id == main.id).values(stock=1))
    url = seeded.engine.url.render_as_string(hide_password=False)
    assert race(_grab, [(url, seeded.event_id, g["invitation_id"], r["renewal_id"])
                        for g, r in ((g1, r1), (g2, r2))]) == ["ok", "out_of_stock"]
    assert gift(seeded.engine, seeded.event_id, "汽车应急工具包").stock == 0


def test_same_renewal_from_two_processes_gets_one_gift(seeded):
    g, r = renewed_guest(seeded, 0)
    url = seeded.engine.url.render_as_string(hide_password=False)
    assert race(_grab, [(url, seeded.event_id, g["invitation_id"], r["renewal_id"])] * 2) == ["gift_already_given", "ok"]
    with read_session(seeded.engine) as s:
        assert s.execute(select(func.count()).select_from(GiftIssue)).scalar_one() == 1


def test_draw_box_tickets_are_gone_once_drawn(sqlite_engine):
    """Over a whole box (150 prizes + 50 blanks), every ticket comes out exactly once."""
    from tests.conftest import seed

    seeded = seed(sqlite_engine, customers=2)
    with write_session(sqlite_engine) as s:
        s.execute(update(GiftType).where(GiftType.event_id == seeded.event_id).values(release_after=None))
        s.get(Event, seeded.event_id).extra_draw_per_fen = 1  # enough chances for the whole box
    g, r = renewed_guest(seeded, 0, commercial="1")
    rng = random.Random(20261205)
    results = [gifts.draw_prize(sqlite_engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1",
                                staff_id=desk_staff(sqlite_engine), randbelow=rng.randrange)["prize"] for _ in range(200)]
    assert Counter(results) == {"后备箱储物箱": 80, "汽车工具箱": 40, "车载吸尘器": 20, "便携洗车机": 10, "谢谢参与": 50}
    with pytest.raises(DeskError, match="box_empty"):
        gifts.draw_prize(sqlite_engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1", staff_id=desk_staff(sqlite_engine))


def test_draw_weighting_follows_what_is_left(sqlite_engine):
    """Fixed-odds statistics: over 4000 draws the shares stay near the set-up counts (fixed seed)."""
    from tests.conftest import seed

    seeded = seed(sqlite_engine, customers=2)
    with write_session(sqlite_engine) as s:
        ev = s.get(Event, seeded.event_id)
        ev.draw_mode, ev.extra_draw_per_fen = "odds", 1
        s.execute(update(GiftType).where(GiftType.event_id == seeded.event_id).values(release_after=None, stock=100000))
    g, r = renewed_guest(seeded, 0, commercial="100")
    rng = random.Random(7)
    results = Counter(gifts.draw_prize(sqlite_engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1",
                                       staff_id=desk_staff(sqlite_engine), randbelow=rng.randrange)["prize"] for _ in range(4000))
    expected = {"后备箱储物箱": 80 / 200, "汽车工具箱": 40 / 200, "车载吸尘器": 20 / 200, "便携洗车机": 10 / 200, "谢谢参与": 50 / 200}
    for name, share in expected.items():
        assert abs(results[name] / 4000 - share) < 0.03, (name, results[name])
    with read_session(sqlite_engine) as s:
        d = s.execute(select(DrawResult).order_by(DrawResult.id)).scalars().first()
        assert d.random_value >= 0 and "谢谢参与" in d.box_seen and d.mode == "odds"


def test_top_prize_waits_for_its_slot_and_consolation(seeded):
    from datetime import timedelta

    from core.clock import now

    g, r = renewed_guest(seeded, 0)
    washer = gift(seeded.engine, seeded.event_id, "便携洗车机")
    with write_session(seeded.engine) as s:
        s.execute(update(GiftType).where(GiftType.event_id == seeded.event_id, GiftType.kind == "prize",
                                         GiftType.is_consolation.is_(False)).values(stock=0))
        s.execute(update(GiftType).where(GiftType.id == washer.id).values(stock=5, release_after=now() + timedelta(hours=1)))
        s.get(Event, seeded.event_id).draw_blank_tickets = 0
    with pytest.raises(DeskError, match="box_empty"):  # the only prize is not released yet
        gifts.draw_prize(seeded.engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1", staff_id=desk_staff(seeded.engine))
    with write_session(seeded.engine) as s:
        s.execute(update(GiftType).where(GiftType.id == washer.id).values(release_after=None, stock=0))
        ev = s.get(Event, seeded.event_id)
        ev.draw_mode = "odds"
    out = gifts.draw_prize(seeded.engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1",
                           staff_id=desk_staff(seeded.engine), randbelow=lambda n: 0)
    assert out["consolation"] and out["prize"] == "安慰奖·玻璃水"


def test_extra_draws_per_premium_and_no_more(seeded):
    with write_session(seeded.engine) as s:
        s.get(Event, seeded.event_id).extra_draw_per_fen = 300000  # one more per 3 000 yuan
    g, r = renewed_guest(seeded, 0, commercial="6000")  # 6 950 yuan: 1 + 2 draws
    due = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])
    assert due["renewals"][0]["draws_due"] == 3
    for _ in range(3):
        gifts.draw_prize(seeded.engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1", staff_id=desk_staff(seeded.engine))
    with pytest.raises(DeskError, match="no_draw_left"):
        gifts.draw_prize(seeded.engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1", staff_id=desk_staff(seeded.engine))


def test_void_flags_reclaim_and_stops_entitlements(seeded):
    g, r = renewed_guest(seeded, 0)
    gifts.hand_out_gift(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                        renewal_id=r["renewal_id"], desk="礼品1", staff_id=desk_staff(seeded.engine))
    gifts.draw_prize(seeded.engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1", staff_id=desk_staff(seeded.engine),
                     randbelow=lambda n: 0)  # the first ticket: a prize
    cashier.void_renewal(seeded.engine, renewal_id=r["renewal_id"], reason="客户退保", desk="收银1",
                         staff_id=seeded.manager_id)
    due = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])
    assert due["renewals"][0]["voided"] and not due["renewals"][0]["gift_due"] and due["renewals"][0]["draws_due"] == 0
    assert {x["kind"] for x in due["reclaim"]} == {"gift", "draw"}
    with pytest.raises(DeskError, match="not_renewed"):
        gifts.draw_prize(seeded.engine, event_id=seeded.event_id, renewal_id=r["renewal_id"], desk="礼品1", staff_id=desk_staff(seeded.engine))
    before = gift(seeded.engine, seeded.event_id, "汽车应急工具包").stock
    for item in due["reclaim"]:
        gifts.mark_reclaimed(seeded.engine, kind=item["kind"], item_id=item["id"], desk="礼品1", staff_id=desk_staff(seeded.engine))
    assert gift(seeded.engine, seeded.event_id, "汽车应急工具包").stock == before + 1
    assert gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])["reclaim"] == []


def test_set_up_refusals_name_the_problem(seeded):
    with pytest.raises(DeskError, match="gift_name_invalid"):
        gifts.add_gift_type(seeded.engine, event_id=seeded.event_id, name=" <b> ", kind="prize", stock=5,
                            staff_id=seeded.manager_id)
    with pytest.raises(DeskError, match="draw_rules_invalid"):
        gifts.set_draw_rules(seeded.engine, event_id=seeded.event_id, mode="box", blank_tickets=-1,
                             extra_draw_per_fen=0, arrival_gift_on=False, staff_id=seeded.manager_id)
    names = {g["name"] for g in gifts.stock_report(seeded.engine, seeded.event_id)}
    assert "<b>" not in names


def test_gift_out_of_stock_still_draws_and_substitute_plus_draw_is_one_receipt(seeded):
    """'发续保礼并抽奖' with the gift out: the draw is not skipped. The desk is offered the
    substitute up front, and substitute + draw is one call with one receipt."""
    from core.models import PrintJob

    main = gift(seeded.engine, seeded.event_id, "汽车应急工具包")
    with write_session(seeded.engine) as s:
        s.execute(update(GiftType).where(GiftType.id == main.id).values(stock=0))
    g, r = renewed_guest(seeded, 0)
    done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                       renewal_id=r["renewal_id"], gift=True, draw=True, desk="礼品1", staff_id=desk_staff(seeded.engine))
    assert done["refusal"].reason == "out_of_stock" and done["refusal"].info["substitute_id"]
    assert done["prize"] is not None and done["job"] is not None  # the draw happened and printed
    due = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])
    assert due["renewals"][0]["gift_due"] and due["renewals"][0]["draws_due"] == 0
    offer = due["renewal_gift"]
    assert offer["out"] and offer["substitute"] == "车载香薰"

    g2, r2 = renewed_guest(seeded, 1)
    with read_session(seeded.engine) as s:
        jobs_before = s.execute(select(func.count()).select_from(PrintJob)).scalar_one()
    done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g2["invitation_id"],
                       renewal_id=r2["renewal_id"], gift=True, draw=True, gift_type_id=offer["substitute_id"],
                       desk="礼品1", staff_id=desk_staff(seeded.engine))
    assert done["refusals"] == [] and done["gift"] == "车载香薰" and done["substitute"] and done["prize"] is not None
    with read_session(seeded.engine) as s:
        assert s.execute(select(func.count()).select_from(PrintJob)).scalar_one() == jobs_before + 1
        gi = s.execute(select(GiftIssue).where(GiftIssue.renewal_id == r2["renewal_id"])).scalar_one()
        d = s.execute(select(DrawResult).where(DrawResult.renewal_id == r2["renewal_id"])).scalar_one()
        assert gi.receipt_no == d.receipt_no == done["job"]["receipt_no"]
    due = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g2["invitation_id"])
    assert not due["renewals"][0]["gift_due"] and due["renewals"][0]["draws_due"] == 0


def test_demo_top_prize_is_released_on_the_whole_minute(seeded):
    washer = gift(seeded.engine, seeded.event_id, "便携洗车机")
    assert washer.release_after is not None
    assert (washer.release_after.hour, washer.release_after.minute) == (14, 0)
    assert washer.release_after.second == 0 and washer.release_after.microsecond == 0


# --- the gift desk page, reached through app.py as a gift-desk cashier --------------------------
@pytest.fixture
def desk_store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    return seeded_sqlite


def gift_desk(seeded):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from pages.common import Station

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=30)
    at.session_state["station"] = Station(staff_id=seeded.gift_staff_id, staff_name="马礼品", role="cashier",
                                          desk="礼品台1", event_id=seeded.event_id, event_name="测试续保会")
    at.run()
    at.switch_page("pages/gifts.py").run()
    assert not at.exception
    return at


def test_page_substitute_and_draw_is_one_tap(desk_store):
    seeded = desk_store
    main = gift(seeded.engine, seeded.event_id, "汽车应急工具包")
    with write_session(seeded.engine) as s:
        s.execute(update(GiftType).where(GiftType.id == main.id).values(stock=0))
    renewed_guest(seeded, 0)
    at = gift_desk(seeded)
    at.text_input(key="gift_scan").input(seeded.codes[0]).run()
    assert any("汽车应急工具包" in w.value and "车载香薰" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label == "发续保礼并抽奖"]
    [b for b in at.button if b.label == "发替代礼“车载香薰”并抽奖"][0].click().run()
    assert not at.exception
    html = "\n".join(str(h.proto.body) for h in at.get("html"))
    assert "已发放：车载香薰" in html and ("恭喜中奖" in html or "谢谢参与" in html)
    preview = "\n".join(c.value for c in at.code)
    assert "续保礼：车载香薰（替代品） ×1" in preview and "抽奖第1次" in preview  # one receipt with both


def test_page_finds_and_reprints_any_receipt(desk_store):
    from core import receipts
    from tests.fakeprinter import FakePrinter, decode

    seeded = desk_store
    p = FakePrinter()
    try:
        receipts.save_desk_printer(seeded.engine, desk="礼品台1", connection="network", host="127.0.0.1", port=p.port)
        g, r = renewed_guest(seeded, 0)
        done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                           renewal_id=r["renewal_id"], gift=True, draw=False, desk="礼品台1", staff_id=desk_staff(seeded.engine))
        assert done["job"]["status"] == "printed"
        at = gift_desk(seeded)
        at.text_input(key="gift_receipt_q").input(g["phone"][-4:]).run()
        buttons = [b for b in at.button if b.key == f"reprint_any_{done['job']['receipt_no']}"]
        assert buttons and buttons[0].label == "补打（副本）"
        buttons[0].click().run()
        assert not at.exception
        assert "【副本 COPY】" in decode(p.wait_for(2)[1])["lines"]
        at.text_input(key="gift_receipt_q").input("无此人").run()
        assert not [b for b in at.button if (b.key or "").startswith("reprint_any_")]
    finally:
        p.close()
