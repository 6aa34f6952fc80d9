"""`zhibu db backup FILE` and `zhibu db restore FILE` (storage.backup does the copying).

A backup is taken while the bot runs: SQLite's online backup API, or `pg_dump` in one snapshot.
A restore replaces the database, so it refuses while a bot uses it: on SQLite the process lock
tells (storage.process_lock), on PostgreSQL a running leader's lease does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import Settings
from bot.errors import CommandError
from storage.backup import BackupError, backup, restore
from storage.process_lock import AlreadyRunning, sole_process


def backup_command(settings: Settings, target: Path) -> int:
    """Write a consistent copy of the database to a new file."""
    try:
        backup(settings.session_url, target)  # pg_dump needs a session of its own
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"backed up to {target} (readable by its owner only)")
    return 0


def restore_command(settings: Settings, source: Path) -> int:
    """Replace the database with a copy, once no bot uses it."""
    database = settings.sqlite_path()
    try:
        if database is not None:
            with sole_process(database, purpose="zhibu db restore"):
                revisions = restore(settings.session_url, source)
        else:
            running = asyncio.run(_leader(settings.database_url))
            if running is not None:
                raise CommandError(
                    f"a bot process ({running}) is running on this database: stop every bot "
                    "process first, then restore"
                )
            revisions = restore(settings.session_url, source)
    except AlreadyRunning as exc:
        raise CommandError(
            f"{exc.holder} is using {exc.database}: stop it first, then restore"
        ) from None
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(
        f"restored from {source} (schema {', '.join(sorted(revisions))}); "
        "`zhibu db upgrade` (or the bot's start) brings an older copy up to date"
    )
    return 0


async def _leader(url: str) -> str | None:
    """The process leading the bots on this database now, if any (none on an empty one)."""
    from sqlalchemy.exc import DBAPIError

    from storage import cluster_queries
    from storage.db import transaction

    try:
        async with transaction(url) as session:
            return await cluster_queries.current_leader(session, name="bot")
    except DBAPIError:  # no such table yet: a database nothing was restored into
        return None
