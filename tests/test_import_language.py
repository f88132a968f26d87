"""Issue 10: a refused file is said in the station's language. Seen: the importer's size, row,
column and zip-bomb refusals were always Chinese, even at an English station. The importer
raises a code; the page translates it (AppTest through app.py, an English manager's station)."""
from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import importer
from pages.common import Station
from tests.test_import_bounds import HEADER, raw_xlsx

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    # AppTest formats a selectbox's options again outside the run, where no station is known and
    # the install's language applies; the station's own language is what this test is about
    monkeypatch.setenv("RENEWDAY_LANG", "en")
    return seeded_sqlite


def english_manager(store) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["station"] = Station(staff_id=store.manager_id, staff_name="林经理", role="manager",
                                          desk="经理台", event_id=store.event_id, event_name="测试续保会", lang="en")
    at.run()
    at.switch_page("pages/import_guests.py").run()
    assert not at.exception
    return at


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (8 << 20))
    return buf.getvalue()


def _wide_csv_over_a_megabyte() -> bytes:  # read in the worker process: the refusal crosses processes
    rows = [",".join(["姓名", "手机号"] + [f"列{i}" for i in range(250)])]
    rows += [",".join([f"客户{n}", f"139{n:08d}"] + ["x"] * 250) for n in range(2200)]
    data = "\n".join(rows).encode()
    assert len(data) > 1 << 20
    return data


def _files(tmp_path: Path):
    far = raw_xlsx(tmp_path / "far.xlsx", [*HEADER, ("XFD", 1048576, "x")], dimension="A1:XFD1048576")
    return [("far.xlsx", far.read_bytes(), "used range"), ("bomb.xlsx", _zip_bomb(), "abnormal size"),
            ("broken.xlsx", b"not a zip at all", "Cannot read"), ("wide.csv", _wide_csv_over_a_megabyte(), "used range"),
            ("notes.csv", "备注\n随便写点\n".encode(), "No header found")]


def test_file_refusals_are_said_in_english_at_an_english_station(store, tmp_path):
    at = english_manager(store)
    for name, data, expect in _files(tmp_path):
        at.file_uploader(key="import_file").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert any(expect in e for e in errors), (name, errors)
        assert not any("\u4e00" <= ch <= "\u9fff" for e in errors for ch in e.replace(name, "")), (name, errors)


def test_the_upload_limit_is_said_in_english_too(store, monkeypatch):
    monkeypatch.setenv("RENEWDAY_MAX_UPLOAD_MB", "1")
    at = english_manager(store)
    at.file_uploader(key="import_file").set_value(("big.csv", b"x" * (2 << 20), "text/csv")).run()
    assert any("over the 1 MB limit" in e.value for e in at.error)


def test_a_refusal_is_a_code_with_its_parameters_and_crosses_processes():
    with pytest.raises(importer.ImportFileError) as refused:
        importer.check_size(50 << 20, 20 << 20)
    e = pickle.loads(pickle.dumps(refused.value))
    assert (e.key, e.info) == ("import.too_big", {"size": "50.0", "limit": "20"})
    assert "超过上限 20 MB" in str(e)  # the command line and the logs stay Chinese
    assert "over the 20 MB limit" in e.text("en")
