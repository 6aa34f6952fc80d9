"""The planner's writes on PostgreSQL: a slice's reminders as one statement each, with the rows
sent as arrays (one bind parameter per column, however many rows).

A slice of a province plans about 27,000 reminders and withdraws what 60,000 subjects no longer
need. As chunks of `IN (...)` lists and executemany batches that cost 3.3 s of a 7 s slice: most
of it rendering and parsing tens of thousands of parameters. The same work through `unnest()`
of arrays takes a fraction of that, and needs no chunks below the driver's parameter limit.
SQLite keeps the chunked statements (storage.reminder_queries): it has no arrays, and an
embedded organisation is small.

A pass that plans thousands of new reminders (the first pass on an empty table, or the end of a
year, when every yearly and quarterly obligation falls due: 40,000 rows a slice) sends them by
COPY instead: no ON CONFLICT speculative insertion and no unnest, which halves the database's
share (0.8 s against 1.6 s a slice). The keys it sends were found free just before; if another
transaction took one meanwhile, the COPY fails on the unique key inside a savepoint and the rows
go through the INSERT above, which skips the taken keys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# From this many rows on, new reminders go by COPY: below it the savepoint and COPY's extra
# round trips cost more than they save (an incremental plan writes a handful of rows).
COPY_FROM = 1000
# The columns of a new reminder row, in the order its values are given.
REMINDER_COLUMNS = (
    "account_id",
    "kind",
    "subject",
    "dedupe_key",
    "due_at",
    "deadline",
    "urgent",
    "soft",
    "payload",
    "state",
    "attempts",
    "created_at",
)

# Rows whose dedupe key is taken are filtered before the INSERT, not only by ON CONFLICT: a
# conflicting row would still draw an id from the sequence, and a periodic pass finding its
# 27,000 reminders already planned would burn through an INTEGER id in a few years.
_INSERT = text(
    """
    INSERT INTO reminders (account_id, kind, subject, dedupe_key, due_at, deadline, urgent,
                           soft, payload, state, attempts, created_at)
    SELECT r.account_id, r.kind, r.subject, r.dedupe_key, r.due_at, r.deadline, r.urgent,
           r.soft, r.payload::json, 'pending', 0, r.created_at
    FROM unnest(CAST(:account_id AS integer[]), CAST(:kind AS text[]), CAST(:subject AS text[]),
                CAST(:dedupe_key AS text[]), CAST(:due_at AS timestamptz[]),
                CAST(:deadline AS timestamptz[]), CAST(:urgent AS boolean[]),
                CAST(:soft AS boolean[]), CAST(:payload AS text[]),
                CAST(:created_at AS timestamptz[]))
         AS r(account_id, kind, subject, dedupe_key, due_at, deadline, urgent, soft, payload,
              created_at)
    WHERE NOT EXISTS (SELECT 1 FROM reminders AS taken WHERE taken.dedupe_key = r.dedupe_key)
    ON CONFLICT (dedupe_key) DO NOTHING
    """
)

_TAKEN = text("SELECT dedupe_key FROM reminders WHERE dedupe_key = ANY(CAST(:keys AS text[]))")

# A subject with no account withdraws it from everyone; with one, from that account only.
_CANCEL = text(
    """
    UPDATE reminders SET state = 'cancelled'
    FROM unnest(CAST(:subject AS text[]), CAST(:account_id AS integer[])) AS c(subject, account_id)
    WHERE reminders.state = 'pending' AND reminders.subject = c.subject
      AND (c.account_id IS NULL OR reminders.account_id = c.account_id)
    """
)


async def taken_dedupe_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these dedupe keys are already planned (one probe of the unique index each)."""
    if not keys:
        return set()
    found = await session.scalars(_TAKEN, {"keys": list(keys)})
    return set(found)


async def insert_reminders(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows (pending, never tried) whose dedupe keys are free; how many were new.
    Rows with one dedupe key are already one row (storage.reminder_queries)."""
    if not rows:
        return 0
    records = _records(rows)
    if len(records) >= COPY_FROM:
        try:
            async with session.begin_nested():
                return await _copy(session, records)
        except asyncpg.UniqueViolationError:
            pass  # a key was taken since it was looked up: the INSERT below skips it
    columns = dict(zip(REMINDER_COLUMNS, zip(*records, strict=True), strict=True))
    # The INSERT writes state and attempts itself, as the COPY's records do.
    result = await session.execute(
        _INSERT,
        {name: list(values) for name, values in columns.items() if name not in _CONSTANT},
    )
    return int(getattr(result, "rowcount", 0) or 0)


# The columns every new row has the same value in ('pending', never tried).
_CONSTANT = frozenset({"state", "attempts"})


def _records(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows' values in REMINDER_COLUMNS order, as both the COPY and the INSERT send them."""
    return [
        (
            row["account_id"],
            str(row["kind"]),
            row["subject"],
            row["dedupe_key"],
            row["due_at"],
            row["deadline"],
            bool(row["urgent"]),
            bool(row["soft"]),
            json.dumps(row["payload"], ensure_ascii=False),
            "pending",
            0,
            row["created_at"],
        )
        for row in rows
    ]


async def _copy(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> int:
    """COPY the records into the table (every dedupe key must be free); how many."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table("reminders", records=records, columns=REMINDER_COLUMNS)
    return len(records)


async def cancel_reminders(
    session: AsyncSession, subjects: Sequence[tuple[str, int | None]]
) -> int:
    """Cancel the pending reminders about these subjects: how many were pending."""
    if not subjects:
        return 0
    result = await session.execute(
        _CANCEL,
        {
            "subject": [subject for subject, _account in subjects],
            "account_id": [account for _subject, account in subjects],
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)
