"""Telegram's limits while a meeting is called and answered, end to end through the flood gate
as in production: a secretary who presses as fast as the bot answers, invitees who answer the
moment their invitation arrives, one of them with a reason (an edit and a question in the same
chat). The fake Bot API counts every send over one a second in a chat or 30 a second overall:
none may be."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer, FakeUser
from bot.fake_telegram.flood import FloodLimits
from storage.db import SessionFactory
from tests.support.bot import running_bot, settings_for
from tests.support.meetings import add_members, call_meeting, has, until
from tests.support.reminders import Clock

SECRETARY = "王芳"
NEW = (("赵一", 910101), ("钱二", 910102))


@pytest.fixture
async def gated_bot(
    database_url: str, telegram: FakeTelegramServer, clock: Clock
) -> AsyncIterator[ZhibuApp]:
    """The real bot with interactive replies through the flood gate; cards edited at once."""
    settings = settings_for(database_url, telegram, delivery_progress_seconds=0)
    async with running_bot(settings, rate_limit=True) as application:
        yield application


async def test_calling_and_answering_at_once_stays_within_telegrams_limits(
    gated_bot: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await add_members(db, "DEMO-B1", [(name, tid, "en") for name, tid in NEW])
    secretary = await client.user(demo[SECRETARY].telegram_id, SECRETARY, language_code="en")
    members: dict[str, FakeUser] = {
        name: await client.user(tid, name, language_code="en") for name, tid in NEW
    }
    # Counted, not refused: a refused send would be retried and hide nothing, but slow the test.
    telegram.set_flood_limits(FloodLimits(per_chat_per_second=1, enforce=False))

    preview = await call_meeting(
        secretary,
        kinds=("general_meeting",),
        when="2026-11-25 14:00",
        place="Room 301",
        agenda="Party constitution",
        decides=False,
    )
    await secretary.press(preview, data="meet:send")
    await secretary.wait_edit()
    first = await until(members["赵一"], has("You are invited to a meeting"), edits=False)
    second = await until(members["钱二"], has("You are invited to a meeting"), edits=False)
    await members["赵一"].press(first, data="mt:y:1")
    await members["钱二"].press(second, data="mt:n:1")
    await members["钱二"].wait_edit()
    await members["钱二"].press(second, data="mt:why:1:work")
    await members["钱二"].wait_edit()
    await members["钱二"].wait_reply()
    assert "Your reply: attending" in (await members["赵一"].wait_edit()).text
    await until(secretary, has("Attending (1)"), within=30)

    assert telegram.violations == 0
