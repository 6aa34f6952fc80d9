"""Chosen members only, each reading the invitation in their own time zone; answers change
until the start; /meetings lists what is coming; muting meeting reminders in /reminders keeps
them away while the invitation itself still comes; the sign-in checklist ticks invitees only,
inside the window."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import Rsvp
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeTelegramServer, FakeUser
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_meetings import MeetingInvitee
from tests.support.bot import running_bot, settings_for
from tests.support.meetings import call_meeting, has, snapshot, until
from tests.support.reminders import Clock, at

SIGN_IN = "Sign-in is open from"


@pytest.fixture
async def bot_at(
    database_url: str, telegram: FakeTelegramServer, clock: Clock
) -> AsyncIterator[ZhibuApp]:
    """The real bot, started after the clock is in place."""
    async with running_bot(settings_for(database_url, telegram)) as application:
        yield application


async def test_chosen_members_answer_change_and_mute_reminders(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    async with db.begin() as session:
        await session.execute(
            update(Account)
            .where(Account.telegram_id == demo["张伟"].telegram_id)
            .values(time_zone="Europe/Berlin")
        )
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    chosen = {
        name: await client.user(demo[name].telegram_id, name, language_code="en")
        for name in ("李强", "张伟")
    }
    left_out = await client.user(demo["刘洋"].telegram_id, "刘洋", language_code="en")
    await secretary.send("/meet")
    question = await secretary.wait_reply()
    await secretary.press(question, data="meet:k:lecture")
    await secretary.press(await secretary.wait_edit(), data="meet:k:ok")
    await secretary.wait_edit()
    for answer in ("11月25日 14点", "Room 2", "Party history"):
        await secretary.send(answer)
        question = await secretary.wait_reply()
    await secretary.press(question, data="meet:aud:chosen")
    picker = await secretary.wait_edit()
    for name in ("李强", "张伟"):
        await secretary.press(picker, name)
        picker = await secretary.wait_edit()
    assert "Chosen: 2" in picker.text
    await secretary.press(picker, data="meet:p:ok")
    await secretary.press(await secretary.wait_edit(), data="meet:rsn:0")
    preview = await secretary.wait_edit()
    assert "Invited: 2 (chosen members)." in preview.text
    await secretary.press(preview, data="meet:send")
    await secretary.wait_edit()

    other = await until(chosen["李强"], has("invited to a meeting"), edits=False)
    assert "Nov 25, 2026 2:00\u202fPM (Asia/Shanghai)" in other.text
    await left_out.expect_no_reply(within=0.5)
    # 03:00 in Berlin: his invitation waits for the end of his quiet hours, in his zone.
    engine: ReminderEngine = bot_at.bot_data[REMINDERS_KEY]
    assert (await engine.tick()).messages == 0
    clock.set(at("2026-11-20 15:05"))
    assert (await engine.tick()).messages == 1
    invitation = await until(chosen["张伟"], has("invited to a meeting"), edits=False)
    assert "Nov 25, 2026 7:00\u202fAM (Europe/Berlin)" in invitation.text
    # Later, then attending: the answer changes until the start.
    user = chosen["李强"]
    await user.press(other, data="mt:l:1")
    assert "Your reply: will answer later" in (await user.wait_edit()).text
    await user.press(other, data="mt:y:1")
    assert "Your reply: attending" in (await user.wait_edit()).text
    await user.send("/meetings")
    listing = await user.wait_reply()
    assert "Party lecture" in listing.text
    await user.press(listing, listing.button_texts[0])
    assert "Your reply: attending" in (await user.wait_edit()).text
    await secretary.send("/meetings")
    assert "Card of #1" in (await secretary.wait_reply()).button_texts

    # 张伟 mutes meeting reminders: the day before he is not asked; the invitation came anyway.
    muter = chosen["张伟"]
    await muter.send("/reminders")
    settings_view = await muter.wait_reply()
    await muter.press(settings_view, "🔔 meetings (a day and an hour before)")
    await muter.wait_edit()
    clock.set(at("2026-11-24 14:30"))
    await engine.plan()
    report = await engine.tick()
    assert report.muted == 1 and report.messages == 0
    clock.set(at("2026-11-25 13:10"))
    await engine.plan()
    assert (await engine.tick()).messages == 1
    await until(user, has("starts in one hour"), edits=False)
    async with db() as session:
        answers = dict(
            (
                await session.execute(
                    select(Person.name, MeetingInvitee.rsvp).join(
                        Person, Person.id == MeetingInvitee.person_id
                    )
                )
            ).all()
        )
    assert answers == {"李强": Rsvp.YES, "张伟": None}


async def test_the_checklist_ticks_invitees_only_inside_the_sign_in_window(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    """The meeting's own secretary ticks only its invitees, and only while sign-in is open;
    an invitee's "I'm here" after the window changes nothing either (forged presses by
    everyone else are tests/forged/meetings.py's)."""
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    member = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    preview = await call_meeting(
        secretary,
        kinds=("committee_meeting",),
        when="2026-11-25 14:00",
        place="Room 1",
        agenda="Checklist",
        reason=True,
    )
    await secretary.press(preview, data="meet:send")
    card = await secretary.wait_edit()
    invitation = await until(member, has("invited to a meeting"), edits=False)
    # The reminder engine would plan and send the meeting's reminders on its own clock while
    # the presses are compared before and after (and the other invitations may still be on
    # their way): the reminders are left out of the comparison; they have tests of their own.
    assert bot_at.job_queue is not None
    for job in bot_at.job_queue.jobs():
        job.schedule_removal()
    async with db() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        b2 = await queries.org_by_code(session, "DEMO-B2")
        assert b1 is not None and b2 is not None
        him = await queries.person_in_branch(session, branch=b1, name="李强")
        outsider = await queries.person_in_branch(session, branch=b2, name="杨磊")
    assert him is not None and outsider is not None

    async def refused(user: FakeUser, message: FakeMessage, data: str) -> str:
        before = await snapshot(db)
        update_id = await user.press_data(message, data)
        text = str((await user.callback_answer(update_id)).get("text") or "")
        after = await snapshot(db)
        before.pop("reminders"), after.pop("reminders")
        assert after == before, data
        return text

    clock.set(at("2026-11-25 14:10"))
    assert (await refused(secretary, card, f"mt:tick:1:{outsider.id}:0")).startswith(SIGN_IN)
    clock.set(at("2026-11-26 14:10"))
    for user, message, data in (
        (member, invitation, "mt:here:1"),
        (secretary, card, f"mt:tick:1:{him.id}:0"),
        (secretary, card, "mt:chk:1:0"),
    ):
        assert (await refused(user, message, data)).startswith(SIGN_IN), data
