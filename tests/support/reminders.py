"""Reminder test helpers: a clock the test moves, an engine on the fake server, row factories."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from telegram import Bot

from bot.app import sender_bot
from bot.config import Settings
from bot.delivery import FloodGate
from bot.reminders.engine import ReminderEngine
from handlers.meeting_buttons import meeting_keyboard
from handlers.training_buttons import invitation_keyboard
from storage import reminder_queries as rq
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_reminders import Reminder

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# 9:00 in Beijing on the last day of 2026: the "1 day before" of every period's end.
YEAR_END_DUE = dt.datetime(2026, 12, 31, 1, tzinfo=dt.UTC)


class Clock:
    """A clock the test sets and moves; never sleeps."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: dt.datetime) -> None:
        """Jump to a moment."""
        self.now = now

    def advance(self, **delta: float) -> None:
        """Move forward."""
        self.now += dt.timedelta(**delta)


def at(text: str, tz: dt.tzinfo = SHANGHAI) -> dt.datetime:
    """A local wall-clock time ("2026-11-23 09:00") as UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(dt.UTC)


async def make_engine(
    db: SessionFactory, settings: Settings, clock: Clock, gate: FloodGate | None = None
) -> tuple[ReminderEngine, Bot]:
    """An engine (as after a fresh start) sending to the fake server."""
    # The Bot the application gives its engine (aiohttp): PTB's default httpx clients cost
    # about 60 ms of CPU to build, at every test that makes an engine.
    bot = sender_bot(settings)
    await bot.initialize()
    engine = ReminderEngine(
        db=db,
        settings=settings,
        gate=gate or FloodGate(),
        bot=bot,
        invitation_keyboard=invitation_keyboard,
        offer_keyboard=meeting_keyboard,
        clock=clock,
    )
    return engine, bot


async def account_of(db: SessionFactory, name: str) -> Account:
    """The account of a demo person."""
    async with db() as session:
        account = await session.scalar(
            select(Account).join(Person, Person.id == Account.person_id).where(Person.name == name)
        )
    assert account is not None, name
    return account


async def add_reminder(
    db: SessionFactory,
    account: Account,
    key: str,
    due_at: dt.datetime,
    *,
    kind: str = "mobile_report",
    payload: dict[str, Any] | None = None,
    urgent: bool = False,
    soft: bool = False,
    deadline: dt.datetime | None = None,
) -> None:
    """Insert one pending reminder row directly."""
    async with db.begin() as session:
        await rq.insert_reminders(
            session,
            [
                {
                    "account_id": account.id,
                    "kind": kind,
                    "subject": key.rsplit(":", 1)[0],
                    "dedupe_key": key,
                    "due_at": due_at,
                    "deadline": deadline,
                    "urgent": urgent,
                    "soft": soft,
                    "payload": payload or {"due_day": "2026-12-01"},
                    "state": "pending",
                    "attempts": 0,
                    "created_at": due_at,
                }
            ],
        )


async def states(db: SessionFactory) -> dict[str, str]:
    """Every reminder's state by dedupe key."""
    async with db() as session:
        rows = await session.execute(select(Reminder.dedupe_key, Reminder.state))
    return {key: str(state) for key, state in rows}


def year_end_rows(account_id: int, count: int, first: int = 0) -> list[dict[str, Any]]:
    """`count` new "1 day before" reminders of a branch's lecture at the end of 2026 (branches
    `first`, `first + 1`...), as the planner stores them."""
    return [
        {
            "account_id": account_id,
            "kind": "calendar",
            "subject": f"cal:{n}:lecture:2026-Q4",
            "dedupe_key": f"cal:{n}:lecture:2026-Q4:{account_id}:d1",
            "due_at": YEAR_END_DUE,
            "deadline": YEAR_END_DUE + dt.timedelta(hours=15),
            "urgent": True,
            "soft": False,
            "payload": {"due_day": "2026-12-31", "days": 1, "branch_id": n, "rule": "讲党课"},
            "state": "pending",
            "attempts": 0,
            "created_at": YEAR_END_DUE,
        }
        for n in range(first, first + count)
    ]
