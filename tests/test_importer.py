"""The DMS import on messy sheets: every bad row reported by its Excel row number, nothing
written for rejected rows, re-import updates in place."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core import importer
from core.models import Customer, Invitation, Staff, Vehicle
from core.store import read_session, write_session
from core.validate import vin_check_digit

TODAY = date(2026, 11, 22)


def good_vin(prefix: str = "LSVAB2BM") -> str:
    body = (prefix + "0" + "KN123456")[:17]
    return body[:8] + vin_check_digit(body) + body[9:]


def messy_workbook(path):
    """Title rows, a two-level merged header, full-width digits, serial and text dates,
    duplicates, blank rows and a footer, the way DMS exports come."""
    book = Workbook()
    ws = book.active
    ws["A1"] = "演示4S店 2026年12月 续保客户名单"
    ws.merge_cells("A1:I1")
    ws["A2"] = "导出时间：2026-11-20"
    ws["A3"], ws["B3"], ws["C3"], ws["D3"] = "车主姓名", "客户电话1", "车辆信息", None
    ws.merge_cells("A3:A4")
    ws.merge_cells("B3:B4")
    ws.merge_cells("C3:E3")
    ws["C4"], ws["D4"], ws["E4"] = "车牌", "车架号", "品牌型号"
    ws["F3"], ws["G3"], ws["H3"], ws["I3"] = "商业险到期日期", "上年承保公司", "客户类别", "服务顾问"
    ws.merge_cells("F3:F4")
    ws.merge_cells("G3:G4")
    ws.merge_cells("H3:H4")
    ws.merge_cells("I3:I4")
    v1, v2 = good_vin("LSVAB2BM"), good_vin("LSVCD3CN")
    bad_check = v1[:8] + ("1" if v1[8] != "1" else "2") + v1[9:]
    rows = [
        ["张三明 ", "１３８１２３４５６７８", "粤B·12345", v1, "大众 朗逸", 46361, "平安", "保有", "陈晓东"],   # 5 ok
        ["李四", "13912345678", "粤BD12345", v2, "大众 ID.4", "2026年12月5日", "人保", "流失", ""],          # 6 ok
        ["王五", "12345", "粤B55555", None, "", "2026/12/05", "", "自然", ""],                               # 7 bad phone
        ["赵六", "13700000001", "XB12345", None, "", "", "", "保有", "李婷"],                                # 8 bad plate
        ["<img src=x onerror=alert(1)>", "13700000002", "", None, "", "", "", "", ""],                     # 9 html name
        [None, None, None, None, None, None, None, None, None],                                             # 10 blank
        ["张三明 ", "１３８１２３４５６７８", "粤B·12345", v1, "大众 朗逸", 46361, "平安", "保有", "陈晓东"],  # 11 dup of 5
        ["孙七", "13700000003", "粤B77777", bad_check, "", "下周", "", "VIP", ""],                          # 12 warned x3
        ["周八", "", "粤B88888", None, "", "", "", "", ""],                                                  # 13 no phone
        ["合计", "8", None, None, None, None, None, None, None],                                            # footer
    ]
    for r in rows:
        ws.append(r)
    book.save(path)
    return path


def test_messy_sheet_preview(tmp_path):
    plan = importer.plan_import(messy_workbook(tmp_path / "dms.xlsx"), today=TODAY)
    assert plan.header_row == 3
    assert {"name", "phone", "plate", "vin", "model", "commercial_expiry", "category", "advisor"} <= set(plan.columns)
    by_row = {r.row: r for r in plan.rows}
    assert sorted(by_row) == [5, 6, 7, 8, 9, 11, 12, 13]
    assert by_row[5].data["phone"] == "13812345678" and by_row[5].data["name"] == "张三明"
    assert by_row[5].data["plate"] == "粤B12345"
    assert by_row[5].data["commercial_expiry"] == date(2026, 12, 5)
    assert by_row[6].data["commercial_expiry"] == date(2026, 12, 5)
    assert by_row[6].data["group"] == "lost"
    assert not by_row[5].errors and not by_row[6].errors
    assert by_row[7].errors[0][0] == "import.row_bad_phone"
    assert not by_row[8].errors and by_row[8].data["plate"] is None  # a bad plate is blanked, not fatal
    assert by_row[8].warnings[0][0] == "import.row_plate_blanked"
    assert by_row[9].errors[0][0] == "import.row_bad_name"
    assert by_row[11].duplicate_of == 5
    assert {w[0] for w in by_row[12].warnings} == {"import.row_vin_check_digit", "import.row_bad_date",
                                                    "import.row_unknown_category"}
    assert by_row[13].errors[0][0] == "import.row_no_phone"


def test_import_commits_accepted_rows_only(seeded, tmp_path):
    eng, ev = seeded.engine, seeded.event_id
    plan = importer.plan_import(messy_workbook(tmp_path / "dms.xlsx"), today=TODAY)
    with read_session(eng) as s:
        before = s.execute(select(func.count()).select_from(Customer)).scalar_one()
    with write_session(eng) as s:
        report = importer.apply_import(s, ev, plan).as_dict()
    assert report["accepted"] == 4 and report["updated"] == 0
    assert [r["row"] for r in report["rejected"]] == [7, 9, 13]
    assert "手机号“12345”不正确" in report["rejected"][0]["reason"]
    assert [r["row"] for r in report["warned"]] == [8, 11, 12]
    with read_session(eng) as s:
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == before + 4
        names = set(s.execute(select(Customer.name)).scalars())
        assert "王五" not in names and not any("<" in n for n in names)
        zhang = s.execute(select(Customer).where(Customer.phone == "13812345678")).scalar_one()
        inv = s.execute(select(Invitation).where(Invitation.customer_id == zhang.id)).scalar_one()
        assert inv.group == "retained"
        assert s.get(Staff, inv.advisor_id).name == "陈晓东"


def test_reimport_updates_in_place(seeded, tmp_path):
    eng, ev = seeded.engine, seeded.event_id
    path = messy_workbook(tmp_path / "dms.xlsx")
    with write_session(eng) as s:
        importer.apply_import(s, ev, importer.plan_import(path, today=TODAY))
    with read_session(eng) as s:
        counts = [s.execute(select(func.count()).select_from(t)).scalar_one() for t in (Customer, Vehicle, Invitation)]
    with write_session(eng) as s:
        report = importer.apply_import(s, ev, importer.plan_import(path, today=TODAY))
    assert report.accepted == 0 and report.updated == 4
    with read_session(eng) as s:
        assert counts == [s.execute(select(func.count()).select_from(t)).scalar_one() for t in (Customer, Vehicle, Invitation)]


def test_household_with_two_cars_is_one_customer(sqlite_engine):
    from core.events import create_event

    with write_session(sqlite_engine) as s:
        ev = create_event(s, name="家庭", event_date=TODAY)
        rows = [["姓名", "手机号", "车牌号"], ["王芳", "13811112222", "粤A11111"], ["王芳", "13811112222", "粤A22222"]]
        report = importer.apply_import(s, ev.id, importer.plan_table(rows, today=TODAY))
    assert report.accepted == 2
    with read_session(sqlite_engine) as s:
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Vehicle)).scalar_one() == 2
        assert s.execute(select(func.count()).select_from(Invitation)).scalar_one() == 1


def test_csv_in_gbk_and_utf8(tmp_path):
    text = "客户姓名,手机号,车牌\n张三,13812345678,粤B12345\n李四,13912345678,粤B54321\n"
    for enc in ("gbk", "utf-8-sig"):
        p = tmp_path / f"list-{enc}.csv"
        p.write_bytes(text.encode(enc))
        plan = importer.plan_import(p, today=TODAY)
        assert [r.data["name"] for r in plan.rows] == ["张三", "李四"]
        assert [r.row for r in plan.rows] == [2, 3]


@pytest.mark.parametrize("name,content,expect", [
    ("list.xlsx", b"not a zip at all", "无法读取"), ("list.pdf", b"%PDF", "不是支持的文件类型"),
    ("list.csv", b"", "文件是空的"), ("list.csv", "备注\n随便写点\n".encode(), "找不到表头")])
def test_unreadable_files(tmp_path, name, content, expect):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(importer.ImportFileError, match=expect):
        importer.plan_import(p)


def test_lost_customers_split_evenly_year_by_year(sqlite_engine):
    from core.events import add_staff, create_event

    with write_session(sqlite_engine) as s:
        ev = create_event(s, name="流失分配", event_date=TODAY)
        for i in range(6):
            add_staff(s, name=f"顾问{i}", role="advisor")
        rows = [["姓名", "手机号", "客户类别", "流失年份"]]
        rows += [[f"客户{i}", f"1380000{i:04d}", "流失", 2024 if i < 600 else 2025] for i in range(660)]
        importer.apply_import(s, ev.id, importer.plan_table(rows, today=TODAY))
    with read_session(sqlite_engine) as s:
        per = s.execute(select(Invitation.loss_year, Invitation.advisor_id, func.count())
                        .group_by(Invitation.loss_year, Invitation.advisor_id)).all()
    by_year: dict[int, list[int]] = {}
    for year, _advisor, n in per:
        by_year.setdefault(year, []).append(n)
    assert sorted(by_year[2024]) == [100] * 6
    assert sorted(by_year[2025]) == [10] * 6


def run_cli(*args, url):
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_import_dry_run_and_real(tmp_path, sqlite_url):
    path = messy_workbook(tmp_path / "dms.xlsx")
    out = run_cli("new-event", "--name", "十二月续保会", "--date", "2026-12-05", "--store", "测试店", url=sqlite_url)
    assert out.returncode == 0, out.stderr
    event_id = out.stdout.strip()
    unmapped = run_cli("import-guests", str(path), "--event", "十二月续保会", "--dry-run", url=sqlite_url)
    assert unmapped.returncode == 2 and "陈晓东" in unmapped.stderr  # the advisors are nobody's staff here
    dry = run_cli("import-guests", str(path), "--event", "十二月续保会", "--dry-run", "--unmapped-advisors",
                  "unassigned", url=sqlite_url)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["accepted"] == 4 and [r["row"] for r in report["rejected"]] == [7, 9, 13]
    from core.store import get_engine

    with read_session(get_engine(sqlite_url)) as s:
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == 0
    real = run_cli("import-guests", str(path), "--event", event_id, "--unmapped-advisors", "unassigned", url=sqlite_url)
    assert json.loads(real.stdout) == report
    with read_session(get_engine(sqlite_url)) as s:
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == 4
        assert s.execute(select(func.count()).select_from(Staff).where(Staff.role != "system")).scalar_one() == 0  # nobody created (the CLI acts as the system row)
    xlsx = tmp_path / "sms.xlsx"
    exp = run_cli("export-invitations", "--event", event_id, str(xlsx), url=sqlite_url)
    assert exp.returncode == 0, exp.stderr
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()
    assert sheet[0][1] == "姓名" and len(sheet) == 5
    assert all(row[7] in row[8] for row in sheet[1:])  # the SMS text carries the code


def test_cli_refuses_unreadable_file(tmp_path, sqlite_url):
    run_cli("new-event", "--name", "E", "--date", "2026-12-05", url=sqlite_url)
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"garbage")
    out = run_cli("import-guests", str(bad), "--event", "E", url=sqlite_url)
    assert out.returncode == 2 and "无法读取" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    missing = run_cli("import-guests", str(tmp_path / "nope.csv"), "--event", "E", url=sqlite_url)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert run_cli("import-guests", str(empty), "--event", "E", url=sqlite_url).returncode == 2


def test_legacy_xls_with_serial_dates(tmp_path):
    """Older DMS versions still export Excel 97-2003 .xls; dates arrive as date cells."""
    import datetime as dt

    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("客户")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    sheet.write(0, 0, "续保名单（旧版 DMS）")
    for col, title in enumerate(["客户姓名", "联系电话", "车牌", "交强险到期日期"]):
        sheet.write(1, col, title)
    sheet.write(2, 0, "陈静")
    sheet.write(2, 1, "13612345678")
    sheet.write(2, 2, "粤A·6B888")
    sheet.write(2, 3, dt.date(2026, 12, 9), date_style)
    sheet.write(3, 0, "刘强")
    sheet.write(3, 1, 13712345678)  # a number cell, as old exports do
    sheet.write(3, 2, "粤A12345")
    path = tmp_path / "old.xls"
    book.save(str(path))
    plan = importer.plan_import(path, today=TODAY)
    assert [(r.row, r.data["name"], r.data["phone"]) for r in plan.rows] == [(3, "陈静", "13612345678"), (4, "刘强", "13712345678")]
    assert plan.rows[0].data["compulsory_expiry"] == date(2026, 12, 9) and not plan.rows[0].errors
