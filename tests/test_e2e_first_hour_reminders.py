"""Reminders met in the first hour (issue 17): a training scheduled less than a day ahead gets
no "training tomorrow", and the bot plans at start-up instead of one interval later."""

from __future__ import annotations

import datetime as dt

from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import TrainingAudience, TrainingKind
from bot.fake_telegram import FakeTelegramClient
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from bot.reminders.trainings import schedule_training
from storage import queries
from storage.db import SessionFactory
from tests.support.bot import running_bot
from tests.support.reminders import Clock, at


async def test_a_training_scheduled_for_the_same_day_gets_no_training_tomorrow(
    settings: Settings, clock: Clock, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    async with running_bot(settings) as application:
        admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
        secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
        engine: ReminderEngine = application.bot_data[REMINDERS_KEY]
        # November: the life meeting's preparation is reminded first (meetings, issue 12);
        # read it, so what follows is about the training alone.
        await engine.plan()
        await engine.tick()
        assert "组织生活会准备" in (await secretary.wait_reply()).text
        await admin.send("/training")
        await admin.press(await admin.wait_reply(), "➕ New training")
        await admin.wait_edit()
        await admin.send("Party history")
        await admin.wait_reply()
        await admin.send("11-20 15:00")  # five hours from now
        await admin.wait_reply()
        await admin.send("Room 301")
        await admin.press(await admin.wait_reply(), "branch secretaries")
        await admin.press(await admin.wait_edit(), "rotation training")
        await admin.press(await admin.wait_edit(), "Schedule")
        await admin.wait_edit()
        assert "邀请您参加培训" in (await secretary.wait_reply()).text
        clock.advance(minutes=5)
        await engine.plan()
        await engine.tick()
        await secretary.expect_no_reply()  # not "training tomorrow" on the day itself
        clock.set(at("2026-11-20 14:00"))
        await engine.plan()
        await engine.tick()
        assert "一小时后" in (await secretary.wait_reply()).text


async def test_a_training_scheduled_before_a_restart_is_reminded_at_start_up(
    settings: Settings,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    async with db.begin() as session:
        org = await queries.org_by_code(session, "DEMO")
        assert org is not None
        await schedule_training(
            session,
            org=org,
            kind=TrainingKind.ROTATION,
            audience=TrainingAudience.SECRETARIES,
            title="Party history",
            place="Room 301",
            starts_at=clock() + dt.timedelta(minutes=50),
            actor=None,
            now=clock() - dt.timedelta(days=2),
        )
    # The bot was down; it starts with the training fifty minutes away.
    async with running_bot(settings.model_copy(update={"reminder_plan_at_start": True})):
        texts = [(await secretary.wait_reply()).text for _ in range(2)]
    assert any("一小时后" in text for text in texts), texts
