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


async def _reset_pg_schema(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def migrated_postgres() -> str:
    """Drop everything and migrate the test database from scratch (once per session)."""
    asyncio.run(_reset_pg_schema(PG_URL))
    upgrade(PG_URL)
    return PG_URL


async def empty_postgres(url: str) -> None:
    """Remove every row (keeping the schema and migration stamp) after a test."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()
