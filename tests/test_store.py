from __future__ import annotations

import io
import threading
from datetime import date

from sqlalchemy import func, select, text

from core import migrate
from core.models import Customer, Event, Invitation, Setting
from core.store import get_engine, is_sqlite, read_session, write_session
from tests.conftest import desk_staff


def test_sqlite_pragmas(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_concurrent_read_then_write_loses_nothing(engine):
    """8 threads each doing 40 read-then-write transactions on one counter: none lost."""
    with write_session(engine) as s:
        s.add(Setting(key="counter", value="0"))
    errors: list[Exception] = []

    def worker():
        for _ in range(40):
            try:
                with write_session(engine) as s:
                    row = s.execute(select(Setting).where(Setting.key == "counter").with_for_update()).scalar_one()
                    row.value = str(int(row.value) + 1)
            except Exception as exc:  # noqa: BLE001 - the test counts them
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with read_session(engine) as s:
        assert s.get(Setting, "counter").value == "320"


def test_old_store_upgrades_in_place(sqlite_url):
    """A store made by the foundation release (0001) keeps its customers after the upgrade."""
    eng = get_engine(sqlite_url)
    migrate.upgrade(eng, "0001")
    assert migrate.current_revision(eng) == "0001"
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO event (name, store_name, event_date, target_arrivals, target_renewals, "
                          "target_premium_fen, draw_mode, draw_blank_tickets, extra_draw_per_fen, arrival_gift_on, "
                          "is_demo, created_at) VALUES ('旧活动', '老店', '2026-06-01', 1, 1, 0, 'box', 0, 0, 0, 0, "
                          "'2026-05-20 10:00:00')"))
        conn.execute(text("INSERT INTO customer (name, phone, category, created_at, updated_at) VALUES "
                          "('老客户', '13800001111', 'retained', '2026-05-20 10:00:00', '2026-05-20 10:00:00')"))
        conn.execute(text("INSERT INTO invitation (event_id, customer_id, \"group\", party_size, code, source, "
                          "walk_in_source, cancelled, created_at) VALUES (1, 1, 'retained', 2, 'ABCDEFGHJKMNPQRST', "
                          "'import', '', 0, '2026-05-20 10:00:00')"))
    migrate.upgrade(eng)
    assert migrate.current_revision(eng) == migrate.head_revision()
    with read_session(eng) as s:
        assert s.execute(select(Customer.name)).scalar_one() == "老客户"
        assert s.execute(select(Invitation.party_size)).scalar_one() == 2
        assert s.get(Event, 1).name == "旧活动"
    from core import checkin

    verdict = checkin.check_in(eng, event_id=1, raw="ABCDEFGHJKMNPQRST", desk="签到1", staff_id=desk_staff(eng))
    assert verdict["status"] == "welcome"


def test_postgres_and_sqlite_share_the_schema(engine):
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Event)).scalar_one() == 0
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert is_sqlite(engine) in (True, False)


def test_invitation_card_qr_decodes(seeded):
    import zxingcpp
    from PIL import Image

    from core.invitations import invitation_card, invitation_rows

    event, rows = invitation_rows(seeded.engine, seeded.event_id)
    png = invitation_card(event, name=rows[0]["name"], code=rows[0]["code"], advisor=rows[0]["advisor"])
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [d.text for d in decoded] == [rows[0]["code"]]


def test_demo_event(sqlite_engine):
    from core.demo import build_demo, store_is_empty

    assert store_is_empty(sqlite_engine)
    event_id = build_demo(sqlite_engine, customers=600, event_date=date(2026, 12, 5))
    with read_session(sqlite_engine) as s:
        ev = s.get(Event, event_id)
        assert ev.is_demo and "演示" in ev.name
        groups = dict(s.execute(select(Invitation.group, func.count()).group_by(Invitation.group)).all())
    assert sum(groups.values()) == 600 and set(groups) == {"retained", "lost", "natural"}
    assert not store_is_empty(sqlite_engine)


def test_migrations_match_the_models(engine):
    """A model change without its migration fails here, on SQLite and on PostgreSQL."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), SQLModel.metadata)
    assert diff == []


def test_sms_sheet_into_memory_for_the_download_button(seeded, tmp_path, monkeypatch):
    """The import page hands a BytesIO: the sheet goes there, not into a stray file."""
    from python_calamine import CalamineWorkbook

    from core.invitations import export_invitations

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    buf = io.BytesIO()
    n = export_invitations(seeded.engine, seeded.event_id, buf)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue())).get_sheet_by_index(0).to_python()
    assert n == len(rows) - 1 > 0 and rows[0][7] == "邀请码"
    assert list(cwd.iterdir()) == []
