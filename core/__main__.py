"""Command line for managers' scripts and our own checks: python -m core --help."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from core import importer, migrate
from core.errors import DeskError
from core.events import find_event, new_event
from core.i18n import t
from core.security import system_actor  # the command line acts as the system row, never as "nobody"
from core.store import get_engine, read_session, write_session


def _event_id(engine, ref: str) -> int:
    with read_session(engine) as s:
        ev = find_event(s, ref)
    if ev is None:
        print(f"找不到活动“{ref}”（可用活动编号或完整名称）。", file=sys.stderr)
        raise SystemExit(2)
    return ev.id


def cmd_migrate(args, engine) -> int:
    migrate.upgrade(engine)
    print(migrate.current_revision(engine))
    return 0


def cmd_new_event(args, engine) -> int:
    try:
        event_date = date.fromisoformat(args.date)
    except ValueError:
        print(f"日期“{args.date}”格式不正确，请写成 YYYY-MM-DD。", file=sys.stderr)
        return 2
    try:
        made = new_event(engine, name=args.name, event_date=event_date, store_name=args.store or "",
                         staff_id=system_actor(engine), desk="cli")
    except DeskError as e:
        print(t(f"reason.{e.reason}", **e.info), file=sys.stderr)
        return 2
    print(made["event_id"])
    return 0


def cmd_import(args, engine) -> int:
    event_id = _event_id(engine, args.event)
    try:
        plan = importer.plan_import(args.file)
    except (importer.ImportFileError, OSError) as e:
        msg = str(e) if isinstance(e, importer.ImportFileError) else f"无法打开文件“{args.file}”：{e.strerror}"
        print(msg, file=sys.stderr)
        return 2
    if not plan.rows:
        print(t("import.empty_file"), file=sys.stderr)
        return 2
    # Advisors: exact names of active callers, then --advisor NAME=STAFF; the rest must be
    # decided (--unmapped-advisors unassigned), never created.
    matches = importer.match_advisors(engine, plan)
    choices = importer.default_choices(matches)
    with read_session(engine) as s:
        callers = {p.name: p.id for p in importer.callers(s)}
    for pair in args.advisor or []:
        name, _, staff = pair.partition("=")
        name = importer.normalize_name(name)
        if staff.strip() and staff.strip() not in callers:
            print(t("reason.import_advisor_not_caller", names=staff.strip()), file=sys.stderr)
            return 2
        choices.advisors[name] = callers.get(staff.strip())  # "NAME=" leaves it unassigned
    unmapped = [m for m in matches if m.name not in choices.advisors]
    if unmapped and args.unmapped_advisors == "unassigned":
        choices.advisors.update({m.name: None for m in unmapped})
    elif unmapped:
        by_id = {v: k for k, v in callers.items()}
        hint = "；".join(f"{m.name}" + (f"（相近：{by_id[m.suggestion_id]}）" if m.suggestion_id in by_id else "")
                        for m in unmapped)
        print(t("reason.import_advisor_unmapped", count=len(unmapped), names=hint)
              + " 用 --advisor 姓名=员工 指定，或 --unmapped-advisors unassigned。", file=sys.stderr)
        return 2
    choices.merge_phones = frozenset(args.merge_phone or [])
    for pair in args.store_match or []:  # a row meeting a store customer, handled otherwise than its default
        row, _, action = pair.partition("=")
        actions = sorted({a for acts in importer.STORE_ACTIONS.values() for a in acts})
        if not row.strip().isdigit() or action not in actions:
            print(f"--store-match {pair}：应为 行号=处理方式（{'、'.join(actions)}）", file=sys.stderr)
            return 2
        choices.store[int(row)] = action
    try:
        report = importer.import_guests(engine, event_id, plan, dry_run=args.dry_run, desk="cli", choices=choices,
                                        staff_id=system_actor(engine))
    except DeskError as e:
        print(t(f"reason.{e.reason}", **e.info), file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    return 0


def cmd_export(args, engine) -> int:
    from core.invitations import export_invitations

    n = export_invitations(engine, _event_id(engine, args.event), args.file, short=args.short)
    print(f"{n} invitations -> {args.file}", file=sys.stderr)
    return 0


def cmd_demo(args, engine) -> int:
    from core.demo import build_demo, holds_real_data, store_is_empty

    if args.if_empty and not store_is_empty(engine):
        print("store not empty: demo not loaded", file=sys.stderr)
        return 0
    if holds_real_data(engine):
        print("这个数据库里有真实活动或员工，不载入演示数据（演示请用单独的数据库：make demo）。", file=sys.stderr)
        return 2
    print(build_demo(engine, customers=args.customers))
    return 0


def cmd_backup(args, engine) -> int:
    from core import backup

    try:
        path = backup.backup_now(engine, args.file)
    except backup.BackupError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(path)
    return 0


def cmd_restore(args, engine) -> int:
    from core import backup

    try:
        backup.restore(engine, args.file, force=args.force)
    except backup.BackupError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"restored {args.file}", file=sys.stderr)
    return 0


def cmd_set_pin(args, engine) -> int:
    """For whoever has the server in hand: a PIN for a staff member (a store upgraded from the
    first release, where staff had no PIN, or a manager who forgot theirs). Unlocks too."""
    import getpass

    from sqlalchemy import select

    from core.audit import audit
    from core.models import Staff
    from core.security import check_pin_rule, hash_pin

    pin = sys.stdin.readline().strip() if args.stdin else getpass.getpass("新密码 / new PIN: ")
    actor = system_actor(engine)
    try:
        with write_session(engine) as s:
            ref = args.staff.strip()
            person = s.get(Staff, int(ref)) if ref.isdigit() else \
                s.execute(select(Staff).where(Staff.name == ref)).scalar_one_or_none()
            if person is None or person.id == actor:
                raise DeskError("staff_unknown")
            person.pin_hash = hash_pin(check_pin_rule(s, pin))
            person.failed_pins, person.lockouts, person.locked_until, person.active = 0, 0, None, True
            audit(s, "staff_pin", event_id=None, desk="cli", staff_id=actor, detail={"staff_id": person.id})
    except DeskError as e:
        print(t(f"reason.{e.reason}", **e.info), file=sys.stderr)
        return 2
    print(f"PIN set for {person.name}", file=sys.stderr)
    return 0


def cmd_export_all(args, engine) -> int:
    from core import backup

    print(backup.export_everything(engine, args.file))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description="RenewDay 续保直销会现场系统 — command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the store (DATABASE_URL)").set_defaults(fn=cmd_migrate)
    p = sub.add_parser("new-event", help="create an event and print its id")
    p.add_argument("--name", required=True)
    p.add_argument("--date", required=True, help="YYYY-MM-DD")
    p.add_argument("--store", default="")
    p.set_defaults(fn=cmd_new_event)
    p = sub.add_parser("import-guests", help="import a DMS customer list (.xlsx, .xls, .csv); prints a JSON report")
    p.add_argument("file")
    p.add_argument("--event", required=True, help="event id or exact name")
    p.add_argument("--dry-run", action="store_true", help="report only (reads only), write nothing")
    p.add_argument("--advisor", action="append", metavar="NAME=STAFF",
                   help="map an advisor name of the sheet to an active caller (STAFF empty: unassigned)")
    p.add_argument("--unmapped-advisors", choices=("ask", "unassigned"), default="ask",
                   help="names matching no active caller: refuse (ask, the default) or leave unassigned")
    p.add_argument("--merge-phone", action="append", metavar="PHONE",
                   help="rows with this phone and different names are one customer")
    p.add_argument("--store-match", action="append", metavar="ROW=ACTION",
                   help="a row meeting a store customer (see store_matches in --dry-run): keep_name, sheet_name, "
                        "new_phone, new_owner, separate or merge")
    p.set_defaults(fn=cmd_import)
    p = sub.add_parser("export-invitations", help="write the invitations with codes and SMS text to .xlsx")
    p.add_argument("--event", required=True, help="event id or exact name")
    p.add_argument("file")
    p.add_argument("--short", action="store_true", help="one-segment SMS (at most 70 characters)")
    p.set_defaults(fn=cmd_export)
    p = sub.add_parser("demo", help="load the demo event and print its id")
    p.add_argument("--if-empty", action="store_true", help="only when the store has no event")
    p.add_argument("--customers", type=int, default=600)
    p.set_defaults(fn=cmd_demo)
    p = sub.add_parser("backup", help="copy the SQLite store (online, SQLite backup API) into data/backups/ or FILE")
    p.add_argument("file", nargs="?", default=None)
    p.set_defaults(fn=cmd_backup)
    p = sub.add_parser("restore", help="replace the SQLite store with a backup (refused while the app runs)")
    p.add_argument("file")
    p.add_argument("--force", action="store_true", help="restore even though the app seems to be running")
    p.set_defaults(fn=cmd_restore)
    p = sub.add_parser("set-pin", help="set a staff member's PIN (by id or exact name); unlocks and reactivates")
    p.add_argument("staff")
    p.add_argument("--stdin", action="store_true", help="read the PIN from standard input")
    p.set_defaults(fn=cmd_set_pin)
    p = sub.add_parser("export-all", help="everything in the store to one .xlsx (end of day)")
    p.add_argument("file")
    p.set_defaults(fn=cmd_export_all)
    args = parser.parse_args(argv)
    engine = get_engine()
    if args.command == "restore":
        return args.fn(args, engine)
    if args.command != "migrate":
        migrate.upgrade(engine)
    return args.fn(args, engine)


if __name__ == "__main__":
    raise SystemExit(main())
