"""One bot process per SQLite database: a second one is refused at start-up, clearly.

SQLite is the embedded, single-process engine: two bot processes on one file would each
poll Telegram, run the planner and hold their own rate limits, so every message could go
out twice and past Telegram's limits. PostgreSQL is the engine for several processes. The
lock is an exclusive flock on a file beside the database, held for the life of the process
and released by the kernel however the process ends (kill -9 included).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class AlreadyRunning(Exception):
    """Another process holds the database; the message says which and what to do."""

    def __init__(self, holder: str, database: Path) -> None:
        super().__init__(
            f"{holder} is already using {database}. SQLite serves one Zhibu process: "
            "stop that one first, or use PostgreSQL (ZHIBU_DATABASE_URL) to run several."
        )
        self.holder = holder
        self.database = database


@contextlib.contextmanager
def sole_process(database: Path, *, purpose: str = "the bot") -> Iterator[None]:
    """Hold the database's process lock while the block runs; AlreadyRunning if taken."""
    lock_path = database.with_name(database.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise AlreadyRunning(holder, database) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{purpose} (process {os.getpid()})".encode(), 0)
        yield
    finally:
        os.close(fd)
