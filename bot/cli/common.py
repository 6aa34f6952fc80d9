"""What every command-line action shares: the database set-up and the confirmation prompt."""

from __future__ import annotations

import sys

from bot.config import Settings
from bot.errors import CommandError


def prepare_database(settings: Settings) -> None:
    """Create or upgrade the database, refusing one that is newer than this code."""
    from storage.migrate import DatabaseTooNew, upgrade

    try:
        upgrade(settings.database_url)
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
