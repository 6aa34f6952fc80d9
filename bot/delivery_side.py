"""What the delivery worker runs beside its sending: writing a large audience into the outbox
and reporting progress. Each can take seconds on a province's notice (45 slices of copies to
write, 4.5 million copies to count), and the sending must not wait for them."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable

from storage import notice_queries as nq
from storage.db import SessionFactory

log = logging.getLogger(__name__)

OnProgress = Callable[[bool], Awaitable[None]]


class AudienceFillers:
    """One task per started notice whose audience is still being written, slice after slice:
    a slice per batch sent took a province's 45 slices minutes at the broadcast rate."""

    def __init__(
        self, db: SessionFactory, now: Callable[[], dt.datetime], wake: Callable[[], None]
    ) -> None:
        self._db, self._now, self._wake = db, now, wake
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self.stopping = False

    def __contains__(self, notice_id: int) -> bool:
        return notice_id in self._tasks

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def start(self, notice_id: int) -> None:
        """Write the rest of this notice's audience (its first slice is written)."""
        if notice_id not in self._tasks:
            self._tasks[notice_id] = asyncio.create_task(self._fill(notice_id))

    def tasks(self) -> list[asyncio.Task[None]]:
        """The fillers running, for stop() to wait for (each stops after its slice)."""
        return list(self._tasks.values())

    async def _fill(self, notice_id: int) -> None:
        try:
            going = True
            while going and not self.stopping:
                async with self._db.begin() as session:
                    going = await nq.fill_next_slice(session, notice_id, self._now())
                self._wake()
        except Exception:
            # The worker's next pass finds the notice still due and goes on from its last slice.
            log.exception("writing notice %s's audience failed; retrying shortly", notice_id)
        finally:
            del self._tasks[notice_id]
            self._wake()


# A report is at most this share of the time: counting a province's copies takes seconds.
REPORT_SHARE = 0.1


class ProgressReports:
    """Progress reports at most every `interval` seconds (and taking at most REPORT_SHARE of
    the time), one at a time, beside the sending; a final report waits for the one under way,
    then for itself."""

    def __init__(self, on_progress: OnProgress | None, interval: float) -> None:
        self._on_progress = on_progress
        self._interval = interval
        self._last = -math.inf
        self._took = 0.0
        self._task: asyncio.Task[None] | None = None

    async def maybe(self, *, final: bool) -> None:
        """Report now if it is time (always when final)."""
        if self._on_progress is None:
            return
        now = time.monotonic()
        if not final and now - self._last < max(self._interval, self._took / REPORT_SHARE):
            return
        running = self._task
        if running is not None and not running.done():
            if not final:
                return
            await running
        self._last = now
        self._task = asyncio.create_task(self._report(final))
        if final:
            await self._task

    def tasks(self) -> list[asyncio.Task[None]]:
        """The report under way, if any."""
        return [self._task] if self._task is not None else []

    async def _report(self, final: bool) -> None:
        assert self._on_progress is not None
        started = time.monotonic()
        try:
            await self._on_progress(final)
        except Exception:
            log.exception("progress report failed")
        self._took = time.monotonic() - started
