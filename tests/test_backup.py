"""Backups taken while a broadcast is going out restore every row; a newer copy is refused."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from bot.app import ZhibuApp
from bot.cli import main
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import DeliveryState
from bot.fake_telegram import FakeTelegramClient
from storage.backup import BackupError, backup, restore
from storage.db import SessionFactory, create_engine
from storage.models_notices import NoticeDelivery
from storage.schema import Base
from tests.support import database
from tests.support.bot import BotProcess, env_for, eventually
from tests.support.cluster import SERVING
from tests.support.notices import make_people, notice_now

Rows = dict[str, set[tuple[object, ...]]]


async def _keys(url: str) -> Rows:
    """Every table's primary keys."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows: Rows = {}
            for table in Base.metadata.sorted_tables:
                columns = [c.name for c in table.primary_key.columns]
                result = await conn.execute(select(*(table.c[c] for c in columns)))
                rows[table.name] = {tuple(r) for r in result}
            return rows
    finally:
        await engine.dispose()


@pytest.fixture
async def restored_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (not migrated) to restore into."""
    if database.BACKEND != "postgresql":
        yield database.sqlite_url(tmp_path / "restored" / "zhibu.sqlite3")
        return
    name = f"zhibu_restore_{os.getpid()}"
    await database.admin(f'DROP DATABASE IF EXISTS "{name}"')
    await database.admin(f'CREATE DATABASE "{name}"')
    yield database_url.rsplit("/", 1)[0] + f"/{name}"
    await database.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_backup_during_a_broadcast_restores_every_row(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    database_url: str,
    restored_url: str,
    tmp_path: Path,
) -> None:
    for telegram_id in await make_people(db, "DEMO-B1", 700000, 120):
        await client.user(telegram_id, f"m{telegram_id}", language_code="en")
    await client.set_latency(0.02)  # a broadcast that lasts while the copy is taken
    notice_id = await notice_now(db, now=bot.bot_data["zhibu.services"].settings.now())

    async def sending() -> bool:
        async with db() as session:
            sent = await session.scalar(
                select(NoticeDelivery.id).where(
                    NoticeDelivery.notice_id == notice_id,
                    NoticeDelivery.state == DeliveryState.SENT,
                )
            )
            return sent is not None

    assert await eventually(sending, within=20)
    before = await _keys(database_url)
    copy = tmp_path / "zhibu.backup"
    await asyncio.to_thread(backup, database_url, copy)
    after = await _keys(database_url)
    assert before["notice_deliveries"], "the broadcast's copies exist before the backup"
    assert (copy.stat().st_mode & 0o077) == 0, "a backup is readable by its owner only"

    revisions = await asyncio.to_thread(restore, restored_url, copy)
    restored = await _keys(restored_url)
    for table, keys in before.items():
        assert keys <= restored[table] <= after[table], table
    assert revisions == await asyncio.to_thread(_revisions, restored_url)


def _revisions(url: str) -> set[str]:
    from storage.migrate import current_revisions

    return current_revisions(url)


async def test_a_copy_made_by_a_newer_version_is_refused(
    db: SessionFactory, database_url: str, restored_url: str, tmp_path: Path
) -> None:
    heads = await asyncio.to_thread(_revisions, database_url)
    await database.stamp(database_url, {"20991231_from_the_future"})
    copy = tmp_path / "newer.backup"
    try:
        await asyncio.to_thread(backup, database_url, copy)
    finally:
        # On PostgreSQL the run's database serves the next tests too.
        await database.stamp(database_url, heads)
    with pytest.raises(BackupError, match="newer version"):
        await asyncio.to_thread(restore, restored_url, copy)
    # Nothing was written where the copy would have gone.
    engine = create_engine(restored_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert tables == []


async def test_a_file_that_is_not_a_backup_is_refused(restored_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database")
    with pytest.raises(BackupError):
        await asyncio.to_thread(restore, restored_url, junk)
    existing = tmp_path / "exists.backup"
    existing.write_bytes(b"")
    with pytest.raises(BackupError, match="already exists"):
        await asyncio.to_thread(backup, restored_url, existing)


def test_sqlite_copies_are_whole_databases(tmp_path: Path) -> None:
    source = tmp_path / "a.sqlite3"
    connection = sqlite3.connect(source)
    connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
    connection.execute("INSERT INTO alembic_version VALUES ('20261204_recent_updates')")
    connection.commit()
    connection.close()
    copy = tmp_path / "b.backup"
    backup(database.sqlite_url(source), copy)
    with sqlite3.connect(copy) as check:
        assert check.execute(text("SELECT count(*) FROM alembic_version").text).fetchone() == (1,)


async def test_zhibu_db_backup_while_a_bot_broadcasts_restores_every_row_once_it_stopped(
    settings: Settings,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    database_url: str,
    restored_url: str,
    cli_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for telegram_id in await make_people(db, "DEMO-B1", 700000, 120):
        await client.user(telegram_id, f"m{telegram_id}", language_code="en")
    await client.set_latency(0.02)  # a broadcast that lasts while the copy is taken
    # The real `zhibu run`: on SQLite it holds the database's process lock, on PostgreSQL it
    # leads (alone) through the inbox.
    process = BotProcess(env_for(settings), tmp_path / "bot.log")
    process.start()
    try:
        several = database.BACKEND == "postgresql"
        await process.started(marker=SERVING if several else "Application started")
        notice_id = await notice_now(db, now=settings.now())

        async def sending() -> bool:
            return await _sent(db, notice_id) > 0

        assert await eventually(sending, within=60), process.log()
        before = await _keys(database_url)
        copy = tmp_path / "zhibu.backup"
        assert await asyncio.to_thread(main, ["db", "backup", str(copy)]) == 0
        after = await _keys(database_url)
        assert before["notice_deliveries"] and await _sent(db, notice_id) < 120
        # Restoring over the database the bot is using is refused, and changes nothing.
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["db", "restore", str(copy)]) == 1
        assert "stop" in capsys.readouterr().err
        now = await _keys(database_url)
        assert all(keys <= now[table] for table, keys in after.items())
    finally:
        assert await process.terminate() == 0, process.log()
    monkeypatch.setenv("ZHIBU_DATABASE_URL", restored_url)
    assert await asyncio.to_thread(main, ["db", "restore", str(copy)]) == 0
    restored = await _keys(restored_url)
    for table, keys in before.items():
        assert keys <= restored[table] <= after[table], table


async def _sent(db: SessionFactory, notice_id: int) -> int:
    async with db() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(NoticeDelivery)
            .where(
                NoticeDelivery.notice_id == notice_id,
                NoticeDelivery.state == DeliveryState.SENT,
            )
        )
    return int(count or 0)
