"""Issue 10 through app.py as each role would: the audit log in words, a desk's search audited
with the signed-in staff member, the sign-in picker per desk, the demo store's PIN rule."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import cashier, checkin
from core.errors import DeskError
from core.models import AuditEntry
from core.staff import set_pin
from pages.common import Station

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    return seeded_sqlite


def through_app(store, staff_id: int, role: str, desk: str, page: str | None = None, lang: str = "zh-CN") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["station"] = Station(staff_id=staff_id, staff_name="测试", role=role, desk=desk,
                                          event_id=store.event_id, event_name="测试续保会", lang=lang)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def test_the_audit_log_shows_actions_results_and_details_in_words_and_exports_both(store):
    from openpyxl import load_workbook

    g = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[0])[0]
    with pytest.raises(DeskError, match="amount_needs_confirm"):  # 32005 for 3200.5: the cashier is asked to confirm
        cashier.record_renewal(store.engine, event_id=store.event_id, invitation_id=g["invitation_id"],
                               vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="320050",
                               vehicle_tax="0", payment_method="cash", desk="收银台1", staff_id=store.cashier_id)
    checkin.find_guest(store.engine, event_id=store.event_id, raw=g["phone"], desk="收银台1", staff_id=store.cashier_id)
    at = through_app(store, store.manager_id, "manager", "经理", "pages/audit.py")
    assert not at.exception
    table = at.dataframe[0].value
    shown = "\n".join(str(v) for v in table.to_numpy().ravel())
    assert "amount_needs_confirm" not in shown and "renewal" not in table["操作"].tolist()
    assert {"续保收银", "查找客户"} <= set(table["操作"])
    assert "匹配数：1" in shown and '{"' not in shown  # details as words, not JSON
    at.button(key="audit_prepare").click().run()
    assert not at.exception
    sheet = load_workbook(io.BytesIO(at.session_state["audit_xlsx"])).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][5:9] == ("操作代码", "操作", "结果代码", "结果")
    refused = next(r for r in rows if r[7] == "amount_needs_confirm")
    assert refused[5] == "renewal" and refused[6] != "renewal" and refused[8] and "amount_needs_confirm" not in refused[8]
    search = next(r for r in rows if r[5] == "search")
    assert json.loads(search[10]) == {"matches": 1} and search[11] == "匹配数：1"


def test_the_audit_export_speaks_english_for_an_english_station(store):
    from openpyxl import load_workbook

    from core.audit import export_audit

    checkin.find_guest(store.engine, event_id=store.event_id, raw=store.codes[1], desk="收银台1", staff_id=store.cashier_id)
    book = export_audit(store.engine, staff_id=store.manager_id, desk="经理", event_id=store.event_id, lang="en",
                        action="search")
    rows = list(load_workbook(io.BytesIO(book)).active.iter_rows(values_only=True))
    assert rows[0][5:9] == ("Action code", "Action", "Result code", "Result")
    assert rows[1][5:9] == ("search", "Guest search", "ok", "Done")
    assert rows[1][11] == "matches: 1"


def test_a_cashier_desk_search_is_audited_as_the_signed_in_cashier(store):
    tail = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[2])[0]["phone"][-4:]
    at = through_app(store, store.cashier_id, "cashier", "收银台1")  # the cashier lands on 财务收银
    at.text_input(key="cashier_scan").input(tail).run()
    assert not at.exception
    with store.engine.connect() as conn:
        row = conn.execute(select(AuditEntry).where(AuditEntry.action == "search")).all()[-1]
    assert (row.staff_id, row.desk, row.raw_input, row.event_id) == (store.cashier_id, "收银台1", tail, store.event_id)


def test_the_gift_desk_sign_in_lists_its_own_people_first_by_their_desk_role(store):
    for staff_id in (store.gift_staff_id, store.cashier_id, store.advisor_id):
        set_pin(store.engine, target_id=staff_id, pin="135790", desk="经理", staff_id=store.manager_id)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at.selectbox(key="signin_desk").set_value("礼品台1").run()
    options = at.selectbox[-1].options
    assert options[0] == "马礼品 · 礼品台" and not any("马礼品 · 收银" in o for o in options)
    at.selectbox(key="signin_desk").set_value("收银台1").run()
    assert at.selectbox[-1].options[0] == "郑收银 · 收银" and not any("马礼品" in o for o in at.selectbox[-1].options)


def test_the_set_up_page_says_four_digit_pins_are_for_a_demo_store_only(store, tmp_path, monkeypatch):
    at = through_app(store, store.manager_id, "manager", "经理", "pages/setup.py")
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "至少 6 位" in captions and "演示" not in captions  # a real store: no word of 8888
    from core import migrate
    from core.demo import build_demo
    from core.store import get_engine
    from core.models import Staff

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    eng = get_engine(url)
    migrate.upgrade(eng)
    build_demo(eng, customers=10)
    monkeypatch.setenv("DATABASE_URL", url)
    with eng.connect() as conn:
        manager_id = conn.execute(select(Staff.id).where(Staff.name == "林经理")).scalar_one()
        gift_role = conn.execute(select(Staff.role).where(Staff.name == "马礼品")).scalar_one()
    assert gift_role == "gift"
    demo = type(store)(eng, 1, [], 0, 0, manager_id, 0)
    at = through_app(demo, manager_id, "manager", "经理", "pages/setup.py")
    assert not at.exception
    assert any("4 位" in c.value and "演示" in c.value for c in at.caption)
