"""`zhibu run` and `zhibu sandbox`: serve Telegram by polling or webhook, or try it offline.

The database decides how many processes may serve: SQLite is one process (a second one on the
same file is refused, see storage.process_lock); PostgreSQL is any number of them, each
serving through the inbox (bot.serve_cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.cli.common import prepare_database
from bot.config import Settings, SettingsError, with_secret_key
from bot.errors import CommandError
from bot.intake import ALLOWED_UPDATES
from storage.process_lock import AlreadyRunning, sole_process

log = logging.getLogger("zhibu")


def add_parsers(sub: Any) -> None:
    """`run` and `sandbox`."""
    run_parser = sub.add_parser(
        "run", help="serve Telegram (or start the offline sandbox when no token is set)"
    )
    _sandbox_options(run_parser)
    run_parser.set_defaults(handler=run_command)
    sandbox_parser = sub.add_parser(
        "sandbox", help="try the bot offline, as the demo organisation's people, in a browser"
    )
    _sandbox_options(sandbox_parser)
    sandbox_parser.set_defaults(handler=sandbox_command)


def _sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--terminal", action="store_true", help="the sandbox as a chat in this terminal"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="the sandbox page's port on 127.0.0.1"
    )


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu run` (also what `zhibu` alone does)."""
    return run(settings, args)


def sandbox_command(settings: Settings, args: argparse.Namespace) -> int:
    """`zhibu sandbox [--terminal] [--port N]`."""
    return sandbox(settings, terminal=args.terminal, port=args.port)


def run(settings: Settings, args: argparse.Namespace | None = None) -> int:
    """Serve Telegram by polling or webhook; without a token, the sandbox."""
    settings = _keyed(settings)
    if settings.bot_token is None:
        terminal = bool(args and getattr(args, "terminal", False))
        where = "a chat in this terminal" if terminal else "a web page on this computer"
        print(
            "No ZHIBU_BOT_TOKEN is set, so Zhibu is not connecting to Telegram.\n"
            "Starting the offline sandbox instead: a local fake Telegram, a demo organisation\n"
            f"and {where}. Set ZHIBU_BOT_TOKEN (environment or .env) to serve real users.\n",
            flush=True,
        )
        return sandbox(settings, terminal=terminal, port=getattr(args, "port", None))
    if settings.several_processes:
        return _run_cluster(settings)
    database = settings.sqlite_path()
    assert database is not None
    with _only_process(database, "zhibu run"):
        return _run_single(settings)


@contextlib.contextmanager
def _only_process(database: Path, purpose: str) -> Iterator[None]:
    """Hold the SQLite database's process lock, or stop with the reason."""
    try:
        with sole_process(database, purpose=purpose):
            yield
    except AlreadyRunning as exc:
        raise CommandError(str(exc)) from None


def _run_cluster(settings: Settings) -> int:
    """One of several processes on PostgreSQL, until SIGTERM or SIGINT."""
    with _stop_requests() as stop_requested:
        prepare_database(settings)
    if stop_requested.is_set():
        log.info("stopped before serving")
        return 0
    asyncio.run(_serve_until_signalled(settings))
    return 0


async def _serve_until_signalled(settings: Settings) -> None:
    from bot.serve_cluster import serve_cluster

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve_cluster(settings, stop)


def _run_single(settings: Settings) -> int:
    """The only process on a SQLite database: PTB's polling or webhook server."""
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


def sandbox(settings: Settings, *, terminal: bool = False, port: int | None = None) -> int:
    """The offline sandbox: fake Telegram, demo organisation, and a web page (or a terminal
    chat)."""
    from bot.sandbox import DEFAULT_PORT, log_to_file, run_sandbox, serve_page

    # The bot's log lines (and warnings) go to data/sandbox.log, never into the chat: before
    # the world's imports, whose alembic logs as it loads.
    log_to_file()
    from bot.sandbox.world import SANDBOX_DB

    keyed = _keyed(settings)
    with _only_process(SANDBOX_DB, "zhibu sandbox"):
        if terminal:
            return asyncio.run(run_sandbox(keyed))
        return asyncio.run(serve_page(keyed, port=DEFAULT_PORT if port is None else port))


def _keyed(settings: Settings) -> Settings:
    try:
        return with_secret_key(settings)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
