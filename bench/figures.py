"""make bench: the figures the issues ask for, each against a floor measured in the same run.

Prints a table, writes bench/results.json; a figure that misses its target is printed as such,
the command does not fail for it. `python -m bench --quick` uses smaller sizes (for a smoke run).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from core import board, cashier, checkin, gifts, importer, migrate  # noqa: E402
from core.clock import now  # noqa: E402
from core.demo import add_gift_stock, dms_rows  # noqa: E402
from core.events import add_staff, create_event  # noqa: E402
from core.models import CheckIn, Invitation, Renewal, Staff  # noqa: E402
from core.printing import Receipt, build_receipt, send_bytes  # noqa: E402
from core.security import system_actor  # noqa: E402
from core.store import dispose_all, get_engine, read_session, write_session  # noqa: E402

_ACTORS: dict[str, int] = {}


def actor(engine) -> int:
    """The system row the bench acts as (every service needs an acting staff member); looked up once per store."""
    key = engine.url.render_as_string(hide_password=False)
    if key not in _ACTORS:
        _ACTORS[key] = system_actor(engine)
    return _ACTORS[key]

RESULTS: list[dict] = []


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def record(figure: str, value: str, target: str, ok: bool | None, floor: str = "", detail: dict | None = None) -> None:
    RESULTS.append({"figure": figure, "value": value, "floor": floor, "target": target,
                    "meets_target": ok, "detail": detail or {}})
    mark = "ok " if ok else ("-- " if ok is None else "MISS")
    print(f"[{mark}] {figure}: {value}" + (f" (floor {floor})" if floor else "") + f"  target {target}", flush=True)


BENCH_PIN = "246810"


def sign_in_at_desk(page, name: str, desk: str = "签到台1") -> None:
    """The sign-in page as staff use it: the desk first, then who, then the PIN."""
    page.get_by_role("combobox").nth(1).click()
    page.keyboard.type(desk, delay=60)
    page.keyboard.press("Enter")
    page.get_by_role("combobox").nth(2).click()
    page.keyboard.type(name, delay=60)
    page.keyboard.press("Enter")
    page.get_by_label("密码").fill(BENCH_PIN)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("退出登录").wait_for(state="attached")


def make_store(path: Path, customers: int, advisors: int = 8) -> tuple[str, int, list[tuple[str, str]]]:
    url = f"sqlite:///{path}"
    engine = get_engine(url)
    migrate.upgrade(engine)
    names = [(f"顾问{i:02d}", "advisor", f"组{i % 5}") for i in range(advisors)]
    with write_session(engine) as s:
        ev = create_event(s, name="基准活动", event_date=now().date(), store_name="基准店", target_renewals=1000)
        ev.draw_blank_tickets = 50
        for name, role, team in names:
            add_staff(s, name=name, role=role, team=team, pin=BENCH_PIN)  # staff without a PIN cannot sign in
        add_staff(s, name="收银", role="cashier")
        add_gift_stock(s, ev.id)
        event_id = ev.id
    plan = importer.plan_table(dms_rows(customers, advisors=names), today=now().date())
    importer.import_guests(engine, event_id, plan, staff_id=actor(engine))
    return url, event_id, names


def codes_of(engine, event_id: int, n: int | None = None) -> list[str]:
    with read_session(engine) as s:
        q = select(Invitation.code).where(Invitation.event_id == event_id).order_by(Invitation.id)
        return list(s.execute(q.limit(n) if n else q).scalars())


# --- 1. check-in commit ---------------------------------------------------------------------
def bench_checkin(tmp: Path, size: int, n: int) -> None:
    url, event_id, _ = make_store(tmp / "checkin.db", size)
    engine = get_engine(url)
    all_codes = codes_of(engine, event_id)
    ours = []
    for code in all_codes[:n]:
        t0 = time.perf_counter()
        checkin.check_in(engine, event_id=event_id, raw=code, desk="签到台1", staff_id=actor(engine))
        ours.append(time.perf_counter() - t0)
    dispose_all()
    # the floor: raw sqlite3, same PRAGMAs, lookup + insert + audit insert in one transaction
    con = sqlite3.connect(str(tmp / "checkin.db"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=FULL"):
        con.execute(f"PRAGMA {pragma}")
    raw = []
    for code in all_codes[n:2 * n]:
        t0 = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        inv = con.execute("SELECT id, event_id, cancelled FROM invitation WHERE code = ?", (code,)).fetchone()
        if con.execute("SELECT id FROM checkin WHERE invitation_id = ?", (inv[0],)).fetchone() is None:
            con.execute("INSERT INTO checkin (invitation_id, event_id, desk, at, party_size, undo_reason) "
                        "VALUES (?, ?, 'raw', ?, 1, '')", (inv[0], inv[1], now()))
        con.execute("INSERT INTO auditentry (at, event_id, desk, action, raw_input, result, detail) "
                    "VALUES (?, ?, 'raw', 'check_in', ?, 'ok', '')", (now(), inv[1], code))
        con.execute("COMMIT")
        raw.append(time.perf_counter() - t0)
    con.close()
    ratio = statistics.median(ours) / statistics.median(raw)
    record(f"Check-in commit, core function, {size} invitations",
           f"median {ms(statistics.median(ours))} ms, p95 {ms(pct(ours, .95))} ms = {ratio:.2f}x",
           "<= 3x", ratio <= 3, f"raw sqlite3 median {ms(statistics.median(raw))} ms, p95 {ms(pct(raw, .95))} ms",
           {"ratio": ratio, "n": n})


# --- 3. import ------------------------------------------------------------------------------
def bench_import(tmp: Path, size: int) -> None:
    import pandas as pd
    from openpyxl import Workbook

    path = tmp / "dms.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in dms_rows(size, seed=3):
        sheet.append(row)
    book.save(path)
    t0 = time.perf_counter()
    pd.read_excel(path, engine="calamine")
    floor = time.perf_counter() - t0
    url = f"sqlite:///{tmp / 'import.db'}"
    engine = get_engine(url)
    migrate.upgrade(engine)
    with write_session(engine) as s:
        event_id = create_event(s, name="导入基准", event_date=now().date()).id
        for i in range(8):
            add_staff(s, name=f"顾问{i}", role="advisor")
    who = actor(engine)
    t0 = time.perf_counter()
    plan = importer.plan_import(path)
    report = importer.import_guests(engine, event_id, plan, staff_id=who)
    ours = time.perf_counter() - t0
    ratio = ours / floor
    record(f"Import of a {size}-row DMS .xlsx (validation and commit)", f"{ours:.2f} s = {ratio:.2f}x",
           "<= 2x", ratio <= 2, f"pandas.read_excel(calamine) {floor:.2f} s",
           {"ratio": ratio, "accepted": report.accepted})
    dispose_all()


# --- 3b. the other desks while a big sheet is previewed and committed ----------------------
def _desk_loop(url: str, event_id: int, codes: list[str], stop, ready, out) -> None:
    """Another desk: check-ins (each one a write) back to back, with when each started."""
    engine = get_engine(url)
    checkin.counters(engine, event_id)
    ready.set()
    samples = []
    i = 0
    while not stop.is_set():
        code = codes[i % len(codes)]
        i += 1
        t0 = time.time()
        try:
            checkin.check_in(engine, event_id=event_id, raw=code, desk="签到台2", staff_id=actor(engine))
        except Exception:  # noqa: BLE001 - already checked in: still a write (the audit row)
            pass
        samples.append((t0, time.time() - t0))
        time.sleep(0.01)  # a desk scans every few seconds; 100 scans/s is plenty of pressure
    dispose_all()
    out.put(samples)


def bench_import_wait(tmp: Path, size: int) -> None:
    """The time the other desks wait while a `size`-row sheet is previewed (reads only) and then
    committed (one write transaction). Goal (issue 10): no desk waits more than 200 ms during the
    preview; the commit holds the write lock < 1 s per 20 000 rows."""
    import multiprocessing as mp

    from openpyxl import Workbook

    url, event_id, names = make_store(tmp / "wait.db", 2000)
    engine = get_engine(url)
    codes = codes_of(engine, event_id)
    path = tmp / "big.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in dms_rows(size, seed=21, advisors=names):
        sheet.append(row)
    book.save(path)
    ctx = mp.get_context("spawn")
    stop, ready, out = ctx.Event(), ctx.Event(), ctx.Queue()
    desk = ctx.Process(target=_desk_loop, args=(url, event_id, codes, stop, ready, out))
    desk.start()
    ready.wait(60)
    time.sleep(1.0)
    t_preview = time.time()
    plan = importer.plan_import(path)
    report = importer.preview_import(engine, event_id, plan)
    import contextlib

    import core.store as store_module

    held: list[float] = []
    real_write_session = store_module.write_session

    @contextlib.contextmanager
    def timed_write_session(eng):  # the lock is taken on entering write_session (BEGIN IMMEDIATE)
        t = time.perf_counter()
        try:
            with real_write_session(eng) as s:
                yield s
        finally:
            held.append(time.perf_counter() - t)

    resolves = []
    real_resolve = importer._resolve

    def counted_resolve(*a, **k):
        resolves.append(1)
        return real_resolve(*a, **k)

    importer._resolve = counted_resolve
    t_commit = time.time()
    t0 = time.perf_counter()
    store_module.write_session = timed_write_session
    try:
        done = importer.commit_import(engine, event_id=event_id, plan=plan, choices=None, staff_id=actor(engine), desk="bench")
    finally:
        store_module.write_session = real_write_session
        importer._resolve = real_resolve
    commit_total = time.perf_counter() - t0
    commit_s = sum(held)
    t_end = time.time()
    time.sleep(0.5)
    stop.set()
    samples = out.get(timeout=60)
    desk.join(30)

    def phase(a: float, b: float) -> list[float]:
        return [lat for t, lat in samples if a <= t < b]

    before = phase(0, t_preview)
    during_preview = phase(t_preview, t_commit)
    during_commit = phase(t_commit - 0.001, t_end)
    # a check-in that started before the commit and finished after it waited too
    waited_commit = max([lat for t, lat in samples if t < t_end and t + lat > t_commit] or [0])
    per_20k = commit_s / (size / 20000)
    worst_preview = max(during_preview or [0])
    ok = worst_preview <= 0.2 and per_20k < 1
    record(f"Other desks while a {size}-row sheet is previewed, then committed (check-in loop in another process)",
           f"preview {t_commit - t_preview:.1f} s: desk max wait {ms(worst_preview)} ms over {len(during_preview)} "
           f"check-ins; commit {commit_total:.2f} s of which the write lock {commit_s:.2f} s = {per_20k:.2f} s per "
           f"20 000 rows ({len(resolves)} resolution(s)), desk max wait {ms(waited_commit)} ms", "preview <= 200 ms; commit < 1 s per 20 000 rows", ok,
           f"desk alone max {ms(max(before or [0]))} ms, p50 {ms(pct(before, 0.5)) if before else 0} ms",
           {"preview_s": t_commit - t_preview, "preview_max_wait_ms": ms(worst_preview),
            "preview_p99_ms": ms(pct(during_preview, 0.99)) if during_preview else None,
            "commit_s": commit_total, "commit_lock_s": commit_s, "commit_per_20k_s": per_20k, "commit_max_wait_ms": ms(waited_commit),
            "commit_checkins": len(during_commit), "commit_resolutions": len(resolves), "new_invitations": done.new_invitations,
            "previewed_invitations": report.new_invitations})


# --- 4. board query -------------------------------------------------------------------------
def bench_board(tmp: Path, renewals: int, advisors: int) -> None:
    url, event_id, names = make_store(tmp / "board.db", renewals, advisors=advisors)
    engine = get_engine(url)
    with read_session(engine) as s:
        invs = s.execute(select(Invitation.id, Invitation.customer_id, Invitation.advisor_id)
                         .where(Invitation.event_id == event_id)).all()
        from core.models import Vehicle

        veh = dict(s.execute(select(Vehicle.customer_id, Vehicle.id)).all())
    ts = now()
    with write_session(engine) as s:
        s.execute(insert(CheckIn), [{"invitation_id": i, "event_id": event_id, "desk": "b", "at": ts, "party_size": 1,
                                     "undo_reason": ""} for i, _, _ in invs])
        s.execute(insert(Renewal), [{"event_id": event_id, "invitation_id": i, "vehicle_id": veh[c], "receipt_no": f"B{i}",
                                     "insurer": "平安", "compulsory_fen": 95000, "commercial_fen": 300000 + i,
                                     "vehicle_tax_fen": 36000, "total_fen": 431000 + i, "payment_method": "pos",
                                     "advisor_id": a, "created_at": ts.replace(hour=9 + (i % 8), minute=(i * 7) % 60),
                                     "coverage": "", "policy_numbers": "", "payment_ref": "", "credit_reason": "",
                                     "desk": "b", "invoice_no": "", "void_reason": ""}
                                    for i, c, a in invs[:renewals]])
    board.snapshot(engine, event_id)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        snap = board.snapshot(engine, event_id)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    record(f"Board query, {snap['totals']['renewals']} renewals, {len(snap['ranking'])} advisors",
           f"median {ms(med)} ms, p95 {ms(pct(times, .95))} ms", "<= 20 ms", med <= 0.020)
    dispose_all()


# --- 5. 8 processes of mixed desk writes ----------------------------------------------------
def _worker(url: str, event_id: int, codes: list[str], cashier_id: int, out, barrier) -> None:
    """One desk process: warm up once (imports, connection, compiled statements), then all start together."""
    engine = get_engine(url)
    board.snapshot(engine, event_id)
    warm_up, codes = codes[:1], codes[1:]
    lat, errors = [], 0
    for i, code in enumerate(warm_up + codes):
        if i == len(warm_up):
            barrier.wait()
            lat, errors = [], 0
        for step in ("check_in", "renew", "gift"):
            t0 = time.perf_counter()
            try:
                if step == "check_in":
                    v = checkin.check_in(engine, event_id=event_id, raw=code, desk="签到", staff_id=actor(engine))
                elif step == "renew":
                    r = cashier.record_renewal(engine, event_id=event_id, invitation_id=v["invitation_id"],
                                               vehicle_id=v["vehicles"][0]["id"], insurer="平安", compulsory="950",
                                               commercial="3000", vehicle_tax="0", payment_method="pos", desk="收银",
                                               staff_id=cashier_id)
                else:
                    gifts.hand_out_gift(engine, event_id=event_id, invitation_id=v["invitation_id"],
                                        renewal_id=r["renewal_id"], desk="礼品", staff_id=actor(engine))
            except Exception:  # noqa: BLE001 - counted
                errors += 1
            lat.append(time.perf_counter() - t0)
    dispose_all()
    out.put((lat, errors))


def bench_writers(tmp: Path, per_process: int) -> None:
    import multiprocessing as mp

    url, event_id, _ = make_store(tmp / "writers.db", 10 * (per_process + 1) + 100)
    engine = get_engine(url)
    with read_session(engine) as s:
        cashier_id = s.execute(select(Staff.id).where(Staff.role == "cashier")).scalar_one()
    from sqlalchemy import update

    from core.models import GiftType
    with write_session(engine) as s:
        s.execute(update(GiftType).values(stock=100000))
    codes = [c for c in codes_of(engine, event_id)]
    dispose_all()
    ctx = mp.get_context("spawn")

    def run(groups: list[list[str]]) -> tuple[list[float], int, float]:
        out, barrier = ctx.Queue(), ctx.Barrier(len(groups) + 1)
        procs = [ctx.Process(target=_worker, args=(url, event_id, g, cashier_id, out, barrier)) for g in groups]
        for p in procs:
            p.start()
        barrier.wait(timeout=300)
        t0 = time.perf_counter()
        results = []
        while len(results) < len(procs):
            try:
                results.append(out.get(timeout=5))
            except Exception:  # noqa: BLE001 - queue.Empty: check the workers are still alive
                if not any(p.is_alive() for p in procs) and out.empty():
                    raise RuntimeError("a writer process died without reporting") from None
        for p in procs:
            p.join(60)
        wall = time.perf_counter() - t0
        lat = [x for r in results for x in r[0]]
        return lat, sum(r[1] for r in results), wall

    size = per_process + 1  # the first guest of each process is its warm-up, not measured
    single_lat, single_err, single_wall = run([codes[:size]])
    groups = [codes[size * (i + 1): size * (i + 2)] for i in range(8)]
    lat, errors, wall = run(groups)
    single_tp = len(single_lat) / single_wall
    multi_tp = len(lat) / wall
    p99 = pct(lat, .99)
    record(f"8 processes x mixed desk writes ({len(lat)} actions) on one SQLite file",
           f"{errors} errors, p50 {ms(statistics.median(lat))} ms, p99 {ms(p99)} ms, {multi_tp:.0f} actions/s = "
           f"{multi_tp / single_tp:.2f}x single", "0 errors, p99 <= 100 ms", errors == 0 and p99 <= 0.100,
           f"1 process {single_tp:.0f} actions/s, p99 {ms(pct(single_lat, .99))} ms",
           {"errors": errors, "p99_ms": ms(p99), "throughput_ratio": multi_tp / single_tp})


# --- 6, 7. printing -------------------------------------------------------------------------
def bench_printing() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.fakeprinter import FakePrinter

    receipt = Receipt(store="基准店", event="基准活动", title="续保礼品领取凭证", receipt_no="LP01-00001",
                      time="2026-12-05 10:00:00", desk="礼品台1", staff="马礼品", customer="张*明", phone="138****5678",
                      plates="粤B·***45", items=[("续保礼", "汽车应急工具包 ×1"), ("抽奖第1次", "便携洗车机")])
    for render in ("text", "image"):
        printer = FakePrinter()
        times = []
        try:
            for _ in range(20):
                t0 = time.perf_counter()
                result = send_bytes("127.0.0.1", printer.port, build_receipt(receipt, render=render, paper_mm=80), timeout=2.5)
                times.append(time.perf_counter() - t0)
                assert result.ok, result.error
        finally:
            printer.close()
        med = statistics.median(times)
        record(f"Receipt built and sent to a loopback printer ({render} mode)",
               f"median {ms(med)} ms, p95 {ms(pct(times, .95))} ms", "<= 200 ms", pct(times, .95) <= 0.200)
    silent = FakePrinter("silent")
    try:
        t0 = time.perf_counter()
        result = send_bytes("127.0.0.1", silent.port, build_receipt(receipt, render="image"), timeout=2.5)
        took = time.perf_counter() - t0
    finally:
        silent.close()
    record("A silent printer (accepts, never answers)", f"desk free after {took:.2f} s, job {'failed' if not result.ok else 'ok'}",
           "<= 3 s", took <= 3 and not result.ok)


# --- 2, 8. the browser and the app process --------------------------------------------------
def _serve(script: str, env: dict, port: int):
    from tests.e2e.server import start_streamlit

    return start_streamlit(script, env, port)


def _free_port() -> int:
    from tests.e2e.server import free_port

    return free_port()


ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def bench_browser(tmp: Path, size: int, n: int) -> None:
    from playwright.sync_api import sync_playwright

    url, event_id, _ = make_store(tmp / "browser.db", size)
    engine = get_engine(url)
    codes = codes_of(engine, event_id, n + 5)
    with read_session(engine) as s:
        staff = s.execute(select(Staff).where(Staff.role == "advisor")).scalars().first()
    dispose_all()
    env = {**os.environ, "DATABASE_URL": url}
    app_port, echo_port = _free_port(), _free_port()
    app, echo = _serve("app.py", env, app_port), _serve("bench/echo_app.py", env, echo_port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page()
            page.set_default_timeout(20000)
            page.goto(f"http://127.0.0.1:{echo_port}/")
            box = page.locator(".st-key-echo_in input")
            floor = []
            for i in range(n):
                token = f"ECHO{i:04d}"
                box.fill(token)
                t0 = time.perf_counter()
                box.press("Enter")
                page.locator(".st-key-echo_verdict").get_by_text(token).wait_for()
                floor.append(time.perf_counter() - t0)
            page.goto(f"http://127.0.0.1:{app_port}/")
            sign_in_at_desk(page, staff.name)
            box = page.locator(".st-key-checkin_scan input")
            ours = []
            for code in codes[:n]:
                box.fill(code)
                t0 = time.perf_counter()
                box.press("Enter")
                page.locator(".st-key-checkin_verdict").get_by_text(f"{code}", exact=False).or_(
                    page.locator(".st-key-checkin_verdict .rd-green")).first.wait_for()
                page.wait_for_function(
                    "code => !document.querySelector('.st-key-checkin_verdict .rd-blue')", arg=code)
                ours.append(time.perf_counter() - t0)
                page.wait_for_timeout(50)
                page.evaluate("() => document.querySelectorAll('.st-key-checkin_verdict .rd-verdict').forEach(e => e.remove())")
            browser.close()
    finally:
        app.terminate()
        echo.terminate()
    ratio = statistics.median(ours) / statistics.median(floor)
    record(f"Scan -> verdict in Chromium, {size} invitations", f"median {ms(statistics.median(ours))} ms, "
           f"p95 {ms(pct(ours, .95))} ms = {ratio:.2f}x", "<= 1.3x", ratio <= 1.3,
           f"echo page median {ms(statistics.median(floor))} ms, p95 {ms(pct(floor, .95))} ms", {"ratio": ratio})


def bench_board_memory(tmp: Path, refreshes: int) -> None:
    import psutil
    from playwright.sync_api import sync_playwright

    url, event_id, _ = make_store(tmp / "memory.db", 300)
    engine = get_engine(url)
    codes = codes_of(engine, event_id, 40)
    for code in codes:
        v = checkin.check_in(engine, event_id=event_id, raw=code, desk="签到", staff_id=actor(engine))
        cashier.record_renewal(engine, event_id=event_id, invitation_id=v["invitation_id"], vehicle_id=v["vehicles"][0]["id"],
                               insurer="平安", compulsory="950", commercial="3000", vehicle_tax="0", payment_method="pos",
                               desk="收银", staff_id=actor(engine))
    dispose_all()
    screens = 4
    env = {**os.environ, "DATABASE_URL": url, "RENEWDAY_BOARD_REFRESH_S": "0.1"}
    port = _free_port()
    app = _serve("app.py", env, port)
    proc = psutil.Process(app.pid)

    def ticks(pages) -> int:
        return sum(int(pg.locator(".rd-ticks").last.get_attribute("data-n") or 0) for pg in pages)

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            pages = [browser.new_page(viewport={"width": 1920, "height": 1080}) for _ in range(screens)]
            for pg in pages:
                pg.goto(f"http://127.0.0.1:{port}/board")
            warm = refreshes // 10
            deadline = time.monotonic() + 1200
            while ticks(pages) < warm and time.monotonic() < deadline:
                time.sleep(0.5)
            start_ticks, start_rss = ticks(pages), proc.memory_info().rss
            while ticks(pages) < start_ticks + refreshes and time.monotonic() < deadline:
                time.sleep(1)
            done = ticks(pages) - start_ticks
            end_rss = proc.memory_info().rss
            browser.close()
    finally:
        app.terminate()
    growth = (end_rss - start_rss) / 2**20
    record(f"RSS growth of the app after {done} board refreshes ({screens} screens)",
           f"{growth:+.1f} MB (from {start_rss / 2**20:.0f} MB)", "< 20 MB", growth < 20 and done >= refreshes)


def bench_bursts(tmp: Path, size: int, n: int) -> None:
    """Two scanner bursts 50 ms apart (a double-reading scanner, a fast queue): both must be checked
    in and both verdicts shown, in order. Measured: from the first burst's Enter to the second verdict."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import burst

    url, event_id, _ = make_store(tmp / "bursts.db", size)
    engine = get_engine(url)
    codes = codes_of(engine, event_id, 2 * n + max(3, n // 2))
    with read_session(engine) as s:
        staff = s.execute(select(Staff).where(Staff.role == "advisor")).scalars().first()
    dispose_all()
    env = {**os.environ, "DATABASE_URL": url, "RENEWDAY_DATA_DIR": str(tmp)}
    port = _free_port()
    app = _serve("app.py", env, port)
    took, both = [], 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page()
            page.set_default_timeout(20000)
            page.goto(f"http://127.0.0.1:{port}/")
            sign_in_at_desk(page, staff.name)
            page.locator(".st-key-checkin_scan input").wait_for()
            page.evaluate("""() => {
              window.__seen = {}; window.__kind = {};
              new MutationObserver(() => {
                const v = document.querySelector('.st-key-checkin_verdict');
                const m = v && v.innerText.match(/[A-Z0-9]{17}/);
                if (m && !(m[0] in window.__seen)) {
                  window.__seen[m[0]] = performance.now();
                  const k = v.querySelector('.rd-verdict');
                  window.__kind[m[0]] = k ? k.className + ' ' + v.innerText.slice(0, 80) : '';
                }
              }).observe(document.body, {subtree: true, childList: true, characterData: true});
            }""")
            single = []
            for code in codes[2 * n:2 * n + max(3, n // 2)]:  # the floor: one burst -> its verdict, same page, same run
                t_enter = page.evaluate("() => performance.now()")
                burst(page, code)
                page.locator(".st-key-checkin_verdict").get_by_text(code).wait_for()
                single.append((page.evaluate("() => window.__seen")[code] - t_enter) / 1000)
                page.wait_for_timeout(300)
            for i in range(n):
                a, b = codes[2 * i], codes[2 * i + 1]
                t_enter = page.evaluate("() => performance.now()")
                end = burst(page, a)
                burst(page, b, start=end + 0.050)
                page.locator(".st-key-checkin_verdict").get_by_text(b).wait_for()
                seen = page.evaluate("() => window.__seen")
                both += a in seen and b in seen and seen[a] <= seen[b]
                took.append((seen[b] - t_enter) / 1000)
                page.wait_for_timeout(300)
            kinds = page.evaluate("() => window.__kind")
            browser.close()
    finally:
        app.terminate()
    not_green = {c: k for c, k in kinds.items() if "rd-green" not in k}
    if not_green:
        print("verdicts that were not a welcome:", not_green, flush=True)
    from sqlalchemy import func

    with read_session(get_engine(url)) as s:
        done = s.execute(select(func.count()).select_from(CheckIn)).scalar_one()
    floor = statistics.median(single)
    ratio = statistics.median(took) / floor
    record(f"Two scanner bursts 50 ms apart -> both verdicts shown, {size} invitations",
           f"{both} of {n} pairs both shown in order, {done - len(single)} of {2 * n} checked in; second verdict median "
           f"{ms(statistics.median(took))} ms, p95 {ms(pct(took, .95))} ms after the first Enter = {ratio:.2f}x one scan",
           "all pairs; <= 2.5x one scan", both == n and done - len(single) == 2 * n and ratio <= 2.5,
           f"one burst -> verdict median {ms(floor)} ms", {"ratio": ratio, "median_s": statistics.median(took)})


def machine() -> str:
    import psutil

    return (f"{platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.platform()}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--only", nargs="*", help="checkin browser bursts import import_wait board writers printing memory")
    args = parser.parse_args()
    q = args.quick
    figures = {
        "checkin": lambda t: bench_checkin(t, 2000 if q else 20000, 50 if q else 300),
        "browser": lambda t: bench_browser(t, 2000 if q else 20000, 10 if q else 40),
        "bursts": lambda t: bench_bursts(t, 2000 if q else 20000, 5 if q else 20),
        "import": lambda t: bench_import(t, 2000 if q else 20000),
        "import_wait": lambda t: bench_import_wait(t, 5000 if q else 100000),
        "board": lambda t: bench_board(t, 1000 if q else 10000, 50),
        "writers": lambda t: bench_writers(t, 5 if q else 25),
        "printing": lambda t: bench_printing(),
        "memory": lambda t: bench_board_memory(t, 200 if q else 2000),
    }
    print(f"RenewDay benchmarks on {machine()}", flush=True)
    for name, fn in figures.items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                fn(Path(tmp))
            except Exception as exc:  # noqa: BLE001 - one figure failing must not hide the others
                traceback.print_exc()
                record(name, f"could not be measured: {exc.__class__.__name__}: {exc}", "-", False)
            finally:
                dispose_all()
    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps({"machine": machine(), "at": now().isoformat(), "quick": q, "figures": RESULTS},
                              ensure_ascii=False, indent=1), encoding="utf-8")
    short = [r["figure"] for r in RESULTS if r["meets_target"] is False]
    print(f"\n{len(RESULTS) - len(short)} of {len(RESULTS)} figures meet their target." +
          ("" if not short else " Short of target: " + "; ".join(short)), flush=True)
    return 0

