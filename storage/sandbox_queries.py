"""What the offline sandbox asks of the database: starting the demo over, the next reminder."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import ReminderState

# Every model module, so the metadata below knows every table.
from storage import (
    models,
    models_activity,  # noqa: F401
    models_cluster,  # noqa: F401
    models_grading,  # noqa: F401
    models_notices,  # noqa: F401
    models_relink,  # noqa: F401
    models_reminders,
)


async def erase_everything(session: AsyncSession) -> None:
    """Delete every row of every table (the schema and its migrations stay): the demo starts
    over. Only ever called by the sandbox, on its own database."""
    for table in reversed(models.Base.metadata.sorted_tables):
        await session.execute(delete(table))


async def next_reminder_at(session: AsyncSession, after: dt.datetime) -> dt.datetime | None:
    """When the earliest pending reminder after `after` falls due, if any is planned."""
    Reminder = models_reminders.Reminder
    return await session.scalar(
        select(func.min(Reminder.due_at)).where(
            Reminder.state == ReminderState.PENDING, Reminder.due_at > after
        )
    )
