"""Closing the day: the plausibility guard, invoice details, the event-wide list, the cash-up of
every desk, the finance workbook and the 收款凭证 on a real socket printer."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from core import cashier, checkin, finance, receipts
from core.errors import DeskError
from core.models import AuditEntry, PrintJob, Renewal, Vehicle
from core.store import read_session, write_session
from tests.fakeprinter import FakePrinter, decode
from tests.conftest import desk_staff


def guest(seeded, i=0):
    return checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[i])[0]


def renew(seeded, g, **kw):
    args = dict(event_id=seeded.event_id, invitation_id=g["invitation_id"], vehicle_id=g["vehicles"][0]["id"],
                insurer="平安", compulsory="950.00", commercial="3200.50", vehicle_tax="360", payment_method="wechat",
                desk="收银台1", staff_id=seeded.cashier_id)
    args.update(kw)
    return cashier.record_renewal(seeded.engine, **args)


def renewals(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(Renewal)).scalar_one()


def set_vehicle(engine, vehicle_id, **values):
    with write_session(engine) as s:
        s.execute(update(Vehicle).where(Vehicle.id == vehicle_id).values(**values))


# --- the plausibility guard ----------------------------------------------------------------
def test_32005_against_last_years_3200_needs_a_confirmation(seeded):
    g = guest(seeded)
    set_vehicle(seeded.engine, g["vehicles"][0]["id"], commercial_last_fen=320000)
    with pytest.raises(DeskError) as e:
        renew(seeded, g, commercial="32005")
    assert e.value.reason == "amount_needs_confirm"
    [check] = e.value.info["checks"]
    assert check["code"] == "commercial_vs_last" and check["ratio"] == "10.0"
    assert e.value.info["what"] == "commercial"  # a code: the page words the check (issue 9)
    assert "商业险 32,005.00 元是上年 3,200.00 元的 10.0 倍" in finance.check_text_zh(check)  # the stored note's words
    assert renewals(seeded.engine) == 0  # never reaches the store
    # what was meant goes straight through
    ok = renew(seeded, g, commercial="3200.5")
    assert ok["total_fen"] == 95000 + 320050 + 36000


def test_a_confirmation_covers_the_amount_it_was_shown_for_only(seeded):
    g = guest(seeded)
    set_vehicle(seeded.engine, g["vehicles"][0]["id"], commercial_last_fen=320000)
    with pytest.raises(DeskError) as e:
        renew(seeded, g, commercial="32005")
    key = e.value.info["confirm_key"]
    with pytest.raises(DeskError, match="amount_needs_confirm"):  # the cashier typed another odd amount
        renew(seeded, g, commercial="42005", confirmed=key)
    assert renewals(seeded.engine) == 0
    r = renew(seeded, g, commercial="32005", confirmed=key)
    with read_session(seeded.engine) as s:
        row = s.get(Renewal, r["renewal_id"])
    assert row.commercial_fen == 3200500 and "10.0 倍" in row.amount_note


def test_commercial_range_when_last_year_is_unknown_is_the_managers(seeded):
    g = guest(seeded)
    with pytest.raises(DeskError) as e:
        renew(seeded, g, commercial="32005")
    assert e.value.info["checks"][0]["code"] == "commercial_range"
    with pytest.raises(DeskError, match="not_manager"):
        finance.save_guard_settings(seeded.engine, commercial_min="1000", commercial_max="40000", ratio_low=0.5,
                                    ratio_high=2, desk="经理", staff_id=seeded.cashier_id)
    with pytest.raises(DeskError, match="guard_range_invalid"):
        finance.save_guard_settings(seeded.engine, commercial_min="5000", commercial_max="1000", ratio_low=0.5,
                                    ratio_high=2, desk="经理", staff_id=seeded.manager_id)
    saved = finance.save_guard_settings(seeded.engine, commercial_min="1000", commercial_max="40,000",
                                        ratio_low=0.5, ratio_high=2, desk="经理", staff_id=seeded.manager_id)
    assert saved.commercial_max_fen == 4000000 == finance.guard_settings(seeded.engine).commercial_max_fen
    assert renew(seeded, g, commercial="32005")["total_fen"] == 95000 + 3200500 + 36000


@pytest.mark.parametrize("seats,amount,ok", [
    (5, "950", True), (5, "475", True), (5, "665", True), (5, "1235", True), (5, "1100", False), (5, "9500", False),
    (5, "95", False), (5, "960", False), (7, "1100", True), (7, "770", True), (7, "950", False), (None, "950", True),
    (None, "1100", True), (None, "1430", True), (None, "1500", False), (14, "1270", True), (14, "3000", False),
    (5, "0", True)])
def test_compulsory_table_by_seats(seeded, seats, amount, ok):
    g = guest(seeded)
    if ok:
        assert renew(seeded, g, compulsory=amount, seats=seats)["renewal_id"]
    else:
        with pytest.raises(DeskError) as e:
            renew(seeded, g, compulsory=amount, seats=seats)
        assert e.value.info["checks"][0]["code"] == "compulsory_table"
        assert renewals(seeded.engine) == 0


def test_seats_from_the_vehicle_and_kept_on_it(seeded):
    g = guest(seeded)
    vid = g["vehicles"][0]["id"]
    set_vehicle(seeded.engine, vid, seats=7)
    with pytest.raises(DeskError, match="amount_needs_confirm"):
        renew(seeded, g, compulsory="950")  # a 7-seater pays 1 100 floated
    renew(seeded, g, compulsory="1100")
    g2 = guest(seeded, 1)
    renew(seeded, g2, compulsory="1100", seats=9)
    with read_session(seeded.engine) as s:
        assert s.get(Vehicle, g2["vehicles"][0]["id"]).seats == 9


def test_vehicle_tax_above_the_highest_rate_needs_a_confirmation(seeded):
    with pytest.raises(DeskError) as e:
        renew(seeded, guest(seeded), vehicle_tax="36000")
    assert e.value.info["checks"][0]["code"] == "vehicle_tax_high"


# --- invoice details ------------------------------------------------------------------------
@pytest.mark.parametrize("code,valid", [
    ("91350100M000100Y43", True), ("91110108551385082Q", True), ("91110108 5513 85082q", True),
    ("911101085513850820", False), ("91350100M000100Y4", False), ("91350100M000100YI3", False), ("", False)])
def test_unified_social_credit_code(code, valid):
    assert (finance.check_tax_id(code) is not None) is valid


def test_invoice_details_stored_on_the_renewal(seeded):
    g = guest(seeded)
    with pytest.raises(DeskError, match="tax_id_invalid"):
        renew(seeded, g, invoice_kind="company", invoice_title="广州某某汽车服务有限公司", invoice_tax_id="911101085513850820")
    with pytest.raises(DeskError, match="invoice_title_missing"):
        renew(seeded, g, invoice_kind="company", invoice_title=" ", invoice_tax_id="91350100M000100Y43")
    with pytest.raises(DeskError, match="tax_id_personal"):
        renew(seeded, g, invoice_kind="personal", invoice_title="张三", invoice_tax_id="91350100M000100Y43")
    assert renewals(seeded.engine) == 0
    r = renew(seeded, g, invoice_kind="company", invoice_title="广州某某汽车服务有限公司",
              invoice_tax_id="91350100m000100y43")
    with read_session(seeded.engine) as s:
        row = s.get(Renewal, r["renewal_id"])
    assert (row.invoice_kind, row.invoice_title, row.invoice_tax_id) == (
        "company", "广州某某汽车服务有限公司", "91350100M000100Y43")
    personal = renew(seeded, guest(seeded, 1), invoice_kind="personal", invoice_title="李四")
    none = renew(seeded, guest(seeded, 2), invoice_kind="none")
    pending = {x["renewal_id"] for x in cashier.renewal_rows(seeded.engine, seeded.event_id, pending_invoice=True)}
    assert pending == {r["renewal_id"], personal["renewal_id"]} and none["renewal_id"] not in pending
    finance.set_invoice_details(seeded.engine, renewal_id=none["renewal_id"], kind="personal", title="王五",
                                tax_id="", desk="收银台2（开票）", staff_id=seeded.cashier_id)
    assert none["renewal_id"] in {x["renewal_id"] for x in
                                  cashier.renewal_rows(seeded.engine, seeded.event_id, pending_invoice=True)}


# --- the manager's view ---------------------------------------------------------------------
def several(seeded) -> list[dict]:
    out = [renew(seeded, guest(seeded, 0), payment_method="wechat", desk="收银台1"),
           renew(seeded, guest(seeded, 1), payment_method="pos", desk="收银台2（开票）", commercial="4100"),
           renew(seeded, guest(seeded, 2), payment_method="cash", desk="收银台1", commercial="2890.35",
                 invoice_kind="none", advisor_id=seeded.manager_id, credit_reason="客户指定"),
           renew(seeded, guest(seeded, 3), payment_method="wechat", desk="收银台2（开票）", insurer="人保 PICC")]
    cashier.void_renewal(seeded.engine, renewal_id=out[3]["renewal_id"], reason="录错", desk="经理",
                         staff_id=seeded.manager_id)
    cashier.mark_invoiced(seeded.engine, renewal_id=out[1]["renewal_id"], invoice_no="44001234", desk="收银台2（开票）",
                          staff_id=desk_staff(seeded.engine))
    return out


def test_cash_up_of_all_desks_by_payment_method(seeded):
    r = several(seeded)
    cash = finance.cash_up_all(seeded.engine, seeded.event_id)
    assert set(cash["desks"]) == {"收银台1", "收银台2（开票）"}
    assert cash["desks"]["收银台1"]["wechat"] == {"count": 1, "total_fen": r[0]["total_fen"]}
    assert cash["desks"]["收银台1"]["cash"] == {"count": 1, "total_fen": r[2]["total_fen"]}
    assert cash["desks"]["收银台2（开票）"]["wechat"]["count"] == 0  # the voided one is out
    assert cash["count"] == 3 and cash["total_fen"] == sum(x["total_fen"] for x in r[:3])


def test_event_wide_list_filters_and_pages(seeded):
    r = several(seeded)
    F = finance.Filters
    ids = lambda f, **kw: [x["renewal_id"] for x in finance.list_renewals(seeded.engine, seeded.event_id, f, **kw)[0]]  # noqa: E731
    assert ids(F()) == [r[2]["renewal_id"], r[1]["renewal_id"], r[0]["renewal_id"]]
    assert ids(F(desk="收银台1")) == [r[2]["renewal_id"], r[0]["renewal_id"]]
    assert ids(F(payment_method="pos")) == [r[1]["renewal_id"]]
    assert ids(F(advisor_id=seeded.manager_id)) == [r[2]["renewal_id"]]
    assert ids(F(insurer="人保 PICC")) == [] and ids(F(insurer="人保 PICC", status="all")) == [r[3]["renewal_id"]]
    assert ids(F(invoice_state="invoiced")) == [r[1]["renewal_id"]]
    assert ids(F(invoice_state="not_wanted")) == [r[2]["renewal_id"]]
    assert ids(F(invoice_state="pending")) == [r[0]["renewal_id"]]
    assert ids(F(status="voided")) == [r[3]["renewal_id"]]
    assert ids(F(search=r[1]["receipt_no"])) == [r[1]["renewal_id"]]
    assert ids(F(), offset=1, limit=1) == [r[1]["renewal_id"]]
    rows, totals = finance.list_renewals(seeded.engine, seeded.event_id, F(desk="收银台1"), limit=1)
    assert len(rows) == 1 and totals["count"] == 2 and totals["total_fen"] == r[0]["total_fen"] + r[2]["total_fen"]


def test_no_list_stops_at_200(seeded):
    """The old void list showed the newest 200: the 201st renewal back could not be voided."""
    g = guest(seeded)
    vid = g["vehicles"][0]["id"]
    first = renew(seeded, g)
    cashier.void_renewal(seeded.engine, renewal_id=first["renewal_id"], reason="测试", desk="经理",
                         staff_id=seeded.manager_id)
    with write_session(seeded.engine) as s:  # 205 voided renewals of the same car, quickly
        base = s.get(Renewal, first["renewal_id"])
        for i in range(205):
            s.add(Renewal(**{**base.model_dump(exclude={"id"}), "receipt_no": f"BULK-{i:04d}"}))
    rows, totals = finance.list_renewals(seeded.engine, seeded.event_id, finance.Filters(status="voided"), offset=200,
                                         limit=50)
    assert totals["count"] == 206 and len(rows) == 6
    assert len(cashier.renewal_rows(seeded.engine, seeded.event_id, limit=None)) == 206
    assert vid


def test_finance_workbook_totals_equal_the_rows(seeded, tmp_path):
    from openpyxl import load_workbook

    r = several(seeded)
    with pytest.raises(DeskError, match="not_manager"):
        finance.export_workbook(seeded.engine, event_id=seeded.event_id, desk="收银台1", staff_id=seeded.cashier_id)
    data = finance.export_workbook(seeded.engine, event_id=seeded.event_id, desk="经理", staff_id=seeded.manager_id)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["续保明细", "按付款方式", "按收款台", "作废"]
    ws = book["续保明细"]
    rows = list(ws.iter_rows(values_only=True))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert len(body) == 3 and total[0] == "合计"  # one row per live renewal, the void left out
    money = [header.index(h) for h in ("交强险（元）", "商业险（元）", "车船税（元）", "合计（元）")]
    for col in money:
        assert sum(Decimal(str(row[col])) for row in body) == Decimal(str(total[col]))
        assert ws.cell(row=2, column=col + 1).number_format == "#,##0.00"
    assert Decimal(str(total[money[-1]])) * 100 == sum(x["total_fen"] for x in r[:3])
    assert {row[0] for row in body} == {x["receipt_no"] for x in r[:3]}
    assert Decimal(str(body[0][header.index("商业险（元）")])) == Decimal("3200.50")
    by_method = list(book["按付款方式"].iter_rows(values_only=True))
    assert sum(Decimal(str(row[5])) for row in by_method[1:-1]) == Decimal(str(total[money[-1]]))
    assert {row[0]: row[1] for row in by_method[1:-1]}["微信"] == 1
    assert [row[0] for row in list(book["作废"].iter_rows(values_only=True))[1:]] == [r[3]["receipt_no"]]
    with read_session(seeded.engine) as s:
        assert s.execute(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "finance_export", AuditEntry.result == "ok")).scalar_one() == 1


# --- the 收款凭证 ---------------------------------------------------------------------------
@pytest.mark.parametrize("render", ["text", "image"])
def test_payment_receipt_on_a_real_socket_printer(seeded, render):
    printer = FakePrinter("ok")
    try:
        receipts.save_desk_printer(seeded.engine, desk="收银台1", connection="network", host="127.0.0.1",
                                   port=printer.port, render=render, paper_mm=80)
        g = guest(seeded)
        r = renew(seeded, g, invoice_kind="personal", invoice_title=g["name"], payment_ref="4200001234")
        out = finance.payment_receipt(seeded.engine, renewal_id=r["renewal_id"], desk="收银台1",
                                      staff_id=seeded.cashier_id)
        assert out["status"] == "printed" and out["receipt_no"] == r["receipt_no"]
        got = decode(printer.wait_for(1)[0])
        assert got["cut"]
        if render == "text":
            assert got["qrs"] == [r["receipt_no"]]
            text = "\n".join(got["lines"])
            assert "收款凭证" in text and "合计：4,510.50 元" in text and "付款方式：微信" in text
            assert g["phone"] not in text and g["name"] not in text  # masked
            assert g["phone"][:3] + "****" + g["phone"][-4:] in text
        else:
            assert got["image"]
        again = finance.payment_receipt(seeded.engine, renewal_id=r["renewal_id"], desk="收银台1",
                                        staff_id=seeded.cashier_id)
        assert again["is_copy"] and again["receipt_no"] == r["receipt_no"]
    finally:
        printer.close()


def test_payment_receipt_without_a_printer_shows_on_screen_and_refuses_a_void(seeded):
    r = renew(seeded, guest(seeded))
    out = finance.payment_receipt(seeded.engine, renewal_id=r["renewal_id"], desk="收银台9", staff_id=desk_staff(seeded.engine))
    assert out["status"] == "screen"
    lines = receipts.preview(seeded.engine, out["job_id"])["lines"]
    assert "收款凭证" in lines and any("商业险：3,200.50 元" in x for x in lines)
    cashier.void_renewal(seeded.engine, renewal_id=r["renewal_id"], reason="录错", desk="经理", staff_id=seeded.manager_id)
    with pytest.raises(DeskError, match="voided"):
        finance.payment_receipt(seeded.engine, renewal_id=r["renewal_id"], desk="收银台9", staff_id=desk_staff(seeded.engine))
    with read_session(seeded.engine) as s:
        assert s.execute(select(func.count()).select_from(PrintJob)).scalar_one() == 1
