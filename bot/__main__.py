"""The `zhibu` command: run the bot (or the offline sandbox), migrate, import, invite."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from bot.config import Settings, SettingsError, load_settings
from bot.errors import CommandError
from bot.logs import configure_logging

log = logging.getLogger("zhibu")

# my_chat_member tells the bot when a user blocks or unblocks it (so notices skip or resume them).
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and dispatch; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"zhibu: {exc}", file=sys.stderr)
        return 2
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    configure_logging(settings.log_level, [token, secret])
    command = args.command or "run"
    try:
        if command == "run":
            return run(settings)
        if command == "sandbox":
            return sandbox(settings)
        if command == "db":
            return db_command(settings, args.db_command)
        if command in ("org", "people"):
            return import_command(settings, command, Path(args.file))
        if command == "register":
            return register_command(settings, Path(args.file))
        if command == "invite":
            return invite_command(settings, args)
        if command == "grading":
            return grading_command(settings, args)
    except CommandError as exc:
        print(f"zhibu: {exc}", file=sys.stderr)
        return 1
    parser.print_help()
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zhibu", description="Zhibu, the Party branch assistant bot."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve Telegram (or start the offline sandbox when no token is set)")
    sub.add_parser("sandbox", help="chat with the bot offline, as demo users")
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("db_command", choices=["upgrade", "current"])
    for name, what in (("org", "organisation tree"), ("people", "member roster")):
        p = sub.add_parser(name, help=f"import the {what}")
        p.add_argument("action", choices=["import"])
        p.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX file")
    reg = sub.add_parser("register", help="import the lost-contact register")
    reg.add_argument("action", choices=["import"])
    reg.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX file")
    inv = sub.add_parser("invite", help="invite codes")
    inv.add_argument("action", choices=["create"])
    inv.add_argument("--role", required=True, choices=["admin", "secretary", "deputy", "member"])
    inv.add_argument("--org", required=True, help="code of the organisation node")
    inv.add_argument("--person", help="name of a person on that branch's roster")
    inv.add_argument("--uses", type=int, default=1)
    inv.add_argument("--expires", default="7d", help="validity such as 7d, 12h, 30m (default 7d)")
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
    return parser


def prepare_database(settings: Settings) -> None:
    """Create or upgrade the database, refusing one that is newer than this code."""
    from storage.migrate import DatabaseTooNew, upgrade

    try:
        upgrade(settings.database_url)
    except DatabaseTooNew as exc:
        raise CommandError(str(exc)) from None


def run(settings: Settings) -> int:
    """Serve Telegram by polling or webhook; without a token, the sandbox."""
    if settings.bot_token is None:
        print(
            "No ZHIBU_BOT_TOKEN is set, so Zhibu is not connecting to Telegram.\n"
            "Starting the offline sandbox instead: a local fake Telegram, a demo organisation\n"
            "and a terminal chat. Set ZHIBU_BOT_TOKEN (environment or .env) to serve real users.\n",
            flush=True,
        )
        return sandbox(settings)
    with _stop_requests() as stop_requested:
        prepare_database(settings)
        from bot.app import build_application

        application = build_application(settings)
    if stop_requested.is_set():
        # Asked to stop while migrating or loading: the migration was let finish, and no
        # update has been taken yet, so there is nothing to hand over.
        log.info("stopped before serving")
        return 0
    if settings.webhook_url:
        host, _, port = settings.webhook_listen.rpartition(":")
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        if secret is None:
            raise CommandError("ZHIBU_WEBHOOK_SECRET is required in webhook mode")
        log.info("serving webhook on %s:%s", host, port)
        application.run_webhook(
            listen=host,
            port=int(port),
            url_path=_webhook_path(settings.webhook_url),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        log.info("polling Telegram")
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


@contextlib.contextmanager
def _stop_requests() -> Iterator[threading.Event]:
    """Hold SIGTERM and SIGINT during start-up; the event says whether one came.

    Python's default would end the process at once, halfway through a migration (SQLite's DDL
    is not transactional). Afterwards, until PTB installs its own handlers (which stop it
    cleanly), a signal exits normally rather than killing the process.
    """
    requested = threading.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        signal.signal(sig, lambda *_: requested.set())
    log.info("starting")
    try:
        yield requested
    finally:
        for sig in signals:
            signal.signal(sig, _exit_quietly)


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _webhook_path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path.lstrip("/")


def sandbox(settings: Settings) -> int:
    """The offline sandbox: fake Telegram, demo organisation, terminal chat."""
    from bot.sandbox import run_sandbox

    return asyncio.run(run_sandbox(settings))


def db_command(settings: Settings, action: str) -> int:
    """`zhibu db upgrade|current`."""
    from storage.migrate import code_heads, current_revisions

    if action == "upgrade":
        prepare_database(settings)
        print(f"database is at {', '.join(sorted(current_revisions(settings.database_url)))}")
        return 0
    current = current_revisions(settings.database_url)
    print(
        f"database: {', '.join(sorted(current)) or '(empty)'}; "
        f"code: {', '.join(sorted(code_heads()))}"
    )
    return 0


def import_command(settings: Settings, what: str, path: Path) -> int:
    """`zhibu org import FILE` and `zhibu people import FILE`: all or nothing."""
    from bot.imports import ImportFailed, import_file

    prepare_database(settings)
    try:
        report = asyncio.run(import_file(settings, what, path))
    except ImportFailed as exc:
        print(f"zhibu: {path}: nothing was imported:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(report)
    return 0


def register_command(settings: Settings, path: Path) -> int:
    """`zhibu register import FILE`: the lost-contact register, all or nothing."""
    from bot.imports import ImportFailed
    from bot.relink.register import import_register_file

    prepare_database(settings)
    try:
        report = asyncio.run(import_register_file(settings, path))
    except ImportFailed as exc:
        print(f"zhibu: {path}: nothing was imported:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(report)
    return 0


def invite_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu invite create ...`: print the code and, last, the deep link."""
    from bot.cli_invite import create_invite_from_cli

    prepare_database(settings)
    code, link = asyncio.run(
        create_invite_from_cli(
            settings,
            role=args.role,
            org_code=args.org,
            person_name=args.person,
            uses=args.uses,
            expires=args.expires,
        )
    )
    print(f"invite code: {code}")
    print(link)
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
