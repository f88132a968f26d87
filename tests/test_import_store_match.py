"""Issue 10 (walk-through): a row whose phone and plate belong to a customer already in the store,
under another name, became a second customer with a second vehicle of the same plate, with no
warning (the "same phone, different names" warning only looked inside the sheet). The preview
now meets the store: each such row is a warned row with what will happen, and the commit never
makes a second customer or vehicle for the same car. Store tests on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core import importer
from core.events import add_staff, create_event
from core.models import Customer, Invitation, Vehicle
from core.store import read_session, write_session
from tests.conftest import manager_of

TODAY = date(2026, 11, 22)
HEADER = ["客户姓名", "手机号", "车牌号", "车架号", "客户类别"]


@pytest.fixture
def shop(engine):
    with write_session(engine) as s:
        ev = create_event(s, name="十二月续保会", event_date=date(2026, 12, 5), store_name="测试大众4S店")
        add_staff(s, name="王磊", role="sa")
        event_id = ev.id
    load(engine, event_id, [["张三", "13800000001", "粤A10001", "", "保有"],
                            ["李四", "13800000002", "粤A10002", "", "保有"]])
    return engine, event_id


def load(engine, event_id, rows, store=None):
    plan = importer.plan_table([HEADER, *rows], today=TODAY)
    choices = importer.ImportChoices(store=store or {})
    preview = importer.preview_import(engine, event_id, plan, choices)
    done = importer.commit_import(engine, event_id=event_id, plan=plan, choices=choices, staff_id=manager_of(engine))
    assert preview.as_dict() == done.as_dict()  # the preview says what the commit does
    return plan, done


def people(engine) -> list[tuple]:
    """Every customer with its cars' plates, by name."""
    with read_session(engine) as s:
        out = []
        for c in s.execute(select(Customer).order_by(Customer.id)).scalars():
            plates = sorted(s.execute(select(Vehicle.plate).where(Vehicle.customer_id == c.id)).scalars())
            out.append((c.name, c.phone, plates))
    return out


def count(engine, model) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def plates_once(engine) -> None:
    with read_session(engine) as s:
        assert not s.execute(select(Vehicle.plate).group_by(Vehicle.plate).having(func.count() > 1)).all()


def test_same_phone_and_plate_under_another_name_joins_the_store_customer_keeping_its_name(shop):
    engine, event_id = shop
    plan = importer.plan_table([HEADER, ["张叁", "13800000001", "粤A·10001", "", "保有"]], today=TODAY)
    met = importer.store_matches(engine, plan)
    assert [(m.row, m.kind, m.store_name, m.default) for m in met.values()] == [(2, "name", "张三", "keep_name")]
    preview = importer.preview_import(engine, event_id, plan, importer.ImportChoices())
    assert [w["row"] for w in preview.warned] == [2]
    assert "店内客户“张三”" in preview.warned[0]["reason"] and "保留店内姓名" in preview.warned[0]["reason"]
    assert (preview.new_customers, preview.new_vehicles, preview.new_invitations) == (0, 0, 0)
    load(engine, event_id, [["张叁", "13800000001", "粤A·10001", "", "保有"]])
    assert people(engine) == [("张三", "13800000001", ["粤A10001"]), ("李四", "13800000002", ["粤A10002"])]
    assert count(engine, Invitation) == 2
    plates_once(engine)


def test_the_manager_can_take_the_sheets_name(shop):
    engine, event_id = shop
    _plan, done = load(engine, event_id, [["张叁", "13800000001", "粤A10001", "", "保有"]], store={2: "sheet_name"})
    assert "姓名改为表中姓名" in done.warned[0]["reason"]
    assert people(engine)[0] == ("张叁", "13800000001", ["粤A10001"])
    assert count(engine, Customer) == 2 and count(engine, Vehicle) == 2


def test_same_plate_same_name_another_phone_is_a_new_number(shop):
    engine, event_id = shop
    plan = importer.plan_table([HEADER, ["张三", "13900000009", "粤A10001", "", "保有"]], today=TODAY)
    (m,) = importer.store_matches(engine, plan).values()
    assert (m.kind, m.store_phone, m.default) == ("car", "13800000001", "new_phone")
    _plan, done = load(engine, event_id, [["张三", "13900000009", "粤A10001", "", "保有"]])
    assert "手机号改为表中号码" in done.warned[0]["reason"]
    assert people(engine)[0] == ("张三", "13900000009", ["粤A10001"])
    assert count(engine, Customer) == 2 and count(engine, Invitation) == 2
    plates_once(engine)


