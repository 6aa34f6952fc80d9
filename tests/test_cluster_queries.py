"""The several-process queries on PostgreSQL: one winner for every claim, lease and token."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from bot.serve_cluster import INBOX_KEPT
from storage import cluster_queries as cq
from storage.db import SessionFactory
from storage.models_cluster import InboxUpdate
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
        # The chat with the oldest update first.
        assert await cq.claim_waiting_chats(session, owner="p1", limit=1, lease=LEASE) == [5]
    async with db.begin() as session:
        # A claimed chat is nobody else's, and no longer waiting.
        assert await cq.claim_waiting_chats(session, owner="p2", limit=10, lease=LEASE) == [6]
        pending = await cq.pending_updates(session, chat_id=5, limit=10)
        assert [u.update_id for u in pending] == [10, 11]
        assert pending[0].payload == {"a": 0}
        assert await cq.begin_handling(session, update_id=10) == 1
        # Handled, but the chat has more: the claim stays.
        assert not await cq.finish_update(session, update_id=10, chat_id=5, owner="p1")
        assert await cq.inbox_depth(session) == 2
        assert await cq.finish_update(session, update_id=11, chat_id=5, owner="p1")
        assert await cq.inbox_depth(session) == 1


async def test_an_expired_claim_passes_to_another_process(db: SessionFactory) -> None:
    async with db.begin() as session:
        await cq.store_update(session, update_id=1, chat_id=7, payload={})
        claimed = await cq.claim_waiting_chats(
            session, owner="dead", limit=10, lease=dt.timedelta(0)
        )
        assert claimed == [7]
    async with db.begin() as session:
        assert await cq.claim_waiting_chats(session, owner="alive", limit=10, lease=LEASE) == [7]
        assert await cq.renew_claims(session, chat_ids=[7], owner="dead", lease=LEASE) == set()
        assert await cq.renew_claims(session, chat_ids=[7], owner="alive", lease=LEASE) == {7}
        # Released, a renewal on its way cannot bring the claim back.
        await cq.release_chat(session, chat_id=7, owner="alive")
        assert await cq.renew_claims(session, chat_ids=[7], owner="alive", lease=LEASE) == set()
        assert await cq.claim_waiting_chats(session, owner="next", limit=10, lease=LEASE) == [7]


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


async def test_a_lane_grants_no_more_slots_than_it_has_and_keeps_the_top_ones_for_replies(
    db: SessionFactory,
) -> None:
    async with db.begin() as session:
        await cq.ensure_send_slots(session, lane="free", count=3)
        await cq.ensure_send_slots(session, lane="free", count=3)  # idempotent

    async def take(usable: int) -> int | None:
        async with db.begin() as session:
            return await cq.take_send_slot(session, lane="free", usable=usable, lease=LEASE)

    # Broadcasts may use two of the three slots, and never the top one.
    broadcast = await asyncio.gather(*(take(2) for _ in range(4)))
    assert sorted(s for s in broadcast if s is not None) == [0, 1]
    assert await take(3) == 2  # a reply still gets the slot kept for it
    assert await take(3) is None
    async with db.begin() as session:
        assert (await cq.slot_wait(session, lane="free", usable=3) or 0) > 20  # leases
        await cq.end_send(
            session,
            lane="free",
            slot=0,
            slot_free_in=dt.timedelta(0),
            chat_id=None,
            chat_free_in=dt.timedelta(0),
        )
    assert await take(2) == 0


async def test_a_chats_turn_is_held_in_flight_and_a_second_after_the_answer(
    db: SessionFactory,
) -> None:
    async with db.begin() as session:
        await cq.ensure_send_slots(session, lane="free", count=5)

    async def turn() -> float:
        async with db.begin() as session:
            taken, _slot, wait = await cq.take_send_turn(
                session, lane="free", usable=5, chat_id=9, lease=LEASE
            )
            return 0.0 if taken else wait

    waits = await asyncio.gather(*(turn() for _ in range(3)))
    assert sorted(waits)[0] == 0.0 and all(w > 20 for w in sorted(waits)[1:])
    async with db.begin() as session:
        await cq.end_send(
            session,
            lane="free",
            slot=None,
            slot_free_in=dt.timedelta(0),
            chat_id=9,
            chat_free_in=dt.timedelta(seconds=1),
        )
    assert 0.5 < await turn() <= 1.0
    async with db.begin() as session:
        # Without a chat there is no turn to wait for; a slot still is taken.
        taken, slot, _ = await cq.take_send_turn(
            session, lane="free", usable=5, chat_id=None, lease=LEASE
        )
        assert taken and slot is not None


async def test_handled_updates_are_forgotten_after_a_day_and_waiting_ones_never(
    db: SessionFactory,
) -> None:
    async with db.begin() as session:
        for update_id in (1, 2, 3, 4):
            await cq.store_update(session, update_id=update_id, chat_id=8, payload={"text": "x"})
        for update_id in (1, 2, 3):
            await cq.finish_update(session, update_id=update_id, chat_id=8, owner="p1")
        # 1 was handled a day and a minute ago, 2 a minute short of a day, 3 just now; 4 waits
        # (received two days ago, say while every process was down).
        for update_id, age in (
            (1, INBOX_KEPT + dt.timedelta(minutes=1)),
            (2, INBOX_KEPT - dt.timedelta(minutes=1)),
        ):
            ago = func.clock_timestamp() - age
            await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id == update_id)
                .values(handled_at=ago, received_at=ago)
            )
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == 4)
            .values(received_at=func.clock_timestamp() - 2 * INBOX_KEPT)
        )
    async with db.begin() as session:
        assert await cq.purge_handled(session, older_than=INBOX_KEPT) == 1
        kept = await session.scalars(select(InboxUpdate.update_id).order_by(InboxUpdate.update_id))
        assert list(kept) == [2, 3, 4]
        # A redelivery of a forgotten update would be stored afresh: the purge stays far within
        # the week after which Telegram may number new updates like old ones.
        assert INBOX_KEPT.days < 7
