from datetime import date

import pytest

from core import codes
from core.privacy import mask_name, mask_phone, mask_plate
from core.validate import (check_vin, format_yuan, normalize_phone, normalize_plate, parse_date, parse_yuan,
                           vin_check_digit)


@pytest.mark.parametrize("raw,expected", [
    ("13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"), ("８６１３８１２３４５６７８", "13812345678"),
    ("138-1234-5678", "13812345678"), ("0086 13812345678", "13812345678"), ("12812345678", None),
    ("1381234567", None), ("abc", None), ("", None)])
def test_phone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("粤B12345", "粤B12345"), ("粤B·12345", "粤B12345"), ("粤b 12345", "粤B12345"), ("粤ＢＤ１２３４５", "粤BD12345"),
    ("京AD12345", "京AD12345"), ("粤B1234", None), ("XB12345", None), ("粤BI2345", None), ("粤B1234学", "粤B1234学")])
def test_plate(raw, expected):
    assert normalize_plate(raw) == expected


def test_vin_check_digit():
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"  # the textbook example
    assert check_vin("1M8GDM9AXKP042788") == ("1M8GDM9AXKP042788", None)
    assert check_vin("1M8GDM9A1KP042788")[1] == "vin_check_digit"
    assert check_vin("1M8GDM9AXKP04278O")[1] == "vin_format"  # O is not allowed
    assert check_vin("SHORT")[1] == "vin_format"


@pytest.mark.parametrize("raw,expected", [
    ("2026/12/05", date(2026, 12, 5)), ("2026年12月5日", date(2026, 12, 5)), ("2026-12-05 00:00:00", date(2026, 12, 5)),
    (46361, date(2026, 12, 5)), (46361.0, date(2026, 12, 5)), ("46361", date(2026, 12, 5)), ("20261205", date(2026, 12, 5)),
    ("２０２６/１２/０５", date(2026, 12, 5)), ("2026/13/05", None), ("明天", None)])
def test_dates(raw, expected):
    assert parse_date(raw) == expected


def test_money_is_exact():
    assert parse_yuan("950.00") == 95000
    assert parse_yuan("1,234.56") == 123456
    assert parse_yuan("0.1") + parse_yuan("0.2") == parse_yuan("0.3")
    assert format_yuan(123456) == "1,234.56"
    for bad, reason in (("-1", "amount_negative"), ("1.234", "amount_too_precise"), ("abc", "amount_not_number"),
                        ("NaN", "amount_not_number"), ("Infinity", "amount_not_number")):
        with pytest.raises(ValueError, match=reason):
            parse_yuan(bad)


def test_masking():
    assert mask_name("张三明") == "张*明"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_plate("粤B12345") == "粤B·***45"
    assert mask_plate("粤BD12345") == "粤B·****45"


def test_codes_are_random_and_typable():
    seen = {codes.new_code() for _ in range(2000)}
    assert len(seen) == 2000
    for code in list(seen)[:50]:
        assert codes.looks_like_code(code)
        assert not set(code) & set("0O1IL")
    assert codes.normalize_code(" abcd-efgh ") == "ABCDEFGH"
    assert codes.normalize_code("https://x/checkin?c=ABC234") == "ABC234"


def test_code_symbols_are_uniform():
    from collections import Counter

    counts = Counter("".join(codes.new_code() for _ in range(4000)))  # 68 000 symbols
    expected = 4000 * codes.LENGTH / len(codes.ALPHABET)
    assert set(counts) == set(codes.ALPHABET)
    assert all(abs(n - expected) < 0.1 * expected for n in counts.values())
