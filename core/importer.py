"""The customer list from the DMS: read a messy sheet, plan every row, then commit or not.

plan_import() reads and validates without touching the store; apply_import() writes the
accepted rows in the caller's transaction (all or nothing). A dry run is apply_import()
rolled back, so its counts are exact.
"""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Date, DateTime, bindparam, func, insert, select, update
from sqlmodel import Session

from core import codes
from core.clock import now
from core.i18n import t
from core.models import CALLER_ROLES, Customer, Invitation, Staff, Vehicle
from core.validate import check_vin, clean, normalize_phone, normalize_plate, parse_date

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
    "category": ("客户类别", "客户类型", "客户分类", "类别"),
    "advisor": ("续保专员", "服务顾问", "业务员姓名", "续保顾问", "业务员", "邀约人", "专员"),
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
    """The file cannot be read at all (wrong type, damaged, empty, no header)."""


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

    @property
    def usable(self) -> list[RowPlan]:
        return [r for r in self.rows if not r.errors and r.duplicate_of is None]


@dataclass
class ImportReport:
    accepted: int = 0
    updated: int = 0
    warned: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "updated": self.updated,
                "warned": self.warned, "rejected": self.rejected}


# --- reading ------------------------------------------------------------------------------
def read_rows(path: str | Path, content: bytes | None = None) -> list[list]:
    """All cells of the first sheet with content, from A1 (row index + 1 = Excel's row number)."""
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFileError(t("import.bad_type", name=Path(name).name))
    data = content if content is not None else Path(path).read_bytes()
    if not data:
        raise ImportFileError(t("import.empty_file"))
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ImportFileError(t("import.bad_encoding"))
        return [row for row in csv.reader(io.StringIO(text))]
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = None
        for sheet_name in book.sheet_names:
            candidate = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            if any(any(clean(c) for c in r) for r in candidate):
                sheet = candidate
                break
    except Exception as exc:  # calamine raises several types for a damaged file
        raise ImportFileError(t("import.unreadable", name=Path(name).name)) from exc
    if sheet is None:
        raise ImportFileError(t("import.empty_file"))
    return sheet


def _header_key(cell) -> str:
    return clean(cell).replace(" ", "").replace("*", "").replace("（", "(").lower()


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
        raise ImportFileError(t("import.no_header"))
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


def plan_row(row_no: int, cells: dict[str, object], *, today: date, cleaned: dict[str, str] | None = None) -> RowPlan:
    """Validate one row. `cells` are the raw values (dates need them); `cleaned` the same, cleaned."""
    plan = RowPlan(row=row_no)
    d = plan.data
    c = cleaned if cleaned is not None else {f: clean(v) for f, v in cells.items()}
    d["name"] = c.get("name", "")[:40]
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
    if raw_plate and d["plate"] is None and raw_plate not in ("无", "-", "新车", "未上牌"):
        plan.errors.append(("import.row_bad_plate", {"value": raw_plate}))

    raw_vin = c.get("vin", "")
    d["vin"] = None
    if raw_vin:
        vin, problem = check_vin(raw_vin)
        if problem == "vin_format":
            plan.errors.append(("import.row_bad_vin", {"value": raw_vin}))
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
    d["advisor"] = c.get("advisor", "")[:20]
    raw_cat = c.get("category", "")
    d["group"] = _category(raw_cat) if raw_cat else "natural"
    if d["group"] is None:
        d["group"] = "natural"
        plan.warnings.append(("import.row_unknown_category", {"value": raw_cat}))
    year = c.get("loss_year", "")[:4]
    d["loss_year"] = int(year) if year.isdigit() else None
    d["call_outcome"] = _outcome(c.get("call_outcome", ""))
    return plan


def plan_import(path: str | Path, content: bytes | None = None, *, today: date | None = None) -> ImportPlan:
    return plan_table(read_rows(path, content), filename=Path(str(path)).name, today=today)


