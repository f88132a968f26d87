"""Data rules: mobiles, plates, VINs, dates and money as the DMS and the desks give them."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_ORDINARY = re.compile(rf"^[{PROVINCES}][A-Z][{_PLATE_LETTERS}0-9]{{4}}[{_PLATE_LETTERS}0-9挂学警港澳]$")
_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][A-Z][{_PLATE_LETTERS}0-9]{{6}}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_VIN_CHARS = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))),
               "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


_SPACES = re.compile(r"\s+")
# C0 and C1 controls (NUL, ESC, GS… reach a receipt printer as commands), lone surrogates (no
# database stores them), and the bidi overrides that make a name read backwards on screen.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """Text without control characters (tabs and line breaks become spaces)."""
    if text.isascii() and text.isprintable():
        return text
    return _CONTROLS.sub("", text.replace("\t", " ").replace("\n", " ").replace("\r", " "))


def clean(value) -> str:
    """Full-width to half-width, control characters dropped, trimmed, inner runs of spaces collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    if not (text.isascii() and text.isprintable()):
        text = _CONTROLS.sub("", text)
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text).replace("\u00a0", " ")
    return _SPACES.sub(" ", text).strip()


def normalize_phone(value) -> str | None:
    """Return an 11-digit mobile, or None when it is not one."""
    if isinstance(value, str) and len(value) == 11 and value.isascii() and value.isdigit():
        return value if _MOBILE.match(value) else None  # the common case, no cleaning needed
    digits = re.sub(r"[\s\-()]", "", clean(value))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if _MOBILE.match(digits) else None


def normalize_plate(value) -> str | None:
    """Return the plate without the dot (粤B12345), or None when it is not a plate."""
    plate = re.sub(r"[\s·•・.\-]", "", clean(value)).upper()
    if _ORDINARY.match(plate) or _NEW_ENERGY.match(plate):
        return plate
    return None


def format_plate(plate: str | None) -> str:
    return f"{plate[:2]}·{plate[2:]}" if plate and len(plate) > 2 else (plate or "")


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS))
    r = total % 11
    return "X" if r == 10 else str(r)


def check_vin(value) -> tuple[str | None, str | None]:
    """(normalised VIN, problem). Problem is 'vin_format' (unusable) or 'vin_check_digit'."""
    vin = re.sub(r"\s", "", clean(value)).upper()
    if not _VIN_CHARS.match(vin):
        return None, "vin_format"
    if vin[8] != vin_check_digit(vin):
        return vin, "vin_check_digit"
    return vin, None


_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+[\d:]+)?$")


def parse_date(value) -> date | None:
    """Dates as the DMS writes them: date cells, Excel serials, 2026/12/05, 2026年12月5日, 20261205."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            return None  # NaN / infinity from a damaged cell
        if 20000 <= value <= 80000:  # Excel serial, 1954..2119
            return date(1899, 12, 30) + timedelta(days=int(value))
        if 10000 <= abs(value) < 100000:
            return None  # a five-digit number outside the serial range is no date (and no recursion)
        value = str(int(value))
    text = clean(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)  # the common case: 2026-12-05
        except ValueError:
            pass
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return parse_date(float(text))
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    m = _DATE_TEXT.match(text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


MAX_YUAN = 10_000_000  # per field: no insurance amount at a dealership comes near it
_YUAN = re.compile(r"^([0-9]+)(?:\.([0-9]*))?$|^\.([0-9]+)$")


def parse_yuan(value, *, field: str = "amount") -> int:
    """'1,234.5' -> 123450 fen. Only digits with at most two decimals and at most 10 million
    yuan: no exponents (1e999999 once froze every desk), no huge numbers (the board overflowed).
    Raises ValueError(reason): amount_not_number, amount_negative, amount_too_precise, amount_too_large."""
    if isinstance(value, bool):
        raise ValueError("amount_not_number")
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("amount_not_number")
        value = repr(value) if "e" not in repr(value) else "x"
    raw = value if isinstance(value, str) else str(value)
    if len(raw) > 40:  # no real amount is this long; refuse before any work
        raise ValueError("amount_too_large" if raw.strip().replace(",", "").isdigit() else "amount_not_number")
    text = clean(raw).replace(",", "").replace("，", "").replace("元", "").replace("¥", "").replace("￥", "").strip()
    if text == "":
        return 0
    if text.startswith("-"):
        rest = text[1:].strip()
        if _YUAN.match(rest):
            raise ValueError("amount_negative")
        raise ValueError("amount_not_number")
    if text.startswith("+"):
        text = text[1:]
    m = _YUAN.match(text)
    if not m:
        raise ValueError("amount_not_number")
    whole, decimals = (m.group(1), m.group(2) or "") if m.group(3) is None else ("0", m.group(3))
    decimals = decimals.rstrip("0")
    if len(decimals) > 2:
        raise ValueError("amount_too_precise")
    if int(whole) > MAX_YUAN or (int(whole) == MAX_YUAN and decimals):
        raise ValueError("amount_too_large")
    return int(whole) * 100 + int(decimals.ljust(2, "0"))


def format_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"
