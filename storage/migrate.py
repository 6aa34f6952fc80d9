"""Alembic driven from code: upgrade, current revision, and the 'database is newer' guard."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")


class DatabaseTooNew(Exception):
    """The database was migrated by a newer version of Zhibu than this one."""


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["database_url"] = url
    return cfg


def _off_loop(func: Callable[[], T]) -> T:
    # Alembic's async env calls asyncio.run(); when a loop is already running (tests, the
    # bot's own start-up) it has to happen on another thread.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func()
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(func())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply every pending migration (refusing a database newer than the code)."""
    check_not_newer(url)
    _off_loop(lambda: command.upgrade(alembic_config(url), revision))


def current_revisions(url: str) -> set[str]:
    """Revisions the database is stamped with (empty for a new database)."""

    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async def run() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(read)
        finally:
            await engine.dispose()

    return _off_loop(lambda: asyncio.run(run()))


def code_heads() -> set[str]:
    """The newest revisions this version of the code knows."""
    return set(ScriptDirectory.from_config(alembic_config("")).get_heads())


def check_not_newer(url: str) -> None:
    """Raise DatabaseTooNew when the database carries a revision this code doesn't know."""
    script = ScriptDirectory.from_config(alembic_config(url))
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = current_revisions(url) - known
    if unknown:
        raise DatabaseTooNew(
            "the database was upgraded by a newer version of Zhibu "
            f"(revision {', '.join(sorted(unknown))}); install that version or restore a backup"
        )


def is_up_to_date(url: str) -> bool:
    """True when the database is at exactly the code's heads."""
    return current_revisions(url) == code_heads()
