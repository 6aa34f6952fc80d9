"""kill -9 while a meeting's invitations go out, then restart: nobody is invited twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import MeetingAudience, ReminderState
from bot.fake_telegram import FakeTelegramClient
from bot.meetings.draft import MeetingDraft
from bot.meetings.service import call_meeting
from bot.reminders.meeting_kinds import meeting_subject
from storage import queries
from storage.db import SessionFactory
from storage.models_reminders import Reminder
from tests.support.bot import BotProcess, env_for, eventually
from tests.support.notices import make_people

pytestmark = pytest.mark.slow

INVITED = 30
FIRST_ID = 760_000


async def test_kill_9_while_invitations_go_out_invites_nobody_twice(
    settings: Settings,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    tmp_path: Path,
) -> None:
    chats = await make_people(db, "DEMO-B2", FIRST_ID, INVITED - 3)
    now = dt.datetime.now(dt.UTC)
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B2")
        assert branch is not None
        # Within a day: the invitations are urgent, so quiet hours cannot hold them.
        draft = MeetingDraft(
            branch.id,
            kinds=["general_meeting"],
            starts_at=now + dt.timedelta(hours=3),
            place="Room 1",
            agenda="Study",
            audience=MeetingAudience.BRANCH,
            reason_required=False,
        )
        called = await call_meeting(
            session, draft, actor=None, now=now, card_chat_id=None, card_message_id=None
        )
        meeting_id = called.meeting.id
    assert called.invited == INVITED
    chats += [demo[name].telegram_id for name in ("陈静", "杨磊", "赵敏")]
    users = [await client.user(chat, str(chat), language_code="en") for chat in chats]
    env = env_for(settings) | {
        "ZHIBU_REMINDER_TICK_SECONDS": "0.2",
        "ZHIBU_DELIVERY_RATE": "10",
        "ZHIBU_DELIVERY_LEASE_SECONDS": "1",
    }
    process = BotProcess(env, tmp_path / "bot.log")

    async def sent_so_far() -> int:
        return int((await client.flood_stats())["sent_count"])

    # The invitations alone: calling the meeting marks its branch, so its later reminders (the
    # log prompt after it) are planned at once and stay pending.
    invitations = Reminder.subject == meeting_subject(meeting_id, "news")

    async def settled() -> bool:
        async with db() as session:
            open_rows = await session.scalar(
                select(func.count())
                .select_from(Reminder)
                .where(
                    invitations,
                    Reminder.state.in_([ReminderState.PENDING, ReminderState.SENDING]),
                )
            )
        return open_rows == 0

    process.start()
    try:
        await process.started()
        assert await eventually(lambda: _at_least(sent_so_far, 3), within=60)
        process.kill()  # between a call to Telegram and its outcome being recorded, for some
        sent_before_kill = await sent_so_far()
        assert sent_before_kill < INVITED - settings.delivery_concurrency, sent_before_kill
        process.start()
        await process.started()
        assert await eventually(settled, within=60), process.log()[-2000:]
    finally:
        code = await process.terminate()
    assert code == 0, process.log()[-2000:]
    received = [sum(m.text.startswith("📅") for m in await user.messages()) for user in users]
    assert max(received) == 1, received
    async with db() as session:
        states = dict(
            (
                await session.execute(
                    select(Reminder.state, func.count()).where(invitations).group_by(Reminder.state)
                )
            ).all()
        )
    unconfirmed = states.get(ReminderState.UNCONFIRMED, 0)
    assert states.get(ReminderState.SENT, 0) + unconfirmed == INVITED, states
    assert received.count(0) <= unconfirmed <= settings.delivery_concurrency, (states, received)


async def _at_least(count: Callable[[], Awaitable[int]], minimum: int) -> bool:
    return await count() >= minimum
