"""A desk form's nonce (issue 10, "errors that tell the truth"): the same nonce twice acts once, leaves
one 'ok' audit row and answers the second call with the first answer; the pages draw each form with
a nonce made when it is shown, so a repeated submit shows the same green answer, never a refusal."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core import cashier, checkin
from core.models import AuditEntry, CheckIn, Invitation, Renewal
from core.store import read_session
from pages.common import Station

ROOT = Path(__file__).resolve().parent.parent


def guest(seeded, i=0):
    return checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[i])[0]


def renew(seeded, g, **kw):
    args = dict(event_id=seeded.event_id, invitation_id=g["invitation_id"], vehicle_id=g["vehicles"][0]["id"],
                insurer="平安", compulsory="950", commercial="3200", vehicle_tax="360", payment_method="wechat",
                desk="收银1", staff_id=seeded.cashier_id)
    return cashier.record_renewal(seeded.engine, **{**args, **kw})


def audit_results(engine, action: str) -> list[str]:
    with read_session(engine) as s:
        return list(s.execute(select(AuditEntry.result).where(AuditEntry.action == action)).scalars())


def renewals(engine, *, voided: bool | None = None) -> int:
    with read_session(engine) as s:
        q = select(func.count()).select_from(Renewal)
        if voided is not None:
            q = q.where(Renewal.voided_at.is_not(None) if voided else Renewal.voided_at.is_(None))
        return s.execute(q).scalar_one()


# --- core: on SQLite and PostgreSQL -------------------------------------------------------------

def test_same_nonce_twice_is_one_renewal(seeded):
    g = guest(seeded)
    first = renew(seeded, g, nonce="renewal|a1")
    again = renew(seeded, g, nonce="renewal|a1")
    assert again["replayed"] and not first.get("replayed")
    assert {k: again[k] for k in ("renewal_id", "receipt_no", "total_fen", "plate")} == \
           {k: first[k] for k in ("renewal_id", "receipt_no", "total_fen", "plate")}
    assert renewals(seeded.engine) == 1
    assert audit_results(seeded.engine, "renewal") == ["ok"]
    with pytest.raises(Exception) as e:  # a NEW form (another nonce) for the same car is refused, truthfully
        renew(seeded, g, nonce="renewal|b2")
    assert getattr(e.value, "reason", "") == "already_renewed"


def test_same_nonce_twice_is_one_void(seeded):
    r = renew(seeded, guest(seeded))
    kw = dict(renewal_id=r["renewal_id"], reason="客户取消", desk="经理", staff_id=seeded.manager_id, nonce="void|c3")
    first = cashier.void_renewal(seeded.engine, **kw)
    again = cashier.void_renewal(seeded.engine, **kw)
    assert again["replayed"] and again["receipt_no"] == first["receipt_no"] == r["receipt_no"]
    assert renewals(seeded.engine, voided=True) == 1
    assert audit_results(seeded.engine, "void_renewal") == ["ok"]


def test_same_nonce_twice_is_one_undo(seeded):
    g = guest(seeded, 1)
    checkin.check_in(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"], desk="签到1",
                     staff_id=seeded.manager_id)
    kw = dict(invitation_id=g["invitation_id"], reason="扫错了人", desk="签到1", staff_id=seeded.manager_id,
              nonce="undo|d4")
    first = checkin.undo_check_in(seeded.engine, **kw)
    again = checkin.undo_check_in(seeded.engine, **kw)
    assert again["replayed"] and again["checked_in_at"] == first["checked_in_at"]
    assert audit_results(seeded.engine, "undo_check_in") == ["ok"]
    with read_session(seeded.engine) as s:
        row = s.execute(select(CheckIn).where(CheckIn.invitation_id == g["invitation_id"])).scalar_one()
        assert row.undone_at is not None


def test_same_nonce_twice_is_one_invoice_and_one_party_size(seeded):
    r = renew(seeded, guest(seeded, 2))
    kw = dict(renewal_id=r["renewal_id"], invoice_no="12345678", desk="收银2", staff_id=seeded.cashier_id,
              nonce="invoice|e5")
    cashier.mark_invoiced(seeded.engine, **kw)
    assert cashier.mark_invoiced(seeded.engine, **kw)["invoice_no"] == "12345678"  # not 'already invoiced'
    assert audit_results(seeded.engine, "invoice") == ["ok"]
    inv = r["guest"]["invitation_id"]
    for _ in range(2):
        out = checkin.set_party_size(seeded.engine, invitation_id=inv, size=3, desk="签到1", staff_id=seeded.cashier_id,
                                     nonce="party|f6")
    assert out["replayed"] and audit_results(seeded.engine, "party_size") == ["ok"]
    with read_session(seeded.engine) as s:
        assert s.get(Invitation, inv).party_size == 3


# --- the pages, reached through app.py --------------------------------------------------------

@pytest.fixture
def store(seeded_sqlite, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_sqlite.engine.url.render_as_string(hide_password=False))
    return seeded_sqlite


def through_app(store, role: str, desk: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    staff_id = {"manager": store.manager_id, "cashier": store.cashier_id}[role]
    at.session_state["station"] = Station(staff_id=staff_id, staff_name="测试", role=role, desk=desk,
                                          event_id=store.event_id, event_name="测试续保会")
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def html_text(at: AppTest) -> str:
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def nonce_of(at: AppTest, form: str) -> str:
    return at.session_state[f"nonce_{form}"]


def button(at: AppTest, label: str):
    return [b for b in at.button if b.label == label][0]


@pytest.mark.parametrize("page,prefix", [("pages/cashier.py", "void"), ("pages/finance.py", "fin_void")])
def test_a_replayed_void_shows_the_same_green_answer(store, page, prefix):
    """The first submit reached core but its answer never reached the page (a double click whose
    first run was cut short, a retried request): the second submit of the same form replays it."""
    r = renew(store, guest(store))
    at = through_app(store, "manager", "经理", page)
    if prefix == "fin_void":
        at.text_input(key="fin_void_find").input(r["receipt_no"]).run()
    nonce = nonce_of(at, prefix)
    cashier.void_renewal(store.engine, renewal_id=r["renewal_id"], reason="客户取消", desk="经理",
                         staff_id=store.manager_id, nonce=nonce)  # the first click, already done
    [s for s in at.selectbox if s.label == "要作废的续保"][0].select_index(0)
    [t for t in at.text_input if t.label == "原因"][0].input("客户取消")
    button(at, "作废").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(f"已作废 {r['receipt_no']}" in s.value for s in at.success)
    assert renewals(store.engine, voided=True) == 1 and audit_results(store.engine, "void_renewal") == ["ok"]
    assert at.session_state[f"nonce_{prefix}"] != nonce  # answered: the next void is a new form


def recorded_nonces(engine, action: str) -> list[str]:
    from core.models import ActionNonce

    with read_session(engine) as s:
        return list(s.execute(select(ActionNonce.nonce).where(ActionNonce.action == action)).scalars())


def test_the_renewal_form_carries_the_nonce_it_was_shown_with(store):
    at = through_app(store, "cashier", "收银台1", "pages/cashier.py")
    at.text_input(key="cashier_scan").input(store.codes[3]).run()
    boxes = {ti.label: ti for ti in at.text_input}
    boxes["交强险（元）"].input("950")
    boxes["商业险（元）"].input("3200")
    boxes["车船税（元）"].input("360")
    at.selectbox[1].select_index(1)
    [r for r in at.radio if r.label == "付款方式"][0].set_value("wechat")
    nonce = nonce_of(at, "renewal")
    button(at, "确认收款并登记续保").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "续保成功" in html_text(at)
    assert recorded_nonces(store.engine, "renewal") == [nonce]  # a second submit of that form replays this answer
    assert "nonce_renewal" not in at.session_state  # spent: the next renewal is a new form


def test_a_replayed_undo_shows_the_undone_verdict_not_a_refusal(store):
    at = through_app(store, "manager", "签到台1")
    at.text_input(key="checkin_scan").input(store.codes[4]).run()
    g = guest(store, 4)
    nonce = nonce_of(at, "undo")
    checkin.undo_check_in(store.engine, invitation_id=g["invitation_id"], reason="扫错了", desk="签到台1",
                          staff_id=store.manager_id, nonce=nonce)  # the first click, already done
    at.text_input(key="undo_reason").input("扫错了")
    button(at, "撤销签到（经理）").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "签到已撤销" in html_text(at) and "尚未签到" not in html_text(at)
    assert audit_results(store.engine, "undo_check_in") == ["ok"]


def test_the_invoice_button_carries_its_nonce_and_says_what_was_saved(store):
    r = renew(store, guest(store, 5))
    at = through_app(store, "cashier", "收银台2（开票）", "pages/cashier.py")
    nonce = nonce_of(at, f"invoice_{r['renewal_id']}")
    at.text_input(key=f"inv_{r['renewal_id']}").input("87654321")
    button(at, "已开票").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("发票号 87654321" in s.value for s in at.success)
    assert recorded_nonces(store.engine, "invoice") == [nonce]
    assert audit_results(store.engine, "invoice") == ["ok"]
