"""Worker processes for the heavy work of a report or a collection of books.

A thread would not do: decoding a city's rows, drawing its charts and writing its workbook
hold the GIL for seconds, and every other user's reply waits behind them. A worker process
runs below the bot's priority and, given the bot's database URL, reads the database itself,
so the bot's process only hands over ids and sends the bytes it gets back.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from bot.logs import WithheldError, format_exception
from storage.db import SessionFactory, create_engine, session_factory

WORKER_NICENESS = 10

T = TypeVar("T")


def _in_the_background() -> None:
    """Run the worker below the bot's priority: on a small machine the bot's replies come
    before the reports (the worker still gets every idle moment)."""
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)


def worker_pool(workers: int = 1, *, niced: bool = True) -> ProcessPoolExecutor:
    """A pool of worker processes, by default one, niced below the bot."""
    # spawn: a forked child would inherit the event loop's threads and sockets.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_in_the_background if niced else None,
    )


def _guarded(func: Callable[..., T], *args: object) -> T:
    try:
        return func(*args)
    except Exception as error:
        # Sent back as it is, the error would reach the bot's log without the worker's frames
        # (its message withheld, it may quote a name), or not unpickle at all.
        raise WithheldError(format_exception(error)) from None


class SharedWorker:
    """One worker process, started on first use and restarted if it dies; its jobs run one
    after another (two reports at once would only share the same idle CPU)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        _SHARED.append(self)

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """`func(*args)` in the worker process; arguments and result must pickle."""
        for attempt in (1, 2):
            if self._pool is None:
                self._pool = worker_pool()
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    self._pool, _guarded, func, *args
                )
            except BrokenProcessPool:
                self._pool = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop the worker process (a new one starts on the next job)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


_SHARED: list[SharedWorker] = []


def close_shared_workers() -> None:
    """Stop every shared worker process (the application's shutdown): a job still running
    finishes in its process, which then exits; nothing new starts."""
    for worker in _SHARED:
        worker.close()


@contextlib.asynccontextmanager
async def own_worker() -> AsyncIterator[Executor]:
    """A worker process for one long job, stopped when the block ends."""
    pool = worker_pool()
    try:
        yield pool
    finally:
        # Waiting for the process to exit must not hold up the event loop.
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def database_url(db: SessionFactory) -> str:
    """The URL a worker process opens the bot's database with."""
    engine = db.kw["bind"]
    return str(engine.url.render_as_string(hide_password=False))


@contextlib.asynccontextmanager
async def reading(url: str) -> AsyncIterator[SessionFactory]:
    """In a worker: sessions on an engine of its own that may only read (on SQLite, the bot's
    file, read while the bot writes, thanks to WAL)."""
    engine = create_engine(url, read_only=True)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
