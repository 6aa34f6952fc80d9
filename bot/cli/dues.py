"""`zhibu dues` (standards and payments imports, a branch's collection day) and `zhibu hours`
(the yearly study targets of a subtree)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.cli.common import fail, import_all_or_nothing, prepare_database
from bot.config import Settings
from bot.dues.local import SettingRefused, local_book, set_local
from storage import queries
from storage.db import transaction


def add_parsers(sub: Any) -> None:
    """`dues` and `hours`."""
    dues = sub.add_parser("dues", help="Party dues: standards, payments, collection day")
    actions = dues.add_subparsers(dest="action", required=True)
    standards = actions.add_parser(
        "import", help="monthly standards (name, branch, monthly_amount, from_month)"
    )
    standards.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX file")
    standards.set_defaults(handler=lambda s, a: import_command(s, "standards", a.file))
    payments = actions.add_parser(
        "payments", help="what members paid (name, branch, month or months, amount[, paid_on])"
    )
    payments.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX file")
    payments.set_defaults(handler=lambda s, a: import_command(s, "payments", a.file))
    day = actions.add_parser("day", help="the day of the month a branch collects dues")
    day.add_argument("--org", required=True, help="code of the branch")
    group = day.add_mutually_exclusive_group(required=True)
    group.add_argument("--day", type=int, choices=range(1, 29), metavar="1-28")
    group.add_argument("--clear", action="store_true", help="back to ZHIBU_DUES_COLLECTION_DAY")
    day.set_defaults(handler=day_command)

    hours = sub.add_parser("hours", help="yearly study targets (class hours) of a subtree")
    hours_actions = hours.add_subparsers(dest="action", required=True)
    target = hours_actions.add_parser("target", help="set a subtree's yearly targets")
    target.add_argument("--org", required=True, help="code of the organisation node")
    target.add_argument("--leaders", type=int, help="secretaries and committee members")
    target.add_argument("--members", type=int, help="members")
    target.add_argument("--clear", action="store_true", help="inherit both again")
    target.set_defaults(handler=hours_command)
    show = hours_actions.add_parser("show", help="the targets in force at a node")
    show.add_argument("--org", required=True)
    show.set_defaults(handler=hours_command)


def import_command(settings: Settings, what: str, file: str) -> int:
    """`zhibu dues import|payments FILE`: all or nothing."""
    from bot.dues.importing import import_dues_file

    return import_all_or_nothing(
        settings, file, lambda path: import_dues_file(settings, what, path)
    )


def day_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu dues day --org B1 --day 15`: a branch's collection day (audited)."""

    async def run() -> int:
        async with transaction(settings.database_url) as session:
            org = await queries.org_by_code(session, args.org)
            if org is None:
                return fail(f"no organisation node with code {args.org!r}")
            try:
                day = None if args.clear else args.day
                await set_local(session, org=org, changes={"dues_day": day})
            except SettingRefused as exc:
                return fail(f"refused: {exc}")
            chosen = (await local_book(session, settings, org.path)).dues_day(org.id)
            print(f"{org.code}: dues are collected on day {chosen} of the month")
        return 0

    prepare_database(settings)
    return asyncio.run(run())


def hours_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu hours target|show`: a subtree's yearly study targets (changes audited)."""

    async def run() -> int:
        async with transaction(settings.database_url) as session:
            org = await queries.org_by_code(session, args.org)
            if org is None:
                return fail(f"no organisation node with code {args.org!r}")
            if args.action == "target":
                changes: dict[str, int | None] = {}
                for name, value in (("leader", args.leaders), ("member", args.members)):
                    if value is not None and not 0 <= value <= 1000:
                        return fail(f"refused: a target of {value} class hours is not possible")
                    if args.clear or value is not None:
                        changes[f"study_hours_{name}"] = None if args.clear else value
                if not changes:
                    return fail("give --leaders, --members or --clear")
                await set_local(session, org=org, changes=changes)
            targets = (await local_book(session, settings, org.path)).targets(org.path)
            print(
                f"{org.code}: {targets.leader} class hours a year for secretaries and committee "
                f"members, {targets.member} for members"
            )
        return 0

    prepare_database(settings)
    return asyncio.run(run())
