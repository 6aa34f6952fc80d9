"""Storing a big plan of new reminders: on PostgreSQL it goes by COPY, and a dedupe key taken
by another transaction in the meantime falls back to the INSERT that skips it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from storage import reminder_arrays
from storage import reminder_queries as rq
from storage.db import SessionFactory
from storage.models import Account
from storage.models_reminders import Reminder
from tests.support.reminders import YEAR_END_DUE, year_end_rows

# Above the size from which PostgreSQL stores new reminders by COPY.
ROWS = reminder_arrays.COPY_FROM + 200


async def _account(db: SessionFactory) -> int:
    async with db.begin() as session:
        account = Account(telegram_id=880_001, telegram_language="zh", time_zone="Asia/Shanghai")
        session.add(account)
        await session.flush()
        return account.id


async def test_a_big_plan_of_new_reminders_is_stored_whole(db: SessionFactory) -> None:
    account_id = await _account(db)
    async with db.begin() as session:
        assert await rq.insert_reminders(session, year_end_rows(account_id, ROWS)) == ROWS
    async with db() as session:
        stored = (await session.scalars(select(Reminder).order_by(Reminder.id))).all()
    assert len(stored) == ROWS
    last = stored[-1]
    assert (last.state, last.attempts, last.urgent, last.soft) == ("pending", 0, True, False)
    assert last.due_at == YEAR_END_DUE and last.deadline == YEAR_END_DUE + dt.timedelta(hours=15)
    assert last.payload == {
        "due_day": "2026-12-31",
        "days": 1,
        "branch_id": ROWS - 1,
        "rule": "讲党课",
    }


async def test_a_key_taken_meanwhile_is_skipped_and_the_rest_stored(db: SessionFactory) -> None:
    account_id = await _account(db)
    rows = year_end_rows(account_id, ROWS)
    # Another planner stored one of the keys after this pass looked them up.
    earlier = YEAR_END_DUE - dt.timedelta(days=2)
    async with db.begin() as session:
        await rq.insert_reminders(session, [rows[700] | {"due_at": earlier}])
    async with db.begin() as session:
        assert await rq.insert_reminders(session, rows) == ROWS - 1
        # The transaction is still usable after the COPY gave way.
        count = await session.scalar(select(func.count()).select_from(Reminder))
    assert count == ROWS
    async with db() as session:
        kept = await session.scalar(
            select(Reminder.due_at).where(Reminder.dedupe_key == rows[700]["dedupe_key"])
        )
    assert kept == earlier
