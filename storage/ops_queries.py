"""What an operator watches in the database besides the inbox: messages waiting to go out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import DeliveryState, ReminderState
from storage.models_notices import NoticeDelivery
from storage.models_reminders import Reminder


async def outbox_pending(session: AsyncSession, *, now: dt.datetime) -> int:
    """Notice copies waiting or in flight, and reminders due and not sent."""
    copies = await session.scalar(
        select(func.count())
        .select_from(NoticeDelivery)
        .where(NoticeDelivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]))
    )
    reminders = await session.scalar(
        select(func.count())
        .select_from(Reminder)
        .where(
            Reminder.state.in_([ReminderState.PENDING, ReminderState.SENDING]),
            Reminder.due_at <= now,
        )
    )
    return int(copies or 0) + int(reminders or 0)


async def ping(session: AsyncSession) -> None:
    """Raise unless the database answers."""
    await session.execute(select(1))
