"""A repeated tap at the gift desk (double click, retried request) carries the same nonce and
acts once: one hand-out, one draw, one receipt job, one print, stock taken once; the replay
shows the same result and the same receipt (issue 10)."""
from __future__ import annotations

from sqlalchemy import func, select, update

from core import gifts, receipts
from core.models import DrawResult, GiftIssue, GiftType, PrintJob
from core.store import read_session, write_session
from tests.conftest import desk_staff
from tests.fakeprinter import FakePrinter
from tests.test_gifts import renewed_guest


def counts(engine) -> dict:
    with read_session(engine) as s:
        return {"gifts": s.execute(select(func.count()).select_from(GiftIssue)).scalar_one(),
                "draws": s.execute(select(func.count()).select_from(DrawResult)).scalar_one(),
                "jobs": s.execute(select(func.count()).select_from(PrintJob)).scalar_one(),
                "stock": sum(s.execute(select(GiftType.stock)).scalars())}


def test_same_nonce_twice_gives_once_draws_once_prints_once(seeded):
    p = FakePrinter()
    try:
        receipts.save_desk_printer(seeded.engine, desk="礼品台1", connection="network", host="127.0.0.1", port=p.port)
        g, r = renewed_guest(seeded)
        before = counts(seeded.engine)
        kw = dict(event_id=seeded.event_id, invitation_id=g["invitation_id"], renewal_id=r["renewal_id"], gift=True,
                  draw=True, desk="礼品台1", staff_id=seeded.gift_staff_id, nonce="gifts|tap-1")
        first = gifts.serve(seeded.engine, **kw)
        again = gifts.serve(seeded.engine, **kw)
        after = counts(seeded.engine)
        assert first["refusal"] is None and first["job"]["status"] == "printed" and not first["replayed"]
        assert again["replayed"] and again["refusal"] is None  # never 'already given'
        assert (again["gift"], again["prize"], again["won"]) == (first["gift"], first["prize"], first["won"])
        assert again["job"]["job_id"] == first["job"]["job_id"] and again["job"]["status"] == "printed"
        assert after["gifts"] == before["gifts"] + 1 and after["draws"] == before["draws"] + 1
        assert after["jobs"] == before["jobs"] + 1
        assert after["stock"] == before["stock"] - 1 - (1 if first["won"] else 0)
        assert len(p.received) == 1  # one paper receipt
    finally:
        p.close()


def test_arrival_and_substitute_taps_replay_too(seeded):
    g, r = renewed_guest(seeded)
    arrival = dict(event_id=seeded.event_id, invitation_id=g["invitation_id"], kind="arrival", desk="礼品台1",
                   staff_id=desk_staff(seeded.engine), nonce="gifts|arrival-1")
    a1, a2 = gifts.serve(seeded.engine, **arrival), gifts.serve(seeded.engine, **arrival)
    assert a1["gift"] and a2["replayed"] and a2["gift"] == a1["gift"] and a2["job"]["receipt_no"] == a1["job"]["receipt_no"]
    with write_session(seeded.engine) as s:  # the planned renewal gift ran out: substitute + draw in one tap
        s.execute(update(GiftType).where(GiftType.name == "汽车应急工具包").values(stock=0))
    sub = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])["renewal_gift"]
    before = counts(seeded.engine)
    tap = dict(event_id=seeded.event_id, invitation_id=g["invitation_id"], renewal_id=r["renewal_id"], gift=True,
               draw=True, gift_type_id=sub["substitute_id"], desk="礼品台1", staff_id=desk_staff(seeded.engine), nonce="gifts|sub-1")
    s1, s2 = gifts.serve(seeded.engine, **tap), gifts.serve(seeded.engine, **tap)
    after = counts(seeded.engine)
    assert s1["substitute"] and s2["replayed"] and s2["refusals"] == [] and s2["job"]["job_id"] == s1["job"]["job_id"]
    assert (after["gifts"], after["draws"], after["jobs"]) == (before["gifts"] + 1, before["draws"] + 1, before["jobs"] + 1)


def test_a_refused_tap_stores_no_nonce_and_a_new_nonce_acts_again(seeded):
    """Only a tap that did something is replayed; the next showing of a button (a new nonce)
    draws the next chance."""
    from core.models import Event

    with write_session(seeded.engine) as s:
        s.get(Event, seeded.event_id).extra_draw_per_fen = 200000  # the premium earns an extra draw
    g, r = renewed_guest(seeded)
    due = gifts.entitlements(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"])
    allowed = due["renewals"][0]["draws_allowed"]
    assert allowed >= 2
    for i in range(allowed):
        d = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                        renewal_id=r["renewal_id"], gift=False, draw=True, desk="礼品台1", staff_id=desk_staff(seeded.engine),
                        nonce=f"gifts|draw-{i}")
        assert d["refusal"] is None and d["prize"]
    over = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                       renewal_id=r["renewal_id"], gift=False, draw=True, desk="礼品台1", staff_id=desk_staff(seeded.engine), nonce="gifts|x")
    assert over["refusal"].reason == "no_draw_left" and over["job"] is None
    assert counts(seeded.engine)["draws"] == allowed


