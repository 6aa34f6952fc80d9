"""Test databases: a migrated SQLite copy per test, or one PostgreSQL emptied after each."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine
from storage.migrate import upgrade
from storage.schema import Base

BACKEND = os.environ.get("ZHIBU_TEST_DATABASE", "sqlite")
PG_URL = os.environ.get(
    "ZHIBU_TEST_PG_URL", "postgresql+asyncpg://zhibu:zhibu@127.0.0.1:54329/zhibu_test"
)


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


def migrated_sqlite_template(directory: Path) -> Path:
    """Migrate an empty SQLite file once; tests get copies."""
    template = directory / "template.sqlite3"
    upgrade(sqlite_url(template))
    return template


def fresh_sqlite(template: Path, directory: Path) -> str:
    """A private copy of the migrated template."""
    target = directory / "zhibu.sqlite3"
    shutil.copyfile(template, target)
    return sqlite_url(target)


async def admin(statement: str) -> None:
    # CREATE/DROP DATABASE can't run inside a transaction block.
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


def migrated_postgres() -> str:
    """A new database for this test run, migrated from scratch.

    One per run (named after the process) so that concurrent runs on the same server, by
    several developers or by CI beside a developer, never truncate each other's rows.
    """
    name = f"zhibu_run_{os.getpid()}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def drop_postgres(url: str) -> None:
    """Remove the run's database."""
    name = url.rsplit("/", 1)[1]
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def empty_postgres(url: str) -> None:
    """Remove every row (keeping the schema and migration stamp) after a test, and start every
    sequence again at 1 as a fresh SQLite copy does.

    Only the tables the test wrote to are truncated: TRUNCATE replaces each table's files, and
    doing it for every table took about 100 ms a test, minutes of a PostgreSQL pass. (DELETE is
    no substitute: deleting tens of thousands of rows checks every foreign key row by row, a
    minute or two for the province-sized tests, and leaves statistics that mislead the planner.)
    """
    tables = [t.name for t in Base.metadata.sorted_tables]
    probe = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables
    )
    restart = (
        "SELECT setval(c.oid, 1, false) FROM pg_class AS c "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = current_schema();"
    )
    engine = create_engine(url)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        used = [row[0] for row in await driver.fetch(probe)]
        quoted = ", ".join(f'"{name}"' for name in used)
        truncate = f"TRUNCATE {quoted} CASCADE;"
        # A parameterless script runs as one simple query: one implicit transaction.
        await driver.execute((truncate if used else "") + restart)
    await engine.dispose()


async def stamp(url: str, revisions: set[str]) -> None:
    """Mark the database as being at these revisions (to fake a newer or older schema)."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM alembic_version"))
        for revision in sorted(revisions):
            await conn.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision}
            )
    await engine.dispose()
