"""/training met in the first hour (issue 17): an invitee answers an invitation whose message
still waits for their quiet hours to end, and an admin records a training already held."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import ReminderKind, ReminderState
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeUser
from storage import training_queries as tq
from storage.db import SessionFactory
from storage.models_reminders import Reminder, Training
from tests.support.bot import running_bot
from tests.support.reminders import Clock, account_of, at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Every Settings.now() in the bot reads this clock: Friday 2026-11-20 23:00 in Shanghai,
    inside everyone's default quiet hours (22:00-08:00)."""
    moving = Clock(at("2026-11-20 23:00"))
    monkeypatch.setattr(Settings, "now", lambda self: moving())
    return moving


@pytest.fixture
async def bot_at(settings: Settings, clock: Clock) -> AsyncIterator[ZhibuApp]:
    """The real bot, started after the clock is in place."""
    async with running_bot(settings) as application:
        yield application


async def _compose(admin: FakeUser, title: str, starts: str) -> FakeMessage:
    """A rotation training for the branch secretaries, up to its summary; the summary."""
    await admin.send("/training")
    await admin.press(await admin.wait_reply(), "➕ New training")
    await admin.wait_edit()
    for answer in (title, starts):
        await admin.send(answer)
        await admin.wait_reply()
    await admin.send("Room 301")
    await admin.press(await admin.wait_reply(), "branch secretaries")
    await admin.press(await admin.wait_edit(), "rotation training")
    return await admin.wait_edit()


async def _training(db: SessionFactory, title: str) -> Training:
    async with db() as session:
        training = await session.scalar(select(Training).where(Training.title == title))
    assert training is not None
    return training


async def _invitations(db: SessionFactory, training: Training) -> list[Reminder]:
    async with db() as session:
        rows = await session.scalars(
            select(Reminder).where(
                Reminder.kind == ReminderKind.TRAINING_INVITE.value,
                Reminder.subject == f"trn:{training.id}",
            )
        )
        return list(rows)


async def test_an_invitation_waiting_for_quiet_hours_is_answered_in_training(
    bot_at: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    summary = await _compose(admin, "Party history", "2026-11-28 09:30")
    assert "Schedule it and send the invitations?" in summary.text
    await admin.press(summary, "Schedule")
    assert "3 people invited" in (await admin.wait_edit()).text
    training = await _training(db, "Party history")
    await secretary.expect_no_reply()  # quiet hours: the invitation waits
    wang = await account_of(db, "王芳")
    [waiting] = [r for r in await _invitations(db, training) if r.account_id == wang.id]
    assert waiting.state == ReminderState.PENDING

    await secretary.send("/training")
    await secretary.wait_reply()  # the yearly record
    invitation = await secretary.wait_reply()
    assert "You are invited to a training" in invitation.text
    assert "Party history" in invitation.text
    await secretary.press(invitation, invitation.button_texts[0])
    assert "You will attend" in (await secretary.wait_edit()).text
    async with db() as session:
        invitee = await tq.invitee(session, training_id=training.id, person_id=wang.person_id)
    assert invitee is not None and invitee.rsvp == "yes"


async def test_an_admin_records_a_training_already_held(
    bot_at: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    summary = await _compose(admin, "Branch study day", "11-18 14:00")
    assert "It already took place" in summary.text and "No invitations" in summary.text
    await admin.press(summary, "Record it")
    recorded = await admin.wait_edit()
    assert "Recorded as already held" in recorded.text and "Nov 18, 2026" in recorded.text
    await admin.press(recorded, "Record attendance")
    attendance = await admin.wait_edit()
    await admin.press(attendance, "▫️ 王芳")
    assert "✅ 王芳" in (await admin.wait_edit()).button_texts
    training = await _training(db, "Branch study day")
    assert await _invitations(db, training) == []  # nobody is invited to the past
    await secretary.expect_no_reply()

    await admin.send("/training")
    menu = await admin.wait_reply()
    await admin.press(menu, next(b for b in menu.button_texts if "Branch study day" in b))
    view = (await admin.wait_edit()).text
    assert "Recorded after it took place" in view and "Attended: 1." in view
