"""A gift desk killed (kill -9) right after its tap committed, before the receipt was sent:
the hand-out and its receipt's print job were one transaction, so every hand-out still has
exactly one receipt job, and the job cut off before sending is offered for reprint (issue 10)."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal

import pytest
from sqlalchemy import func, select

from core import gifts, receipts
from core.models import DrawResult, GiftIssue, PrintJob
from core.store import get_engine, read_session
from tests.conftest import desk_staff
from tests.fakeprinter import free_port
from tests.test_gifts import renewed_guest

pytestmark = pytest.mark.usefixtures("no_page_main")  # spawned desk processes (see tests.conftest.plain_main)


def _tap_then_die(url, tap):
    """The desk process: the moment its first transaction has committed, it is killed -9 (as by
    a power cut or the OOM killer), before anything is sent."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def die(session) -> None:
        if not session.in_nested_transaction():  # a savepoint released is not the commit
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Session, "after_commit", die)
    gifts.serve(get_engine(url), **tap)


def test_kill_9_between_commit_and_send_leaves_every_hand_out_with_one_reprintable_receipt(seeded):
    eng = seeded.engine
    url = eng.url.render_as_string(hide_password=False)
    receipts.save_desk_printer(eng, desk="礼品台1", connection="network", host="127.0.0.1", port=free_port())
    g0, r0 = renewed_guest(seeded, 0)
    g1, r1 = renewed_guest(seeded, 1)
    base = dict(event_id=seeded.event_id, desk="礼品台1", staff_id=desk_staff(seeded.engine))
    taps = [dict(base, invitation_id=g0["invitation_id"], renewal_id=r0["renewal_id"], gift=True, draw=True),
            dict(base, invitation_id=g1["invitation_id"], renewal_id=r1["renewal_id"], gift=False, draw=True),
            dict(base, invitation_id=g1["invitation_id"], kind="arrival", gift=True, draw=False)]
    ctx = mp.get_context("spawn")
    for tap in taps:
        desk = ctx.Process(target=_tap_then_die, args=(url, tap))
        desk.start()
        desk.join(120)
        assert desk.exitcode == -signal.SIGKILL
    with read_session(eng) as s:
        issued = s.execute(select(GiftIssue.receipt_no)).scalars().all() + s.execute(select(DrawResult.receipt_no)).scalars().all()
        assert len(issued) == 4  # two gifts, two draws: all saved before the kill
        assert all(issued)  # each carries its receipt number
        for receipt_no in set(issued):
            jobs = s.execute(select(PrintJob.status).where(PrintJob.receipt_no == receipt_no)).scalars().all()
            assert jobs == ["pending"], receipt_no  # exactly one job, never sent
        assert s.execute(select(func.count()).select_from(PrintJob)).scalar_one() == 3  # one receipt per tap
    assert receipts.recover_pending(eng, older_than_s=0) == 3  # (the app does this on its next start)
    offered = {j["receipt_no"] for j in receipts.jobs(eng, event_id=seeded.event_id, failed_only=True)}
    assert offered == set(issued)
    again = receipts.reprint(eng, job_id=receipts.jobs(eng, event_id=seeded.event_id, failed_only=True)[0]["job_id"],
                             desk="礼品台1")
    assert again["receipt_no"] in offered and not again["is_copy"]  # never printed: it comes out as the original
