"""Several bot processes on one PostgreSQL database: who leads, and who handles which chat.

- `Leadership` keeps this process the leader for as long as it renews a lease in the database,
  and tells the application when it gains or loses the role: the leader alone runs the
  periodic jobs (planner, reminder ticks, notice delivery...) and polls Telegram.
- `InboxWorker` handles stored updates. It claims chats, not updates: a claimed chat's updates
  are handled in `update_id` order by this process alone, different chats side by side here
  and in the other processes. A claim is a lease; a process killed mid-update loses it when
  the lease runs out, and another process handles that update again (a conversation's draft
  recognises an update it has already applied).
- `store_updates` is the intake (webhook or polling): an update is in the inbox, committed,
  before Telegram is told it was received, and a redelivery is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.update_context import arrived_at
from storage import cluster_queries as cq
from storage.db import SessionFactory, create_engine, pooled

log = logging.getLogger(__name__)

CHANNEL = "zhibu_inbox"
# A process that dies mid-update holds its chats until the lease ends: short enough that a
# user barely notices, long enough that a busy process renews well in time.
CHAT_LEASE = dt.timedelta(seconds=15)
LEADER_LEASE = dt.timedelta(seconds=10)
# An update that was started this many times and never finished kills its worker: it is set
# aside (logged with its id) instead of taking down one process after another.
MAX_ATTEMPTS = 3
# The pool of the handlers' engine in a cluster process: as many connections as chats handled
# at once, and a few for the leader's jobs; no overflow (see bot.app).
WORKER_CHATS = 16
CLUSTER_POOL: dict[str, Any] = {"pool_size": WORKER_CHATS + 8, "max_overflow": 0}
BOOK_KEY = "zhibu.bookkeeping"


def bookkeeping_engine(url: str) -> AsyncEngine:
    """The engine of the several-process bookkeeping (claims, leases, the inbox, send turns).

    Each of these is one statement that commits by itself, so the engine is in autocommit: one
    round trip each, no BEGIN and COMMIT. Without pre-ping either (another round trip per use):
    a statement that meets a dropped connection fails, the pool replaces the connection, and
    the loop that made the statement makes it again.

    Through PgBouncer in transaction mode each statement runs in a transaction after all: out
    of one, the pooler may hand the statement's prepare and its execution to two different
    server connections.
    """
    isolation: dict[str, Any] = {} if pooled(url) else {"isolation_level": "AUTOCOMMIT"}
    return create_engine(url, pool_pre_ping=False, pool_size=8, max_overflow=0, **isolation)


def chat_of(payload: dict[str, Any]) -> int:
    """The chat whose order an update belongs to (the sender's id when it has no chat)."""
    for kind in ("message", "edited_message", "callback_query", "my_chat_member", "chat_member"):
        part = payload.get(kind)
        if not isinstance(part, dict):
            continue
        message = part.get("message") if kind == "callback_query" else part
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
        sender = part.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return int(sender["id"])
    return 0


async def store_updates(db: SessionFactory, payloads: Iterable[dict[str, Any]]) -> int:
    """Store updates in the inbox (once each) and wake the workers; how many were new."""
    new = 0
    async with db.begin() as session:
        for payload in payloads:
            # A new update wakes the workers when it commits, not before the row is there.
            stored = await cq.store_update(
                session,
                update_id=int(payload["update_id"]),
                chat_id=chat_of(payload),
                payload=payload,
                notify=CHANNEL,
            )
            new += stored
    return new


# How long a stopping loop may take to finish the statement it is in before it is cancelled.
STOP_GRACE = 10.0


async def _finish(tasks: Iterable[asyncio.Task[None]], grace: float = STOP_GRACE) -> None:
    """Wait for loops told to stop; cancel the ones still running after `grace` seconds.

    Loops are asked to stop (an event they wait on), not cancelled: a task cancelled in the
    middle of an asyncpg statement can hang for good in the driver's clean-up
    (MagicStack/asyncpg#873), and `stop()` then never returns. A loop stuck past the grace is
    cancelled, and given up on (logged) if even that does not end it.
    """
    pending = {task for task in tasks if not task.done()}
    if not pending:
        return
    _done, pending = await asyncio.wait(pending, timeout=grace)
    for task in pending:
        task.cancel()
    if pending:
        _done, stuck = await asyncio.wait(pending, timeout=grace)
        for task in stuck:
            log.error("task %s did not stop; leaving it behind", task.get_name())


class Leadership:
    """Hold (or wait for) the leader's lease and report every change of role."""

    def __init__(
        self,
        db: SessionFactory,
        owner: str,
        on_change: Callable[[bool], Awaitable[None]],
        *,
        name: str = "bot",
        lease: dt.timedelta = LEADER_LEASE,
    ) -> None:
        self._db = db
        self.owner = owner
        self._on_change = on_change
        self._name = name
        self._lease = lease
        self.is_leader = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        """Start contending for the lease in the background."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="leadership")

    async def stop(self) -> None:
        """Stop, handing the lease over at once if held."""
        if self._task is not None:
            self._stopping.set()
            await _finish([self._task])
            self._task = None
        if self.is_leader:
            await self._set(False)
            try:
                async with self._db.begin() as session:
                    await cq.give_up_leadership(session, name=self._name, owner=self.owner)
            except Exception:  # shutting down: the lease runs out by itself anyway
                log.exception("could not hand over the leadership")

    async def _run(self) -> None:
        # Renewing at a third of the lease survives one slow round trip to the database.
        interval = self._lease.total_seconds() / 3
        while not self._stopping.is_set():
            try:
                async with self._db.begin() as session:
                    leads = await cq.take_leadership(
                        session, name=self._name, owner=self.owner, lease=self._lease
                    )
            except Exception:
                log.exception("leadership check failed; acting as a follower")
                leads = False
            if leads != self.is_leader and not self._stopping.is_set():
                await self._set(leads)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)

    async def _set(self, leads: bool) -> None:
        self.is_leader = leads
        log.info(
            "this process %s the leader (%s)", "is now" if leads else "is no longer", self.owner
        )
        try:
            await self._on_change(leads)
        except Exception:
            log.exception("starting or stopping the leader's jobs failed")


Handle = Callable[[dict[str, Any]], Awaitable[None]]


class InboxWorker:
    """Claim chats with stored updates and handle each chat's updates in order."""

    def __init__(
        self,
        db: SessionFactory,
        engine: AsyncEngine,
        owner: str,
        handle: Handle,
        *,
        concurrency: int = WORKER_CHATS,
        batch: int = 20,
        lease: dt.timedelta = CHAT_LEASE,
        idle_poll: float = 1.0,
    ) -> None:
        self._db = db
        self._engine = engine
        self.owner = owner
        self._handle = handle
        self._concurrency = concurrency
        self._batch = batch
        self._lease = lease
        self._idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._chats: dict[int, asyncio.Task[None]] = {}
        # Chat tasks whose claim another process took (this one stalled past its lease).
        self._lost: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: Any = None
        self._stopping = asyncio.Event()
        self.on_set_aside: Callable[[int], None] | None = None

    async def start(self) -> None:
        """Listen for new updates and start claiming chats."""
        await self._listen()
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="inbox-claims"),
            asyncio.create_task(self._renew_loop(), name="inbox-leases"),
        ]

    async def stop(self) -> None:
        """Finish the updates being handled, then stop (unstarted chats stay for others)."""
        self._stopping.set()
        self._wake.set()
        await _finish(self._tasks)
        if self._chats:
            await asyncio.gather(*self._chats.values(), return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    def wake(self) -> None:
        """Look for claimable chats now (a new update was stored)."""
        self._wake.set()

    async def _listen(self) -> None:
        # A connection of its own, outside the pool: it stays open for the process's life.
        connection = await self._engine.connect()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.add_listener(CHANNEL, lambda *_: self._wake.set())
        self._listener = connection

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            free = self._concurrency - len(self._chats)
            if free > 0:
                try:
                    await self._claim_some(free)
                except Exception:
                    log.exception("claiming chats failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_poll)

    async def _claim_some(self, free: int) -> None:
        async with self._db.begin() as session:
            claimed = await cq.claim_waiting_chats(
                session, owner=self.owner, limit=free, lease=self._lease
            )
        for chat_id in claimed:
            task = asyncio.create_task(self._serve(chat_id), name=f"chat-{chat_id}")
            self._chats[chat_id] = task
            task.add_done_callback(functools.partial(self._done, chat_id))

    def _done(self, chat_id: int, task: asyncio.Task[None]) -> None:
        if self._chats.get(chat_id) is task:
            del self._chats[chat_id]
        self._lost.discard(task)
        self._wake.set()

    async def _serve(self, chat_id: int) -> None:
        """Handle the chat's updates until none is left, then free the chat."""
        try:
            await self._serve_chat(chat_id)
        except Exception:
            # The database failed us: the claim runs out and the chat is taken up again.
            log.exception("serving chat %s failed", chat_id)

    async def _serve_chat(self, chat_id: int) -> None:
        this = asyncio.current_task()
        while True:
            async with self._db() as session:
                updates = await cq.pending_updates(session, chat_id=chat_id, limit=self._batch)
            if not updates:
                # Handled meanwhile by a process that had stalled past its lease.
                async with self._db.begin() as session:
                    await cq.release_chat(session, chat_id=chat_id, owner=self.owner)
                return
            for stored in updates:
                if this in self._lost:
                    # Its new owner handles the rest, in order; this one must not go on.
                    return
                await self._handle_one(stored.update_id, stored.payload, stored.received_at)
                async with self._db.begin() as session:
                    released = await cq.finish_update(
                        session, update_id=stored.update_id, chat_id=chat_id, owner=self.owner
                    )
                if released:
                    return

    async def _handle_one(
        self, update_id: int, payload: dict[str, Any], received_at: dt.datetime
    ) -> None:
        async with self._db.begin() as session:
            attempts = await cq.begin_handling(session, update_id=update_id)
        if attempts > MAX_ATTEMPTS:
            log.error("update %s set aside after %s attempts", update_id, attempts - 1)
            if self.on_set_aside is not None:
                self.on_set_aside(update_id)
        else:
            try:
                # The reply's latency counts from the update's arrival, inbox time included.
                with arrived_at(received_at.timestamp()):
                    await self._handle(payload)
            except Exception:
                # Handler errors are the application's error handler's; this is the rest.
                log.exception("update %s could not be handled", update_id)

    async def _renew_loop(self) -> None:
        interval = self._lease.total_seconds() / 3
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)
            serving = dict(self._chats)
            if not serving or self._stopping.is_set():
                continue
            try:
                async with self._db.begin() as session:
                    held = await cq.renew_claims(
                        session, chat_ids=list(serving), owner=self.owner, lease=self._lease
                    )
            except Exception:
                log.exception("renewing chat claims failed")
                continue
            for chat_id, task in serving.items():
                # Still the same task (not freed and claimed afresh meanwhile), and the claim
                # is gone: another process took the chat, this one stalled past its lease.
                gone = chat_id not in held and self._chats.get(chat_id) is task
                if gone and not task.done() and task not in self._lost:
                    self._lost.add(task)
                    log.warning("lost the claim on chat %s", chat_id)
