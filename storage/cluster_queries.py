"""Queries of the several-process deployment (PostgreSQL only): inbox, claims, leader, sends.

Every lease and every rate is measured on the database's clock (`clock_timestamp()`), so the
processes agree whatever their own clocks say. Each function is one statement, safe to run
from any number of processes at once: the row locks of INSERT … ON CONFLICT and UPDATE decide
which one wins.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_cluster import ChatClaim, InboxUpdate

# ---- inbox -------------------------------------------------------------------------------


async def store_update(
    session: AsyncSession,
    *,
    update_id: int,
    chat_id: int,
    payload: dict[str, Any],
    notify: str | None = None,
) -> bool:
    """Store an update unless it is already stored (a redelivery); True when it is new. With
    `notify`, a new update also notifies that channel (delivered when the statement commits,
    so no listener looks before the row is there)."""
    row = await session.execute(
        text(
            """
            WITH stored AS (
                INSERT INTO inbox (update_id, chat_id, payload, received_at, attempts)
                VALUES (:update_id, :chat_id, CAST(:payload AS json), clock_timestamp(), 0)
                ON CONFLICT (update_id) DO NOTHING
                RETURNING update_id
            ),
            notified AS (
                SELECT pg_notify(CAST(:notify AS text), '') FROM stored
                WHERE CAST(:notify AS text) IS NOT NULL
            )
            SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM notified)
            """
        ),
        {
            "update_id": update_id,
            "chat_id": chat_id,
            "payload": json.dumps(payload, ensure_ascii=False),
            "notify": notify,
        },
    )
    return bool(row.one()[0])


async def claim_waiting_chats(
    session: AsyncSession, *, owner: str, limit: int, lease: dt.timedelta
) -> list[int]:
    """Claim for owner, in one statement, up to `limit` chats with unhandled updates that no
    live process holds, oldest update first. When two processes claim at once, each chat goes
    to one: the second finds the first's lease running."""
    rows = await session.execute(
        text(
            """
            INSERT INTO chat_claims (chat_id, owner, lease_until)
            SELECT waiting.chat_id, :owner, clock_timestamp() + :lease
            FROM (
                SELECT i.chat_id, min(i.update_id) AS first
                FROM inbox AS i
                LEFT JOIN chat_claims AS c ON c.chat_id = i.chat_id
                WHERE i.handled_at IS NULL
                  AND (c.chat_id IS NULL OR c.lease_until < clock_timestamp())
                GROUP BY i.chat_id
                ORDER BY first
                LIMIT :limit
            ) AS waiting
            ON CONFLICT (chat_id) DO UPDATE
               SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
             WHERE chat_claims.lease_until < clock_timestamp()
            RETURNING chat_id
            """
        ),
        {"owner": owner, "limit": limit, "lease": lease},
    )
    return [int(row[0]) for row in rows]


async def renew_claims(
    session: AsyncSession, *, chat_ids: list[int], owner: str, lease: dt.timedelta
) -> set[int]:
    """Extend owner's claims on these chats; the chats it still holds."""
    if not chat_ids:
        return set()
    rows = await session.execute(
        update(ChatClaim)
        .where(ChatClaim.chat_id.in_(chat_ids), ChatClaim.owner == owner)
        .values(lease_until=func.clock_timestamp() + lease)
        .returning(ChatClaim.chat_id)
    )
    return {row[0] for row in rows}


async def release_chat(session: AsyncSession, *, chat_id: int, owner: str) -> None:
    """Free a chat owner holds (the pacing stays on the row; the owner is cleared, so a
    renewal already on its way cannot extend the claim again)."""
    await session.execute(
        update(ChatClaim)
        .where(ChatClaim.chat_id == chat_id, ChatClaim.owner == owner)
        .values(lease_until=func.clock_timestamp(), owner="")
    )


async def finish_update(session: AsyncSession, *, update_id: int, chat_id: int, owner: str) -> bool:
    """Record that an update was handled, and free owner's claim on its chat if nothing else
    of the chat waits: True when freed. The owner is cleared with the lease, so a renewal
    already on its way cannot extend the claim again; an update stored meanwhile wakes the
    workers, and its chat is claimed afresh."""
    row = await session.execute(
        text(
            """
            WITH handled AS (
                UPDATE inbox SET handled_at = clock_timestamp() WHERE update_id = :update_id
            )
            UPDATE chat_claims SET lease_until = clock_timestamp(), owner = ''
            WHERE chat_id = :chat_id AND owner = :owner
              AND NOT EXISTS (
                  SELECT 1 FROM inbox
                  WHERE chat_id = :chat_id AND handled_at IS NULL AND update_id <> :update_id
              )
            RETURNING chat_id
            """
        ),
        {"update_id": update_id, "chat_id": chat_id, "owner": owner},
    )
    return row.first() is not None


