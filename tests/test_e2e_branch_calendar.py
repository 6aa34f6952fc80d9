"""Reminders that come in time, over the database and through the fake Bot API: deputies get
the branch's calendar reminders and may opt out; the themed Party day on the branch's day is
shown in /due and reminded 3 days before; the life meeting's preparation is reminded from
November, step by step as the secretary marks them done in /due."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import PreparationStep, Role
from bot.fake_telegram import FakeTelegramClient
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from storage import calendar_queries as cq
from storage import queries
from storage.db import SessionFactory
from storage.models_meetings import PreparationRecord
from tests.support.meetings import grant, has, until
from tests.support.reminders import Clock, at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Every Settings.now() in the bot reads this clock."""
    moving = Clock(at("2026-10-30 10:00"))
    monkeypatch.setattr(Settings, "now", lambda self: moving())
    return moving


async def _remind(application: ZhibuApp, clock: Clock, moment: str) -> int:
    clock.set(at(moment))
    engine: ReminderEngine = application.bot_data[REMINDERS_KEY]
    await engine.plan()
    return (await engine.tick()).messages


async def test_deputies_get_the_branch_calendar_unless_they_opt_out(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await grant(db, "李强", "DEMO-B1", Role.DEPUTY)
    deputy = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    other = await client.user(demo["杨磊"].telegram_id, "杨磊", language_code="en")
    # A week before November ends: the secretary's go to her digest, the deputy's come now.
    await _remind(bot_at, clock, "2026-11-24 10:00")
    week = await until(deputy, has("First Party Branch"), edits=False)
    assert "branch committee meeting" in week.text and "themed Party day" in week.text
    await other.expect_no_reply(within=0.1)
    await deputy.send("/reminders")
    view = await deputy.wait_reply()
    await deputy.press(view, "🔔 the branch's calendar (as deputy)")
    assert "🔕 the branch's calendar (as deputy)" in (await deputy.wait_edit()).button_texts
    # The last day of the month comes to the secretary only.
    wang = await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans")
    assert await _remind(bot_at, clock, "2026-11-30 10:00") >= 1
    await until(wang, has("今天是支部委员会会议的最后期限"), edits=False)
    assert not any("last day" in m.text for m in await deputy.messages())


async def test_themed_day_and_preparation_in_due_and_their_reminders(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    # She reads English from now on (the demo stores Chinese for her until she writes).
    await secretary.send("/help")
    await secretary.wait_reply()
    member = await client.user(demo["张伟"].telegram_id, "张伟", language_code="en")
    await secretary.send("/due")
    due = await secretary.wait_reply()
    assert "🗓 Themed Party day: no fixed day chosen yet." in due.text
    # Not November yet: no preparation shown.
    assert "Preparing the organisational life meeting" not in due.text
    await secretary.press(due, "Themed Party day: choose the day")
    days = await secretary.wait_edit()
    await secretary.press(days, "15")
    assert (
        "The themed Party day is now on day 15 of each month." in (await secretary.wait_edit()).text
    )
    async with db() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert b1 is not None
        assert await cq.themed_day_of(session, b1.id) == 15
    # Members do not choose it.
    update_id = await member.press_data(await _help(member), f"du:tds:{b1.id}:3")
    assert "not available" in (await member.callback_answer(update_id))["text"]

    # 1 November: the first step of preparing the life meeting.
    assert await _remind(bot_at, clock, "2026-11-01 10:00") >= 1
    first = await until(secretary, has("preparing the organisational life meeting"), edits=False)
    assert "next step: study" in first.text
    clock.set(at("2026-11-03 10:00"))
    await secretary.send("/due")
    due = await secretary.wait_reply()
    assert "Preparing the organisational life meeting: ▫️ study" in due.text
    assert "🗓 Themed Party day: day 15 of each month." in due.text
    await secretary.press(due, "Mark done today: study")
    assert "Marked done on Nov 3, 2026: study." in (await secretary.wait_edit()).text
    async with db() as session:
        record = await session.scalar(select(PreparationRecord))
    assert record is not None and record.step is PreparationStep.STUDY
    # The next morning the next step; the themed Party day 3 days before the 15th.
    assert await _remind(bot_at, clock, "2026-11-04 10:00") >= 1
    await until(secretary, has("next step: heart-to-heart talks"), edits=False)
    assert await _remind(bot_at, clock, "2026-11-12 10:00") >= 1
    await until(secretary, has("the themed Party day is on Nov 15, 2026"), edits=False)


async def _help(user: object) -> object:
    await user.send("/help")  # type: ignore[attr-defined]
    return await user.wait_reply()  # type: ignore[attr-defined]
