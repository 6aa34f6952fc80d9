"""The several-process queries on PostgreSQL: one winner for every claim, lease and token."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage import cluster_queries as cq
from storage.db import SessionFactory
from tests.support import database

pytestmark = pytest.mark.skipif(
    database.BACKEND != "postgresql", reason="several processes run on PostgreSQL only"
)
LEASE = dt.timedelta(seconds=30)


async def test_an_update_is_stored_once_and_handed_out_in_order(db: SessionFactory) -> None:
    async with db.begin() as session:
        assert await cq.store_update(session, update_id=11, chat_id=5, payload={"a": 1})
        assert not await cq.store_update(session, update_id=11, chat_id=5, payload={"a": 1})
        assert await cq.store_update(session, update_id=10, chat_id=5, payload={"a": 0})
        assert await cq.store_update(session, update_id=12, chat_id=6, payload={})
    async with db.begin() as session:
        assert await cq.chats_waiting(session, limit=10) == [5, 6]
        assert await cq.claim_chat(session, chat_id=5, owner="p1", lease=LEASE)
    async with db.begin() as session:
        # A claimed chat is nobody else's, and no longer waiting.
        assert not await cq.claim_chat(session, chat_id=5, owner="p2", lease=LEASE)
        assert await cq.chats_waiting(session, limit=10) == [6]
        pending = await cq.pending_updates(session, chat_id=5, limit=10)
        assert [u.update_id for u in pending] == [10, 11]
        assert await cq.begin_handling(session, update_id=10) == 1
        await cq.mark_handled(session, update_id=10)
        assert await cq.inbox_depth(session) == 2


async def test_an_expired_claim_passes_to_another_process(db: SessionFactory) -> None:
    async with db.begin() as session:
        await cq.store_update(session, update_id=1, chat_id=7, payload={})
        assert await cq.claim_chat(session, chat_id=7, owner="dead", lease=dt.timedelta(0))
    async with db.begin() as session:
        assert await cq.chats_waiting(session, limit=10) == [7]
        assert await cq.claim_chat(session, chat_id=7, owner="alive", lease=LEASE)
        assert await cq.renew_claims(session, chat_ids=[7], owner="dead", lease=LEASE) == set()
        assert await cq.renew_claims(session, chat_ids=[7], owner="alive", lease=LEASE) == {7}


async def test_one_leader_at_a_time_and_a_successor_when_the_lease_runs_out(
    db: SessionFactory,
) -> None:
    async def attempt(owner: str, lease: dt.timedelta) -> bool:
        async with db.begin() as session:
            return await cq.take_leadership(session, name="bot", owner=owner, lease=lease)

    results = await asyncio.gather(*(attempt(f"p{i}", LEASE) for i in range(5)))
    assert sum(results) == 1
    winner = f"p{results.index(True)}"
    assert await attempt(winner, LEASE)  # renewing
    async with db.begin() as session:
        assert await cq.current_leader(session, name="bot") == winner
        await cq.give_up_leadership(session, name="bot", owner=winner)
    assert await attempt("successor", LEASE)


async def test_the_shared_budget_grants_no_more_than_its_rate(db: SessionFactory) -> None:
    async def take(reserve: float = 0.0) -> float:
        async with db.begin() as session:
            return await cq.take_send_tokens(
                session, name="global", rate=0.001, capacity=10, reserve=reserve
            )

    waits = await asyncio.gather(*(take() for _ in range(15)))
    assert sum(1 for w in waits if w == 0.0) == 10  # the bucket starts full, and no more
    assert all(w > 0 for w in waits if w != 0.0)


async def test_a_chats_send_slots_are_spaced_across_callers(db: SessionFactory) -> None:
    async def turn() -> float:
        async with db.begin() as session:
            return await cq.take_chat_turn(session, chat_id=9, interval=dt.timedelta(seconds=1))

    waits = sorted(await asyncio.gather(*(turn() for _ in range(3))))
    assert waits[0] < 0.5 and 0.5 < waits[1] < 1.5 and 1.5 < waits[2] < 2.5