async def pending_updates(session: AsyncSession, *, chat_id: int, limit: int) -> list[InboxUpdate]:
    """A chat's unhandled updates in the order Telegram numbered them."""
    rows = await session.scalars(
        select(InboxUpdate)
        .where(InboxUpdate.chat_id == chat_id, InboxUpdate.handled_at.is_(None))
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )
    return list(rows)


async def begin_handling(session: AsyncSession, *, update_id: int) -> int:
    """Count an attempt at an update (committed before handling it); the attempts so far."""
    attempts = await session.scalar(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(attempts=InboxUpdate.attempts + 1)
        .returning(InboxUpdate.attempts)
    )
    return int(attempts or 0)


async def inbox_depth(session: AsyncSession) -> int:
    """Updates stored and not handled yet."""
    depth = await session.scalar(
        select(func.count()).select_from(InboxUpdate).where(InboxUpdate.handled_at.is_(None))
    )
    return int(depth or 0)


async def purge_handled(session: AsyncSession, *, older_than: dt.timedelta) -> int:
    """Forget handled updates.

    Telegram restarts its update ids after a week without updates: a stored id must be gone
    by then, or the new update with the same id would be taken for a redelivery.
    """
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.handled_at.is_not(None),
            InboxUpdate.handled_at < func.clock_timestamp() - older_than,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# ---- the leader -----------------------------------------------------------------------------


async def take_leadership(
    session: AsyncSession, *, name: str, owner: str, lease: dt.timedelta
) -> bool:
    """Become (or stay) the leader unless another process's lease is still running."""
    row = await session.execute(
        text(
            """
            INSERT INTO leadership (name, owner, lease_until)
            VALUES (:name, :owner, clock_timestamp() + :lease)
            ON CONFLICT (name) DO UPDATE
               SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
             WHERE leadership.owner = EXCLUDED.owner
                OR leadership.lease_until < clock_timestamp()
            RETURNING owner
            """
        ),
        {"name": name, "owner": owner, "lease": lease},
    )
    return row.first() is not None


async def give_up_leadership(session: AsyncSession, *, name: str, owner: str) -> None:
    """End owner's lease now (a clean shutdown hands over at once)."""
    await session.execute(
        text(
            "UPDATE leadership SET lease_until = clock_timestamp() - interval '1 second' "
            "WHERE name = :name AND owner = :owner"
        ),
        {"name": name, "owner": owner},
    )


async def current_leader(session: AsyncSession, *, name: str) -> str | None:
    """The process whose lease is running, if any."""
    row = await session.execute(
        text(
            "SELECT owner FROM leadership WHERE name = :name AND lease_until >= clock_timestamp()"
        ),
        {"name": name},
    )
    found = row.first()
    return None if found is None else str(found[0])


# ---- Telegram's limits across processes ------------------------------------------------------


async def ensure_send_slots(session: AsyncSession, *, lane: str, count: int) -> None:
    """Make sure the lane has `count` slots (more may exist; callers use the first ones)."""
    await session.execute(
        text(
            """
            INSERT INTO send_slots (lane, slot, free_at)
            SELECT :lane, n, clock_timestamp() FROM generate_series(0, :count - 1) AS n
            ON CONFLICT DO NOTHING
            """
        ),
        {"lane": lane, "count": count},
    )


