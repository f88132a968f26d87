"""Eight desks at once and a kill -9 (issue 10), on SQLite and PostgreSQL: no duplicate, no
negative stock, totals that reconcile, no print job left pending. Bounded: a few seconds each."""
from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time

import pytest
from sqlalchemy import func, select, text

from core import board, cashier, checkin, gifts, receipts
from core.errors import DeskError
from core.models import CheckIn, DrawResult, GiftIssue, GiftType, PrintJob, Renewal
from core.store import dispose_all, get_engine, read_session
from tests.conftest import seed, desk_staff

# Refusals a desk may meet when another desk served the same guest first: all fine.
EXPECTED = {"already_checked_in", "already_renewed", "gift_already_given", "no_draw_left", "out_of_stock",
            "box_empty", "not_renewed", "nothing_due", "conflict_retry"}


pytestmark = pytest.mark.usefixtures("no_page_main")  # spawned desk processes (see tests.conftest.plain_main)


def _desk(url, event_id, cashier_id, manager_id, codes, seed_no, barrier, out, progress=None):
    """One desk process: check in, renew, hand out with its receipt, draw, now and then a void;
    the guests overlap with every other desk's."""
    eng = get_engine(url)
    rng = random.Random(seed_no)
    errors: list[str] = []
    barrier.wait(60)
    for code in rng.sample(codes, len(codes)):
        v = None
        try:
            v = checkin.check_in(eng, event_id=event_id, raw=code, desk=f"签到{seed_no}", staff_id=desk_staff(eng))
        except DeskError as e:
            if e.reason not in EXPECTED:
                errors.append(f"check_in {e.reason}")
        try:
            g = checkin.find(eng, event_id=event_id, raw=code)[0]
            r = cashier.record_renewal(eng, event_id=event_id, invitation_id=g["invitation_id"],
                                       vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="855",
                                       commercial="3000", vehicle_tax="360", payment_method="pos",
                                       desk=f"收银{seed_no}", staff_id=cashier_id)
            rid = r["renewal_id"]
        except DeskError as e:
            if e.reason not in EXPECTED:
                errors.append(f"renewal {e.reason}")
            rows = cashier.renewal_rows(eng, event_id, invitation_id=g["invitation_id"])
            live = [x for x in rows if not x["voided"]]
            rid = live[0]["renewal_id"] if live else None
        if rid is None:
            continue
        done = gifts.serve(eng, event_id=event_id, invitation_id=g["invitation_id"], renewal_id=rid,
                           desk="礼品台1" if seed_no % 2 else "礼品台2", staff_id=desk_staff(eng), gift=True, draw=True)
        if done["refusal"] is not None and done["refusal"].reason not in EXPECTED:
            errors.append(f"serve {done['refusal'].reason}")
        if rng.random() < 0.1:
            try:
                cashier.void_renewal(eng, renewal_id=rid, reason="测试作废", desk="经理", staff_id=manager_id)
            except DeskError as e:
                if e.reason != "voided":
                    errors.append(f"void {e.reason}")
        if progress is not None:
            with progress.get_lock():
                progress.value += 1
    dispose_all()
    out.put(errors)


