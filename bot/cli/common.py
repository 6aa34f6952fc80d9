"""What every command-line action shares: the database set-up and the confirmation prompt."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.errors import CommandError


def prepare_database(settings: Settings) -> None:
    """Create or upgrade the database, refusing one that is newer than this code."""
    from storage.migrate import DatabaseTooNew, upgrade

    try:
        upgrade(settings.session_url)  # DDL, not through a transaction-pooling PgBouncer
    except DatabaseTooNew as exc:
        raise CommandError(str(exc)) from None


def confirm(what: str, *, yes: bool) -> None:
    """Say what is about to happen and ask before doing it (`--yes` answers for the user);
    anything but y or yes, or no terminal to ask, stops with nothing changed."""
    print(what)
    if yes:
        return
    try:
        reply = input("Proceed? [y/N] ")
    except EOFError:
        reply = ""
    if reply.strip().lower() not in ("y", "yes"):
        raise CommandError("cancelled; nothing was changed (add --yes to skip the question)")


def fail(message: str) -> int:
    """Print a problem for the person at the terminal; the exit code of a failed action."""
    print(f"zhibu: {message}", file=sys.stderr)
    return 1


def import_all_or_nothing(
    settings: Settings, file: str, load: Callable[[Path], Coroutine[Any, Any, object]]
) -> int:
    """Run one all-or-nothing import of FILE and print its report, or every problem found and
    that nothing was imported."""
    from bot.imports import ImportFailed

    path = Path(file)
    prepare_database(settings)
    try:
        report = asyncio.run(load(path))
    except ImportFailed as exc:
        print(f"zhibu: {path}: nothing was imported:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(report)
    return 0
