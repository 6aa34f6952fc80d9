"""`zhibu db`, `org import`, `register import` and `grading start`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.cli.common import import_all_or_nothing, prepare_database
from bot.config import Settings
from bot.errors import CommandError


def add_parsers(sub: Any) -> None:
    """`db`, `org`, `register` and `grading`."""
    db = sub.add_parser("db", help="migrations, backups")
    db.add_argument("db_command", choices=["upgrade", "current", "backup", "restore"])
    db.add_argument("file", nargs="?", help="backup FILE (a new file) or restore FILE")
    db.set_defaults(handler=db_command)
    org = sub.add_parser("org", help="import the organisation tree")
    org.add_argument("action", choices=["import"])
    org.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX file")
    org.set_defaults(handler=lambda settings, args: import_command(settings, "org", args.file))
    reg = sub.add_parser("register", help="import the lost-contact register")
    reg.add_argument("action", choices=["import"])
    reg.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX file")
    reg.set_defaults(handler=register_command)
    _grading_parser(sub)


def _grading_parser(sub: Any) -> None:
    grading = sub.add_parser("grading", help="classification and grading campaigns")
    grading.add_argument("action", choices=["start"])
    grading.add_argument("--org", required=True, help="code of the node whose branches are graded")
    grading.add_argument("--deadline", required=True, help="last day to answer, YYYY-MM-DD")
    grading.add_argument("--year", type=int, help="year of the activity log (default: this year)")
    grading.add_argument("--self-weight", type=float, default=0.4)
    grading.add_argument("--superior-weight", type=float, default=0.6)
    grading.add_argument("--bands", default="90,80,60", help="good,fairly good,ordinary minimum")
    grading.add_argument("--member-target", type=float, default=1.0, help="share of members")
    grading.add_argument("--mass-target", type=float, default=0.1, help="masses per member")
    grading.add_argument(
        "--satisfaction-floor",
        type=float,
        help="e.g. 0.9: a mass satisfaction rate below it bars good and fairly good",
    )
    grading.add_argument(
        "--questionnaire",
        metavar="ID[@VERSION]",
        help="a shipped questionnaire (bot/grading/questionnaires/; default: default-2012)",
    )
    grading.set_defaults(handler=grading_command)


def db_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu db upgrade|current|backup FILE|restore FILE`."""
    from storage.migrate import code_heads, current_revisions

    if args.db_command in ("backup", "restore"):
        if not args.file:
            raise CommandError(f"zhibu db {args.db_command} needs a FILE")
        from bot.cli.backups import backup_command, restore_command

        command = backup_command if args.db_command == "backup" else restore_command
        return command(settings, Path(args.file))
    if args.db_command == "upgrade":
        prepare_database(settings)
        print(f"database is at {', '.join(sorted(current_revisions(settings.database_url)))}")
        return 0
    current = current_revisions(settings.database_url)
    print(
        f"database: {', '.join(sorted(current)) or '(empty)'}; "
        f"code: {', '.join(sorted(code_heads()))}"
    )
    return 0


def import_command(settings: Settings, what: str, file: str) -> int:
    """`zhibu org import FILE` and `zhibu people import FILE`: all or nothing."""
    from bot.imports import import_file

    return import_all_or_nothing(settings, file, lambda path: import_file(settings, what, path))


def register_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu register import FILE`: the lost-contact register, all or nothing."""
    from bot.relink.register import import_register_file

    return import_all_or_nothing(
        settings, args.file, lambda path: import_register_file(settings, path)
    )


def grading_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu grading start ...`: start a campaign and notify the secretaries."""
    from bot.grading.cli import start_from_cli

    prepare_database(settings)
    print(
        asyncio.run(
            start_from_cli(
                settings,
                org_code=args.org,
                deadline=args.deadline,
                year=args.year,
                self_weight=args.self_weight,
                superior_weight=args.superior_weight,
                bands=args.bands,
                member_target=args.member_target,
                mass_target=args.mass_target,
                satisfaction_floor=args.satisfaction_floor,
                questionnaire=args.questionnaire,
            )
        )
    )
    return 0