def check_invariants(engine, event_id: int) -> None:
    with read_session(engine) as s:
        one = s.execute
        # no duplicate: one check-in per invitation, one live renewal per vehicle, one gift per renewal
        assert one(select(func.count()).select_from(CheckIn)).scalar_one() == \
            one(select(func.count(func.distinct(CheckIn.invitation_id)))).scalar_one()
        assert not one(select(Renewal.vehicle_id).where(Renewal.voided_at.is_(None))
                       .group_by(Renewal.event_id, Renewal.vehicle_id).having(func.count() > 1)).first()
        assert not one(select(GiftIssue.renewal_id).where(GiftIssue.kind == "renewal")
                       .group_by(GiftIssue.renewal_id).having(func.count() > 1)).first()
        assert not one(select(DrawResult.renewal_id, DrawResult.chance_no)
                       .group_by(DrawResult.renewal_id, DrawResult.chance_no).having(func.count() > 1)).first()
        # no negative stock, and stock moved exactly by what was handed out or won (and brought back)
        for g in one(select(GiftType).where(GiftType.event_id == event_id)).scalars():
            assert g.stock >= 0, g.name
            handed = one(select(func.count()).select_from(GiftIssue).where(GiftIssue.gift_type_id == g.id)).scalar_one()
            won = one(select(func.count()).select_from(DrawResult).where(DrawResult.prize_id == g.id)).scalar_one()
            back = one(select(func.count()).select_from(GiftIssue).where(GiftIssue.gift_type_id == g.id,
                                                                          GiftIssue.reclaimed_at.is_not(None))).scalar_one()
            back += one(select(func.count()).select_from(DrawResult).where(DrawResult.prize_id == g.id,
                                                                            DrawResult.reclaimed_at.is_not(None))).scalar_one()
            assert g.initial_stock - g.stock == handed + won - back, g.name
        live_total = one(select(func.coalesce(func.sum(Renewal.total_fen), 0))
                         .where(Renewal.event_id == event_id, Renewal.voided_at.is_(None))).scalar_one()
        live_premium = one(select(func.coalesce(func.sum(Renewal.compulsory_fen + Renewal.commercial_fen), 0))
                           .where(Renewal.event_id == event_id, Renewal.voided_at.is_(None))).scalar_one()
        live_count = one(select(func.count()).select_from(Renewal)
                         .where(Renewal.event_id == event_id, Renewal.voided_at.is_(None))).scalar_one()
        assert one(select(func.count()).select_from(PrintJob).where(PrintJob.status == "pending")).scalar_one() == 0
    # totals reconcile: the cash-up and the board agree with the renewals
    up = cashier.cash_up(engine, event_id)
    assert sum(m["total_fen"] for m in up.values()) == live_total
    assert sum(m["count"] for m in up.values()) == live_count
    snap = board.snapshot(engine, event_id)
    assert snap["totals"]["renewals"] == live_count and snap["totals"]["premium_fen"] == live_premium


def _start(url, s, codes, n, progress=None):
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_desk, args=(url, s.event_id, s.cashier_id, s.manager_id, codes, i, barrier, out,
                                             progress)) for i in range(n)]
    for p in procs:
        p.start()
    return procs, out, barrier  # the barrier must outlive the children's start


def test_eight_desk_processes_on_overlapping_guests(engine):
    s = seed(engine, customers=8)
    url = engine.url.render_as_string(hide_password=False)
    dispose_all()
    procs, out, _barrier = _start(url, s, s.codes, 8)
    errors = []
    for _ in procs:
        errors += out.get(timeout=180)
    for p in procs:
        p.join(30)
    assert errors == []
    eng = get_engine(url)
    check_invariants(eng, s.event_id)
    with read_session(eng) as r:
        assert r.execute(select(func.count()).select_from(CheckIn)).scalar_one() == len(s.codes)


def test_kill_9_in_the_middle_loses_nothing_and_leaves_no_job_pending(engine):
    from tests.fakeprinter import FakePrinter

    s = seed(engine, customers=40)
    url = engine.url.render_as_string(hide_password=False)
    silent = FakePrinter(mode="silent")  # receipts hang in 'pending' until the send times out
    try:
        receipts.save_desk_printer(engine, desk="礼品台1", connection="network", host="127.0.0.1", port=silent.port,
                                   timeout_s=2.5)
        dispose_all()
        progress = mp.get_context("spawn").Value("i", 0)
        procs, _out, _barrier = _start(url, s, s.codes, 4, progress)
        deadline = time.monotonic() + 120
        while progress.value < 6 and time.monotonic() < deadline and any(p.is_alive() for p in procs):
            time.sleep(0.05)
        for p in procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGKILL)
        for p in procs:
            p.join(10)
        assert progress.value >= 6
    finally:
        silent.close()
    eng = get_engine(url)
    if eng.dialect.name == "sqlite":
        with eng.connect() as c:
            assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    # What the app does on start and every 10 s: receipts cut off become failed, reprintable.
    receipts.recover_pending(eng, older_than_s=0)
    check_invariants(eng, s.event_id)
    # and the desks go on: the killed writers' locks died with them
    left = [c for c in s.codes if not checkin.find(eng, event_id=s.event_id, raw=c)[0]["checked_in_at"]]
    if left:
        assert checkin.check_in(eng, event_id=s.event_id, raw=left[0], desk="签到台1", staff_id=desk_staff(eng))["status"] == "welcome"
