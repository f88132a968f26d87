"""Fixtures: a real SQLite file per test and, where RENEWDAY_TEST_PG_URL is set (.ci/run sets
it), a fresh PostgreSQL database per test. Under CI=true a missing server fails the run."""
from __future__ import annotations

import os
from contextlib import contextmanager
import secrets
import shutil
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from core import migrate
from core.store import dispose_all, get_engine, read_session, write_session

PG_URL = os.environ.get("RENEWDAY_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("RENEWDAY_CHROMIUM", "/usr/bin/chromium")
MANAGER_PIN = "246810"  # a real (non-demo) store needs at least 6 digits


def missing(what: str, why: str):
    if IN_CI:
        pytest.fail(f"{what} is required under CI but {why}", pytrace=False)
    pytest.skip(f"{what} skipped: {why}")


def need_chromium() -> str:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        missing("browser test", f"{CHROMIUM} not found (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def pg_url():
    if not PG_URL:
        missing("PostgreSQL test", "RENEWDAY_TEST_PG_URL is not set (.ci/run starts a server on loopback)")
    name = f"renewday_t_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # server down or unreachable
        admin.dispose()
        missing("PostgreSQL test", f"cannot create a database at {PG_URL}: {exc.__class__.__name__}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    dispose_all()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'event.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'event.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(store_url):
    """A migrated store, on SQLite and (in CI) on PostgreSQL."""
    eng = get_engine(store_url)
    migrate.upgrade(eng)
    yield eng
    dispose_all()


@pytest.fixture
def sqlite_engine(sqlite_url):
    eng = get_engine(sqlite_url)
    migrate.upgrade(eng)
    yield eng
    dispose_all()


@contextmanager
def plain_main():
    """Streamlit's AppTest leaves the last page script as __main__, and a spawned process re-runs
    __main__ before its target (it crashed or hung every child started after an AppTest). The
    targets live in test modules, so the children need nothing from __main__."""
    import sys
    import types

    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


@pytest.fixture
def no_page_main():
    with plain_main():
        yield


def race(target, calls: list[tuple]) -> list[str]:
    """Run target(*args, barrier, out) in separate processes released together; their answers, sorted."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(calls)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, out)) for args in calls]
    with plain_main():
        for p in procs:
            p.start()
    for p in procs:
        p.join(60)
    return sorted(out.get(timeout=5) for _ in procs)


def acting(engine, role: str, name: str) -> int:
    """An active staff member of this role (made, without a PIN, when the store has none): every
    core service needs the acting staff member — None is refused (core.security.check_actor)."""
    from core.events import add_staff
    from core.models import Staff

    with read_session(engine) as s:
        found = s.execute(select(Staff.id).where(Staff.role == role, Staff.active).order_by(Staff.id)).scalars().first()
    if found is not None:
        return found
    with write_session(engine) as s:
        return add_staff(s, name=name, role=role, team="测试").id


def desk_staff(engine) -> int:
    """Who works a desk in tests that are not about who works it: a cashier (every desk but the manager's)."""
    return acting(engine, "cashier", "测试收银")


def manager_of(engine) -> int:
    return acting(engine, "manager", "测试经理")


@dataclass
class Seeded:
    engine: object
    event_id: int
    codes: list[str]
    advisor_id: int
    cashier_id: int
    manager_id: int
    gift_staff_id: int


def seed(engine, customers: int = 12) -> Seeded:
    """An event with staff, invited customers (through the real import) and gift stock."""
    from core import importer
    from core.demo import add_gift_stock, dms_rows
    from core.events import add_staff, create_event
    from core.models import Invitation, Staff

    with write_session(engine) as s:
        ev = create_event(s, name="测试续保会", event_date=date(2026, 12, 5), store_name="测试4S店",
                          target_arrivals=10, target_renewals=8, target_premium_fen=8 * 400000)
        ev.draw_blank_tickets = 50
        ev.arrival_gift_on = True
        advisors = (("陈晓东", "advisor", "续保组"), ("李婷", "advisor", "续保组"), ("王磊", "sa", "服务组"))
        for name, role, team in advisors:
            add_staff(s, name=name, role=role, team=team)
        cashier = add_staff(s, name="郑收银", role="cashier")
        manager = add_staff(s, name="林经理", role="manager", pin=MANAGER_PIN)
        gift = add_staff(s, name="马礼品", role="gift")
        plan = importer.plan_table(dms_rows(customers, today=date(2026, 12, 5), advisors=advisors),
                                   today=date(2026, 12, 5))
        importer.apply_import(s, ev.id, plan)
        add_gift_stock(s, ev.id)
        event_id = ev.id
        cashier_id, manager_id, gift_id = cashier.id, manager.id, gift.id
    with read_session(engine) as s:
        codes = list(s.execute(select(Invitation.code).where(Invitation.event_id == event_id)
                               .order_by(Invitation.id)).scalars())
        advisor_id = s.execute(select(Staff.id).where(Staff.name == "陈晓东")).scalar_one()
    return Seeded(engine, event_id, codes, advisor_id, cashier_id, manager_id, gift_id)


@pytest.fixture
def seeded(engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def seeded_sqlite(sqlite_engine) -> Seeded:
    return seed(sqlite_engine)