def plan_table(rows: list[list], *, filename: str = "", today: date | None = None) -> ImportPlan:
    first, start, cols = find_header(rows)
    today = today or now().date()
    plans: list[RowPlan] = []
    seen_rows: dict[tuple, int] = {}
    seen_vins: dict[str, int] = {}
    fields = sorted(cols)
    for i in range(start, len(rows)):
        raw = rows[i]
        first_text = next((t for t in (clean(v) for v in raw if v is not None and v != "") if t), "")
        if not first_text or first_text.startswith(FOOTER_WORDS):
            continue  # a blank row, or the footer (合计…)
        cells = {f: (raw[c] if c < len(raw) else None) for f, c in cols.items()}
        cleaned = {f: clean(v) for f, v in cells.items()}
        key = tuple(cleaned[f] for f in fields)
        plan = plan_row(i + 1, cells, today=today, cleaned=cleaned)
        if key in seen_rows:
            plan.duplicate_of = seen_rows[key]
            plan.warnings = [("import.row_duplicate", {"row": seen_rows[key]})]
            plan.errors = []
        else:
            seen_rows[key] = i + 1
            vin = plan.data.get("vin")
            if vin and not plan.errors:
                if vin in seen_vins:
                    plan.errors.append(("import.row_duplicate_vin", {"row": seen_vins[vin]}))
                else:
                    seen_vins[vin] = i + 1
        plans.append(plan)
    return ImportPlan(filename=filename, header_row=first + 1, columns=cols, rows=plans)


def _reason(items: list[tuple[str, dict]], lang: str) -> str:
    return "；".join(t(code, lang, **params) for code, params in items)


