"""Browser tests: `streamlit run` once per module on a fresh store with the demo event and a
loopback printer; Playwright drives Debian's Chromium (never a downloaded browser)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import need_chromium
from tests.e2e.server import ROOT, free_port, start_streamlit
from tests.fakeprinter import FakePrinter

ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


class App:
    def __init__(self, url: str, db_url: str, printer: FakePrinter, event_id: int):
        self.url, self.db_url, self.printer, self.event_id = url, db_url, printer, event_id

    @property
    def engine(self):
        from core.store import get_engine

        return get_engine(self.db_url)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    chromium = need_chromium()
    del chromium
    tmp = tmp_path_factory.mktemp("app")
    db_url = f"sqlite:///{tmp / 'event.db'}"
    env = {**os.environ, "DATABASE_URL": db_url, "RENEWDAY_DATA_DIR": str(tmp)}
    subprocess.run([sys.executable, "-m", "core", "demo", "--customers", "60"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    printer = FakePrinter()
    from core import receipts
    from core.store import get_engine

    receipts.save_desk_printer(get_engine(db_url), desk="礼品台1", connection="network", host="127.0.0.1",
                               port=printer.port, timeout_s=2.5)
    port = free_port()
    try:
        proc = start_streamlit("app.py", env, port, quiet=False)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    url = f"http://127.0.0.1:{port}"
    yield App(url, db_url, printer, 1)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    printer.close()
    from core.store import dispose_all

    dispose_all()


@pytest.fixture(scope="module")
def browser():
    chromium = need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(20000)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def choose(page, index: int, text: str) -> None:
    """Pick `text` in the index-th Streamlit selectbox by typing, the way a keyboard user would."""
    page.get_by_role("combobox").nth(index).click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def sign_in(page, app: App, staff: str, desk: str, pin: str = "8888") -> None:
    page.goto(app.url + "/", wait_until="domcontentloaded")
    page.get_by_text("员工登录").first.wait_for()
    choose(page, 1, desk)  # staff are listed only once the desk is chosen
    page.get_by_role("combobox").nth(2).wait_for()
    choose(page, 2, staff)
    page.get_by_label("密码").fill(pin)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("退出登录").wait_for(state="attached")  # on a phone the sidebar starts folded away


def scan(page, key: str, text: str) -> None:
    box = page.locator(f".st-key-{key} input")
    box.click()
    box.fill(text)
    box.press("Enter")


def burst(page, code: str, *, start: float | None = None, gap_ms: float = 4) -> float:
    """What a keyboard-wedge scanner does: the characters a few ms apart, then Enter. The keys go in
    through the DevTools protocol with their own timestamps (as a real device's events carry the
    time they were pressed), so a busy test machine does not stretch the burst. Returns the time
    after the Enter, for a next burst."""
    import time as _time

    cdp = page.context.new_cdp_session(page)
    at = start if start is not None else _time.time()
    for ch in code:
        cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": ch, "text": ch, "timestamp": at})
        cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": ch, "timestamp": at + 0.001})
        at += gap_ms / 1000
    enter = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
    cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", "timestamp": at, **enter})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "timestamp": at + 0.001, **enter})
    cdp.detach()
    return at + 0.001
