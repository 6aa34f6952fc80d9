"""The SQLite database holds people's data: its file, its WAL and SHM files and the data/
directory are readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine
from storage.migrate import upgrade


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_file_wal_shm_and_data_directory_are_private(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual default, which would leave them world-readable
    try:
        data = tmp_path / "data"
        database = data / "zhibu.sqlite3"
        upgrade(f"sqlite+aiosqlite:///{database}")
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE probe (x INTEGER)"))
            await connection.execute(text("INSERT INTO probe VALUES (1)"))
            wal = database.with_name("zhibu.sqlite3-wal")
            shm = database.with_name("zhibu.sqlite3-shm")
            assert wal.exists() and shm.exists()
            assert (_mode(data), _mode(database), _mode(wal), _mode(shm)) == (
                0o700,
                0o600,
                0o600,
                0o600,
            )
        await engine.dispose()
    finally:
        os.umask(old_umask)


async def test_an_existing_readable_database_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await engine.dispose()
    assert _mode(database) == 0o600