# --- the gift desk page, reached through app.py as the gift-desk cashier --------------------
def test_page_buttons_carry_a_nonce_and_a_retried_tap_shows_the_first_answer(seeded_sqlite, monkeypatch):
    """The tap's first request was saved, but its answer never reached the tablet (the browser
    retries it, with the same nonce): the page shows the same green result and the same
    receipt, not 'already given', and no second receipt job."""
    from tests.test_gifts import gift_desk

    seeded = seeded_sqlite
    monkeypatch.setenv("DATABASE_URL", seeded.engine.url.render_as_string(hide_password=False))
    g, r = renewed_guest(seeded)
    at = gift_desk(seeded)
    at.text_input(key="gift_scan").input(seeded.codes[0]).run()
    nonce = at.session_state[f"nonce_gift_both_{r['renewal_id']}"]
    button = at.button(key=nonce)  # keyed by its nonce
    assert button.label == "发续保礼并抽奖"
    first = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                        renewal_id=r["renewal_id"], gift=True, draw=True, desk="礼品台1",
                        staff_id=seeded.gift_staff_id, nonce=nonce)  # the first request, answer lost
    before = counts(seeded.engine)
    button.click().run()
    assert not at.exception
    html = "\n".join(str(h.proto.body) for h in at.get("html"))
    assert f"已发放：{first['gift']}" in html and "不能发放" not in html and "已发放（" not in html
    preview = "\n".join(c.value for c in at.code)
    assert first["job"]["receipt_no"] in preview  # the same receipt on screen
    assert counts(seeded.engine) == before  # nothing handed out, drawn or queued again
    assert f"nonce_gift_both_{r['renewal_id']}" not in at.session_state  # spent: the next tap is a new one


def test_page_one_tap_gives_once_and_spends_the_nonce(seeded_sqlite, monkeypatch):
    from tests.test_gifts import gift_desk

    seeded = seeded_sqlite
    monkeypatch.setenv("DATABASE_URL", seeded.engine.url.render_as_string(hide_password=False))
    g, r = renewed_guest(seeded)
    at = gift_desk(seeded)
    at.text_input(key="gift_scan").input(seeded.codes[0]).run()
    before = counts(seeded.engine)
    form = f"nonce_gift_arrival_{g['invitation_id']}"
    at.button(key=at.session_state[form]).click().run()
    assert not at.exception
    after = counts(seeded.engine)
    assert (after["gifts"], after["jobs"]) == (before["gifts"] + 1, before["jobs"] + 1)
    assert form not in at.session_state and not [b for b in at.button if b.label == "发到店礼"]


# --- reprint feedback on a desk without a printer (walkthrough) ---------------------------------
def test_a_screen_receipt_reprinted_is_marked_copy(seeded):
    """The receipt was shown on a printer-less desk's screen: that was the original; its reprint
    (on screen or on paper) carries 副本 like a paper one's."""
    g, r = renewed_guest(seeded)
    done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                       renewal_id=r["renewal_id"], gift=True, draw=False, desk="礼品台1", staff_id=desk_staff(seeded.engine))
    assert done["job"]["status"] == "screen" and not done["job"]["is_copy"]
    again = receipts.reprint(seeded.engine, job_id=done["job"]["job_id"], desk="礼品台1")
    assert again["status"] == "screen" and again["is_copy"]
    assert "【副本 COPY】" in receipts.preview(seeded.engine, again["job_id"])["lines"]
    assert "【副本 COPY】" not in receipts.preview(seeded.engine, done["job"]["job_id"])["lines"]
    [row] = receipts.search(seeded.engine, event_id=seeded.event_id, query=done["job"]["receipt_no"])
    assert row["delivered"] and not row["printed"]


def test_page_says_when_the_desk_has_no_printer_and_marks_an_on_screen_copy(seeded_sqlite, monkeypatch):
    from tests.test_gifts import gift_desk

    seeded = seeded_sqlite
    monkeypatch.setenv("DATABASE_URL", seeded.engine.url.render_as_string(hide_password=False))
    g, r = renewed_guest(seeded)
    done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                       renewal_id=r["renewal_id"], gift=True, draw=False, desk="礼品台1", staff_id=desk_staff(seeded.engine))
    at = gift_desk(seeded)
    assert any("未设置小票打印机" in i.value and "活动设置" in i.value for i in at.info)
    at.text_input(key="gift_receipt_q").input(done["job"]["receipt_no"]).run()
    button = at.button(key=f"reprint_any_{done['job']['receipt_no']}")
    assert button.label == "补打（副本）"
    button.click().run()
    assert not at.exception
    assert any("显示在屏幕上" in i.value and "副本" in i.value for i in at.info)
    assert "【副本 COPY】" in "\n".join(c.value for c in at.code)
    receipts.save_desk_printer(seeded.engine, desk="礼品台1", connection="network", host="127.0.0.1", port=9)
    at.run()
    assert not any("未设置小票打印机" in i.value for i in at.info)  # a desk with a printer is not told
