"""Every page through Streamlit's AppTest, on a real SQLite store."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cashier, checkin
from tests.conftest import MANAGER_PIN, desk_staff
from pages.common import Station

TIMEOUT = 30
ROOT = Path(__file__).resolve().parent.parent


def app_test(path: str) -> AppTest:
    return AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)


@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    url = seeded_sqlite.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    return seeded_sqlite


def page(path: str, seeded, role: str = "manager", desk: str = "签到台1") -> AppTest:
    at = app_test(path)
    staff_id = {"manager": seeded.manager_id, "cashier": seeded.cashier_id}.get(role, seeded.advisor_id)
    at.session_state["station"] = Station(staff_id=staff_id, staff_name="测试", role=role, desk=desk,
                                          event_id=seeded.event_id, event_name="测试续保会")
    return at.run()


def html_text(at: AppTest) -> str:
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def test_checkin_scanner_flow(store):
    at = page("pages/checkin.py", store)
    assert not at.exception
    box = at.text_input(key="checkin_scan")
    box.input(store.codes[0]).run()
    assert "欢迎" in html_text(at)
    assert at.text_input(key="checkin_scan").value == ""  # ready for the next guest
    at.text_input(key="checkin_scan").input(store.codes[0]).run()
    at.text_input(key="checkin_scan").input(store.codes[0]).run()
    text = html_text(at)
    assert "欢迎" in text or "已签到" in text
    at.text_input(key="checkin_scan").input("NOTACODE2345678ZZ").run()
    assert "无法签到" in html_text(at) and "查无此码" in html_text(at)
    assert not at.exception
    assert checkin.counters(store.engine, store.event_id)["arrived"] == 1


def test_checkin_second_desk_sees_amber(store):
    checkin.check_in(store.engine, event_id=store.event_id, raw=store.codes[1], desk="签到台2", staff_id=desk_staff(store.engine))
    at = page("pages/checkin.py", store)
    at.text_input(key="checkin_scan").input(store.codes[1]).run()
    assert "已签到" in html_text(at) and "签到台2" in html_text(at)


def test_checkin_search_lists_matches(store):
    at = page("pages/checkin.py", store)
    guest = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[2])[0]
    at.text_input(key="checkin_scan").input(guest["phone"]).run()  # a full mobile: straight in
    assert "欢迎" in html_text(at)
    at.text_input(key="checkin_scan").input("1").run()  # too vague: nothing found, plain message
    assert not at.exception


def test_checkin_html_in_name_is_escaped(store):
    at = page("pages/checkin.py", store)
    at.text_input(key="checkin_scan").input("<img src=x onerror=alert(1)>").run()
    assert "<img src=x" not in html_text(at) and not at.exception


def test_walk_in_form(store):
    at = page("pages/checkin.py", store)
    form_inputs = [ti for ti in at.text_input if ti.key != "checkin_scan" and ti.key != "undo_reason"]
    name, phone, plate = form_inputs[0], form_inputs[1], form_inputs[2]
    name.input("路人乙")
    phone.input("13912340000")
    plate.input("粤B·8A888")
    at.button[-1].click().run()  # the form's submit
    assert not at.exception
    assert checkin.counters(store.engine, store.event_id)["walk_ins"] == 1


def test_cashier_renews_and_refuses_in_chinese(store):
    at = page("pages/cashier.py", store, role="cashier", desk="收银台1")
    assert not at.exception
    at.text_input(key="cashier_scan").input(store.codes[0]).run()
    assert at.text_input(key="cashier_scan").value == ""
    form_text = {ti.label: ti for ti in at.text_input}
    form_text["交强险（元）"].input("-950")
    form_text["商业险（元）"].input("3000")
    at.selectbox[1].select_index(1)  # insurer
    at.radio[0].set_value("wechat")
    at.button[-1].click().run()
    assert any("交强险保费不能为负数" in e.value for e in at.error)
    assert cashier.renewal_rows(store.engine, store.event_id) == []
    form_text = {ti.label: ti for ti in at.text_input}
    form_text["交强险（元）"].input("950")
    at.button[-1].click().run()
    assert not at.exception
    rows = cashier.renewal_rows(store.engine, store.event_id)
    assert len(rows) == 1 and rows[0]["total_fen"] == 395000
    assert "续保成功" in html_text(at)


def test_cashier_page_refuses_advisors(store):
    at = page("pages/cashier.py", store, role="advisor")
    assert any("不能使用" in e.value for e in at.error)


def renewed(store):
    g = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[0])[0]
    cashier.record_renewal(store.engine, event_id=store.event_id, invitation_id=g["invitation_id"],
                           vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950", commercial="3000",
                           vehicle_tax="0", payment_method="cash", desk="收银台1", staff_id=desk_staff(store.engine))
    return g


def test_gift_desk_hand_out_and_draw(store):
    renewed(store)
    at = page("pages/gifts.py", store, desk="礼品台1")
    at.text_input(key="gift_scan").input(store.codes[0]).run()
    assert at.text_input(key="gift_scan").value == ""
    both = [b for b in at.button if b.label == "发续保礼并抽奖"]
    assert both
    both[0].click().run()
    assert not at.exception
    text = html_text(at)
    assert "已发放：汽车应急工具包" in text and ("恭喜中奖" in text or "谢谢参与" in text)
    assert any("续保礼：汽车应急工具包" in c.value for c in at.code)  # the receipt preview (no printer)


def test_gift_desk_refuses_unrenewed(store):
    at = page("pages/gifts.py", store, desk="礼品台1")
    at.text_input(key="gift_scan").input(store.codes[3]).run()
    assert any("没有有效续保" in i.value for i in at.info)


def test_board_page(store):
    renewed(store)
    at = app_test("pages/board.py").run()
    assert not at.exception
    text = html_text(at)
    assert "风云榜" in text and "续保" in text
    g = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[0])[0]
    assert g["phone"] not in text and g["vehicles"][0]["plate"] not in text


def test_board_empty_state(store):
    at = app_test("pages/board.py").run()
    assert "等待第一位客户到店" in html_text(at)


def test_setup_and_import_pages_load_for_a_manager(store):
    for path in ("pages/setup.py", "pages/import_guests.py"):
        at = page(path, store)
        assert not at.exception, path
    at = page("pages/setup.py", store, role="cashier")
    assert any("只有经理" in e.value for e in at.error)


def test_signin_and_navigation(store):
    at = app_test("app.py").run()
    assert not at.exception
    assert at.title[0].value.startswith("RenewDay")
    from core.events import list_staff

    manager = next(p for p in list_staff(store.engine) if p.role == "manager")
    assert not at.selectbox(key="signin_desk").value  # no staff listed before a desk is chosen
    assert len(at.selectbox) == 2
    at.selectbox(key="signin_desk").set_value("经理").run()
    at.selectbox[2].set_value(manager)
    at.text_input(key="signin_pin").input("0000")
    at.button[0].click().run()
    assert any("密码不正确" in e.value for e in at.error)
    at.text_input(key="signin_pin").input(MANAGER_PIN)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["station"].role == "manager"


def test_board_escapes_names_that_slipped_into_the_store(store):
    """Validation refuses < and >, but a name written by another tool must still show as text."""
    from sqlalchemy import update

    from core.models import Customer, Staff
    from core.store import write_session

    g = renewed(store)
    evil = "<img src=x onerror=alert(1)>"
    with write_session(store.engine) as s:
        s.execute(update(Staff).where(Staff.id == g["advisor_id"]).values(name=evil))
        s.execute(update(Customer).where(Customer.phone == g["phone"]).values(name=evil))
    at = app_test("pages/board.py").run()
    text = html_text(at)
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_first_run_on_an_empty_store_creates_the_manager_and_event(tmp_path, monkeypatch):
    """`make run` used to load the demo (manager PIN 8888) into an empty store."""
    from core import migrate
    from core.store import get_engine

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(get_engine(url))
    monkeypatch.setenv("DATABASE_URL", url)
    at = app_test("app.py").run()
    assert not at.exception and at.title[0].value == "RenewDay 首次使用"
    at.text_input(key="fr_manager").input("周经理")
    at.text_input(key="fr_pin").input("1234")
    at.text_input(key="fr_pin_again").input("1234")
    at.text_input(key="fr_event").input("12月续保会")
    at.button[0].click().run()
    assert any("至少 6 位" in e.value for e in at.error)
    at.text_input(key="fr_pin").input("975312")
    at.text_input(key="fr_pin_again").input("975312")
    at.button[0].click().run()
    assert not at.exception and at.title[0].value.startswith("RenewDay 续保直销会")
    assert not any("8888" in c.value for c in at.caption)  # no demo hint on a real store
    at.selectbox(key="signin_desk").set_value("经理").run()
    at.text_input(key="signin_pin").input("975312")
    at.button[0].click().run()
    assert at.session_state["station"].role == "manager"


def test_staff_management_through_the_setup_page(store):
    from core.security import sign_in, verify_pin
    from core.staff import staff_rows

    at = page("pages/setup.py", store)
    assert not at.exception
    at.selectbox(key="staff_pick").set_value(store.advisor_id).run()
    at.text_input(key="staff_new_pin").input("13579")
    at.text_input(key="staff_new_pin_again").input("13579")
    at.button(key="FormSubmitter:staff_pin-设置密码").click().run()
    assert any("至少 6 位" in e.value for e in at.error)
    at.text_input(key="staff_new_pin").input("135799")
    at.text_input(key="staff_new_pin_again").input("135799")
    at.button(key="FormSubmitter:staff_pin-设置密码").click().run()
    assert not at.exception and sign_in(store.engine, staff_id=store.advisor_id, pin="135799").id == store.advisor_id
    at.checkbox(key=f"staff_active_{store.advisor_id}").uncheck()
    at.button(key="FormSubmitter:edit_staff-保存").click().run()
    row = next(p for p in staff_rows(store.engine) if p["id"] == store.advisor_id)
    assert row["active"] is False and row["desk_access"] is False
    del verify_pin


def test_audit_page_filters_and_exports_for_the_manager_only(store):
    renewed(store)
    at = page("pages/audit.py", store)
    assert not at.exception
    at.selectbox(key="audit_action").set_value("renewal").run()
    assert len(at.dataframe[0].value) == 1
    at.button(key="audit_prepare").click().run()
    assert not at.exception and at.session_state["audit_xlsx"][:2] == b"PK"
    at = page("pages/audit.py", store, role="cashier")
    assert any("只有经理" in e.value for e in at.error)


def test_a_deactivated_staff_members_tablet_is_signed_out(store):
    from sqlalchemy import update

    from core.models import Staff
    from core.store import write_session

    at = page("pages/checkin.py", store, role="advisor")
    assert not at.exception and at.text_input(key="checkin_scan")
    with write_session(store.engine) as s:
        s.execute(update(Staff).where(Staff.id == store.advisor_id).values(active=False))
    at.run()
    assert "station" not in at.session_state and not at.text_input


# --- every page as each role reaches it: through app.py, signed in, from the role's navigation ---

ROLE_PAGES = {  # role → (desk, the page it lands on, every page in its navigation)
    "manager": ("经理", "checkin", ["checkin", "cashier", "gifts", "setup", "import", "finance", "audit", "board"]),
    "cashier": ("收银台1", "cashier", ["checkin", "cashier", "gifts", "board"]),
    "advisor": ("签到台1", "checkin", ["checkin", "gifts", "board"]),
}
FILES = {"checkin": "pages/checkin.py", "cashier": "pages/cashier.py", "gifts": "pages/gifts.py",
         "board": "pages/board.py", "setup": "pages/setup.py", "import": "pages/import_guests.py",
         "finance": "pages/finance.py", "audit": "pages/audit.py"}
TITLES = {"checkin": "来店签到", "cashier": "财务收银", "gifts": "礼品发放", "setup": "活动设置", "import": "客户导入",
          "finance": "财务汇总", "audit": "审计日志"}


def through_app(seeded, role: str, desk: str) -> AppTest:
    """app.py with a signed-in station, the way a tablet reaches the desks."""
    at = app_test("app.py")
    staff_id = {"manager": seeded.manager_id, "cashier": seeded.cashier_id}.get(role, seeded.advisor_id)
    at.session_state["station"] = Station(staff_id=staff_id, staff_name="测试", role=role, desk=desk,
                                          event_id=seeded.event_id, event_name="测试续保会")
    return at.run()


def own_titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


@pytest.mark.parametrize("role", sorted(ROLE_PAGES))
def test_every_page_of_every_role_through_app(store, role):
    desk, home, pages = ROLE_PAGES[role]
    at = through_app(store, role, desk)
    assert not at.exception
    assert own_titles(at) == [TITLES[home]]  # the desk's own page, and nothing else on it
    for name in pages:
        at.switch_page(FILES[name]).run()
        assert not at.exception, (role, name, at.exception)
        assert not at.error, (role, name, [e.value for e in at.error])
        if name == "board":
            assert "风云榜" in html_text(at)
        else:
            assert own_titles(at) == [TITLES[name]], (role, name, own_titles(at))


@pytest.mark.parametrize("desk,home", [("签到台1", "checkin"), ("签到台2", "checkin"), ("收银台1", "cashier"),
                                       ("收银台2（开票）", "cashier"), ("礼品台1", "gifts"), ("礼品台2", "gifts")])
def test_each_desk_lands_on_its_own_page(store, desk, home):
    at = through_app(store, "manager", desk)
    assert own_titles(at) == [TITLES[home]]


def test_pages_never_import_pages():
    import ast

    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pages."):
                assert node.module == "pages.common", f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("pages.") and a.name != "pages.common" for a in node.names), path.name


# --- the screen shows the current guest only (issue 9) ---

def test_cashier_forgets_the_previous_customer_on_a_new_scan(store):
    at = through_app(store, "cashier", "收银台1")
    at.text_input(key="cashier_scan").input(store.codes[0]).run()
    form_text = {ti.label: ti for ti in at.text_input}
    form_text["交强险（元）"].input("950")
    form_text["商业险（元）"].input("3000")
    at.selectbox[1].select_index(1)
    at.radio[0].set_value("wechat")
    [b for b in at.button if b.label == "确认收款并登记续保"][0].click().run()
    assert "续保成功" in html_text(at)
    at.text_input(key="cashier_scan").input(store.codes[1]).run()
    assert "续保成功" not in html_text(at)  # the last customer's receipt line is gone
    form_text = {ti.label: ti for ti in at.text_input}
    assert form_text["交强险（元）"].value == "" and form_text["商业险（元）"].value == ""
    assert any(store.codes[1] in c.value for c in at.caption)  # what was scanned, beside the new guest
    at.text_input(key="cashier_scan").input("NOTACODE2345678ZZ").run()
    assert "找不到客户" in html_text(at) and not [s for s in at.subheader]  # no guest left on screen


def test_gift_desk_forgets_the_previous_guest_on_a_new_scan(store):
    renewed(store)
    at = through_app(store, "manager", "礼品台1")
    at.text_input(key="gift_scan").input(store.codes[0]).run()
    [b for b in at.button if b.label == "发续保礼并抽奖"][0].click().run()
    assert "已发放" in html_text(at) and at.code
    at.text_input(key="gift_scan").input(store.codes[1]).run()
    assert "已发放" not in html_text(at) and not at.code  # no previous receipt or preview
    assert not [s for s in at.success if "小票已打印" in s.value]


def test_party_size_and_undo_update_the_verdict(store):
    at = through_app(store, "manager", "签到台1")
    at.text_input(key="checkin_scan").input(store.codes[0]).run()
    assert "欢迎" in html_text(at)
    guest = checkin.find(store.engine, event_id=store.event_id, raw=store.codes[0])[0]
    at.number_input(key=f"party_{guest['invitation_id']}").set_value(4)
    [b for b in at.button if b.label == "保存"][0].click().run()
    assert "同行人数: 4" in html_text(at)
    at.text_input(key="undo_reason").input("扫错了")
    [b for b in at.button if b.label == "撤销签到（经理）"][0].click().run()
    text = html_text(at)
    assert "签到已撤销" in text and "欢迎" not in text
    assert checkin.counters(store.engine, store.event_id)["arrived"] == 0


def test_walk_in_refusal_keeps_what_was_typed_and_names_the_field(store):
    at = through_app(store, "manager", "签到台1")
    assert at.selectbox(key="walk_source_0").value == "natural"  # 自然到店 by default
    at.text_input(key="walk_name_0").input("王小明")
    at.text_input(key="walk_phone_0").input("12345")
    [b for b in at.button if b.label == "登记并签到"][0].click().run()
    assert at.text_input(key="walk_name_0").value == "王小明" and at.text_input(key="walk_phone_0").value == "12345"
    assert any("手机号" in e.value for e in at.error)
    at.text_input(key="checkin_scan").input(store.codes[0]).run()  # a scan meanwhile: the old refusal goes
    assert not at.error and at.text_input(key="walk_name_0").value == "王小明"
    at.text_input(key="walk_phone_0").input("13912340000")
    [b for b in at.button if b.label == "登记并签到"][0].click().run()
    assert "欢迎" in html_text(at) and at.text_input(key="walk_name_1").value == ""



def test_an_english_station_stays_english(store):
    """The language chosen at sign-in is the station's on every page; core's codes are worded in it."""
    import re

    at = app_test("app.py")
    at.session_state["station"] = Station(staff_id=store.manager_id, staff_name="测试", role="manager", desk="收银台1",
                                          event_id=store.event_id, event_name="测试续保会", lang="en")
    at.run()
    assert own_titles(at) == ["Cashier"]
    at.text_input(key="cashier_scan").input(store.codes[0]).run()
    assert any(c.value.startswith("Scanned: " + store.codes[0]) for c in at.caption)
    at.switch_page("pages/checkin.py").run()
    assert own_titles(at) == ["Check-in"]
    # (AppTest cannot drive a widget with a format_func in English: it words options in the test
    # thread's language; the English desk is driven in Chromium, tests/e2e/test_station.py)
