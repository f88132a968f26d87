"""Bounded input (issue 10): no spreadsheet can stop the server. Each attack is built here
from raw bytes; the dangerous reads run in a child process with a memory ceiling, so the suite
survives the code before the fix (where calamine aborted the whole process)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import importer
from core.models import Customer
from core.store import read_session
from tests.conftest import manager_of

ROOT = Path(__file__).resolve().parent.parent

_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
       'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
       '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
       'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
       'spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
         '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
         'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_BOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
         '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
         'name="客户" sheetId="1" r:id="rId1"/></sheets></workbook>')
_BOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
              'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
              'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def _cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def raw_xlsx(path: Path, cells: list[tuple[str, int, str]], *, dimension: str = "A1:C3", extra: str = "",
             sheet_xml: bytes | None = None) -> Path:
    """An .xlsx written by hand: a few inline-string cells, any dimension, any extra XML."""
    rows: dict[int, list[str]] = {}
    for col, row, value in cells:
        rows.setdefault(row, []).append(_cell(f"{col}{row}", value))
    body = "".join(f'<row r="{r}">{"".join(cs)}</row>' for r, cs in sorted(rows.items()))
    xml = sheet_xml or (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        f'spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{body}{extra}</sheetData>'
                        f'</worksheet>').encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _BOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", xml)
    return path


HEADER = [("A", 1, "姓名"), ("B", 1, "手机号"), ("A", 2, "张三"), ("B", 2, "13812345678")]


def preview_in_child(path: Path, limit_gib: int = 3) -> subprocess.CompletedProcess:
    """plan_import() in a child process under a memory ceiling: an abort kills only the child."""
    code = textwrap.dedent(f"""
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({limit_gib} << 30, {limit_gib} << 30))
        from core import importer
        try:
            plan = importer.plan_import({str(path)!r})
            print(json.dumps({{"rows": len(plan.rows)}}))
        except importer.ImportFileError as e:
            print(json.dumps({{"refused": str(e)}}, ensure_ascii=False))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_far_cell_is_refused_before_calamine_reads(tmp_path):
    """Issue 10: a 4.7 KB .xlsx with one cell at XFD1048576 made calamine allocate 512 GiB and
    abort the server process."""
    path = raw_xlsx(tmp_path / "far.xlsx", [*HEADER, ("XFD", 1048576, "x")], dimension="A1:XFD1048576")
    assert path.stat().st_size < 5000
    out = preview_in_child(path)
    assert out.returncode == 0, out.stderr[-500:]  # before: 134 (abort), the whole app gone
    refused = json.loads(out.stdout)["refused"]
    assert "1,048,576 行" in refused and "16,384 列" in refused and "超过上限" in refused


def test_far_cell_with_r_attribute_last_is_still_seen(tmp_path):
    extra = '<row r="9"><c t="inlineStr" s="0" r="ZZ9"><is><t>x</t></is></c></row>'
    path = raw_xlsx(tmp_path / "wide.xlsx", HEADER, extra=extra)
    with pytest.raises(importer.ImportFileError, match="702 列"):
        importer.plan_import(path)


def test_style_only_far_cells_do_not_refuse_a_good_sheet(tmp_path):
    """A formatted but empty cell far away (Excel writes <c r=".." s="1"/>) is not data: calamine
    skips it, so the bound does too."""
    extra = '<row r="1048576"><c r="XFD1048576" s="1"/></row>'
    path = raw_xlsx(tmp_path / "styled.xlsx", HEADER, dimension="A1:XFD1048576", extra=extra)
    plan = importer.plan_import(path)
    assert [r.data["name"] for r in plan.rows] == ["张三"]


def test_too_many_rows_or_columns(tmp_path):
    rows = [("A", 100_100, "x")]
    with pytest.raises(importer.ImportFileError, match="100,100 行"):
        importer.plan_import(raw_xlsx(tmp_path / "long.xlsx", [*HEADER, *rows]))
    with pytest.raises(importer.ImportFileError, match="201 列"):
        importer.plan_import(raw_xlsx(tmp_path / "broad.xlsx", [*HEADER, ("GS", 3, "x")]))  # GS = 201
    csv = "姓名,手机号\n" + "".join(f"客户,138{i:08d}\n" for i in range(100_060))
    p = tmp_path / "long.csv"
    p.write_text(csv, encoding="utf-8")
    with pytest.raises(importer.ImportFileError, match="超过上限"):
        importer.plan_import(p)
    p.write_text("姓名,手机号" + ",x" * 250 + "\n", encoding="utf-8")
    with pytest.raises(importer.ImportFileError, match="252 列"):
        importer.plan_import(p)


def test_zip_bomb_is_refused_unread(tmp_path):
    """Issue 10: a 3.4 MB zip bomb ran for minutes to MemoryError. Here a sheet part that
    inflates 400 MB of padding from a few hundred KB."""
    head = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheetData><row r="1">' + _cell("A1", "姓名").encode() + b"</row>")
    path = tmp_path / "bomb.xlsx"
    raw_xlsx(path, HEADER)
    # rewrite the sheet part with a streamed, highly compressible body
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        with z.open("xl/worksheets/sheet2.xml", "w", force_zip64=True) as fh:
            fh.write(head)
            pad = b" " * (1 << 20)
            for _ in range(400):
                fh.write(pad)
            fh.write(b"</sheetData></worksheet>")
    assert path.stat().st_size < 3_500_000
    out = preview_in_child(path)
    assert out.returncode == 0, out.stderr[-500:]
    assert "解压后异常巨大" in json.loads(out.stdout)["refused"]