def test_same_plate_another_name_and_phone_is_a_car_that_changed_hands(shop):
    engine, event_id = shop
    _plan, done = load(engine, event_id, [["王五", "13900000009", "粤A10001", "", "自然"]])
    assert "车已换主" in done.warned[0]["reason"] and done.moved_vehicles == 1
    assert people(engine) == [("张三", "13800000001", []), ("李四", "13800000002", ["粤A10002"]),
                              ("王五", "13900000009", ["粤A10001"])]
    assert count(engine, Vehicle) == 2
    plates_once(engine)


def test_a_car_can_change_hands_to_a_customer_already_in_the_store(shop):
    engine, event_id = shop
    load(engine, event_id, [["李四", "13800000002", "粤A10001", "", "保有"]])  # 张三's car, now 李四's
    assert people(engine) == [("张三", "13800000001", []), ("李四", "13800000002", ["粤A10001", "粤A10002"])]
    plates_once(engine)


def test_the_manager_can_say_it_is_a_new_number_after_all(shop):
    engine, event_id = shop
    load(engine, event_id, [["张小三", "13900000009", "粤A10001", "", "保有"]], store={2: "new_phone"})
    assert people(engine)[0] == ("张三", "13900000009", ["粤A10001"])
    assert count(engine, Customer) == 2


def test_a_vin_met_under_another_phone_and_name_is_the_same_car(engine):
    with write_session(engine) as s:
        event_id = create_event(s, name="VIN", event_date=date(2026, 12, 5)).id
    vin = "LSVAB2BM0KN123456"
    from core.validate import vin_check_digit

    vin = vin[:8] + vin_check_digit(vin) + vin[9:]
    load(engine, event_id, [["张三", "13800000001", "", vin, "保有"]])
    load(engine, event_id, [["王五", "13900000009", "粤B12345", vin, "保有"]])
    assert people(engine) == [("张三", "13800000001", []), ("王五", "13900000009", ["粤B12345"])]
    assert count(engine, Vehicle) == 1


def test_same_phone_another_name_and_car_is_warned_and_kept_apart_unless_merged(shop):
    engine, event_id = shop
    plan = importer.plan_table([HEADER, ["张太太", "13800000001", "粤A20001", "", "保有"]], today=TODAY)
    (m,) = importer.store_matches(engine, plan).values()
    assert (m.kind, m.default) == ("phone", "separate")
    _plan, done = load(engine, event_id, [["张太太", "13800000001", "粤A20001", "", "保有"]])
    assert "作为另一位客户导入" in done.warned[0]["reason"]
    assert ("张太太", "13800000001", ["粤A20001"]) in people(engine) and count(engine, Customer) == 3
    load(engine, event_id, [["张姐", "13800000001", "粤A30001", "", "保有"]], store={2: "merge"})
    assert people(engine)[0] == ("张三", "13800000001", ["粤A10001", "粤A30001"])
    assert count(engine, Customer) == 3


def test_the_same_row_again_is_no_warning(shop):
    engine, event_id = shop
    plan = importer.plan_table([HEADER, ["张三", "13800000001", "粤A10001", "", "保有"]], today=TODAY)
    assert importer.store_matches(engine, plan) == {}
    assert importer.preview_import(engine, event_id, plan, importer.ImportChoices()).warned == []


def test_a_choice_that_does_not_fit_the_row_falls_back_to_the_default(shop):
    engine, event_id = shop
    load(engine, event_id, [["张叁", "13800000001", "粤A10001", "", "保有"]], store={2: "new_owner"})
    assert people(engine)[0] == ("张三", "13800000001", ["粤A10001"]) and count(engine, Customer) == 2


def cleaned(at) -> dict[int, str]:
    """Row -> reason, from the preview's table of cleaned rows."""
    (table,) = [d.value for d in at.dataframe if "原因" in d.value.columns]
    return dict(zip(table["行号"], table["原因"]))