async def take_send_turn(
    session: AsyncSession, *, lane: str, usable: int, chat_id: int | None, lease: dt.timedelta
) -> tuple[bool, int | None, float]:
    """In one statement, the chat's turn (held while the call is in flight, until `end_send`
    frees it) and, once it is taken, a slot of the lane (see `take_send_slot`): whether the
    turn was taken (always, without a chat), the slot if one was free, and the seconds until
    the chat's turn when it was not."""
    row = await session.execute(
        text(
            """
            WITH turn AS (
                INSERT INTO chat_claims (chat_id, owner, lease_until, next_send_at)
                SELECT CAST(:chat_id AS bigint), '', clock_timestamp(),
                       clock_timestamp() + :lease
                WHERE CAST(:chat_id AS bigint) IS NOT NULL
                ON CONFLICT (chat_id) DO UPDATE SET next_send_at = EXCLUDED.next_send_at
                WHERE chat_claims.next_send_at IS NULL
                   OR chat_claims.next_send_at <= clock_timestamp()
                RETURNING chat_id
            ),
            free AS (
                SELECT slot FROM send_slots
                WHERE lane = :lane AND slot < :usable AND free_at <= clock_timestamp()
                  AND (CAST(:chat_id AS bigint) IS NULL OR EXISTS (SELECT 1 FROM turn))
                ORDER BY slot DESC
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            ),
            taken AS (
                UPDATE send_slots AS s SET free_at = clock_timestamp() + :lease
                FROM free WHERE s.lane = :lane AND s.slot = free.slot
                RETURNING s.slot
            )
            SELECT (SELECT count(*) FROM turn),
                   (SELECT slot FROM taken),
                   (SELECT EXTRACT(EPOCH FROM (next_send_at - clock_timestamp()))
                      FROM chat_claims WHERE chat_id = CAST(:chat_id AS bigint))
            """
        ),
        {"lane": lane, "usable": usable, "chat_id": chat_id, "lease": lease},
    )
    result: Any = row.one()
    turns, slot, wait = result
    taken = chat_id is None or bool(turns)
    if not taken and wait is None:
        # Another process inserted the chat's row and committed while this statement waited on
        # it: the statement's snapshot predates that row. A new statement sees it, and its
        # turn, instead of trying again at once.
        wait = await session.scalar(
            text(
                "SELECT EXTRACT(EPOCH FROM (next_send_at - clock_timestamp())) "
                "FROM chat_claims WHERE chat_id = CAST(:chat_id AS bigint)"
            ),
            {"chat_id": chat_id},
        )
    return taken, None if slot is None else int(slot), max(0.001, float(wait or 0.0))


async def take_send_slot(
    session: AsyncSession, *, lane: str, usable: int, lease: dt.timedelta
) -> int | None:
    """Hold a free slot among the lane's first `usable` until it is given back or the lease
    ends; None when all of them are busy. The highest free slot is taken, so callers allowed
    fewer slots (broadcasts) leave the top ones to the others (interactive replies)."""
    row = await session.execute(
        text(
            """
            WITH free AS (
                SELECT slot FROM send_slots
                WHERE lane = :lane AND slot < :usable AND free_at <= clock_timestamp()
                ORDER BY slot DESC
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            )
            UPDATE send_slots AS s SET free_at = clock_timestamp() + :lease
            FROM free WHERE s.lane = :lane AND s.slot = free.slot
            RETURNING s.slot
            """
        ),
        {"lane": lane, "usable": usable, "lease": lease},
    )
    slot = row.scalar()
    return None if slot is None else int(slot)


async def slot_wait(session: AsyncSession, *, lane: str, usable: int) -> float | None:
    """Seconds until the first of the lane's usable slots frees (None: the lane has none)."""
    row = await session.execute(
        text(
            "SELECT EXTRACT(EPOCH FROM (min(free_at) - clock_timestamp())) FROM send_slots "
            "WHERE lane = :lane AND slot < :usable"
        ),
        {"lane": lane, "usable": usable},
    )
    wait: Any = row.scalar()
    return None if wait is None else max(0.0, float(wait))


async def end_send(
    session: AsyncSession,
    *,
    lane: str,
    slot: int | None,
    slot_free_in: dt.timedelta,
    chat_id: int | None,
    chat_free_in: dt.timedelta,
) -> None:
    """A send is answered (or was never made): its slot and its chat's turn free after these
    waits, counted from now on the database's clock."""
    await session.execute(
        text(
            """
            WITH freed AS (
                UPDATE send_slots SET free_at = clock_timestamp() + :slot_free_in
                WHERE lane = :lane AND slot = :slot
            )
            UPDATE chat_claims SET next_send_at = clock_timestamp() + :chat_free_in
            WHERE chat_id = :chat_id
            """
        ),
        {
            "lane": lane,
            "slot": slot,
            "slot_free_in": slot_free_in,
            "chat_id": chat_id,
            "chat_free_in": chat_free_in,
        },
    )


async def pause_lane(session: AsyncSession, *, lane: str, pause: dt.timedelta) -> None:
    """Telegram answered 429 to a broadcast: no slot of the lane frees before `pause`."""
    await session.execute(
        text(
            "UPDATE send_slots SET free_at = GREATEST(free_at, clock_timestamp() + :pause) "
            "WHERE lane = :lane"
        ),
        {"lane": lane, "pause": pause},
    )


async def pause_chat(session: AsyncSession, *, chat_id: int, pause: dt.timedelta) -> None:
    """Telegram answered 429 for a chat: nothing goes to it before `pause`."""
    await session.execute(
        text(
            "UPDATE chat_claims SET next_send_at = GREATEST(COALESCE(next_send_at, "
            "clock_timestamp()), clock_timestamp() + :pause) WHERE chat_id = :chat_id"
        ),
        {"chat_id": chat_id, "pause": pause},
    )
