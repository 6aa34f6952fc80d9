"""Fixtures shared by every test: a migrated database on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.db import SessionFactory, create_engine, session_factory
from tests.support import database


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | Path]:
    if database.BACKEND == "postgresql":
        yield database.migrated_postgres()
    else:
        yield database.migrated_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
async def database_url(_migrated: str | Path, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty, fully migrated database for this test."""
    if isinstance(_migrated, Path):
        yield database.fresh_sqlite(_migrated, tmp_path)
        return
    yield _migrated
    await database.empty_postgres(_migrated)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[SessionFactory]:
    """A session factory on the test database."""
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()
