"""Backups of the SQLite store, a restore that refuses while the app runs, and the end-of-day
export of everything to one workbook.

The copy uses SQLite's online backup API (consistent while desks keep writing). During an
event the app process copies the store every 5 minutes into data/backups/ (0600, the newest
KEEP kept). On PostgreSQL use pg_dump (README); backup_now refuses with that advice.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from core.clock import now
from core.config import settings
from core.store import is_sqlite, private_file, read_session

log = logging.getLogger("renewday")
EVERY_S = 300
KEEP = 48  # four hours of five-minute copies, plus whatever was made by hand


def pid_file(engine: Engine) -> Path:
    """Beside the store: the app process that serves it writes its pid there."""
    return Path(f"{engine.url.database}.pid")


class BackupError(Exception):
    pass


def backup_dir(engine: Engine | None = None) -> Path:
    """backups/ beside the store's file (data/backups/ for the default data/event.db)."""
    if engine is not None and is_sqlite(engine) and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database).resolve().parent / "backups"
    return settings().data_dir / "backups"


def _db_path(engine: Engine) -> Path:
    if not is_sqlite(engine):
        raise BackupError("PostgreSQL 的数据库请用 pg_dump 备份（见 README）。")
    path = engine.url.database
    if not path or path == ":memory:":
        raise BackupError("内存数据库无法备份。")
    return Path(path)


def _copy(src_path: Path, dst_path: Path) -> None:
    src = sqlite3.connect(str(src_path), timeout=30)
    dst = sqlite3.connect(str(dst_path))
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def backup_now(engine: Engine, target: str | os.PathLike | None = None) -> Path:
    """Copy the store now (online); returns the file. Files are 0600; old automatic ones rotate."""
    src = _db_path(engine)
    if target is None:
        folder = backup_dir(engine)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        dst = folder / f"{src.stem}-{now().strftime('%Y%m%d-%H%M%S')}.db"
    else:
        dst = Path(target)
        dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".part")
    private_file(tmp)
    _copy(src, tmp)
    os.replace(tmp, dst)
    os.chmod(dst, 0o600)
    if target is None:
        rotate(dst.parent, src.stem)
    return dst


def rotate(folder: Path, stem: str, keep: int = KEEP) -> list[Path]:
    files = sorted(folder.glob(f"{stem}-????????-??????.db"))
    gone = files[:-keep] if len(files) > keep else []
    for f in gone:
        f.unlink(missing_ok=True)
    return gone


def app_running(engine: Engine) -> int | None:
    """The pid of a running app process serving this store, if any."""
    path = pid_file(engine)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid if pid != os.getpid() else None


def restore(engine: Engine, source: str | os.PathLike, *, force: bool = False) -> Path:
    """Replace the store with a backup. Refused while the app runs (unless forced); the store
    as it was is kept beside the backups first, so a wrong restore can be undone."""
    dst = _db_path(engine)
    src = Path(source)
    if not src.is_file():
        raise BackupError(f"找不到备份文件“{src}”。")
    try:
        with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as check:
            ok = check.execute("PRAGMA quick_check").fetchone()[0]
            check.execute("SELECT count(*) FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"“{src}”不是本系统的数据库备份：{e}") from None
    if ok != "ok":
        raise BackupError(f"备份文件“{src}”已损坏：{ok}")
    pid = app_running(engine)
    if pid and not force:
        raise BackupError(f"系统正在运行（进程 {pid}），请先停止再恢复；确需恢复请加 --force。")
    engine.dispose()
    if dst.exists():
        backup_now(engine, backup_dir(engine) / f"before-restore-{now().strftime('%Y%m%d-%H%M%S')}.db")
    private_file(dst)
    _copy(src, dst)
    os.chmod(dst, 0o600)
    return dst


# --- every five minutes during an event, from the app process -----------------------------
_started: dict[str, threading.Event] = {}
_lock = threading.Lock()


def event_today(engine: Engine) -> bool:
    from core.models import Event

    today = now().date()
    with read_session(engine) as s:
        return s.execute(select(Event.id).where(Event.event_date >= today - timedelta(days=1),
                                                Event.event_date <= today)).first() is not None


def start_scheduler(engine: Engine, every_s: float = EVERY_S) -> bool:
    """Start the housekeeping thread once per store per process: stale print jobs recovered
    every 10 s, a backup every 5 minutes during an event (SQLite; PostgreSQL: pg_dump). Also
    marks the app as running for `python -m core restore`."""
    sqlite = is_sqlite(engine) and engine.url.database and engine.url.database != ":memory:"
    key = str(engine.url)
    with _lock:
        if key in _started:
            return False
        stop = _started[key] = threading.Event()
    if sqlite:
        try:
            pid_file(engine).write_text(str(os.getpid()))
        except OSError:
            log.warning("could not write %s", pid_file(engine))

    def loop() -> None:
        from core.receipts import recover_pending

        last_backup = time.monotonic()
        while not stop.is_set():
            if sqlite and not os.path.exists(engine.url.database):
                return  # the store went away (a test's temporary file): nothing to look after
            try:  # receipts cut off by a crash become failed jobs with a reprint button
                recover_pending(engine)
            except Exception:  # noqa: BLE001 - logged; the desks go on
                log.exception("recovering pending print jobs failed")
            if time.monotonic() - last_backup >= every_s:
                last_backup = time.monotonic()
                try:
                    if sqlite and event_today(engine):
                        backup_now(engine)
                except Exception:  # noqa: BLE001 - a failed backup is logged, the desks go on
                    log.exception("scheduled backup failed")
            stop.wait(min(10.0, every_s))

    threading.Thread(target=loop, name="renewday-backup", daemon=True).start()
    return True


def stop_scheduler(engine: Engine) -> None:
    with _lock:
        stop = _started.pop(str(engine.url), None)
    if stop is not None:
        stop.set()


# --- end of day: everything to one workbook ----------------------------------------------
def export_everything(engine: Engine, target) -> str:
    """Every table of the store, one sheet each (PIN hashes and receipt bytes left out)."""
    from core.xlsx import Sheet, write_book

    skip_columns = {("staff", "pin_hash"), ("printjob", "payload")}
    sheets = []
    with engine.connect() as conn:
        names = sorted(n for n in inspect(conn).get_table_names() if n != "alembic_version")
        for name in names:
            table = inspect(conn).get_columns(name)
            cols = [c["name"] for c in table if (name, c["name"]) not in skip_columns]
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows = conn.exec_driver_sql(f'SELECT {quoted} FROM "{name}" ORDER BY 1').all()
            sheets.append(Sheet(title=name, headers=cols, rows=[list(r) for r in rows]))
    write_book(sheets, target)
    return str(target)
