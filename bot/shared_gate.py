"""Telegram's limits held across every bot process on one PostgreSQL database.

`SharedGate` is a `FloodGate` (the process's own limits and priorities still apply first) that
also takes, from the database, the chat's turn and then a send slot before each call:

- the chat's turn (`chat_claims.next_send_at`) is held while the call is in flight and for a
  second after its answer, whichever process sends: replies and notice copies alike keep
  Telegram's one message a second per chat;
- a slot of the lane (`send_slots`): the lane has as many slots as Telegram allows sends a
  second, each held from before its call until a second after the answer, so no one-second
  window holds more sends than that, however long calls take. Broadcasts (notices, reminders)
  may use only the first `delivery_rate` slots: the rest are the interactive replies' reserve.

Giving both back is one statement, sent after the answer without the caller waiting for it (a
late release only makes the wait longer, never shorter). A 429 pauses the chat, or the
broadcast lane, for every process. A process that dies mid-call frees what it held when the
lease ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable

from bot.config import Settings
from bot.floodgate import FREE_LANE, PAID_LANE, FloodGate, Ticket
from storage import cluster_queries as cq
from storage.db import SessionFactory

log = logging.getLogger(__name__)

# A waiting caller looks again at least this often: the hint it gets may be a lease, and a call
# in flight usually ends long before its lease does.
MAX_POLL = 0.1


@dataclasses.dataclass
class SharedTicket(Ticket):
    """A local ticket plus the slot and chat turn held in the database."""

    slot: int | None = None


class SharedGate(FloodGate):
    """A FloodGate whose limits also hold across processes (see the module docstring)."""

    def __init__(
        self,
        db: SessionFactory,
        *,
        per_second: int,
        paid_per_second: int,
        broadcast_per_second: dict[str, int],
        lease: dt.timedelta,
        per_chat_interval: float = 1.0,
    ) -> None:
        super().__init__(
            per_second=per_second,
            paid_per_second=paid_per_second,
            per_chat_interval=per_chat_interval,
        )
        # The bookkeeping engine's: in autocommit each statement commits by itself, and
        # `begin()` costs nothing more; through PgBouncer it is the transaction that commits.
        self._db = db
        self._slots = {FREE_LANE: per_second, PAID_LANE: paid_per_second}
        self._broadcast = {
            lane: min(self._slots[lane], max(1, count))
            for lane, count in broadcast_per_second.items()
        }
        self._lease = lease
        self._interval = dt.timedelta(seconds=per_chat_interval)
        self._ready: set[str] = set()
        self._releases: set[asyncio.Task[None]] = set()
        self._chat_pauses: dict[int, float] = {}
        self._lane_pauses: dict[str, float] = {}

    async def acquire(
        self,
        chat_id: int | None,
        *,
        lane: str = FREE_LANE,
        broadcast: bool = False,
        rate: float | None = None,
    ) -> Ticket:
        """The local slot, then the chat's turn, then a shared slot of the lane."""
        local = await super().acquire(chat_id, lane=lane, broadcast=broadcast, rate=rate)
        ticket = SharedTicket(local.lane, local.chat_id, local.broadcast)
        usable = self._broadcast.get(lane, 1) if broadcast else self._slots[lane]
        try:
            # Usually one statement: the chat's turn and a slot together.
            ticket.slot = await self._wait(lambda: self._take_turn(lane, usable, chat_id))
            if ticket.slot is None:
                ticket.slot = await self._wait(lambda: self._take_slot(lane, usable))
        except BaseException:
            # Whatever was taken in the database frees now (or, if this never runs, by lease).
            self.cancel(ticket)
            raise
        return ticket

    def release(self, ticket: Ticket) -> None:
        """The call has its answer: the slot and the chat free a second from now."""
        super().release(ticket)
        chat_pause = self._chat_pauses.pop(ticket.chat_id, 0.0) if ticket.chat_id else 0.0
        lane_pause = self._lane_pauses.pop(ticket.lane, 0.0)
        interval = self._interval.total_seconds()
        self._end(ticket, max(interval, lane_pause), max(interval, chat_pause))

    def cancel(self, ticket: Ticket) -> None:
        """The call was never made: what it held frees at once."""
        super().cancel(ticket)
        self._end(ticket, 0.0, 0.0)

    def pause(self, seconds: float, lane: str = FREE_LANE) -> None:
        """A 429 for a broadcast: the lane pauses here and in every other process."""
        super().pause(seconds, lane)
        self._lane_pauses[lane] = max(self._lane_pauses.get(lane, 0.0), seconds)
        self._spawn(self._pause_lane(lane, seconds))

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """A 429 for a chat: nothing goes to it from any process for `seconds`."""
        super().pause_chat(chat_id, seconds)
        self._chat_pauses[chat_id] = max(self._chat_pauses.get(chat_id, 0.0), seconds)
        self._spawn(self._pause_chat(chat_id, seconds))

    async def drain(self) -> None:
        """Wait for the releases still on their way to the database (at shutdown)."""
        while self._releases:
            await asyncio.gather(*list(self._releases), return_exceptions=True)

    # -- the database side ------------------------------------------------------------------

    async def _wait(self, take: Callable[[], Awaitable[tuple[int | None, float]]]) -> int | None:
        """Call take() until it succeeds, sleeping for the wait it reports."""
        while True:
            try:
                taken, wait = await take()
            except Exception:
                # The database is unreachable: better slow than past Telegram's limits.
                log.exception("taking a send turn failed; trying again")
                taken, wait = None, 1.0
            if wait == 0.0:
                return taken
            await asyncio.sleep(min(wait, MAX_POLL))

    async def _take_turn(
        self, lane: str, usable: int, chat_id: int | None
    ) -> tuple[int | None, float]:
        """The chat's turn, with a slot when one is free: 0.0 once the turn is taken."""
        await self._ensure(lane)
        async with self._db.begin() as session:
            taken, slot, wait = await cq.take_send_turn(
                session, lane=lane, usable=usable, chat_id=chat_id, lease=self._lease
            )
        return (slot, 0.0) if taken else (None, wait)

    async def _ensure(self, lane: str) -> None:
        if lane not in self._ready:
            async with self._db.begin() as session:
                await cq.ensure_send_slots(session, lane=lane, count=self._slots[lane])
            self._ready.add(lane)

    async def _take_slot(self, lane: str, usable: int) -> tuple[int | None, float]:
        async with self._db.begin() as session:
            slot = await cq.take_send_slot(session, lane=lane, usable=usable, lease=self._lease)
            if slot is not None:
                return slot, 0.0
            wait = await cq.slot_wait(session, lane=lane, usable=usable)
        return None, max(0.001, wait if wait is not None else MAX_POLL)

    def _end(self, ticket: Ticket, slot_wait: float, chat_wait: float) -> None:
        slot = ticket.slot if isinstance(ticket, SharedTicket) else None
        if slot is None and ticket.chat_id is None:
            return
        self._spawn(self._end_send(ticket.lane, slot, slot_wait, ticket.chat_id, chat_wait))

    async def _end_send(
        self, lane: str, slot: int | None, slot_wait: float, chat_id: int | None, chat_wait: float
    ) -> None:
        async with self._db.begin() as session:
            await cq.end_send(
                session,
                lane=lane,
                slot=slot,
                slot_free_in=dt.timedelta(seconds=slot_wait),
                chat_id=chat_id,
                chat_free_in=dt.timedelta(seconds=chat_wait),
            )

    async def _pause_lane(self, lane: str, seconds: float) -> None:
        async with self._db.begin() as session:
            await cq.pause_lane(session, lane=lane, pause=dt.timedelta(seconds=seconds))

    async def _pause_chat(self, chat_id: int, seconds: float) -> None:
        async with self._db.begin() as session:
            await cq.pause_chat(session, chat_id=chat_id, pause=dt.timedelta(seconds=seconds))

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                # What was held frees when its lease ends.
                log.exception("giving a send turn back failed")

        task = asyncio.get_running_loop().create_task(run())
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)


def shared_gate_for(settings: Settings, db: SessionFactory) -> SharedGate:
    """The gate of a process that shares the database with others (`db` in autocommit)."""
    return SharedGate(
        db,
        per_second=settings.telegram_rate_limit,
        paid_per_second=settings.paid_broadcast_limit,
        broadcast_per_second={
            FREE_LANE: math.floor(settings.delivery_rate),
            PAID_LANE: math.floor(settings.paid_broadcast_rate),
        },
        lease=dt.timedelta(seconds=settings.delivery_lease_seconds),
    )
