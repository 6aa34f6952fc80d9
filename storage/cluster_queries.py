"""Queries of the several-process deployment (PostgreSQL only): inbox, claims, leader, budget.

Every lease and every rate is measured on the database's clock (`clock_timestamp()`), so the
processes agree whatever their own clocks say. Each function is one statement, safe to run
from any number of processes at once: the row locks of INSERT … ON CONFLICT and UPDATE decide
which one wins.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_cluster import ChatClaim, InboxUpdate, SendBudget

# ---- inbox -------------------------------------------------------------------------------


async def store_update(
    session: AsyncSession, *, update_id: int, chat_id: int, payload: dict[str, Any]
) -> bool:
    """Store an update unless it is already stored (a redelivery); True when it is new."""
    statement = (
        insert(InboxUpdate)
        .values(update_id=update_id, chat_id=chat_id, payload=payload, attempts=0)
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def chats_waiting(session: AsyncSession, *, limit: int) -> list[int]:
    """Chats with unhandled updates that no live process has claimed, oldest update first."""
    rows = await session.execute(
        text(
            """
            SELECT i.chat_id FROM inbox AS i
            LEFT JOIN chat_claims AS c ON c.chat_id = i.chat_id
            WHERE i.handled_at IS NULL
              AND (c.chat_id IS NULL OR c.lease_until < clock_timestamp())
            GROUP BY i.chat_id
            ORDER BY min(i.update_id)
            LIMIT :limit
            """
        ),
        {"limit": limit},
    )
    return [row[0] for row in rows]


async def claim_chat(
    session: AsyncSession, *, chat_id: int, owner: str, lease: dt.timedelta
) -> bool:
    """Claim a chat for owner unless another live process holds it; True when claimed."""
    row = await session.execute(
        text(
            """
            INSERT INTO chat_claims (chat_id, owner, lease_until)
            VALUES (:chat_id, :owner, clock_timestamp() + :lease)
            ON CONFLICT (chat_id) DO UPDATE
               SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
             WHERE chat_claims.lease_until < clock_timestamp()
                OR chat_claims.owner = EXCLUDED.owner
            RETURNING chat_id
            """
        ),
        {"chat_id": chat_id, "owner": owner, "lease": lease},
    )
    return row.first() is not None


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
    """Free a chat owner has no more updates for (the pacing stays on the row)."""
    await session.execute(
        update(ChatClaim)
        .where(ChatClaim.chat_id == chat_id, ChatClaim.owner == owner)
        .values(lease_until=func.clock_timestamp())
    )


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


async def mark_handled(session: AsyncSession, *, update_id: int) -> None:
    """Record that an update was handled (or set aside)."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(handled_at=func.clock_timestamp())
    )


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


# ---- the shared send budget ------------------------------------------------------------------


async def take_send_tokens(
    session: AsyncSession,
    *,
    name: str,
    rate: float,
    capacity: float,
    count: int = 1,
    reserve: float = 0.0,
) -> float:
    """Take count tokens from the shared bucket, leaving reserve for others; 0.0 when taken,
    else the seconds until they will be there (nothing is taken then)."""
    row = await session.execute(
        text(
            """
            WITH now AS (SELECT clock_timestamp() AS t),
            level AS (
                SELECT LEAST(CAST(:capacity AS float8), b.tokens
                       + EXTRACT(EPOCH FROM (now.t - b.updated_at)) * CAST(:rate AS float8))
                       AS tokens,
                       now.t
                FROM send_budget AS b, now WHERE b.name = :name
                FOR UPDATE OF b
            ),
            taken AS (
                UPDATE send_budget AS b
                   SET tokens = level.tokens - CAST(:count AS float8), updated_at = level.t
                FROM level
                WHERE b.name = :name
                  AND level.tokens >= CAST(:count AS float8) + CAST(:reserve AS float8)
                RETURNING b.tokens
            )
            SELECT (SELECT tokens FROM level), (SELECT count(*) FROM taken)
            """
        ),
        {"name": name, "rate": rate, "capacity": capacity, "count": count, "reserve": reserve},
    )
    result = row.one()
    level: Any = result[0]
    taken = int(result[1])
    if level is None:
        # First use: the bucket starts full; then take from it like everyone else.
        await session.execute(
            insert(SendBudget)
            .values(name=name, tokens=capacity, updated_at=func.clock_timestamp())
            .on_conflict_do_nothing()
        )
        return await take_send_tokens(
            session, name=name, rate=rate, capacity=capacity, count=count, reserve=reserve
        )
    if taken:
        return 0.0
    return max(0.001, (count + reserve - float(level)) / rate)


async def take_chat_turn(session: AsyncSession, *, chat_id: int, interval: dt.timedelta) -> float:
    """Reserve the chat's next send slot (one per interval, across every process); the seconds
    to wait for it."""
    row = await session.execute(
        text(
            """
            INSERT INTO chat_claims (chat_id, owner, lease_until, next_send_at)
            VALUES (:chat_id, '', clock_timestamp(), clock_timestamp() + :interval)
            ON CONFLICT (chat_id) DO UPDATE
               SET next_send_at = GREATEST(COALESCE(chat_claims.next_send_at,
                                                    clock_timestamp()),
                                           clock_timestamp()) + :interval
            RETURNING EXTRACT(EPOCH FROM (next_send_at - :interval - clock_timestamp()))
            """
        ),
        {"chat_id": chat_id, "interval": interval},
    )
    wait: Any = row.scalar_one()
    return max(0.0, float(wait))
