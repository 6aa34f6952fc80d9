"""The reminder engine: exactly once, quiet hours, muting, language, restarts and outages."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import ReminderState
from bot.fake_telegram import FakeTelegramClient
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from storage import reminder_queries as rq
from storage.db import SessionFactory
from storage.models import Account
from storage.models_reminders import Reminder
from tests.support.reminders import Clock, account_of, add_reminder, at, make_engine, states


@pytest.fixture
def clock() -> Clock:
    """Friday 2026-11-20 10:00 in Shanghai."""
    return Clock(at("2026-11-20 10:00"))


async def test_due_reminder_goes_out_once_in_the_recipients_language(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    member = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans")
    await add_reminder(db, await account_of(db, "李强"), "mob:1:2026-12-01:1:d7", clock())
    await add_reminder(db, await account_of(db, "王芳"), "mob:2:2026-12-01:2:d7", clock())
    await add_reminder(
        db, await account_of(db, "王芳"), "mob:3:2026-12-01:2:d7", clock.now + dt.timedelta(hours=1)
    )
    report = await engine.tick()
    assert report.messages == 2
    assert "yearly report to your home branch by Dec 1, 2026" in (await member.wait_reply()).text
    assert "2026年12月1日" in (await secretary.wait_reply()).text
    assert (await engine.tick()).messages == 0
    await member.expect_no_reply()
    clock.advance(hours=1)
    assert (await engine.tick()).messages == 1
    await secretary.wait_reply()
    assert set((await states(db)).values()) == {"sent"}


async def test_quiet_hours_defer_to_the_morning_in_the_recipients_time_zone(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    account = await account_of(db, "李强")
    async with db.begin() as session:
        await session.execute(
            update(Account).where(Account.id == account.id).values(time_zone="Europe/Berlin")
        )
    # 23:30 in Berlin is 06:30 in Shanghai: the recipient's zone decides.
    clock.set(at("2026-11-20 23:30", dt.timezone(dt.timedelta(hours=1))))
    await add_reminder(db, account, "mob:1:x:1:d7", clock())
    await add_reminder(
        db,
        account,
        "grd:1:x:1:d1",
        clock(),
        kind="rectification",
        urgent=True,
        payload={"branch_id": 1, "title": "Grading 2026", "due_day": "2026-11-21"},
    )
    report = await engine.tick()
    assert (report.messages, report.deferred) == (1, 1)
    assert "Grading 2026" in (await user.wait_reply()).text
    clock.set(at("2026-11-21 07:59", dt.timezone(dt.timedelta(hours=1))))
    assert (await engine.tick()).messages == 0
    clock.set(at("2026-11-21 08:00", dt.timezone(dt.timedelta(hours=1))))
    assert (await engine.tick()).messages == 1
    assert "yearly report" in (await user.wait_reply()).text


async def test_muted_kinds_stay_silent_but_deadlines_within_a_day_do_not(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    account = await account_of(db, "李强")
    async with db.begin() as session:
        prefs = await rq.settings_of(session, account.id)
        prefs.muted = ["mobile_report"]
    await add_reminder(db, account, "mob:1:x:1:d7", clock())
    report = await engine.tick()
    assert (report.messages, report.muted) == (0, 1)
    await add_reminder(db, account, "mob:1:x:1:d1", clock(), urgent=True)
    assert (await engine.tick()).messages == 1
    assert "yearly report" in (await user.wait_reply()).text
    assert (await states(db)) == {"mob:1:x:1:d7": "muted", "mob:1:x:1:d1": "sent"}


async def test_restart_between_planning_and_sending_neither_loses_nor_repeats(
    db: SessionFactory,
    settings: Settings,
    clock: Clock,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    account = await account_of(db, "李强")
    # Planned by the first process, which then stops before its tick.
    await add_reminder(db, account, "mob:1:x:1:d7", clock())
    await add_reminder(db, account, "mob:2:x:1:d7", clock.now + dt.timedelta(minutes=5))
    # A second process crashed mid-send of another one: claimed, never confirmed.
    await add_reminder(db, account, "mob:3:x:1:d7", clock())
    async with db.begin() as session:
        await session.execute(
            update(Reminder)
            .where(Reminder.dedupe_key == "mob:3:x:1:d7")
            .values(state=ReminderState.SENDING, lease_until=clock.now + dt.timedelta(seconds=30))
        )
    # And one was reserved by a process that died before its turn to send came: never sent.
    await add_reminder(db, account, "mob:4:x:1:d7", clock())
    async with db.begin() as session:
        await session.execute(
            update(Reminder)
            .where(Reminder.dedupe_key == "mob:4:x:1:d7")
            .values(lease_until=clock.now + dt.timedelta(seconds=30))
        )
    clock.advance(minutes=1)
    restarted, bot = await make_engine(db, settings, clock)
    try:
        report = await restarted.tick()
        assert (report.messages, report.reminders) == (1, 2)
        assert (await user.wait_reply()).text.count("yearly report") == 2
        clock.advance(minutes=5)
        again, bot2 = await make_engine(db, settings, clock)
        try:
            assert (await again.tick()).messages == 1
            await user.wait_reply()
            assert (await again.tick()).messages == 0
        finally:
            await bot2.shutdown()
    finally:
        await bot.shutdown()
    await user.expect_no_reply()
    assert await states(db) == {
        "mob:1:x:1:d7": "sent",
        "mob:2:x:1:d7": "sent",
        "mob:3:x:1:d7": "unconfirmed",
        "mob:4:x:1:d7": "sent",
    }


async def test_a_three_day_outage_gives_one_coalesced_message(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    account = await account_of(db, "李强")
    start = clock.now
    for hour in range(0, 72, 3):
        await add_reminder(db, account, f"mob:{hour}:x:1:d7", start + dt.timedelta(hours=hour))
    clock.advance(days=3)
    report = await engine.tick()
    assert (report.messages, report.reminders) == (1, 24)
    text = (await user.wait_reply()).text
    assert "24 reminders" in text and text.count("yearly report") == 24
    await user.expect_no_reply()
    async with db() as session:
        sizes = set((await session.scalars(select(Reminder.batch_size))).all())
    assert sizes == {24}


async def test_the_jobs_run_late_rather_than_never_and_never_pile_up(bot: ZhibuApp) -> None:
    assert bot.job_queue is not None
    jobs = {job.name: job.job for job in bot.job_queue.jobs()}
    for name in ("reminders.tick", "reminders.plan"):
        job = jobs[name]
        assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (True, None, 1)
    assert isinstance(bot.bot_data[REMINDERS_KEY], ReminderEngine)


async def test_a_batch_too_long_for_one_message_ends_with_an_ellipsis_not_an_error(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    account = await account_of(db, "王芳")
    # Forty rectification items with long titles (escaped: & and < in them) due at once.
    for n in range(40):
        await add_reminder(
            db,
            account,
            f"grd:{n}:x:1:d1",
            clock(),
            kind="rectification",
            urgent=True,
            payload={
                "branch_id": 1,
                "title": f"Item {n:02d} <study> " + "&" * 120,
                "due_day": "2026-11-21",
            },
        )
    report = await engine.tick()
    assert report.messages == 1 and report.failed == 0
    message = await user.wait_reply()
    assert message.text.startswith("🔔 40条提醒") and message.text.endswith("\n…")
    assert len(message.text) <= 4096 and "Item 00 <study> &&&" in message.text
    assert set((await states(db)).values()) == {"sent"}


async def test_a_row_whose_payload_does_not_fit_its_kind_fails_alone(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    account = await account_of(db, "李强")
    await add_reminder(db, account, "mob:1:x:1:d7", clock())
    # A rectification reminder must name its problem and branch: this one is unreadable.
    await add_reminder(db, account, "rect:1:x:1:d7", clock(), kind="rectification")
    report = await engine.tick()
    assert (report.messages, report.reminders, report.failed) == (1, 1, 1)
    text = (await user.wait_reply()).text
    assert "yearly report" in text and "“”" not in text
    assert await states(db) == {"mob:1:x:1:d7": "sent", "rect:1:x:1:d7": "failed"}
