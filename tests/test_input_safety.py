"""Bounded input (issue 10): money, control characters, LIKE wildcards, Markdown in names.
Each attack that was reproduced is a test; the money parser, clean() and the scan handler are
fuzzed with hypothesis."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from core import cashier, checkin
from core.errors import DeskError
from core.models import AuditEntry, Customer, Renewal
from core.store import read_session
from core.validate import MAX_YUAN, clean, parse_yuan
from tests.conftest import desk_staff

REASONS = {"amount_not_number", "amount_negative", "amount_too_precise", "amount_too_large"}


@pytest.mark.parametrize("typed, reason", [
    ("1e999997", "amount_not_number"),  # froze every desk for 25-60 s inside the write lock
    ("1e999999", "amount_not_number"),  # raised an uncaught error
    ("9" * 5000, "amount_too_large"),
    ("99999999999999999999", "amount_too_large"),  # confirmed, it made the board overflow
    ("10000000.01", "amount_too_large"),
    ("1.234", "amount_too_precise"),
    ("-5", "amount_negative"),
    ("NaN", "amount_not_number"), ("Infinity", "amount_not_number"), ("0x10", "amount_not_number"),
    ("1_000", "amount_not_number"), ("١٢٣", "amount_not_number"),
])
def test_absurd_amounts_are_refused_with_a_reason(typed, reason):
    with pytest.raises(ValueError) as e:
        parse_yuan(typed)
    assert str(e.value) == reason


def test_plain_amounts():
    assert parse_yuan("1,234.5") == 123450 and parse_yuan("950") == 95000 and parse_yuan(" 12 元") == 1200
    assert parse_yuan("10000000") == MAX_YUAN * 100 and parse_yuan("") == 0 and parse_yuan("５０") == 5000


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_money_parser_never_crashes(text):
    try:
        fen = parse_yuan(text)
    except ValueError as e:
        assert str(e) in REASONS
    else:
        assert 0 <= fen <= MAX_YUAN * 100


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=MAX_YUAN, places=2, allow_nan=False, allow_infinity=False))
def test_fuzz_money_parser_is_exact(amount):
    assert parse_yuan(f"{amount:.2f}") == int(amount * 100)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_clean_leaves_no_control_characters(text):
    out = clean(text)
    assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or 0xd800 <= ord(c) <= 0xdfff for c in out)
    out.encode("utf-8")  # no lone surrogate: every database can store it


def test_cashier_refuses_absurd_amount_and_writes_nothing(seeded):
    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[0])[0]
    for typed in ("1e999999", "99999999999999999999"):
        with pytest.raises(DeskError) as e:
            cashier.record_renewal(seeded.engine, event_id=seeded.event_id, invitation_id=g["invitation_id"],
                                   vehicle_id=g["vehicles"][0]["id"], insurer="平安", compulsory="950",
                                   commercial=typed, vehicle_tax="0", payment_method="pos", desk="收银台1",
                                   staff_id=seeded.cashier_id, confirm_high=True)
        assert e.value.reason in REASONS and e.value.info["field"] == "commercial"  # a code (issue 9): the page words it
    with read_session(seeded.engine) as s:
        assert s.execute(select(func.count()).select_from(Renewal)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "renewal", AuditEntry.result.in_(REASONS))).scalar_one() == 2


def test_like_wildcards_match_themselves(seeded):
    for typed in ("%%%1", "___1", "%_%", "粤%", "陈%"):
        assert checkin.find(seeded.engine, event_id=seeded.event_id, raw=typed) == [], typed


def test_control_bytes_and_nul_never_reach_the_store(seeded):
    """ESC p opens the cash drawer, GS V cuts, NUL failed the action on PostgreSQL."""
    out = checkin.register_walk_in(seeded.engine, event_id=seeded.event_id, name="张\x1bp\x00\x1dV三\ud800\u202e",
                                   phone="13912345678", desk="签到台1", staff_id=desk_staff(seeded.engine))
    with read_session(seeded.engine) as s:
        name = s.execute(select(Customer.name).where(Customer.phone == "13912345678")).scalar_one()
    assert name == "张pV三" and out["name"] == name
    with pytest.raises(DeskError) as e:  # a NUL in a scan is an unknown code, not a system error
        checkin.scan(seeded.engine, event_id=seeded.event_id, raw="AB\x00CD", desk="签到台1", staff_id=desk_staff(seeded.engine))
    assert e.value.reason in ("unknown_code", "empty_input")


def test_searches_are_audited(seeded):
    g = checkin.find(seeded.engine, event_id=seeded.event_id, raw=seeded.codes[0])[0]
    out = checkin.scan(seeded.engine, event_id=seeded.event_id, raw=g["phone"][-4:], desk="签到台1",
                       staff_id=seeded.advisor_id)
    assert out["status"] in ("choose", "welcome")
    with read_session(seeded.engine) as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.action.in_(("search", "check_in")))).scalars().all()
    assert any(r.raw_input == g["phone"][-4:] and r.staff_id == seeded.advisor_id for r in rows)


@pytest.fixture
def scan_store(engine):
    from tests.conftest import seed

    return seed(engine, customers=6)


_SCAN_TEXT = st.one_of(st.text(max_size=40), st.text(alphabet="%_\\0123456789ABCDEFGHJK粤陈·\x00\x1b", max_size=20))


def test_fuzz_scan_handler(scan_store):
    """Whatever a scanner or a person types, the desk answers (a result or a reason), never a crash."""
    s = scan_store

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_SCAN_TEXT)
    def run(raw):
        try:
            out = checkin.scan(s.engine, event_id=s.event_id, raw=raw, desk="签到台1", staff_id=desk_staff(s.engine))
        except DeskError as e:
            assert e.reason not in ("system_error", "conflict"), (raw, e)
        else:
            assert out.get("status") in ("welcome", "choose"), out

    run()


def test_names_show_as_text_not_markdown():
    from pages.common import esc

    evil = "![x](http://e.invalid/a.png) [link](http://e.invalid) **b** :red[x] $x$ <img src=x>"
    out = esc(evil)
    for bad in ("![", "](", "**", ":red[", "$x$", "<img"):
        assert bad not in out


def test_nul_and_controls_in_an_import_do_not_fail_it(engine):
    """A NUL in one cell failed the whole import on PostgreSQL."""
    from datetime import date

    from core import importer
    from core.demo import dms_rows
    from core.events import create_event
    from core.store import write_session

    rows = dms_rows(5, today=date(2026, 12, 5))
    rows[1][1] = "王\x00五\x1bp"
    rows[2][9] = "保有\x00"
    with write_session(engine) as s:
        ev = create_event(s, name="NUL 测试", event_date=date(2026, 12, 5))
        report = importer.apply_import(s, ev.id, importer.plan_table(rows, today=date(2026, 12, 5)))
    assert not report.rejected
    with read_session(engine) as s:
        names = set(s.execute(select(Customer.name)).scalars())
    assert "王五p" in names
