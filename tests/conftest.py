"""Fixtures shared by every test: a migrated database on SQLite or PostgreSQL."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser, seed_demo
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.reminders.engine import ReminderEngine
from storage.db import SessionFactory, create_engine, session_factory
from tests.support import database, shards
from tests.support.bot import SECRET_KEY, TOKEN, running_bot, settings_for
from tests.support.reminders import Clock, at, make_engine

# Property tests check what is true, not how fast: on a loaded 2-core CI machine a single example
# can take longer than Hypothesis's default 200 ms deadline, which fails the run for nothing.
hypothesis_settings.register_profile("zhibu", deadline=None)
hypothesis_settings.load_profile("zhibu")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Only the tests this pass runs; then only this shard's files (ZHIBU_TEST_SHARD=k/n, see
    tests/support/shards.py)."""
    _database_tests_only(config, items)
    spec = os.environ.get("ZHIBU_TEST_SHARD")
    if spec:
        kept, dropped = shards.select(items, spec, database.BACKEND)
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _database_tests_only(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass runs only the tests that use the database (their fixtures reach
    `_migrated`): the others (rules, parsers, catalogs, charts, the fake server...) would only
    run a second time what the SQLite pass already ran, on a 2-core CI machine."""
    if database.BACKEND != "postgresql":
        return
    kept = [item for item in items if "_migrated" in getattr(item, "fixturenames", ())]
    if not kept or len(kept) == len(items):
        return  # e.g. `.ci/test -k parsers`: run what was asked rather than nothing
    dropped = [item for item in items if "_migrated" not in getattr(item, "fixturenames", ())]
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | Path]:
    if database.BACKEND == "postgresql":
        url = database.migrated_postgres()
        yield url
        database.drop_postgres(url)
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


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    """The fake Bot API server, on the test's event loop."""
    server = FakeTelegramServer(token=TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(telegram: FakeTelegramServer) -> AsyncIterator[FakeTelegramClient]:
    """Simulated users talking to the fake server over HTTP."""
    async with FakeTelegramClient(telegram.url) as fake_client:
        yield fake_client


@pytest.fixture
def settings(database_url: str, telegram: FakeTelegramServer) -> Settings:
    """Settings for a bot on the test database and the fake server."""
    return settings_for(database_url, telegram)


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[ZhibuApp]:
    """The real bot, polling the fake server."""
    async with running_bot(settings) as application:
        yield application


@pytest.fixture
async def demo(db: SessionFactory) -> dict[str, DemoUser]:
    """The demo organisation; users keyed by name."""
    async with db.begin() as session:
        users = await seed_demo(session)
    return {u.name: u for u in users}


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the `zhibu` CLI at the test database and undo its logging set-up afterwards."""
    for name in ("ZHIBU_BOT_TOKEN", "ZHIBU_BOT_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZHIBU_DATABASE_URL", database_url)
    monkeypatch.setenv("ZHIBU_SECRET_KEY", SECRET_KEY)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield database_url
    # main() points the root logger at the captured stderr, which is closed after the test.
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def engine(
    db: SessionFactory, settings: Settings, clock: Clock
) -> AsyncIterator[ReminderEngine]:
    """The reminder engine on the test database and the fake server, at the module's `clock`
    (each module that uses it says what day its story starts)."""
    made, bot = await make_engine(db, settings, clock)
    yield made
    await bot.shutdown()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Every Settings.now() in the bot reads this clock: Friday 2026-11-20 10:00 in Shanghai.
    (Modules that need another moment define their own `clock`.)"""
    moving = Clock(at("2026-11-20 10:00"))
    monkeypatch.setattr(Settings, "now", lambda self: moving())
    return moving


@pytest.fixture
async def bot_at(
    database_url: str, telegram: FakeTelegramServer, clock: Clock
) -> AsyncIterator[ZhibuApp]:
    """The real bot, started after the clock is in place; cards and progress edited as soon as
    asked."""
    settings = settings_for(database_url, telegram, delivery_progress_seconds=0)
    async with running_bot(settings) as application:
        yield application