def test_lying_zip_sizes_fail_as_damaged(tmp_path):
    """A part whose declared size is smaller than what it inflates to: zipfile stops at the
    declared size and the CRC fails, so the real dimensions can never be under-read."""
    path = raw_xlsx(tmp_path / "lie.xlsx", HEADER)
    data = bytearray(path.read_bytes())
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = z.getinfo("xl/worksheets/sheet1.xml")
    # shrink the declared uncompressed size in the central directory entry
    cd = data.rfind(b"PK\x01\x02" + data[data.rfind(b"PK\x01\x02") + 4:data.rfind(b"PK\x01\x02") + 8])
    name = info.filename.encode()
    pos = data.find(b"PK\x01\x02", 0)
    while pos != -1:
        fn_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + fn_len] == name:
            data[pos + 24:pos + 28] = (20).to_bytes(4, "little")
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    assert cd != -1 and pos != -1
    path.write_bytes(bytes(data))
    with pytest.raises(importer.ImportFileError, match="无法读取"):
        importer.plan_import(path)


def test_upload_size_is_capped_before_reading(tmp_path, monkeypatch):
    """Issue 10: a 50 MB CSV took 1.3 GB. Now it is refused by its size, unread."""
    p = tmp_path / "big.csv"
    with open(p, "wb") as fh:
        fh.write("姓名,手机号\n".encode())
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(importer.ImportFileError, match="50.0 MB，超过上限 20 MB"):
        importer.plan_import(p)
    with pytest.raises(importer.ImportFileError, match="超过上限 20 MB"):
        importer.plan_import("big.csv", b"x" * (21 * 1024 * 1024))
    monkeypatch.setenv("RENEWDAY_MAX_UPLOAD_MB", "60")  # the setting
    assert importer.plan_import(p).rows == []  # read now: the NUL padding is cleaned away, no customers


def test_nul_and_control_characters_are_cleaned_and_import_on_the_store(engine, tmp_path):
    """Issue 10: NUL bytes failed a whole import on PostgreSQL with a generic error."""
    from core.events import create_event
    from core.store import write_session

    rows = [["姓名", "手机号", "车型", "上年保险公司"],
            ["张\x00三\x1b[0m", "138\x0012345678", "朗逸\x07", "平安\x9b"],
            ["李四", "13912345678", "速腾\ud800", ""]]
    with write_session(engine) as s:
        ev = create_event(s, name="控制字符", event_date=importer.now().date())
    plan = importer.plan_table(rows)
    assert [r.data["name"] for r in plan.rows] == ["张三[0m", "李四"]
    assert plan.rows[0].data["phone"] == "13812345678"
    importer.commit_import(engine, event_id=ev.id, plan=plan, choices=None, staff_id=manager_of(engine))
    with read_session(engine) as s:
        names = sorted(s.execute(select(Customer.name)).scalars())
        assert names == ["张三[0m", "李四"]
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == 2


def test_fuzzed_cells_never_escape_as_anything_but_a_row_verdict():
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=30), st.integers(), st.floats(allow_nan=True)),
                             min_size=1, max_size=6), max_size=8))
    def check(body):
        rows = [["姓名", "手机号", "车牌", "车架号", "商业险到期日期", "服务顾问"], *body]
        plan = importer.plan_table(rows)
        for r in plan.rows:
            for v in r.data.values():
                if isinstance(v, str):
                    assert "\x00" not in v and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in v)

    check()


def test_preview_holds_no_write_lock(seeded_sqlite, tmp_path):
    """Issue 10: the preview was a rolled-back write that held the store's write lock on every
    rerun. Now it is reads only: a writer can commit while a preview's read is open."""
    import sqlite3
    import threading

    from core.demo import dms_rows

    eng = seeded_sqlite.engine
    plan = importer.plan_table(dms_rows(50, seed=5, advisors=(("陈晓东", "advisor", ""),)))
    path = eng.url.database
    started, release = threading.Event(), threading.Event()
    original = importer._resolve

    def slow_resolve(*args, **kwargs):
        out = original(*args, **kwargs)
        started.set()
        release.wait(10)
        return out

    importer._resolve = slow_resolve
    try:
        t = threading.Thread(target=importer.preview_import, args=(eng, seeded_sqlite.event_id, plan))
        t.start()
        assert started.wait(10)
        other = sqlite3.connect(path, timeout=0.2)  # another desk, no patience
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE event SET target_arrivals = target_arrivals + 1")
        other.execute("COMMIT")
        other.close()
        release.set()
        t.join(10)
    finally:
        importer._resolve = original
        release.set()


def test_fuzzed_files_end_in_a_plan_or_a_plain_refusal():
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=120, deadline=None)
    @given(st.sampled_from(["a.xlsx", "a.csv", "a.xls"]), st.binary(max_size=2000))
    def check(name, content):
        try:
            importer.plan_import(name, content)
        except importer.ImportFileError as e:
            assert str(e) and "Traceback" not in str(e)

    check()


def test_fuzzed_zip_parts_end_in_a_plan_or_a_plain_refusal(tmp_path):
    """Any sheet XML inside a well-formed zip: the extent scan and calamine never escape."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.text(alphabet='<>/="rcv AZ019 tis', max_size=300))
    def check(body):
        xml = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               f'<sheetData>{body}</sheetData></worksheet>').encode()
        path = raw_xlsx(tmp_path / "f.xlsx", [], sheet_xml=xml)
        try:
            importer.plan_import(path)
        except importer.ImportFileError:
            pass

    check()
