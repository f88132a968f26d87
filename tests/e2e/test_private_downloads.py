"""Issue 10: "the SMS sheet's media URL stays downloadable without a session while the page is
open". Streamlit served every download button's file at a /media URL that needs no session,
for as long as the page showed the button: anyone on the store's Wi-Fi holding the URL got
every guest's name and phone. The downloads of personal data now carry no URL: the file is
made on the click through the page's websocket session, and its URL is dropped seconds later.

In Chromium as the manager: the SMS sheet and the cards made ready, then every /media/ URL the
page holds (in its DOM, and in every websocket message the server sent it) fetched with a plain
HTTP client, no cookie, no session: none gives a guest's data. The manager's download still
works (Playwright's expect_download), and its URL is gone shortly after."""
from __future__ import annotations

import io
import os
import re
import time
import urllib.error
import urllib.request
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.e2e.conftest import ARTIFACTS, sign_in

MEDIA = re.compile(rb"/media/[0-9a-f]{16,}\.[a-z0-9]{2,5}")
TTL_S = 3


@pytest.fixture(scope="module")
def short_ttl():
    """The app under test drops a download's URL after TTL_S seconds (the default is 20)."""
    old = os.environ.get("RENEWDAY_DOWNLOAD_TTL_S")
    os.environ["RENEWDAY_DOWNLOAD_TTL_S"] = str(TTL_S)
    yield
    if old is None:
        os.environ.pop("RENEWDAY_DOWNLOAD_TTL_S", None)
    else:
        os.environ["RENEWDAY_DOWNLOAD_TTL_S"] = old


def fetch(url: str) -> tuple[int, bytes]:
    """What anyone on the Wi-Fi gets: a plain GET, no cookie, no session."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def personal(body: bytes, phones: set[str], names: set[str]) -> list[str]:
    """The guests' phones or names found in a body (an .xlsx or a zip is opened first)."""
    texts = [body]
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            texts += [z.read(n) for n in z.namelist()] + [n.encode() for n in z.namelist()]
    found = [p for p in phones if any(p.encode() in t for t in texts)]
    found += [n for n in names if any(n.encode() in t for t in texts)]
    return found


def test_no_personal_data_at_a_media_url_and_the_manager_still_downloads(short_ttl, app, browser, tmp_path):
    from core.models import Customer

    with app.engine.connect() as conn:
        guests = conn.execute(select(Customer.name, Customer.phone)).all()
    phones = {g.phone for g in guests if g.phone}
    names = {g.name for g in guests if len(g.name or "") >= 2}
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60000)
    sent: list[bytes] = []

    def watch(ws):
        ws.on("framereceived", lambda payload: sent.append(payload if isinstance(payload, bytes) else payload.encode()))
    page.on("websocket", watch)
    try:
        sign_in(page, app, "林经理", "经理")
        page.locator(".st-key-checkin_scan").wait_for()
        page.goto(app.url + "/import", wait_until="domcontentloaded")  # a reload: the station comes back
        page.get_by_role("button", name="生成短信邀请名单").click()
        sms = page.get_by_role("button", name="下载短信邀请名单（Excel）")
        sms.wait_for()
        page.get_by_role("button", name="生成邀请卡（PNG）").click()
        page.locator("[data-testid=stDownloadButton]").filter(has_text="张）").first.wait_for(timeout=120000)
        page.wait_for_timeout(1000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "private-downloads-ready.png"), full_page=True)

        in_dom = page.evaluate("""() => [...document.querySelectorAll('*')].flatMap(e =>
            [...e.attributes].map(a => a.value)).filter(v => v.includes('/media/'))""")
        urls = {m.decode() for frame in sent for m in MEDIA.findall(frame)}
        urls |= {m.decode() for v in in_dom for m in MEDIA.findall(v.encode())}
        leaks = {}
        for path in sorted(urls):
            status, body = fetch(app.url + path)
            if status == 200 and personal(body, phones, names):
                leaks[path] = personal(body, phones, names)[:3]
        assert not leaks, f"personal data at URLs anyone can fetch: {leaks}"

        # the manager's own download works, through the page's session
        with page.expect_download() as got:
            sms.click()
        download = got.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        assert download.suggested_filename == "invitations.xlsx"
        sheet = load_workbook(saved).active
        cells = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None}
        assert any(p in c for p in phones for c in cells)  # the sheet holds the guests, for the manager
        # the URL the click used is gone shortly after, for anyone
        assert "/media/" in download.url
        deadline = time.monotonic() + TTL_S + 30
        while fetch(download.url)[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert fetch(download.url)[0] == 404

        with page.expect_download() as got:  # a card zip too
            page.locator("[data-testid=stDownloadButton]").filter(has_text="张）").first.get_by_role("button").click()
        with zipfile.ZipFile(got.value.path()) as z:
            assert z.namelist() and all(n.endswith(".png") for n in z.namelist())
    finally:
        context.close()
