"""Several workers on one PostgreSQL inbox: each chat in order, once, and taken over on death."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cluster import InboxWorker, Leadership, chat_of, store_updates
from storage import cluster_queries as cq
from storage.db import SessionFactory
from tests.support import database
from tests.support.bot import eventually

pytestmark = pytest.mark.skipif(
    database.BACKEND != "postgresql", reason="several processes run on PostgreSQL only"
)


def _engine(db: SessionFactory) -> AsyncEngine:
    bind = db.kw["bind"]
    assert isinstance(bind, AsyncEngine)
    return bind


def _update(update_id: int, chat: int) -> dict[str, Any]:
    user = {"id": chat, "is_bot": False, "first_name": "u"}
    message = {"message_id": update_id, "date": 0, "chat": {"id": chat, "type": "private"}}
    return {"update_id": update_id, "message": {**message, "from": user, "text": "x"}}


async def test_chats_are_handled_in_order_once_each_across_workers(db: SessionFactory) -> None:
    seen: dict[int, list[int]] = defaultdict(list)
    workers_used: set[str] = set()

    def handler(owner: str) -> Any:
        async def handle(payload: dict[str, Any]) -> None:
            chat = chat_of(payload)
            seen[chat].append(payload["update_id"])
            workers_used.add(owner)
            await asyncio.sleep(random.random() / 200)

        return handle

    workers = [
        InboxWorker(db, _engine(db), f"w{i}", handler(f"w{i}"), concurrency=4, idle_poll=0.2)
        for i in range(2)
    ]
    for worker in workers:
        await worker.start()
    try:
        payloads = [_update(1000 + n, 100 + n % 10) for n in range(200)]
        assert await store_updates(db, payloads) == 200
        assert await store_updates(db, payloads[:50]) == 0  # a redelivery is stored once

        async def drained() -> bool:
            async with db() as session:
                return await cq.inbox_depth(session) == 0

        assert await eventually(drained, within=30)
    finally:
        for worker in workers:
            await worker.stop()
    for chat, ids in seen.items():
        assert ids == sorted(ids) and len(ids) == len(set(ids)) == 20, chat
    assert workers_used == {"w0", "w1"}


async def test_a_dead_workers_chat_is_taken_over_and_its_update_handled_again(
    db: SessionFactory,
) -> None:
    started = asyncio.Event()
    handled: list[tuple[str, int]] = []

    async def hangs(payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(3600)

    async def works(payload: dict[str, Any]) -> None:
        handled.append(("survivor", payload["update_id"]))

    lease = dt.timedelta(seconds=1)
    dying = InboxWorker(db, _engine(db), "dying", hangs, lease=lease, idle_poll=0.1)
    await dying.start()
    await store_updates(db, [_update(1, 5), _update(2, 5)])
    await asyncio.wait_for(started.wait(), 10)
    # The process dies: its tasks stop, nothing is released.
    for task in [*dying._tasks, *dying._chats.values()]:
        task.cancel()
    survivor = InboxWorker(db, _engine(db), "survivor", works, lease=lease, idle_poll=0.1)
    await survivor.start()
    try:

        async def both_handled() -> bool:
            return len(handled) == 2

        assert await eventually(both_handled, within=30)
    finally:
        await survivor.stop()
        if dying._listener is not None:
            await dying._listener.close()
    assert handled == [("survivor", 1), ("survivor", 2)]


async def test_a_successor_leads_within_the_lease_when_the_leader_dies(db: SessionFactory) -> None:
    changes: list[tuple[str, bool]] = []

    def note(owner: str) -> Any:
        async def on_change(leads: bool) -> None:
            changes.append((owner, leads))

        return on_change

    lease = dt.timedelta(seconds=1)
    first = Leadership(db, "first", note("first"), lease=lease)
    second = Leadership(db, "second", note("second"), lease=lease)
    first.start()

    async def first_leads() -> bool:
        return first.is_leader

    assert await eventually(first_leads)
    second.start()
    async with db() as session:
        assert await cq.current_leader(session, name="bot") == "first"
    assert not second.is_leader
    # Killed: no hand-over, the lease has to run out.
    assert first._task is not None
    first._task.cancel()

    async def second_leads() -> bool:
        return second.is_leader

    assert await eventually(second_leads, within=30)  # the bound: within 30 s
    await second.stop()
    assert changes == [("first", True), ("second", True), ("second", False)]


async def test_stop_lets_a_statement_in_flight_finish_instead_of_cancelling_it(
    db: SessionFactory,
) -> None:
    """A worker is stopped while its claim statement waits on a lock: stop() waits for the
    statement rather than cancelling the task inside the driver (which can hang for good,
    MagicStack/asyncpg#873), and returns once the statement is through."""
    worker = InboxWorker(db, _engine(db), "w", lambda payload: asyncio.sleep(0), idle_poll=0.05)
    blocker = await _engine(db).connect()
    transaction = await blocker.begin()
    await blocker.exec_driver_sql("LOCK TABLE chat_claims IN ACCESS EXCLUSIVE MODE")
    await worker.start()
    try:
        # The claim loop's next statement now waits for the lock.
        await asyncio.sleep(0.3)
        stopping = asyncio.create_task(worker.stop())
        await asyncio.sleep(0.5)
        assert not stopping.done()  # the statement in flight is not cancelled
    finally:
        await transaction.rollback()
        await blocker.close()
    await asyncio.wait_for(stopping, 10)
    assert _engine(db).pool.checkedout() == 0