# --- writing ------------------------------------------------------------------------------
def apply_import(session: Session, event_id: int, plan: ImportPlan, *, lang: str = "zh-CN") -> ImportReport:
    """Write the usable rows in the caller's transaction: upsert customers and vehicles (VIN
    first, then phone + plate, then phone), one invitation per customer, new advisors added."""
    report = ImportReport()
    ts = now()
    for r in plan.rows:
        if r.errors:
            report.rejected.append({"row": r.row, "reason": _reason(r.errors, lang)})
        elif r.warnings:
            report.warned.append({"row": r.row, "reason": _reason(r.warnings, lang)})
    usable = plan.usable
    if not usable:
        return report

    staff_by_name = {s.name: s.id for s in session.execute(select(Staff)).scalars()}
    new_staff = sorted({r.data["advisor"] for r in usable if r.data["advisor"]} - set(staff_by_name))
    for name in new_staff:
        staff = Staff(name=name, role="advisor")
        session.add(staff)
        session.flush()
        staff_by_name[name] = staff.id
    if new_staff:
        report.warned.append({"row": 0, "reason": t("import.new_advisors", lang, names="、".join(new_staff))})

    phones = {r.data["phone"] for r in usable}
    cust_by_phone: dict[str, object] = {}
    by_phone = select(Customer.id, Customer.phone).order_by(Customer.id)
    if len(phones) < 900:  # a short sheet asks for its phones; a long one reads them all once
        by_phone = by_phone.where(Customer.phone.in_(phones))
    for c in session.execute(by_phone):
        if c.phone in phones:
            cust_by_phone.setdefault(c.phone, c.id)
    vehicle_rows = session.execute(select(Vehicle.id, Vehicle.customer_id, Vehicle.vin, Vehicle.plate)).all()
    veh_by_vin = {v.vin: (v.id, v.customer_id) for v in vehicle_rows if v.vin}
    veh_by_cust_plate = {(v.customer_id, v.plate): v.id for v in vehicle_rows if v.plate}
    invited = {row.customer_id: row.id for row in session.execute(
        select(Invitation.id, Invitation.customer_id).where(Invitation.event_id == event_id))}

    # Resolve each row to an existing or a new customer / vehicle (new ones get a temp key).
    new_customers: list[dict] = []
    new_vehicles: list[dict] = []
    cust_updates: dict[int, dict] = {}
    veh_updates: dict[int, dict] = {}
    row_customer: list[tuple[RowPlan, object]] = []
    for r in usable:
        d = r.data
        vehicle_fields = {"plate": d["plate"], "vin": d["vin"], "model": d["model"], "insurer_last": d["insurer_last"],
                          "commercial_expiry": d["commercial_expiry"], "compulsory_expiry": d["compulsory_expiry"]}
        cust_fields = {"name": d["name"], "phone": d["phone"], "category": d["group"]}
        cust_key: object = None
        veh_id = None
        if d["vin"] and d["vin"] in veh_by_vin:
            veh_id, cust_key = veh_by_vin[d["vin"]]
        elif d["phone"] in cust_by_phone:
            cust_key = cust_by_phone[d["phone"]]
            if d["plate"]:
                veh_id = veh_by_cust_plate.get((cust_key, d["plate"]))
        is_new = False
        if cust_key is None:
            cust_key = ("new", len(new_customers))
            new_customers.append({**cust_fields, "created_at": ts, "updated_at": ts})
            cust_by_phone[d["phone"]] = cust_key
            is_new = True
        elif isinstance(cust_key, int):
            cust_updates[cust_key] = {"id": cust_key, **{k: v for k, v in cust_fields.items() if v}, "updated_at": ts}
        else:
            new_customers[cust_key[1]].update({k: v for k, v in cust_fields.items() if v})
        if veh_id is not None:
            veh_updates[veh_id] = {"id": veh_id, **{k: v for k, v in vehicle_fields.items() if v}}
        elif d["plate"] or d["vin"]:
            new_vehicles.append({**vehicle_fields, "customer_key": cust_key})
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

    # Core statements (executemany and multi-row INSERT … RETURNING), not the ORM's per-object path.
    conn = session.connection()
    new_ids = _insert_rows(conn, Customer, new_customers, want_ids=True)

    def resolve(key) -> int:
        return new_ids[key[1]] if isinstance(key, tuple) else key

    _update_by_id(conn, Customer, cust_updates.values())
    _update_by_id(conn, Vehicle, veh_updates.values())
    _insert_rows(conn, Vehicle, [{**{k: v for k, v in nv.items() if k != "customer_key"},
                                  "customer_id": resolve(nv["customer_key"])} for nv in new_vehicles])

    # One invitation per customer and event; the sheet's advisor, group and outcome win.
    new_invites: dict[int, dict] = {}
    invite_updates: dict[int, dict] = {}
    for r, key in row_customer:
        cid = resolve(key)
        d = r.data
        fields = {"group": d["group"], "loss_year": d["loss_year"]}
        if d["advisor"] and d["group"] != "lost":
            fields["advisor_id"] = staff_by_name[d["advisor"]]
        if d["call_outcome"]:
            fields["call_outcome"] = d["call_outcome"]
        if cid in invited:
            invite_updates[invited[cid]] = {"id": invited[cid], **fields}
        elif cid in new_invites:
            new_invites[cid].update(fields)
        else:
            new_invites[cid] = {"event_id": event_id, "customer_id": cid, "code": codes.new_code(),
                                "created_at": ts, "advisor_id": None, "call_outcome": None, **fields}
    _insert_rows(conn, Invitation, list(new_invites.values()))
    _update_by_id(conn, Invitation, invite_updates.values())
    assign_invitations(session, event_id)
    return report


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
    columns = [c.name for c in table.columns if c.name != "id"]
    defaults = {c.name: (c.default.arg if c.default is not None and not callable(c.default.arg) else None)
                for c in table.columns}
    timed = [n for n in columns if isinstance(table.c[n].type, (Date, DateTime))]
    ids = list(range(start, start + len(rows)))
    params = []
    for i, row in zip(ids, rows):
        values = {n: row.get(n, defaults[n]) for n in columns}
        for n in timed:
            values[n] = _sqlite_value(values[n])
        params.append((i, *values.values()))
    names = ", ".join(f'"{n}"' for n in ["id", *columns])
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * (len(columns) + 1))})'
    conn.connection.driver_connection.cursor().executemany(sql, params)
    return ids


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


class _DryRun(Exception):
    pass


def import_guests(engine, event_id: int, plan: ImportPlan, *, dry_run: bool = False, lang: str = "zh-CN",
                  desk: str = "", staff_id: int | None = None) -> ImportReport:
    """The import as one transaction: all accepted rows or nothing. A dry run is the same work
    rolled back, so its counts are exactly what a real import would do."""
    from core.audit import audit
    from core.store import write_session

    report = ImportReport()
    try:
        with write_session(engine) as s:
            report = apply_import(s, event_id, plan, lang=lang)
            if dry_run:
                raise _DryRun
            audit(s, "import", event_id=event_id, desk=desk, staff_id=staff_id, raw=plan.filename,
                  detail={"accepted": report.accepted, "updated": report.updated,
                          "warned": len(report.warned), "rejected": len(report.rejected)})
    except _DryRun:
        pass
    return report
