"""Nothing stops the desks, nothing is lost (issue 10): the writer queue gives up after the busy
limit instead of freezing every desk; receipts cut off by a crash become reprintable."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from datetime import timedelta

import pytest

from core import checkin, receipts
from core.clock import now
from core.errors import DeskError
from core.models import PrintJob
from core.store import get_engine, write_session
from tests.conftest import desk_staff


pytestmark = pytest.mark.usefixtures("no_page_main")  # spawned desk processes (see tests.conftest.plain_main)


def _hold_the_writer_turn(url, ready):
    eng = get_engine(url)
    with write_session(eng) as s:
        s.connection().exec_driver_sql("SELECT 1")
        ready.set()
        os.kill(os.getpid(), signal.SIGSTOP)  # a writer stopped inside its transaction


def test_a_stopped_writer_does_not_freeze_the_other_desks(seeded_sqlite, monkeypatch):
    url = seeded_sqlite.engine.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_the_writer_turn, args=(url, ready))
    holder.start()
    try:
        assert ready.wait(60)
        monkeypatch.setenv("RENEWDAY_BUSY_TIMEOUT_S", "1")
        answer: list = []

        def desk():
            try:
                checkin.check_in(seeded_sqlite.engine, event_id=seeded_sqlite.event_id, raw=seeded_sqlite.codes[0],
                                 desk="签到台2", staff_id=desk_staff(seeded_sqlite.engine))
                answer.append("done")
            except DeskError as e:
                answer.append(e.reason)

        t = threading.Thread(target=desk, daemon=True)
        t.start()
        t.join(30)  # before the fix the desk waited as long as the stopped writer: forever
        assert answer == ["store_busy"]
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
    monkeypatch.setenv("RENEWDAY_BUSY_TIMEOUT_S", "30")
    out = checkin.check_in(seeded_sqlite.engine, event_id=seeded_sqlite.event_id, raw=seeded_sqlite.codes[0],
                           desk="签到台2", staff_id=desk_staff(seeded_sqlite.engine))  # the killed writer's lock is gone with it
    assert out["status"] == "welcome"


def test_print_jobs_left_pending_by_a_crash_become_reprintable(seeded):
    eng = seeded.engine
    with write_session(eng) as s:
        old = PrintJob(event_id=seeded.event_id, receipt_no="LP-1", desk="礼品台1", payload=b"x", status="pending",
                       created_at=now() - timedelta(seconds=60))
        fresh = PrintJob(event_id=seeded.event_id, receipt_no="LP-2", desk="礼品台1", payload=b"x", status="pending",
                         created_at=now())
        s.add_all([old, fresh])
    assert receipts.recover_pending(eng) == 1  # the one being sent right now is left alone
    failed = receipts.jobs(eng, event_id=seeded.event_id, failed_only=True)
    assert [j["receipt_no"] for j in failed] == ["LP-1"] and "重新打印" in failed[0]["error"]
    assert receipts.recover_pending(eng) == 0


@pytest.mark.parametrize("busy", ["2", "junk"])
def test_busy_limit_setting(monkeypatch, busy):
    from core.store import busy_timeout_s

    monkeypatch.setenv("RENEWDAY_BUSY_TIMEOUT_S", busy)
    assert busy_timeout_s() == (2.0 if busy == "2" else 30.0)


def test_a_receipt_that_cannot_be_stored_undoes_the_whole_tap_and_a_failed_send_keeps_it(seeded, monkeypatch):
    """The hand-out and its receipt job are one transaction: on a full disk while the receipt is
    stored nothing is given (the desk is told, stock untouched, a retry works); when the send
    itself blows up, the gift and its pending job stay saved and the job becomes reprintable."""
    from core import cashier, gifts
    from core.models import GiftIssue, GiftType
    from core.store import read_session
    from sqlalchemy import func, select

    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[0])[0]
    r = cashier.record_renewal(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                               vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3000",
                               vehicle_tax="0", payment_method="pos", desk="礼品台1", staff_id=seeded.cashier_id)

    from tests.fakeprinter import free_port

    receipts.save_desk_printer(seeded.engine, desk="礼品台1", connection="network", host="127.0.0.1", port=free_port())

    def stock() -> int:
        with read_session(seeded.engine) as s:
            return sum(s.execute(select(GiftType.stock)).scalars())

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    before = stock()
    with monkeypatch.context() as m:
        m.setattr(receipts, "store_job", disk_full)
        done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                           renewal_id=r["renewal_id"], desk="礼品台1", staff_id=desk_staff(seeded.engine), nonce="n-disk")
    assert done["gift"] is None and done["job"] is None and done["refusal"].reason == "system_error"
    assert stock() == before
    with read_session(seeded.engine) as s:
        assert s.execute(select(func.count()).select_from(GiftIssue)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(PrintJob)).scalar_one() == 0
    with monkeypatch.context() as m:  # the retry (same nonce: the failed tap left none behind) gives it
        m.setattr(receipts, "send_job", disk_full)
        done = gifts.serve(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                           renewal_id=r["renewal_id"], desk="礼品台1", staff_id=desk_staff(seeded.engine), nonce="n-disk")
    assert done["gift"] and done["refusal"] is None and done["job"]["status"] == "pending"
    assert stock() == before - 1
    with write_session(seeded.engine) as s:
        job = s.get(PrintJob, done["job"]["job_id"])
        job.created_at = now() - timedelta(seconds=60)
    assert receipts.recover_pending(seeded.engine) == 1
    assert [j["receipt_no"] for j in receipts.jobs(seeded.engine, event_id=seeded.event_id, failed_only=True)] \
        == [done["job"]["receipt_no"]]
