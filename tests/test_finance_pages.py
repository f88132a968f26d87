"""The cashier's renewal form and the manager's 财务汇总 page, reached through app.py as each role."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from core import cashier, checkin, finance
from core.models import Renewal, Vehicle
from core.store import read_session, write_session
from pages.common import Station

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    return seeded_sqlite


def through_app(store, role: str, desk: str, page: str) -> AppTest:
    """Signed in as `role` at `desk`, then the page opened from app.py's navigation."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    staff_id = {"manager": store.manager_id, "cashier": store.cashier_id}[role]
    at.session_state["station"] = Station(staff_id=staff_id, staff_name="测试", role=role, desk=desk,
                                          event_id=store.event_id, event_name="测试续保会")
    at.run()
    at.switch_page(page)
    return at.run()


def html_text(at: AppTest) -> str:
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def fill(at: AppTest, compulsory="950", commercial="3200.5", tax="360", **extra):
    boxes = {ti.label: ti for ti in at.text_input}
    boxes["交强险（元）"].input(compulsory)
    boxes["商业险（元）"].input(commercial)
    boxes["车船税（元）"].input(tax)
    for label, value in extra.items():
        boxes[label].input(value)
    at.selectbox[1].select_index(1)  # insurer
    [r for r in at.radio if r.label == "付款方式"][0].set_value("wechat")


def submit(at: AppTest) -> AppTest:
    [b for b in at.button if b.label == "确认收款并登记续保"][0].click()
    return at.run()


def renewals(store) -> list[Renewal]:
    with read_session(store.engine) as s:
        return list(s.query(Renewal).all())


def cashier_with_guest(store) -> tuple[AppTest, dict]:
    g = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[0])[0]
    with write_session(store.engine) as s:
        s.execute(update(Vehicle).where(Vehicle.id == g["vehicles"][0]["id"]).values(commercial_last_fen=320000))
    at = through_app(store, "cashier", "收银台1", "pages/cashier.py")
    assert not at.exception
    at.text_input(key="cashier_scan").input(store.codes[0]).run()
    return at, g


def test_cashier_32005_asks_for_a_confirmation_with_the_reason(store):
    at, g = cashier_with_guest(store)
    assert any("上年商业险 3,200.00 元" in c.value for c in at.caption)
    fill(at, commercial="32005")
    submit(at)
    assert not at.exception
    warning = "\n".join(w.value for w in at.warning)
    assert "商业险 32,005.00 元是上年 3,200.00 元的 10.0 倍" in warning
    assert renewals(store) == []  # never reaches the store without the confirmation
    submit(at)  # submitting again without the tick saves nothing either
    assert renewals(store) == []
    tick = [c for c in at.checkbox if c.label == "已与客户核对，金额无误"]
    assert tick
    tick[0].check()
    submit(at)
    assert not at.exception
    [row] = renewals(store)
    assert row.commercial_fen == 3200500 and "10.0 倍" in row.amount_note
    assert "续保成功" in html_text(at)


def test_cashier_3200_5_goes_straight_through_with_the_live_total(store):
    at, g = cashier_with_guest(store)
    live = html_text(at)
    assert "rd-live-total" in live and "交强险（元）" in live and "商业险（元）" in live
    fill(at, commercial="3200.5")
    submit(at)
    assert not at.exception and not at.warning
    [row] = renewals(store)
    assert row.total_fen == 95000 + 320050 + 36000
    assert (row.invoice_kind, row.invoice_title) == ("personal", g["name"])  # personal by default, the guest's name


def test_cashier_invoice_for_a_company_needs_a_valid_tax_id(store):
    at, g = cashier_with_guest(store)
    fill(at)
    [r for r in at.radio if r.label == "发票"][0].set_value("company")
    boxes = {ti.label: ti for ti in at.text_input}
    boxes["发票抬头"].input("广州某某汽车服务有限公司")
    boxes["税号（单位填写，18 位统一社会信用代码）"].input("911101085513850820")
    submit(at)
    assert any("不是有效的统一社会信用代码" in e.value for e in at.error)
    assert renewals(store) == []
    {ti.label: ti for ti in at.text_input}["税号（单位填写，18 位统一社会信用代码）"].input("91350100M000100Y43")
    submit(at)
    [row] = renewals(store)
    assert (row.invoice_kind, row.invoice_tax_id) == ("company", "91350100M000100Y43")
    pending = [b for b in at.button if b.label == "打印收款凭证"]
    assert pending
    pending[0].click().run()
    assert not at.exception
    assert any("收款凭证" in c.value and "4,510.50 元" in c.value for c in at.code)  # no printer: on screen


def several(store):
    out = []
    for i, (method, desk) in enumerate([("wechat", "收银台1"), ("pos", "收银台2（开票）"), ("cash", "收银台1")]):
        g = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[i])[0]
        out.append(cashier.record_renewal(store.engine, event_id=store.event_id, invitation_id=g["invitation_id"],
                                          vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950",
                                          commercial="3000", vehicle_tax="0", payment_method=method, desk=desk,
                                          staff_id=store.cashier_id))
    return out


