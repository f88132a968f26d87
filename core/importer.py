"""The customer list from the DMS: read a messy sheet (bounded), plan every row, let the
manager decide, then commit once.

plan_import() reads and validates without touching the store (size, zip and sheet extent
checked before calamine reads a cell). preview_import() resolves the plan against the store
with reads only, so a preview never holds the write lock; commit_import() does the same
resolution inside one write transaction and writes, once per preview. Advisors are never
created: each name in the sheet is mapped by the manager to an active caller or left
unassigned (split evenly among the callers).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import zipfile
import zlib
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import Date, DateTime, bindparam, func, insert, select, update
from sqlmodel import Session

from core import codes
from core.clock import now
from core.i18n import t
from core.errors import DeskError
from core.models import CALLER_ROLES, ActionNonce, Customer, Invitation, Staff, Vehicle
from core.validate import check_vin, clean, normalize_phone, normalize_plate, parse_date, parse_yuan

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("车主姓名", "客户姓名", "被保险人姓名", "姓名", "车主", "客户名称", "被保险人", "客户"),
    "phone": ("手机号码", "手机号", "客户电话1", "联系电话", "客户电话", "手机", "电话", "联系方式"),
    "plate": ("车牌号码", "车牌号", "车牌"),
    "vin": ("车架号", "vin码", "vin", "车辆识别代号", "底盘号"),
    "model": ("品牌型号", "车型", "车辆型号", "品牌"),
    "commercial_expiry": ("商业险到期日期", "商业险到期日", "商业险到期"),
    "compulsory_expiry": ("交强险到期日期", "交强险到期日", "交强险到期"),
    "expiry": ("保险到期日期", "保险到期日", "到期日期", "到期日"),
    "insurer_last": ("上年承保公司", "上年保险公司", "承保公司", "保险公司"),
    "commercial_last": ("上年商业险保费", "上年商业险金额", "上年商业险", "商业险保费", "上年保费"),
    "seats": ("核定载客人数", "核定载客", "座位数", "座位"),
    "category": ("客户类别", "客户类型", "客户分类", "类别"),
    "advisor": ("续保专员", "专属顾问", "服务顾问", "业务员姓名", "续保顾问", "邀约顾问", "业务员", "邀约人", "专员", "顾问"),
    "loss_year": ("流失年份", "流失年度"),
    "call_outcome": ("回访结果", "邀约结果", "电话结果"),
}
CATEGORY_WORDS = {
    "retained": ("保有", "在修", "本店"),
    "lost": ("流失",),
    "web": ("网络", "线上", "集客", "h5"),
    "natural": ("自然", "其他", "其它", "新保", "转介绍"),
}
OUTCOME_WORDS = {"confirmed": ("确定", "确认"), "unsure": ("不确定", "待定"),
                 "no_answer": ("未接通", "未接", "无人接听"), "not_interested": ("无意向", "拒绝")}
FOOTER_WORDS = ("合计", "总计", "小计", "共计", "制表", "备注：", "备注:")
SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")


class ImportFileError(Exception):
    """The file cannot be read at all (wrong type, damaged, empty, no header, too large).

    Carries a catalog key and its parameters, so the page says it in the station's language;
    str() is the Chinese text (the command line, the logs)."""

    def __init__(self, key: str, **info):
        super().__init__(t(key, **info))
        self.key = key
        self.info = info

    def text(self, lang: str = "zh-CN") -> str:
        return t(self.key, lang, **self.info)

    def __reduce__(self):  # crosses from the sheet-reading worker process intact
        return _file_error, (self.key, self.info)


def _file_error(key: str, info: dict) -> ImportFileError:
    return ImportFileError(key, **info)


@dataclass
class RowPlan:
    row: int  # as Excel (or a text editor) shows it
    data: dict = field(default_factory=dict)
    warnings: list[tuple[str, dict]] = field(default_factory=list)
    errors: list[tuple[str, dict]] = field(default_factory=list)
    duplicate_of: int | None = None


@dataclass
class ImportPlan:
    filename: str
    header_row: int
    columns: dict[str, int]
    rows: list[RowPlan]
    ignored: list[str] = field(default_factory=list)  # header texts of the columns not read
    digest: str = ""  # sha256 of the file: the preview is cached by it
    preview_id: str = field(default_factory=lambda: secrets.token_hex(8))  # a commit acts once per preview
    phone_groups: dict[str, list[int]] = field(default_factory=dict)  # phone -> rows, different names

    @property
    def usable(self) -> list[RowPlan]:
        return [r for r in self.rows if not r.errors and r.duplicate_of is None]

    def advisor_names(self) -> dict[str, int]:
        """Each advisor name in the sheet (retained rows; lost ones are split) -> its rows."""
        out: dict[str, int] = {}
        for r in self.usable:
            if r.data["advisor"] and r.data["group"] != "lost":
                out[r.data["advisor"]] = out.get(r.data["advisor"], 0) + 1
        return out

    @property
    def nonce(self) -> str:
        return f"import:{self.digest}:{self.preview_id}"


@dataclass
class ImportChoices:
    """What the manager decided in the preview. `advisors`: each sheet name -> an active
    caller's id, or None for "unassigned" (split among the callers). `merge_phones`: phones whose
    differently named rows are one customer after all."""
    advisors: dict[str, int | None] = field(default_factory=dict)
    merge_phones: frozenset[str] = frozenset()
    store: dict[int, str] = field(default_factory=dict)  # sheet row -> an action of its StoreMatch


# What the manager can do with a row that meets a customer already in the store, the default first
# where it does not depend on the row (StoreMatch.default says which applies).
STORE_ACTIONS = {
    "name": ("keep_name", "sheet_name"),  # phone and car are a store customer's, under another name
    "car": ("new_phone", "new_owner"),  # the car is a store customer's, under another phone
    "phone": ("separate", "merge"),  # the phone is a store customer's, another name, not their car
}


@dataclass
class StoreMatch:
    """A sheet row that meets a customer already in the store (earlier imports, walk-ins).

    The row never silently becomes a second customer with the same car: `name` attaches to
    the store's customer (keeping the store's name unless the manager takes the sheet's),
    `car` either gives the store's customer the sheet's phone (same name: a new number) or
    hands the car to the sheet's customer (another name: the car changed hands), `phone` keeps
    two people on one phone apart (as inside a sheet) unless the manager merges them."""
    row: int
    kind: str  # a key of STORE_ACTIONS
    customer_id: int
    store_name: str
    store_phone: str
    vehicle_id: int | None
    name: str  # the sheet's
    phone: str
    plate: str | None
    default: str

    def text(self, lang: str = "zh-CN", action: str | None = None) -> str:
        """What was found and what will be done, in one line of the preview."""
        from core.validate import format_plate

        return t(f"import2.row_store_{self.kind}", lang, store_name=self.store_name or "—",
                 store_phone=self.store_phone or "—", name=self.name or "—", phone=self.phone,
                 plate=format_plate(self.plate), action=t(f"import2.action.{action or self.default}", lang))

    def as_dict(self) -> dict:
        return {"row": self.row, "kind": self.kind, "customer_id": self.customer_id, "store_name": self.store_name,
                "store_phone": self.store_phone, "vehicle_id": self.vehicle_id, "default": self.default}


@dataclass
class ImportReport:
    accepted: int = 0
    updated: int = 0
    warned: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    new_customers: int = 0
    updated_customers: int = 0
    new_vehicles: int = 0
    new_invitations: int = 0
    updated_invitations: int = 0
    unassigned: int = 0  # invitations left for the even split among callers
    store_matches: list[dict] = field(default_factory=list)  # rows that met a store customer, as decided
    moved_vehicles: int = 0  # cars handed to the sheet's customer (changed hands)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "updated": self.updated, "warned": self.warned,
                "store_matches": self.store_matches, "moved_vehicles": self.moved_vehicles,
                "rejected": self.rejected, "new_customers": self.new_customers,
                "updated_customers": self.updated_customers, "new_vehicles": self.new_vehicles,
                "new_invitations": self.new_invitations, "updated_invitations": self.updated_invitations,
                "unassigned": self.unassigned}


@dataclass
class AdvisorMatch:
    name: str  # as in the sheet (spaces inside hanzi removed)
    rows: int
    staff_id: int | None  # an exact match among the active callers
    suggestion_id: int | None  # a close match, for the manager to confirm
    note: str = ""  # "not_caller" / "inactive" when the name is staff who cannot take customers


# --- reading, bounded --------------------------------------------------------------------
MAX_ROWS = 100_000  # customer rows
MAX_COLS = 200
HEADER_ROOM = 50  # title and header rows above the customers
MAX_UNZIPPED = 400 * 1024 * 1024  # all parts of an .xlsx together, uncompressed
MAX_RATIO = 100  # uncompressed / compressed of any part over 1 MB; sheet XML is ~5-20
_EXCEL_MAX_ROWS, _EXCEL_MAX_COLS = 1_048_576, 16_384

# Cells with a value: calamine ignores self-closing, style-only cells (<c r="Z9" s="1"/>).
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Za-z]+)([0-9]+)"[^>]*(?<!/)>')
# A row whose cells carry no reference of their own (calamine places them by the row's r).
_ROW_REF = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="([0-9]+)"[^>]*(?<!/)>\s*<(?:\w+:)?c(?:\s(?![^>]*\br=)[^>]*)?(?<!/)>')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s[^>]*?\bref="([A-Za-z]*)([0-9]*)(?::([A-Za-z]+)([0-9]+))?"')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])\s+(?=[\u3400-\u9fff\uf900-\ufaff])")


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


def _too_large(rows: int, cols: int) -> None:
    if rows > MAX_ROWS + HEADER_ROOM or cols > MAX_COLS:
        raise ImportFileError("import.too_many_cells", rows=f"{rows:,}", cols=f"{cols:,}",
                              max_rows=f"{MAX_ROWS:,}", max_cols=MAX_COLS)


def check_size(size: int, limit: int | None = None) -> None:
    """Refuse a file larger than the setting before reading a byte of it."""
    from core.config import settings

    limit = limit or settings().max_upload_bytes
    if size > limit:
        raise ImportFileError("import.too_big", size=f"{size / 1048576:.1f}", limit=f"{limit / 1048576:.0f}")


def _xlsx_sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the zip, from xl/workbook.xml and its relationships."""
    import xml.etree.ElementTree as ET

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    try:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for sheet in book.iter(f"{ns_main}sheet"):
        target = targets.get(sheet.get(f"{ns_rel}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        out[sheet.get("name", "")] = part
    return out


def sheet_extent(z: zipfile.ZipFile, part: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """((declared rows, cols), (real rows, cols)) of one worksheet part, read as a bounded stream:
    the declared <dimension> and the furthest cell that holds a value. No cell is parsed."""
    declared = (0, 0)
    rows = cols = 0
    tail = b""
    with z.open(part) as fh:  # zipfile stops at the declared size and checks the CRC
        first = True
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            buf = tail + chunk
            if first:
                m = _DIMENSION.search(buf[:4096])
                if m:
                    last_col, last_row = (m[3], m[4]) if m[3] else (m[1], m[2])
                    declared = (int(last_row or 0), _col_number(last_col or b""))
                first = False
            digits = _CELL_REF.findall(buf)
            if digits:
                rows = max(rows, int(max((d for _c, d in digits), key=lambda d: (len(d), d))))
                cols = max(cols, max(_col_number(c) for c in {c for c, _d in digits}))
            row_refs = _ROW_REF.findall(buf)
            if row_refs:
                rows = max(rows, int(max(row_refs, key=lambda d: (len(d), d))))
            tail = buf[-512:]
    return declared, (rows, cols)


def _check_xlsx(data: bytes, name: str) -> dict[str, str]:
    """The zip before calamine sees it: sizes, compression ratio, and every sheet's extent."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ImportFileError("import.unreadable", name=name) from exc
    total = sum(i.file_size for i in infos)
    if len(infos) > 2000 or total > MAX_UNZIPPED or any(
            i.file_size > 1 << 20 and i.file_size > MAX_RATIO * max(i.compress_size, 1) for i in infos):
        raise ImportFileError("import.zip_bomb", name=name)
    parts = _xlsx_sheet_parts(z)
    extents = {}
    try:
        for sheet, part in parts.items():
            if part in z.NameToInfo:
                extents[sheet] = sheet_extent(z, part)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:  # a lying size fails the CRC
        raise ImportFileError("import.unreadable", name=name) from exc
    z.close()
    return extents


def _check_extent(declared: tuple[int, int], real: tuple[int, int]) -> None:
    if declared[0] > _EXCEL_MAX_ROWS or declared[1] > _EXCEL_MAX_COLS:
        _too_large(*declared)
    _too_large(*real)


def cell_text(value) -> str:
    """A cell as clean text: control characters (NUL, C0, C1) and lone surrogates dropped,
    full-width folded, spaces trimmed and collapsed."""
    if isinstance(value, str):
        value = _CONTROL.sub("", value)
    return clean(value)


def normalize_name(value) -> str:
    """Inner spaces between hanzi dropped (陈 国栋 -> 陈国栋); Latin names keep one space."""
    return _CJK_GAP.sub("", cell_text(value))


def read_rows(path: str | Path, content: bytes | None = None, *, max_bytes: int | None = None) -> list[list]:
    """All cells of the first sheet with content, from A1 (row index + 1 = Excel's row number).
    Bounded: the file's size, an .xlsx's zip and every sheet's extent are checked first."""
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFileError("import.bad_type", name=Path(name).name)
    check_size(len(content) if content is not None else Path(path).stat().st_size, max_bytes)
    data = content if content is not None else Path(path).read_bytes()
    if not data:
        raise ImportFileError("import.empty_file")
    if suffix == ".csv":
        return _read_csv(data)
    extents = _check_xlsx(data, Path(name).name) if suffix in (".xlsx", ".xlsm") else {}
    from python_calamine import CalamineWorkbook

    sheet = None
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for sheet_name in book.sheet_names:
            if suffix in (".xlsx", ".xlsm"):
                if sheet_name not in extents:
                    continue  # a chart sheet, or a part we could not measure: never read unmeasured
                _check_extent(*extents[sheet_name])
            loaded = book.get_sheet_by_name(sheet_name)
            _too_large(loaded.height, loaded.width)  # .xls: at most 65 536 × 256 by the format
            candidate = loaded.to_python(skip_empty_area=False)
            if any(any(cell_text(c) for c in r) for r in candidate):
                sheet = candidate
                break
    except ImportFileError:
        raise
    except Exception as exc:  # calamine raises several types for a damaged file
        raise ImportFileError("import.unreadable", name=Path(name).name) from exc
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException (a BaseException)
        if type(exc).__name__ != "PanicException":
            raise
        raise ImportFileError("import.unreadable", name=Path(name).name) from exc
    if sheet is None:
        raise ImportFileError("import.empty_file")
    return sheet


def _read_csv(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("import.bad_encoding")
    rows = []
    try:
        for row in csv.reader(io.StringIO(text.replace("\x00", ""))):
            if len(row) > MAX_COLS:
                _too_large(len(rows) + 1, len(row))
            rows.append(row)
            if len(rows) > MAX_ROWS + HEADER_ROOM:
                _too_large(len(rows), max(len(r) for r in rows))
    except csv.Error as exc:
        raise ImportFileError("import.bad_csv", error=str(exc)[:80]) from exc
    return rows


def _header_key(cell) -> str:
    return cell_text(cell).replace(" ", "").replace("*", "").replace("（", "(").lower()


def _match_field(cell) -> str | None:
    key = _header_key(cell)
    if not key:
        return None
    for fname, aliases in HEADER_ALIASES.items():
        if key in aliases:
            return fname
    best = None
    for fname, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            if len(alias) >= 2 and alias in key and (best is None or len(alias) > best[1]):
                best = (fname, len(alias))
    return best[0] if best else None


def _columns(header_rows: list[list]) -> dict[str, int]:
    """Field -> column index; a lower header row wins over the merged title above it."""
    cols: dict[str, int] = {}
    width = max(len(r) for r in header_rows)
    for c in range(width):
        for hr in reversed(header_rows):
            fname = _match_field(hr[c]) if c < len(hr) else None
            if fname and fname not in cols:
                cols[fname] = c
                break
    return cols


def find_header(rows: list[list]) -> tuple[int, int, dict[str, int]]:
    """(first header row index, first data row index, columns)."""
    best = None
    for i, row in enumerate(rows[:30]):
        cols = _columns([row])
        if "name" not in cols and "phone" not in cols:
            continue
        score = len(cols)
        if best is None or score > best[0]:
            best = (score, i)
    if best is None or best[0] < 2:
        raise ImportFileError("import.no_header")
    i = best[1]
    cols = _columns([rows[i]])
    first, data_start = i, i + 1
    # two-level headers: merged group titles above or sub-headers below
    if i + 1 < len(rows):
        two = _columns([rows[i], rows[i + 1]])
        if len(two) > len(cols):
            cols, data_start = two, i + 2
    if i > 0 and data_start == i + 1:
        two = _columns([rows[i - 1], rows[i]])
        if len(two) > len(cols):
            cols, first = two, i - 1
    return first, data_start, cols


def ignored_columns(rows: list[list], first: int, start: int, cols: dict[str, int]) -> list[str]:
    """The header texts of the columns the import does not read (shown in the preview)."""
    used = set(cols.values())
    header_rows = rows[first:start]
    width = max((len(r) for r in header_rows), default=0)
    out = []
    for c in range(width):
        if c in used:
            continue
        text = " / ".join(dict.fromkeys(x for x in (cell_text(r[c]) if c < len(r) else "" for r in header_rows) if x))
        if text:
            out.append(text)
    return out


# --- validating ---------------------------------------------------------------------------
def _category(value: str) -> str | None:
    v = value.lower()
    for group, words in CATEGORY_WORDS.items():
        if any(w in v for w in words):
            return group
    return None


def _outcome(value: str) -> str | None:
    for outcome in ("unsure", "no_answer", "not_interested", "confirmed"):  # 不确定 before 确定
        if any(w in value for w in OUTCOME_WORDS[outcome]):
            return outcome
    return None


_NO_PLATE = ("无", "-", "新车", "未上牌", "暂无")


def plan_row(row_no: int, cells: dict[str, object], *, today: date, cleaned: dict[str, str] | None = None) -> RowPlan:
    """Validate one row. `cells` are the raw values (dates need them); `cleaned` the same, cleaned.
    Only a missing or bad phone or an unsafe name rejects a row: a bad plate or VIN is blanked
    with a warning, so the customer is still invited."""
    plan = RowPlan(row=row_no)
    d = plan.data
    c = cleaned if cleaned is not None else {f: cell_text(v) for f, v in cells.items()}
    d["name"] = _CJK_GAP.sub("", c.get("name", ""))[:40]
    raw_phone = c.get("phone", "")
    d["phone"] = normalize_phone(raw_phone) if raw_phone else None
    if not d["name"] and not raw_phone:
        plan.errors.append(("import.row_no_name_phone", {}))
    elif not raw_phone:
        plan.errors.append(("import.row_no_phone", {}))
    elif d["phone"] is None:
        plan.errors.append(("import.row_bad_phone", {"value": raw_phone}))
    if not d["name"] and d["phone"]:
        plan.warnings.append(("import.row_no_name", {}))
    if "<" in d["name"] or ">" in d["name"]:
        plan.errors.append(("import.row_bad_name", {"value": d["name"]}))

    raw_plate = c.get("plate", "")
    d["plate"] = normalize_plate(raw_plate) if raw_plate else None
    if raw_plate and d["plate"] is None and raw_plate not in _NO_PLATE:
        plan.warnings.append(("import.row_plate_blanked", {"value": raw_plate}))

    raw_vin = c.get("vin", "")
    d["vin"] = None
    if raw_vin:
        vin, problem = check_vin(raw_vin)
        if problem == "vin_format":
            plan.warnings.append(("import.row_vin_blanked", {"value": raw_vin}))
        else:
            d["vin"] = vin
            if problem == "vin_check_digit" and vin.startswith("L"):
                plan.warnings.append(("import.row_vin_check_digit", {"value": vin}))

    for key in ("commercial_expiry", "compulsory_expiry", "expiry"):
        raw = cells.get(key)
        if raw is None or c.get(key, "") == "":
            d[key] = None
            continue
        parsed = parse_date(raw)
        d[key] = parsed
        if parsed is None:
            plan.warnings.append(("import.row_bad_date", {"value": c[key]}))
        elif parsed.year < today.year - 2 or parsed.year > today.year + 2:
            plan.warnings.append(("import.row_odd_date", {"value": parsed.isoformat()}))
    if d.pop("expiry") and not d["commercial_expiry"]:
        d["commercial_expiry"] = parse_date(cells.get("expiry"))

    d["model"] = c.get("model", "")[:60]
    d["insurer_last"] = c.get("insurer_last", "")[:30]
    # Last year's 商业险 and the seats feed the cashier's plausibility check (core.finance).
    d["commercial_last_fen"], d["seats"] = None, None
    raw_premium = cells.get("commercial_last")
    if raw_premium is not None and c.get("commercial_last", "") != "":
        try:
            fen = parse_yuan(round(raw_premium, 2) if isinstance(raw_premium, float) else raw_premium)
            d["commercial_last_fen"] = fen or None
        except ValueError:
            plan.warnings.append(("import.row_premium_blanked", {"value": c["commercial_last"]}))
    raw_seats = c.get("seats", "").removesuffix("座").removesuffix("人")
    if raw_seats:
        n = int(float(raw_seats)) if re.fullmatch(r"\d{1,2}(\.0+)?", raw_seats) else 0
        if 1 <= n <= 60:
            d["seats"] = n
        else:
            plan.warnings.append(("import.row_seats_blanked", {"value": c["seats"]}))
    d["advisor"] = _CJK_GAP.sub("", c.get("advisor", ""))[:20]
    raw_cat = c.get("category", "")
    d["group"] = _category(raw_cat) if raw_cat else "natural"
    if d["group"] is None:
        d["group"] = "natural"
        plan.warnings.append(("import.row_unknown_category", {"value": raw_cat}))
    year = c.get("loss_year", "")[:4]
    d["loss_year"] = int(year) if year.isdigit() else None
    d["call_outcome"] = _outcome(c.get("call_outcome", ""))
    return plan


Progress = Callable[[float, str], None]


def plan_import(path: str | Path, content: bytes | None = None, *, today: date | None = None,
                progress: Progress | None = None, max_bytes: int | None = None) -> ImportPlan:
    """Read (bounded) and validate a file; touches no store."""
    if content is None:
        check_size(Path(path).stat().st_size, max_bytes)
        content = Path(path).read_bytes()
    if progress:
        progress(0.05, "read")
    rows = read_rows(path, content, max_bytes=max_bytes)
    plan = plan_table(rows, filename=Path(str(path)).name, today=today, progress=progress)
    plan.digest = hashlib.sha256(content).hexdigest()
    return plan


def worker_init(memory_gib: int = 4) -> None:
    """A sheet-reading worker: capped in memory, so even a reader bug we did not foresee ends
    in that worker (the page says the file cannot be read), never in the server."""
    import resource

    limit = memory_gib << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def plan_in_worker(name: str, content: bytes, max_bytes: int | None, progress_value=None) -> ImportPlan:
    """plan_import() for a worker process (the page runs big sheets there, so the server that
    answers every desk never spends seconds of CPU on a sheet). `progress_value` is a shared
    multiprocessing Value the page reads for its progress bar."""
    def tick(fraction: float, _stage: str) -> None:
        if progress_value is not None:
            progress_value.value = fraction

    return plan_import(name, content, progress=tick, max_bytes=max_bytes)


def plan_table(rows: list[list], *, filename: str = "", today: date | None = None,
               progress: Progress | None = None) -> ImportPlan:
    first, start, cols = find_header(rows)
    today = today or now().date()
    plans: list[RowPlan] = []
    seen_rows: dict[tuple, int] = {}
    seen_vins: dict[str, int] = {}
    seen_plates: dict[str, tuple[int, tuple]] = {}
    fields = sorted(cols)
    total = max(len(rows) - start, 1)
    for i in range(start, len(rows)):
        if progress and (i - start) % 5000 == 0:
            progress(0.1 + 0.8 * (i - start) / total, "validate")
        raw = rows[i]
        first_text = next((t for t in (cell_text(v) for v in raw if v is not None and v != "") if t), "")
        if not first_text or first_text.startswith(FOOTER_WORDS):
            continue  # a blank row, or the footer (合计…)
        cells = {f: (raw[c] if c < len(raw) else None) for f, c in cols.items()}
        cleaned = {f: cell_text(v) for f, v in cells.items()}
        key = tuple(cleaned[f] for f in fields)
        plan = plan_row(i + 1, cells, today=today, cleaned=cleaned)
        if key in seen_rows:
            plan.duplicate_of = seen_rows[key]
            plan.warnings = [("import.row_duplicate", {"row": seen_rows[key]})]
            plan.errors = []
        else:
            seen_rows[key] = i + 1
            plate = plan.data.get("plate")
            if plate and not plan.errors:
                owner = (plan.data["phone"], plan.data["name"].replace(" ", ""))
                holder = seen_plates.setdefault(plate, (i + 1, owner))
                if holder[1] != owner:  # one car, two owners in the sheet: never two vehicles of one plate
                    plan.warnings.append(("import2.row_plate_repeated", {"row": holder[0], "value": plate}))
                    plan.data["plate"] = None
            vin = plan.data.get("vin")
            if vin and not plan.errors:
                if vin in seen_vins:
                    plan.warnings.append(("import.row_vin_repeated", {"row": seen_vins[vin], "value": vin}))
                    plan.data["vin"] = None
                else:
                    seen_vins[vin] = i + 1
        plans.append(plan)
    out = ImportPlan(filename=filename, header_row=first + 1, columns=cols, rows=plans,
                     ignored=ignored_columns(rows, first, start, cols))
    _flag_shared_phones(out)
    if progress:
        progress(0.95, "validate")
    return out


def _flag_shared_phones(plan: ImportPlan) -> None:
    """One phone, different names: both rows warned and kept as separate customers."""
    by_phone: dict[str, list[RowPlan]] = {}
    for r in plan.usable:
        by_phone.setdefault(r.data["phone"], []).append(r)
    for phone, rows in by_phone.items():
        names = list(dict.fromkeys(r.data["name"] for r in rows if r.data["name"]))
        if len(names) < 2:
            continue
        plan.phone_groups[phone] = [r.row for r in rows]
        listing = "、".join(f"第 {r.row} 行 {r.data['name'] or '—'}" for r in rows)
        for r in rows:
            r.warnings.append(("import.row_phone_shared", {"phone": phone, "rows": listing}))


def _reason(items: list[tuple[str, dict]], lang: str) -> str:
    return "；".join(t(code, lang, **params) for code, params in items)


def row_reason(row: RowPlan, lang: str = "zh-CN") -> str:
    """Why a row is refused, or what to check on it, in one line."""
    return _reason(row.errors or row.warnings, lang)


# --- advisors: the manager maps each name; nothing is created ------------------------------
def callers(session: Session) -> list[Staff]:
    """Who can be given customers: active staff in a calling role (never desk staff)."""
    return list(session.execute(select(Staff).where(Staff.active, Staff.role.in_(CALLER_ROLES))
                                .order_by(Staff.name)).scalars())


def list_callers(engine) -> list[Staff]:
    from core.store import read_session

    with read_session(engine) as s:
        return callers(s)


def match_advisors(engine, plan: ImportPlan) -> list[AdvisorMatch]:
    """Each advisor name of the sheet: an exact active caller, else a close match to confirm."""
    from difflib import SequenceMatcher

    from core.store import read_session

    with read_session(engine) as s:
        people = callers(s)
        everyone = {p.name: p for p in s.execute(select(Staff)).scalars()}
    by_name = {p.name.replace(" ", ""): p for p in people}
    out = []
    for name, n in sorted(plan.advisor_names().items(), key=lambda kv: (-kv[1], kv[0])):
        key = name.replace(" ", "")
        exact = by_name.get(key)
        suggestion, best = None, 0.0
        if exact is None:
            for p in people:
                score = SequenceMatcher(None, key, p.name.replace(" ", "")).ratio()
                if score > best and score >= 0.5:
                    suggestion, best = p, score
        note = ""
        other = everyone.get(name)
        if exact is None and other is not None:
            note = "inactive" if not other.active else "not_caller"
        out.append(AdvisorMatch(name=name, rows=n, staff_id=exact.id if exact else None,
                                suggestion_id=suggestion.id if suggestion else None, note=note))
    return out


def default_choices(matches: list[AdvisorMatch]) -> ImportChoices:
    """Exact matches only; every other name waits for the manager (absent from the map)."""
    return ImportChoices(advisors={m.name: m.staff_id for m in matches if m.staff_id is not None})


# --- resolving: what each row becomes, the same for the preview and the commit ---------------
@dataclass
class _Writes:
    new_customers: list[dict] = field(default_factory=list)
    cust_updates: dict[int, dict] = field(default_factory=dict)
    new_vehicles: list[dict] = field(default_factory=list)
    veh_updates: dict[int, dict] = field(default_factory=dict)
    new_invites: dict[object, dict] = field(default_factory=dict)
    invite_updates: dict[int, dict] = field(default_factory=dict)
    veh_moves: dict[int, object] = field(default_factory=dict)  # vehicle id -> its new customer (id or new key)


def _same_name(a: str, b: str) -> bool:
    return a.replace(" ", "") == b.replace(" ", "")


def _store_matches(session: Session, usable: list[RowPlan], existing: dict[str, list[tuple[int, str]]],
                   vehicle_rows) -> dict[int, StoreMatch]:
    """Sheet rows that meet a store customer under another name or phone (reads only).

    The car is found by VIN, else by plate (preferring the plate's holder with the row's phone);
    its holder is the store customer the row meets. Without a car in the store, a phone held by
    customers of other names only is met too."""
    by_vin = {v.vin: v for v in vehicle_rows if v.vin}
    by_plate: dict[str, list] = {}
    for v in vehicle_rows:
        if v.plate:
            by_plate.setdefault(v.plate, []).append(v)
    cars: dict[int, object] = {}
    for r in usable:
        d = r.data
        car = by_vin.get(d["vin"]) if d["vin"] else None
        if car is None and d["plate"] in by_plate:
            holders = by_plate[d["plate"]]
            owned = [v for v in holders if any(cid == v.customer_id for cid, _n in existing.get(d["phone"], []))]
            car = (owned or holders)[-1]
        if car is not None:
            cars[r.row] = car
    owners: dict[int, tuple[str, str]] = {}
    ids = sorted({car.customer_id for car in cars.values()})
    for i in range(0, len(ids), 900):
        for c in session.execute(select(Customer.id, Customer.name, Customer.phone)
                                 .where(Customer.id.in_(ids[i:i + 900]))):
            owners[c.id] = (c.name or "", c.phone or "")
    out: dict[int, StoreMatch] = {}
    for r in usable:
        d = r.data
        name, phone = d["name"], d["phone"]
        car = cars.get(r.row)

        def match(kind: str, cid: int, store_name: str, store_phone: str, default: str) -> StoreMatch:
            return StoreMatch(row=r.row, kind=kind, customer_id=cid, store_name=store_name, store_phone=store_phone,
                              vehicle_id=car.id if car is not None else None, name=name, phone=phone,
                              plate=d["plate"], default=default)
        if car is not None:
            store_name, store_phone = owners.get(car.customer_id, ("", ""))
            named_alike = not name or not store_name or _same_name(name, store_name)
            if store_phone != phone:
                out[r.row] = match("car", car.customer_id, store_name, store_phone,
                                   "new_phone" if named_alike else "new_owner")
            elif not named_alike:
                out[r.row] = match("name", car.customer_id, store_name, store_phone, "keep_name")
            continue
        olds = existing.get(phone, [])
        if name and olds and not any(not n or _same_name(n, name) for _cid, n in olds):
            out[r.row] = match("phone", olds[0][0], olds[0][1], phone, "separate")
    return out


def store_matches(engine, plan: ImportPlan) -> dict[int, StoreMatch]:
    """The preview's rows that meet a customer already in the store, by sheet row (reads only)."""
    from core.store import read_session

    usable = plan.usable
    if not usable:
        return {}
    with read_session(engine) as s:
        existing = _existing_by_phone(s, {r.data["phone"] for r in usable})
        vehicles = s.execute(select(Vehicle.id, Vehicle.customer_id, Vehicle.vin, Vehicle.plate)).all()
        return _store_matches(s, usable, existing, vehicles)


def _existing_by_phone(session: Session, phones: set[str]) -> dict[str, list[tuple[int, str]]]:
    existing: dict[str, list[tuple[int, str]]] = {}
    by_phone = select(Customer.id, Customer.phone, Customer.name).order_by(Customer.id)
    if len(phones) < 900:  # a short sheet asks for its phones; a long one reads them all once
        by_phone = by_phone.where(Customer.phone.in_(phones))
    for c in session.execute(by_phone):
        if c.phone in phones:
            existing.setdefault(c.phone, []).append((c.id, c.name or ""))
    return existing


def _resolve(session: Session, event_id: int, plan: ImportPlan, choices: ImportChoices | None,
             *, lang: str, ts: datetime) -> tuple[ImportReport, _Writes]:
    """Match every usable row to an existing or a new customer, vehicle and invitation, reading
    only. A customer is its phone and its name: two names on one phone are two customers unless
    the manager merged that phone."""
    report = ImportReport()
    for r in plan.rows:
        if r.errors:
            report.rejected.append({"row": r.row, "reason": _reason(r.errors, lang)})
        elif r.warnings:
            report.warned.append({"row": r.row, "reason": _reason(r.warnings, lang)})
    w = _Writes()
    usable = plan.usable
    if not usable:
        return report, w

    allowed = {p.id for p in callers(session)}
    if choices is None:  # scripts and the demo: exact names, everyone else unassigned
        by_name = {p.name: p.id for p in callers(session)}
        mapping = {name: by_name.get(name) for name in plan.advisor_names()}
    else:
        mapping = dict(choices.advisors)
        missing = [n for n in plan.advisor_names() if n not in mapping]
        if missing:
            raise DeskError("import_advisor_unmapped", names="、".join(missing[:10]), count=len(missing))
        wrong = [n for n, sid in mapping.items() if sid is not None and sid not in allowed]
        if wrong:
            raise DeskError("import_advisor_not_caller", names="、".join(wrong[:10]))
    merge = choices.merge_phones if choices else frozenset()

    existing = _existing_by_phone(session, {r.data["phone"] for r in usable})
    vehicle_rows = session.execute(select(Vehicle.id, Vehicle.customer_id, Vehicle.vin, Vehicle.plate)).all()
    met = _store_matches(session, usable, existing, vehicle_rows)
    decided = choices.store if choices else {}
    warned = {w["row"]: w for w in report.warned}
    for row, m in met.items():
        action = decided.get(row) if decided.get(row) in STORE_ACTIONS[m.kind] else m.default
        report.store_matches.append({**m.as_dict(), "action": action})
        line = m.text(lang, action)
        if row in warned:
            warned[row]["reason"] += "；" + line
        else:
            warned[row] = {"row": row, "reason": line}
            report.warned.append(warned[row])
    report.warned.sort(key=lambda w: w["row"])
    veh_by_vin = {v.vin: (v.id, v.customer_id) for v in vehicle_rows if v.vin}
    veh_by_cust_plate = {(v.customer_id, v.plate): v.id for v in vehicle_rows if v.plate}
    invited = {row.customer_id: row.id for row in session.execute(
        select(Invitation.id, Invitation.customer_id).where(Invitation.event_id == event_id))}

    new_by_key: dict[tuple, tuple] = {}  # (phone, name or "") -> ("new", i)

    def find_customer(phone: str, name: str):
        if phone in merge:
            name = ""
        key = (phone, name)
        if key in new_by_key:
            return new_by_key[key]
        olds = existing.get(phone, [])
        if phone in merge or not name:
            if olds:
                return olds[0][0]
            # a nameless row joins the first new customer on its phone
            return next((v for (p, _n), v in new_by_key.items() if p == phone), None)
        for cid, old_name in olds:
            if old_name == name or old_name.replace(" ", "") == name:
                return cid
        for cid, old_name in olds:
            if not old_name:
                return cid
        return None

    row_customer: list[tuple[RowPlan, object]] = []
    touched_customers: set = set()
    for r in usable:
        d = r.data
        vehicle_fields = {"plate": d["plate"], "vin": d["vin"], "model": d["model"], "insurer_last": d["insurer_last"],
                          "commercial_expiry": d["commercial_expiry"], "compulsory_expiry": d["compulsory_expiry"],
                          "commercial_last_fen": d["commercial_last_fen"], "seats": d["seats"]}
        cust_fields = {"name": d["name"], "phone": d["phone"], "category": d["group"]}
        cust_key: object = None
        veh_id = None
        moving = False
        m = met.get(r.row)
        action = (decided.get(r.row) if m and decided.get(r.row) in STORE_ACTIONS[m.kind] else m.default) if m else None
        if m is not None and action != "separate" and not (m.kind == "phone" and d["phone"] in merge):
            veh_id = m.vehicle_id
            if action == "new_owner":  # the car changed hands: the sheet's customer gets it
                cust_key = find_customer(d["phone"], d["name"])
                moving = True
            else:  # the store's customer: its name kept unless the manager took the sheet's
                cust_key = m.customer_id
                if action != "sheet_name":
                    cust_fields.pop("name")
                if m.kind == "phone" and d["plate"]:
                    veh_id = veh_by_cust_plate.get((cust_key, d["plate"]))
        elif d["vin"] and d["vin"] in veh_by_vin:
            veh_id, cust_key = veh_by_vin[d["vin"]]
        else:
            cust_key = find_customer(d["phone"], d["name"])
            if cust_key is not None and d["plate"]:
                veh_id = veh_by_cust_plate.get((cust_key, d["plate"]))
        is_new = False
        if cust_key is None:
            cust_key = ("new", len(w.new_customers))
            w.new_customers.append({**cust_fields, "created_at": ts, "updated_at": ts})
            new_by_key[(d["phone"], "" if d["phone"] in merge else d["name"])] = cust_key
            is_new = True
        elif isinstance(cust_key, int):
            w.cust_updates[cust_key] = {"id": cust_key, **{k: v for k, v in cust_fields.items() if v}, "updated_at": ts}
        else:
            w.new_customers[cust_key[1]].update({k: v for k, v in cust_fields.items() if v and k != "name"})
        touched_customers.add(cust_key)
        if veh_id is not None and veh_id > 0:
            w.veh_updates[veh_id] = {"id": veh_id, **{k: v for k, v in vehicle_fields.items() if v}}
            if moving:
                w.veh_moves[veh_id] = cust_key
                if d["plate"]:
                    veh_by_cust_plate[(cust_key, d["plate"])] = veh_id
        elif veh_id is None and (d["plate"] or d["vin"]):
            w.new_vehicles.append({**vehicle_fields, "customer_key": cust_key})
            if d["plate"]:
                veh_by_cust_plate[(cust_key, d["plate"])] = -1
            if d["vin"]:
                veh_by_vin[d["vin"]] = (-1, cust_key)
            is_new = True
        if is_new:
            report.accepted += 1
        else:
            report.updated += 1
        row_customer.append((r, cust_key))

    # One invitation per customer and event; the sheet's advisor (as mapped), group and outcome win.
    for r, key in row_customer:
        d = r.data
        fields = {"group": d["group"], "loss_year": d["loss_year"]}
        if d["advisor"] and d["group"] != "lost" and mapping.get(d["advisor"]) is not None:
            fields["advisor_id"] = mapping[d["advisor"]]
        if d["call_outcome"]:
            fields["call_outcome"] = d["call_outcome"]
        if isinstance(key, int) and key in invited:
            w.invite_updates[invited[key]] = {"id": invited[key], **fields}
        elif key in w.new_invites:
            w.new_invites[key].update(fields)
        else:
            w.new_invites[key] = {"event_id": event_id, "customer_key": key, "code": codes.new_code(),
                                  "created_at": ts, "advisor_id": None, "call_outcome": None, **fields}
    report.new_customers = len(w.new_customers)
    report.updated_customers = len(w.cust_updates)
    report.new_vehicles = len(w.new_vehicles)
    report.new_invitations = len(w.new_invites)
    report.updated_invitations = len(w.invite_updates)
    report.unassigned = sum(1 for v in w.new_invites.values() if v["advisor_id"] is None)
    report.moved_vehicles = len(w.veh_moves)
    return report, w


def preview_import(engine, event_id: int, plan: ImportPlan, choices: ImportChoices | None = None, *,
                   lang: str = "zh-CN") -> ImportReport:
    """What the commit would do, from reads only: no write lock, nothing written."""
    from core.store import read_session

    with read_session(engine) as s:
        report, _ = _resolve(s, event_id, plan, choices, lang=lang, ts=now())
    return report


# --- writing ------------------------------------------------------------------------------
def apply_import(session: Session, event_id: int, plan: ImportPlan, choices: ImportChoices | None = None, *,
                 lang: str = "zh-CN", progress: Progress | None = None) -> ImportReport:
    """Write the usable rows in the caller's transaction: customers and vehicles upserted (VIN
    first, then phone + name, then phone + plate), one invitation per customer, unassigned
    invitations split among the callers. No staff is ever created here."""
    report, w = _resolve(session, event_id, plan, choices, lang=lang, ts=now())
    _spread(session, event_id, w)
    _write(session, event_id, w, progress)
    return report


def _fingerprint(session: Session) -> tuple:
    """What a resolution depends on: a new or changed customer, vehicle or invitation (or caller)
    since it was made means it must be made again, inside the lock. Its max ids also give the
    ids the new rows will take on SQLite."""
    return (tuple(session.execute(select(func.max(Customer.id), func.max(Customer.updated_at),
                                         func.count(Customer.id))).one()),
            tuple(session.execute(select(func.max(Vehicle.id), func.count(Vehicle.id))).one()),
            tuple(session.execute(select(func.max(Invitation.id), func.count(Invitation.id))).one()),
            tuple(callers_ids(session)))


def callers_ids(session: Session) -> list[int]:
    return list(session.execute(select(Staff.id).where(Staff.active, Staff.role.in_(CALLER_ROLES))
                                .order_by(Staff.id)).scalars())


def _spread(session: Session, event_id: int, w: _Writes) -> None:
    """The new invitations without an advisor, split among the active callers before they are
    written (what assign_invitations() does afterwards, without 20 000 UPDATEs in the lock)."""
    ids = callers_ids(session)
    todo = [inv for inv in w.new_invites.values() if inv["advisor_id"] is None]
    if not ids or not todo:
        return
    load = {sid: 0 for sid in ids}
    for sid, n in session.execute(select(Invitation.advisor_id, func.count()).where(
            Invitation.event_id == event_id, Invitation.advisor_id.is_not(None)).group_by(Invitation.advisor_id)):
        if sid in load:
            load[sid] += n
    for upd in w.invite_updates.values():  # re-imported rows that name their advisor count too
        if upd.get("advisor_id") in load:
            load[upd["advisor_id"]] += 1
    for inv in w.new_invites.values():
        if inv["advisor_id"] in load:
            load[inv["advisor_id"]] += 1
    lost_years = sorted({inv["loss_year"] or 0 for inv in todo if inv["group"] == "lost"})
    batches = [[inv for inv in todo if inv["group"] == "lost" and (inv["loss_year"] or 0) == y] for y in lost_years]
    batches.append([inv for inv in todo if inv["group"] != "lost"])
    for batch in batches:
        order = sorted(ids, key=lambda sid: (load[sid], sid))  # strict rotation from the least loaded
        for i, inv in enumerate(batch):
            sid = order[i % len(order)]
            load[sid] += 1
            inv["advisor_id"] = sid


def _prepare_sqlite(w: _Writes, fingerprint: tuple) -> list[tuple[str, list[tuple]]]:
    """The INSERTs of an import as (sql, parameter tuples), ids given from the fingerprint's
    max ids: built before the write lock, executed under it only if the fingerprint still holds."""
    c0, v0, i0 = ((fingerprint[k][0] or 0) + 1 for k in (0, 1, 2))

    def resolve(key) -> int:
        return c0 + key[1] if isinstance(key, tuple) else key

    return [_sqlite_rows(Customer, w.new_customers, c0),
            _sqlite_rows(Vehicle, [{**nv, "customer_id": resolve(nv["customer_key"])} for nv in w.new_vehicles], v0),
            _sqlite_rows(Invitation, [{**inv, "customer_id": resolve(inv["customer_key"])}
                                      for inv in w.new_invites.values()], i0),
            ('UPDATE "vehicle" SET customer_id = ? WHERE id = ?',
             [(resolve(key), vid) for vid, key in w.veh_moves.items()])]


def _write(session: Session, event_id: int, w: _Writes, progress: Progress | None = None,
           prepared: list[tuple[str, list[tuple]]] | None = None) -> None:
    if progress:
        progress(0.3, "customers")
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # the driver's own executemany with ids we give (the write lock is held: BEGIN IMMEDIATE)
        if prepared is None:
            prepared = _prepare_sqlite(w, _fingerprint(session))
        cursor = conn.connection.driver_connection.cursor()
        # a big import touches index pages all over the file: a larger page cache for this
        # connection keeps them in memory instead of spilling to the WAL mid-transaction
        cursor.execute("PRAGMA cache_size=-131072")
        for sql, params in prepared:
            if params:
                cursor.executemany(sql, params)
    else:
        # PostgreSQL: Core executemany and multi-row INSERT … RETURNING, not the ORM's per-object path
        new_ids = _insert_rows(conn, Customer, w.new_customers, want_ids=True)

        def resolve(key) -> int:
            return new_ids[key[1]] if isinstance(key, tuple) else key

        _insert_rows(conn, Vehicle, [{**{k: v for k, v in nv.items() if k != "customer_key"},
                                      "customer_id": resolve(nv["customer_key"])} for nv in w.new_vehicles])
        _insert_rows(conn, Invitation, [{**{k: v for k, v in inv.items() if k != "customer_key"},
                                         "customer_id": resolve(inv["customer_key"])}
                                        for inv in w.new_invites.values()])
        _update_by_id(conn, Vehicle, [{"id": vid, "customer_id": resolve(key)} for vid, key in w.veh_moves.items()])
    if progress:
        progress(0.7, "invitations")
    _update_by_id(conn, Customer, w.cust_updates.values())
    _update_by_id(conn, Vehicle, w.veh_updates.values())
    _update_by_id(conn, Invitation, w.invite_updates.values())
    assign_invitations(session, event_id)  # invitations left unassigned before this import
    if progress:
        progress(0.95, "assign")


def _sqlite_rows(model, rows: list[dict], start: int) -> tuple[str, list[tuple]]:
    table = model.__table__
    columns = [c.name for c in table.columns if c.name != "id"]
    defaults = {c.name: (c.default.arg if c.default is not None and not callable(c.default.arg) else None)
                for c in table.columns}
    timed = {n for n in columns if isinstance(table.c[n].type, (Date, DateTime))}
    params = [(i, *(_sqlite_value(row.get(n, defaults[n])) if n in timed else row.get(n, defaults[n])
                    for n in columns)) for i, row in enumerate(rows, start)]
    names = ", ".join(f'"{n}"' for n in ["id", *columns])
    return f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * (len(columns) + 1))})', params


def _insert_rows(conn, model, rows: list[dict], *, want_ids: bool = False) -> list[int]:
    """Many rows at once. SQLite (the write lock is held: BEGIN IMMEDIATE) gets the driver's own
    executemany with ids given from max(id) + 1; PostgreSQL a Core INSERT … RETURNING in order."""
    if not rows:
        return []
    table = model.__table__
    if conn.dialect.name != "sqlite":
        stmt = insert(table)
        if want_ids:
            return list(conn.execute(stmt.returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
        conn.execute(stmt, rows)
        return []
    start = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one() + 1
    sql, params = _sqlite_rows(model, rows, start)
    conn.connection.driver_connection.cursor().executemany(sql, params)
    return [p[0] for p in params]


@lru_cache(maxsize=4096)
def _sqlite_value(value):
    """What SQLAlchemy's SQLite types would store: dates and datetimes as ISO text."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _update_by_id(conn, model, rows) -> None:
    """executemany UPDATE … WHERE id = ?, grouped by the set of columns each row changes."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        cols = tuple(sorted(k for k in row if k != "id"))
        groups.setdefault(cols, []).append({**{f"v_{k}": row[k] for k in cols}, "b_id": row["id"]})
    table = model.__table__
    for cols, params in groups.items():
        if cols:
            conn.execute(update(table).where(table.c.id == bindparam("b_id"))
                         .values({k: bindparam(f"v_{k}") for k in cols}), params)


def assign_invitations(session: Session, event_id: int) -> dict[int, int]:
    """Give every unassigned invitation a caller: lost customers split evenly year of loss by
    year of loss, then the rest, always to whoever has fewest. Returns staff id -> count added."""
    callers = session.execute(select(Staff.id).where(Staff.active, Staff.role.in_(CALLER_ROLES))
                              .order_by(Staff.id)).scalars().all()
    if not callers:
        return {}
    load = {sid: 0 for sid in callers}
    for sid in session.execute(select(Invitation.advisor_id).where(Invitation.event_id == event_id,
                                                                  Invitation.advisor_id.is_not(None))).scalars():
        if sid in load:
            load[sid] += 1
    todo = session.execute(select(Invitation.id, Invitation.group, Invitation.loss_year)
                           .where(Invitation.event_id == event_id, Invitation.advisor_id.is_(None))
                           .order_by(Invitation.id)).all()
    lost_years = sorted({r.loss_year or 0 for r in todo if r.group == "lost"})
    batches = [[r.id for r in todo if r.group == "lost" and (r.loss_year or 0) == y] for y in lost_years]
    batches.append([r.id for r in todo if r.group != "lost"])
    added: dict[int, int] = {}
    changes = []
    for batch in batches:
        # within one year, strict rotation starting from the least loaded caller
        order = sorted(callers, key=lambda s: (load[s], s))
        for i, inv_id in enumerate(batch):
            sid = order[i % len(order)]
            load[sid] += 1
            added[sid] = added.get(sid, 0) + 1
            changes.append({"id": inv_id, "advisor_id": sid})
    _update_by_id(session.connection(), Invitation, changes)
    return added


def commit_import(engine, *, event_id: int, plan: ImportPlan, choices: ImportChoices | None, staff_id: int | None,
                  desk: str = "", lang: str = "zh-CN", progress: Progress | None = None) -> ImportReport:
    """The manager's import: role checked first; a refusal is audited like any desk action's."""
    from core.audit import audited_refusals

    with audited_refusals(engine, "import", event_id=event_id, desk=desk, staff_id=staff_id, raw=plan.filename,
                          detail={"digest": plan.digest, "rows": len(plan.rows)}):
        return _commit_import(engine, event_id=event_id, plan=plan, choices=choices, staff_id=staff_id, desk=desk,
                              lang=lang, progress=progress)


def _commit_import(engine, *, event_id: int, plan: ImportPlan, choices: ImportChoices | None, staff_id: int | None,
                   desk: str = "", lang: str = "zh-CN", progress: Progress | None = None) -> ImportReport:
    """The import as one transaction, all accepted rows or nothing, audited. It acts once per
    preview (plan.nonce): a second click, or a retried request, is refused with a reason.

    The rows are resolved from reads first, outside the write lock; under the lock only a
    fingerprint of what the resolution read is checked (resolved again if another desk changed
    something meanwhile) and the prepared rows are written."""
    from core.audit import audit
    from core.store import read_session, write_session

    ts = now()
    with read_session(engine) as s:
        seen = s.get(ActionNonce, plan.nonce) is not None
        if not seen:
            fingerprint = _fingerprint(s)
            report, w = _resolve(s, event_id, plan, choices, lang=lang, ts=ts)
            _spread(s, event_id, w)
            prepared = _prepare_sqlite(w, fingerprint) if s.connection().dialect.name == "sqlite" else None
    if seen:
        raise DeskError("import_already_done")
    if progress:
        progress(0.2, "customers")
    with write_session(engine) as s:
        if s.get(ActionNonce, plan.nonce) is not None:
            raise DeskError("import_already_done")
        if _fingerprint(s) != fingerprint:  # another desk wrote meanwhile: resolve again, in the lock
            report, w = _resolve(s, event_id, plan, choices, lang=lang, ts=ts)
            _spread(s, event_id, w)
            prepared = None
        _write(s, event_id, w, progress, prepared)
        audit(s, "import", event_id=event_id, desk=desk, staff_id=staff_id, raw=plan.filename,
              detail={"accepted": report.accepted, "updated": report.updated, "warned": len(report.warned),
                      "rejected": len(report.rejected), "new_customers": report.new_customers,
                      "new_invitations": report.new_invitations, "digest": plan.digest,
                      "advisors": {k: v for k, v in (choices.advisors.items() if choices else [])},
                      "merged_phones": sorted(choices.merge_phones) if choices else [],
                      "store_matches": [{k: m[k] for k in ("row", "kind", "customer_id", "action")}
                                        for m in report.store_matches]})
        s.add(ActionNonce(nonce=plan.nonce, action="import", result=json.dumps(
            {k: v for k, v in report.as_dict().items() if k not in ("warned", "rejected")}), at=now()))
    return report


def import_guests(engine, event_id: int, plan: ImportPlan, *, dry_run: bool = False, lang: str = "zh-CN",
                  desk: str = "", staff_id: int | None = None, choices: ImportChoices | None = None) -> ImportReport:
    """Scripts' entry: a dry run is the preview (reads only); otherwise the commit."""
    if dry_run:
        return preview_import(engine, event_id, plan, choices, lang=lang)
    return commit_import(engine, event_id=event_id, plan=plan, choices=choices, staff_id=staff_id, desk=desk,
                         lang=lang)
