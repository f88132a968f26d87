"""Backups: nothing is lost (issue 10). SQLite backup API copies, 0600, rotation, restore that
refuses while the app runs, the end-of-day workbook; on PostgreSQL the advice to use pg_dump."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import select
from openpyxl import load_workbook

from core import backup, checkin
from core.config import ROOT
from tests.conftest import desk_staff


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """The store's folder (the test stores are tmp_path/event.db): backups/ goes beside the store."""
    monkeypatch.setenv("RENEWDAY_DATA_DIR", str(tmp_path))
    return tmp_path


def test_backup_copies_a_consistent_private_file_and_rotates(seeded_sqlite, data_dir):
    eng = seeded_sqlite.engine
    checkin.check_in(eng, event_id=seeded_sqlite.event_id, raw=seeded_sqlite.codes[0], desk="签到台1", staff_id=desk_staff(eng))
    path = backup.backup_now(eng)
    assert path.parent == data_dir / "backups"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    import sqlite3

    with sqlite3.connect(path) as c:
        assert c.execute("SELECT count(*) FROM checkin").fetchone()[0] == 1
    for i in range(5):
        (path.parent / f"event-2026010{i}-000000.db").write_bytes(b"")
    gone = backup.rotate(path.parent, "event", keep=3)
    assert len(gone) == 3 and path.exists()


def test_restore_brings_back_the_store_and_refuses_while_the_app_runs(seeded_sqlite, data_dir):
    eng = seeded_sqlite.engine
    saved = backup.backup_now(eng)
    checkin.check_in(eng, event_id=seeded_sqlite.event_id, raw=seeded_sqlite.codes[0], desk="签到台1", staff_id=desk_staff(eng))
    assert checkin.counters(eng, seeded_sqlite.event_id)["arrived"] == 1
    data_dir.mkdir(exist_ok=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        backup.pid_file(eng).write_text(str(sleeper.pid))
        with pytest.raises(backup.BackupError, match="正在运行"):
            backup.restore(eng, saved)
        backup.restore(eng, saved, force=True)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert checkin.counters(eng, seeded_sqlite.event_id)["arrived"] == 0
    assert list((data_dir / "backups").glob("before-restore-*.db"))  # the replaced store was kept
    with pytest.raises(backup.BackupError, match="不是本系统"):
        bad = data_dir / "x.db"
        bad.write_bytes(b"not a database" * 100)
        backup.restore(eng, bad, force=True)


def test_cli_backup_and_restore(seeded_sqlite, data_dir, tmp_path):
    env = {**os.environ, "DATABASE_URL": str(seeded_sqlite.engine.url), "RENEWDAY_DATA_DIR": str(data_dir)}
    out = subprocess.run([sys.executable, "-m", "core", "backup"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    copy = out.stdout.strip()
    assert os.path.exists(copy)
    out = subprocess.run([sys.executable, "-m", "core", "restore", copy], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_postgres_backup_points_to_pg_dump(engine):
    if engine.dialect.name == "sqlite":
        pytest.skip("PostgreSQL only")
    with pytest.raises(backup.BackupError, match="pg_dump"):
        backup.backup_now(engine)


def test_end_of_day_export_has_every_table_and_no_pin_hashes(seeded, tmp_path):
    target = tmp_path / "everything.xlsx"
    backup.export_everything(seeded.engine, target)
    wb = load_workbook(target, read_only=True)
    assert {"event", "staff", "invitation", "customer", "renewal", "giftissue", "auditentry"} <= set(wb.sheetnames)
    staff_headers = [c.value for c in next(wb["staff"].iter_rows(max_row=1))]
    assert "pin_hash" not in staff_headers and "name" in staff_headers


def test_the_app_process_backs_up_during_an_event_and_recovers_stale_jobs(sqlite_engine, data_dir):
    import time
    from datetime import timedelta

    from core.clock import now
    from core.events import create_event
    from core.models import PrintJob
    from core.store import read_session, write_session

    with write_session(sqlite_engine) as s:
        create_event(s, name="今天的活动", event_date=now().date())
        s.add(PrintJob(receipt_no="K-1", desk="礼品台1", payload=b"x", status="pending",
                       created_at=now() - timedelta(minutes=5)))
    assert backup.start_scheduler(sqlite_engine, every_s=0.2)
    try:
        assert not backup.start_scheduler(sqlite_engine, every_s=0.2)  # once per store per process
        assert backup.pid_file(sqlite_engine).read_text() == str(os.getpid())
        for _ in range(200):
            with read_session(sqlite_engine) as s:
                status = s.execute(select(PrintJob.status)).scalar_one()
            if status == "failed" and list((data_dir / "backups").glob("event-*.db")):
                break
            time.sleep(0.05)
    finally:
        backup.stop_scheduler(sqlite_engine)
    assert status == "failed" and list((data_dir / "backups").glob("event-*.db"))
