"""Workbooks that leave the store (SMS sheet, finance export, results, audit log, end-of-day
export): one writer, and every cell safe to open in Excel or WPS.

A text cell that starts with = + - @ (or a tab / CR) is a formula to a spreadsheet program:
a customer named "=HYPERLINK(...)" would become a live link. Such text is written as a string
cell with Excel's quote prefix (what typing a leading ' does), so it shows exactly as typed
and never runs. Control characters that XML cannot hold are dropped."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def is_formula_like(text: str) -> bool:
    return text.startswith(_FORMULA_START)


def cell_value(value: Any) -> Any:
    """What is written: numbers, dates and booleans as they are, text cleaned of what XML refuses."""
    if value is None or isinstance(value, (bool, int, float, Decimal, date, datetime)):
        return value
    return _ILLEGAL.sub("", str(value))


@dataclass
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]] = ()
    totals: Sequence[Any] | None = None  # a bold last row
    money_columns: Sequence[int] = ()  # 0-based columns shown with two decimals
    widths: dict[int, float] = field(default_factory=dict)


def write_book(sheets: Sequence[Sheet], target=None) -> bytes:
    """Write the sheets into `target` (a path or a file object) or return the bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for spec in sheets:
        ws = book.create_sheet(title=_sheet_title(spec.title))
        ws.append([cell_value(h) for h in spec.headers])
        for c in ws[1]:
            c.font = bold
        for row in spec.rows:
            _append(ws, row, spec.money_columns)
        if spec.totals is not None:
            _append(ws, spec.totals, spec.money_columns)
            for c in ws[ws.max_row]:
                c.font = bold
        for i, h in enumerate(spec.headers):
            width = spec.widths.get(i) or max(8.0, min(40.0, len(str(h)) * 2.2))
            ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = width
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    if target is not None:
        if hasattr(target, "write"):
            target.write(data)
        else:
            with open(target, "wb") as fh:
                fh.write(data)
    return data


def _append(ws, row: Sequence[Any], money_columns: Sequence[int]) -> None:
    ws.append([cell_value(v) for v in row])
    r = ws.max_row
    for i, v in enumerate(row):
        cell = ws.cell(row=r, column=i + 1)
        if isinstance(v, str) and is_formula_like(cell.value or ""):
            cell.data_type = "s"  # never a formula
            cell.quotePrefix = True
        if i in money_columns and isinstance(v, (int, float, Decimal)):
            cell.number_format = "#,##0.00"


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", cell_value(title))[:31] or "Sheet"