def test_manager_finance_page_lists_filters_exports_and_cashes_up_every_desk(store):
    r = several(store)
    at = through_app(store, "manager", "经理", "pages/finance.py")
    assert not at.exception
    assert at.title[0].value == "财务汇总"
    frames = at.dataframe
    assert len(frames[0].value) == 3  # the list: every desk's renewals
    assert "共 3 笔" in "\n".join(m.value for m in at.markdown)
    at.selectbox(key="fin_desk").set_value("收银台1").run()
    assert len(at.dataframe[0].value) == 2
    at.selectbox(key="fin_method").set_value("cash").run()
    assert list(at.dataframe[0].value["收据号"]) == [r[2]["receipt_no"]]
    # the cash-up tab: all desks, not just the manager's
    assert "￥11,850.00" in [m.value for m in at.metric]
    # the export
    [b for b in at.button if b.key == "fin_export"][0].click().run()
    assert not at.exception
    from openpyxl import load_workbook

    data = at.session_state["fin_book"]
    assert load_workbook(io.BytesIO(data))["续保明细"].max_row == 5  # header, 3 renewals, totals


def test_manager_sets_the_commercial_range(store):
    at = through_app(store, "manager", "经理", "pages/finance.py")
    boxes = {ti.label: ti for ti in at.text_input}
    boxes["商业险上限（元）"].input("40000")
    [b for b in at.button if b.label == "保存"][0].click().run()
    assert not at.exception
    assert finance.guard_settings(store.engine).commercial_max_fen == 4000000


def test_manager_voids_any_renewal_from_the_finance_page(store):
    r = several(store)
    at = through_app(store, "manager", "经理", "pages/finance.py")
    at.text_input(key="fin_void_find").input(r[0]["receipt_no"]).run()
    form_select = [s for s in at.selectbox if s.label == "要作废的续保"][0]
    form_select.select_index(0)
    [t for t in at.text_input if t.label == "原因"][0].input("客户取消")
    [b for b in at.button if b.label == "作废"][0].click().run()
    assert not at.exception
    assert any("已作废" in s.value for s in at.success)
    assert finance.list_renewals(store.engine, store.event_id, finance.Filters(status="voided"))[1]["count"] == 1


def test_cashier_cannot_reach_the_finance_page(store):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["station"] = Station(staff_id=store.cashier_id, staff_name="测试", role="cashier", desk="收银台1",
                                          event_id=store.event_id, event_name="测试续保会")
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in a cashier's navigation
        at.switch_page("pages/finance.py")


def test_manager_cash_up_on_the_cashier_page_is_every_desk(store):
    several(store)
    at = through_app(store, "manager", "经理", "pages/cashier.py")
    assert not at.exception
    assert any(m.value == "￥11,850.00" and m.label == "全部收款台合计（经理）" for m in at.metric)


def test_invoice_desk_changes_the_details_before_issuing(store):
    several(store)
    at = through_app(store, "cashier", "收银台2（开票）", "pages/cashier.py")
    assert len([b for b in at.button if b.label == "保存"]) == 3  # one per renewal waiting for its invoice
    radio = [r for r in at.radio if r.label == "发票"][0]
    radio.set_value("company")
    [t for t in at.text_input if t.label == "发票抬头"][0].input("广州某某汽车服务有限公司")
    [t for t in at.text_input if t.label.startswith("税号")][0].input("91110108551385082Q")
    [b for b in at.button if b.label == "保存"][0].click().run()
    assert not at.exception
    rows = [r for r in cashier.renewal_rows(store.engine, store.event_id) if r["invoice_kind"] == "company"]
    assert len(rows) == 1 and rows[0]["invoice_tax_id"] == "91110108551385082Q"


def test_the_reason_is_translated_in_english(store, monkeypatch):
    monkeypatch.setenv("RENEWDAY_LANG", "en")  # the app's language, and the one AppTest formats options with
    g = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[0])[0]
    with write_session(store.engine) as s:
        s.execute(update(Vehicle).where(Vehicle.id == g["vehicles"][0]["id"]).values(commercial_last_fen=320000))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["station"] = Station(staff_id=store.cashier_id, staff_name="测试", role="cashier", desk="收银台1",
                                          event_id=store.event_id, event_name="测试续保会",
                                          lang="en")  # issue 9: the language is the station's, chosen at sign-in
    at.run()
    at.switch_page("pages/cashier.py").run()
    at.text_input(key="cashier_scan").input(store.codes[0]).run()
    boxes = {ti.label: ti for ti in at.text_input}
    compulsory = next(v for k, v in boxes.items() if k.lower().startswith("compulsory"))
    commercial = next(v for k, v in boxes.items() if k.lower().startswith("commercial"))
    compulsory.input("960")  # not on the table: 950 floated in 10 % steps
    commercial.input("32005")
    at.selectbox[1].select_index(1)
    [r for r in at.radio if r.label == "Payment"][0].set_value("wechat")
    [b for b in at.button if b.label == "Take payment and record the renewal"][0].click().run()
    text = "\n".join(w.value for w in at.warning)
    assert "Commercial premium 32,005.00 yuan is 10.0× last year's 3,200.00 yuan" in text
    assert "Compulsory premium 960.00 yuan is not a standard rate (seats unknown: 475.00–1,430.00 yuan" in text
    assert renewals(store) == []
