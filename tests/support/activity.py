"""Helpers for activity-log tests: the bot's pinned clock, saved activities, users."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeUser
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import SessionFactory
from storage.models_activity import Activity

ORG_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
# The bot's clock in the activity tests: half past midnight in Shanghai, still the day before
# in UTC, so a date taken from the wrong clock or zone fails a test instead of passing by luck.
NOW = dt.datetime(2026, 11, 20, 0, 30, tzinfo=ORG_TZ).astimezone(dt.UTC)


def pin_clock(monkeypatch: pytest.MonkeyPatch, now: dt.datetime = NOW) -> None:
    """Every Settings.now() in the bot reads `now` (the seam the bot's clock goes through)."""
    monkeypatch.setattr(Settings, "now", lambda self: now)


def org_today() -> dt.date:
    """Today in the organisation's time zone, as the bot sees it (its clock pinned)."""
    return NOW.astimezone(ORG_TZ).date()


async def as_user(
    client: FakeTelegramClient, demo: dict[str, DemoUser], name: str, language: str = "en"
) -> FakeUser:
    """A demo person talking to the bot in the given language."""
    return await client.user(demo[name].telegram_id, name, language_code=language)


async def add_activity(
    db: SessionFactory,
    branch_code: str,
    day: dt.date,
    kinds: tuple[ActivityKind, ...],
    *,
    topic: str = "学习",
    minutes: str | None = None,
    present: int = 3,
    expected: int = 4,
) -> int:
    """Store an activity directly, as if logged earlier; returns its id."""
    async with db.begin() as session:
        branch = await queries.org_by_code(session, branch_code)
        assert branch is not None
        activity = Activity(
            branch_id=branch.id,
            kinds=[kind.value for kind in kinds],
            day=day,
            topic=topic,
            present=present,
            expected=expected,
            minutes=minutes,
            attachments=[],
            absences=[],
            late=False,
            created_at=NOW,
        )
        session.add(activity)
        await session.flush()
        return activity.id


async def activities(db: SessionFactory) -> list[Activity]:
    """Every stored activity, oldest first."""
    async with db() as session:
        return list(await session.scalars(select(Activity).order_by(Activity.id)))
