"""Migrations: they build the models' schema, and a newer database is refused."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.db import create_engine
from storage.migrate import (
    DatabaseTooNew,
    check_not_newer,
    code_heads,
    current_revisions,
    is_up_to_date,
)
from storage.schema import Base
from tests.support.database import stamp


async def test_database_is_at_code_heads(database_url: str) -> None:
    assert current_revisions(database_url) == code_heads()
    assert is_up_to_date(database_url)


async def test_models_match_migrations(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    await engine.dispose()
    assert diff == [], "models changed without a migration: run alembic revision --autogenerate"


async def test_newer_database_is_refused(database_url: str) -> None:
    await stamp(database_url, {*code_heads(), "29991231_future"})
    with pytest.raises(DatabaseTooNew, match="newer version of Zhibu"):
        check_not_newer(database_url)
    await stamp(database_url, code_heads())
    check_not_newer(database_url)
