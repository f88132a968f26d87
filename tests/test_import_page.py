"""客户导入 through app.py as a manager signs in would reach it (AppTest, a real SQLite store)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.models import Customer, Invitation, Staff
from core.store import read_session
from pages.common import Station

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    return seeded_sqlite


def as_manager(store) -> AppTest:
    """app.py with a manager's station, then the import page from the navigation app.py built."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["station"] = Station(staff_id=store.manager_id, staff_name="林经理", role="manager",
                                          desk="经理台", event_id=store.event_id, event_name="测试续保会")
    at.run()
    at.switch_page("pages/import_guests.py").run()
    assert not at.exception
    return at


def xlsx(rows) -> bytes:
    book = Workbook()
    for r in rows:
        book.active.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


SHEET = [
    ["客户姓名", "手机号", "车牌号", "客户类别", "专属顾问", "备注"],
    ["陈 国栋", "13700000001", "粤A10001", "保有", "王 磊", "老客户"],
    ["孙俊杰", "13700000002", "粤A10002", "保有", "王垒", ""],
    ["王芳", "13700000002", "粤A10003", "保有", "陈晓东", ""],
    ["赵敏", "13700000004", "XX123", "自然", "", ""],
]


def count(store, model) -> int:
    with read_session(store.engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def texts(at) -> str:
    parts = [e.value for kind in ("caption", "markdown", "success", "info", "warning", "error", "text")
             for e in at.get(kind) if hasattr(e, "value")]
    import re

    parts += [re.sub(r"<[^>]+>", "", str(h.proto.body)) for h in at.get("html")]  # the counters strip
    return "\n".join(str(p) for p in parts)


def test_cashier_cannot_reach_the_import(store):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["station"] = Station(staff_id=store.cashier_id, staff_name="郑收银", role="cashier",
                                          desk="收银台1", event_id=store.event_id, event_name="测试续保会")
    at.run()
    with pytest.raises(ValueError):
        at.switch_page("pages/import_guests.py")  # not in the cashier's navigation


def test_preview_asks_then_imports_once(store):
    at = as_manager(store)
    staff_before, customers_before = count(store, Staff), count(store, Customer)
    at.file_uploader(key="import_file").set_value(("dms.xlsx", xlsx(SHEET), "application/octet-stream")).run()
    assert not at.exception
    page = texts(at)
    assert "顾问" in page and "未使用的列：备注" in page  # 专属顾问 recognised, 备注 named as unused
    # the cleaned rows, paged, as they will be written
    shown = at.dataframe[0].value
    assert "陈国栋" in set(shown["姓名"]) and "13700000002" in set(shown["手机号"])
    assert shown.loc[shown["姓名"] == "赵敏", "原因"].iloc[0].startswith("车牌“XX123”格式不正确")
    # advisors: "王 磊" matched, "王垒" (a typo) waits for the manager; no commit button yet
    boxes = {sb.label: sb for sb in at.selectbox}
    assert boxes["王磊（1 位客户）"].value is not None
    assert boxes["王垒（1 位客户）"].value is None
    assert "还有 1 个顾问姓名需要您选择" in texts(at)
    assert not [b for b in at.button if b.key == "import_commit"]
    assert boxes["王垒（1 位客户）"].options[0] == "王磊 · 服务顾问（相近，建议）"  # the close match first
    boxes["王垒（1 位客户）"].select_index(0).run()  # the suggestion, 王磊
    # one phone, two names: two customers unless merged
    assert any("13700000002" in c.label for c in at.checkbox)
    assert "新客户4" in texts(at).replace(" ", "") and "新邀请4" in texts(at).replace(" ", "")
    commit = [b for b in at.button if b.key == "import_commit"]
    assert commit and "新客户 4" in commit[0].label
    commit[0].click().run()
    assert not at.exception
    assert "已导入：新客户 4" in texts(at) and "这份预览已导入" in texts(at)
    assert not [b for b in at.button if b.key == "import_commit"]  # gone after the commit
    assert count(store, Customer) == customers_before + 4 and count(store, Staff) == staff_before
    at.run()  # a rerun (or a second click that arrived late) imports nothing again
    assert count(store, Customer) == customers_before + 4
    with read_session(store.engine) as s:
        wang = s.execute(select(Staff.id).where(Staff.name == "王磊")).scalar_one()
        sun = s.execute(select(Invitation.advisor_id).join(Customer, Customer.id == Invitation.customer_id)
                        .where(Customer.name == "孙俊杰")).scalar_one()
    assert sun == wang


def test_a_far_cell_sheet_is_refused_on_the_page_and_the_app_stays_up(store, tmp_path):
    from tests.test_import_bounds import HEADER, raw_xlsx

    at = as_manager(store)
    path = raw_xlsx(tmp_path / "far.xlsx", [*HEADER, ("XFD", 1048576, "x")], dimension="A1:XFD1048576")
    at.file_uploader(key="import_file").set_value(("far.xlsx", path.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    assert any("超过上限" in e.value for e in at.error)


def test_sms_details_and_cards_per_advisor(store):
    at = as_manager(store)
    form_inputs = {ti.label: ti for ti in at.text_input}
    form_inputs["活动地址"].input("广州市天河区黄埔大道西100号")
    form_inputs["到店时间（例 09:00）"].input("9:30")
    [b for b in at.button if b.label == "保存地址和时间"][0].click().run()
    assert not at.exception
    sample = next(c.value for c in at.caption if c.value.startswith("示例")).replace("\\", "")
    assert "09:30" in sample and "回T退订" in sample and "黄埔大道西" in sample
    at.button(key="make_sms").click().run()
    assert at.get("download_button")
    at.button(key="make_cards").click().run()
    assert not at.exception
    labels = [d.proto.label for d in at.get("download_button")]
    assert any(label.startswith("陈晓东（") for label in labels) and any(label.startswith("李婷（") for label in labels)


def test_a_big_sheet_is_read_in_the_worker_process(store):
    """Sheets over 1 MB are planned in a worker process (the server keeps answering the desks);
    the preview is the same."""
    rows = [["客户姓名", "手机号", "车牌号", "备注"]] + [[f"客户{i}", f"139{i:08d}", "", "x" * 60] for i in range(15000)]
    text = "\n".join(",".join(map(str, r)) for r in rows).encode("utf-8")
    assert len(text) > 1 << 20
    at = as_manager(store)
    at.file_uploader(key="import_file").set_value(("big.csv", text, "text/csv")).run()
    assert not at.exception
    assert "新客户15000" in texts(at).replace(" ", "")
    assert "第 1 / 300 页，共 15000 行" in texts(at)


def test_markdown_in_sheet_text_is_shown_as_text(store):
    """Issue 10: Markdown in names rendered (an image URL made staff browsers fetch it). Names and
    headers from the sheet reach labels and captions only escaped."""
    evil = "![x](http://evil.example/x.png)"
    rows = [["客户姓名", "手机号", evil], [evil, "13700000021", "a"], ["李四", "13700000021", "b"]]
    at = as_manager(store)
    at.file_uploader(key="import_file").set_value(("md.xlsx", xlsx(rows), "application/octet-stream")).run()
    assert not at.exception
    merge = next(c for c in at.checkbox if "13700000021" in c.label)
    assert "![x](" not in merge.label and "\\!\\[x\\]\\(" in merge.label
    ignored = next(c.value for c in at.caption if c.value.startswith("未使用的列"))
    assert "![x](" not in ignored
