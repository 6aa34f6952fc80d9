"""Async engine and session factory; SQLite gets the pragmas that make it a safe default."""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]

# The query parameter that marks a PostgreSQL URL as going through a transaction-pooling
# PgBouncer: `postgresql+asyncpg://user:pw@host:6432/zhibu?pooler=pgbouncer`. It rides on the
# URL rather than on a setting of its own because every engine built from the URL (the bot's,
# the bookkeeping's, the record book's worker processes, the command line) must make the same
# choice, and the URL is what they all share.
POOLER = "pooler"
POOLERS = ("pgbouncer",)


def create_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> AsyncEngine:
    """Create the engine; on SQLite make sure the file exists, for its owner only, and enable
    WAL and foreign keys. `read_only`: every transaction refuses to write (a worker process
    that only reads what the bot's process wrote)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            private_database_file(Path(path))
        # A bot process has several tasks writing; wait for the lock instead of failing.
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if read_only:
            event.listen(engine.sync_engine, "connect", _sqlite_read_only)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    if not pooled(url):
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _postgres_settings)
        return _reads_only(engine) if read_only else engine
    # PgBouncer 1.18 in transaction mode hands each transaction whichever server connection is
    # free, and knows nothing of prepared statements: asyncpg's own cache and SQLAlchemy's
    # would name a statement prepared on another server connection (or already taken there by
    # another client). So nothing is cached across transactions, and every statement the
    # dialect prepares gets a name no other client uses (SQLAlchemy's documented recipe).
    # No `SET jit = off` either: a session setting would stay on one server connection and
    # reach other clients, not this one; PgBouncer's connect_query sets it (README).
    kwargs["connect_args"] = {
        **kwargs.get("connect_args", {}),
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _statement_name,
    }
    engine = create_async_engine(url, **kwargs)
    # The marker stays in engine.url (a worker process rebuilds the engine from it) but is
    # not a connection parameter of asyncpg's.
    event.listen(engine.sync_engine, "do_connect", _drop_pooler)
    return _reads_only(engine) if read_only else engine


def pooled(url: str) -> bool:
    """Whether the URL goes through a transaction-pooling PgBouncer (`?pooler=pgbouncer`)."""
    value = make_url(url).query.get(POOLER)
    if value is None:
        return False
    if value not in POOLERS or not url.startswith("postgresql"):
        raise ValueError(f"{POOLER}={value!r}: only {POOLER}=pgbouncer on PostgreSQL")
    return True


def _statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _drop_pooler(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
    params.pop(POOLER, None)


def private_database_file(path: Path) -> None:
    """Create the SQLite file (and its directory) readable by its owner only, and tighten an
    existing one. SQLite gives its -wal, -shm and -journal files the database file's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Opened only to create it: closing any descriptor of a file drops every POSIX lock this
    # process holds on it, so a second engine on an open database would leave the first's
    # connections unlocked (another process, a report worker, would then take them for gone
    # and delete the -shm and -wal files under them: SQLITE_IOERR_SHORT_READ).
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(file.stat().st_mode) & 0o077:
                file.chmod(0o600)


def _postgres_settings(dbapi_connection: Any, _record: Any) -> None:
    # JIT compilation pays off for long analytical queries only: a city's report query spent
    # 0.75 s of its 1.3 s compiling. Set per connection (direct ones only: through PgBouncer
    # its connect_query does it), on the driver's connection itself, outside the transaction
    # the adapter's cursor would open (a rollback would undo the SET).
    dbapi_connection.run_async(lambda driver: driver.execute("SET jit = off"))


def _reads_only(engine: AsyncEngine) -> AsyncEngine:
    # Per transaction, not per connection: through PgBouncer a session setting would stay on
    # one server connection and reach other clients.
    event.listen(engine.sync_engine, "begin", _read_only_transaction)
    return engine


def _read_only_transaction(connection: Any) -> None:
    connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit (replies read them afterwards)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(url: str) -> AsyncIterator[AsyncSession]:
    """One transaction on an engine of its own, for one-shot work (a command-line action, a
    script): committed when the block ends normally, then the engine is closed."""
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            yield session
    finally:
        await engine.dispose()
