"""Issue 10: every download holding personal data (invitation sheet, cards, finance workbook,
audit export, results books) carries no /media URL while its page is open: the file is made
on the click through the page's session (pages.common.private_download). Through app.py as the
manager reaches each page (AppTest); the browser side is tests/e2e/test_private_downloads.py."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from core import cashier, checkin
from tests.test_callers_pages import through_app
from tests.test_import_page import as_manager


MANAGERS: list = []


@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    """The store, and AppTest's media manager of each run kept (it makes one per run and drops
    it after), so a test can click a deferred download the way the browser does."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.testing.v1 import app_test

    class Kept(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            MANAGERS.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Kept)
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    return seeded_sqlite


def downloads(at) -> dict[str, object]:
    """Label -> the download button's proto; each must hold no URL, only a deferred id."""
    out = {}
    for d in at.get("download_button"):
        assert d.proto.url == "", d.proto.label
        assert d.proto.deferred_file_id, d.proto.label
        out[d.proto.label] = d.proto
    return out


def made(proto) -> bytes:
    """What the click makes (Streamlit's own deferred call), read back from its media storage."""
    mgr = next(m for m in reversed(MANAGERS) if proto.deferred_file_id in m._deferred_callables)  # noqa: SLF001
    url = mgr.execute_deferred(proto.deferred_file_id)
    return mgr.read_file(url.rsplit("/", 1)[-1].split(".")[0]).content


def test_import_sms_sheet_and_cards(store):
    at = as_manager(store)
    at.button(key="make_sms").click().run()
    at.button(key="make_cards").click().run()
    assert not at.exception
    got = downloads(at)
    assert len(got) >= 3  # the sheet and a zip per advisor
    assert load_workbook(io.BytesIO(made(got["下载短信邀请名单（Excel）"]))).active.max_row > 1


def test_finance_audit_and_results_books(store):
    with_renewal(store)
    at = through_app(store, "pages/finance.py", "manager")
    [b for b in at.button if b.key == "fin_export"][0].click().run()
    (fin,) = downloads(at).values()
    assert load_workbook(io.BytesIO(made(fin)))["续保明细"].max_row >= 3
    at = through_app(store, "pages/audit.py", "manager")
    at.button(key="audit_prepare").click().run()
    (audit,) = downloads(at).values()
    assert made(audit)[:2] == b"PK"
    at = through_app(store, "pages/results.py", "manager")
    books = downloads(at)
    assert len(books) >= 3  # all, incentive, N+1 (hand-outs only once a gift went out)
    assert "总体漏斗" in load_workbook(io.BytesIO(made(books["下载成果汇总 (.xlsx)"]))).sheetnames


def with_renewal(store):
    from sqlalchemy import select

    from core.models import Invitation
    from core.store import read_session

    with read_session(store.engine) as s:
        inv = s.execute(select(Invitation).where(Invitation.event_id == store.event_id)).scalars().first()
    guest = checkin.find(store.engine, event_id=store.event_id, raw=inv.code)[0]
    cashier.record_renewal(store.engine, event_id=store.event_id, invitation_id=inv.id,
                           vehicle_id=guest["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="2000",
                           vehicle_tax="0", payment_method="pos", desk="收银台1", staff_id=store.cashier_id)