# --- the page, through app.py as the manager reaches it (AppTest, a real SQLite store) ----------
def test_the_import_page_warns_of_store_customers_and_lets_the_manager_decide(seeded_sqlite, monkeypatch):
    from tests.test_import_page import as_manager, texts, xlsx

    store = seeded_sqlite
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    load(store.engine, store.event_id, [["张三", "13700000091", "粤A90001", "", "保有"],
                                        ["李四", "13700000092", "粤A90002", "", "保有"]])
    before = (count(store.engine, Customer), count(store.engine, Vehicle))
    at = as_manager(store)
    sheet = [HEADER, ["张叁", "13700000091", "粤A90001", "", "保有"],  # same phone and car, another name
             ["李四", "13700000093", "粤A90002", "", "保有"],  # same name and car, a new number
             ["赵六", "13700000094", "粤A95555", "", "自然"]]
    at.file_uploader(key="import_file").set_value(("dms.xlsx", xlsx(sheet), "application/octet-stream")).run()
    assert not at.exception
    page = texts(at)
    assert "与店内已有客户重复（2）" in [h.value for h in at.subheader] or "与店内已有客户重复（2）" in page
    assert "手机号和车牌相同、姓名不同：1 行" in page and "车牌相同、手机号不同：1 行" in page
    reasons = cleaned(at)  # the cleaned rows: both warned, with what will happen
    assert "店内客户“张三”" in reasons[2] and "保留店内姓名" in reasons[2]
    assert "手机号改为表中号码" in reasons[3] and reasons[4] == ""
    assert "新客户1" in page.replace(" ", "")  # only 赵六 is new
    # the manager takes the sheet's name for row 2
    (names,) = [m for m in at.multiselect if m.key.endswith("_name")]
    names.select(2).run()
    assert "姓名改为表中姓名" in cleaned(at)[2]
    [b for b in at.button if b.key == "import_commit"][0].click().run()
    assert not at.exception
    assert (count(store.engine, Customer), count(store.engine, Vehicle)) == (before[0] + 1, before[1] + 1)
    got = {p[1]: p for p in people(store.engine)}
    assert got["13700000091"] == ("张叁", "13700000091", ["粤A90001"])
    assert got["13700000093"] == ("李四", "13700000093", ["粤A90002"]) and "13700000092" not in got
    plates_once(store.engine)


def test_one_plate_under_two_owners_inside_the_sheet_is_one_vehicle(engine):
    with write_session(engine) as s:
        event_id = create_event(s, name="同车", event_date=date(2026, 12, 5)).id
    rows = [HEADER, ["张三", "13800000001", "粤A10001", "", "保有"], ["王五", "13900000009", "粤A10001", "", "保有"],
            ["张三", "13800000001", "粤A10001", "", "自然"]]  # the same owner again is no warning
    plan = importer.plan_table(rows, today=TODAY)
    assert [c for c, _ in plan.rows[1].warnings] == ["import2.row_plate_repeated"]
    assert plan.rows[1].data["plate"] is None and plan.rows[2].warnings == []
    load(engine, event_id, rows[1:])
    assert people(engine) == [("张三", "13800000001", ["粤A10001"]), ("王五", "13900000009", [])]
    plates_once(engine)


def test_the_command_line_reports_store_matches_and_takes_a_choice(tmp_path, sqlite_url):
    import json

    from openpyxl import Workbook

    from core.store import get_engine
    from tests.test_importer import run_cli

    assert run_cli("new-event", "--name", "E", "--date", "2026-12-05", url=sqlite_url).returncode == 0

    def sheet(rows):
        book = Workbook()
        for r in [HEADER, *rows]:
            book.active.append(r)
        path = tmp_path / f"dms{len(list(tmp_path.iterdir()))}.xlsx"
        book.save(path)
        return str(path)
    assert run_cli("import-guests", sheet([["张三", "13800000001", "粤A10001", "", "保有"]]), "--event", "E",
                   url=sqlite_url).returncode == 0
    second = sheet([["张叁", "13800000001", "粤A10001", "", "保有"]])
    dry = run_cli("import-guests", second, "--event", "E", "--dry-run", url=sqlite_url)
    matches = json.loads(dry.stdout)["store_matches"]
    assert [(m["row"], m["kind"], m["action"]) for m in matches] == [(2, "name", "keep_name")]
    assert run_cli("import-guests", second, "--event", "E", "--store-match", "2=oops", url=sqlite_url).returncode == 2
    real = run_cli("import-guests", second, "--event", "E", "--store-match", "2=sheet_name", url=sqlite_url)
    assert real.returncode == 0, real.stderr
    assert people(get_engine(sqlite_url)) == [("张叁", "13800000001", ["粤A10001"])]
