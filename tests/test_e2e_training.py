"""End to end through the fake Bot API: an admin schedules a training, invitees answer and are
reminded in their own language, the admin records attendance, and /reminders mutes a kind."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import ReminderState, TrainingAudience, TrainingKind
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeUser
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from storage import queries
from storage import reminder_queries as rq
from storage import training_queries as tq
from storage.db import SessionFactory
from storage.models_reminders import Reminder
from tests.support.bot import running_bot
from tests.support.reminders import Clock, account_of, at

SECRETARIES = ("王芳", "陈静", "周涛")


@pytest.fixture
async def bot_at(settings: Settings, clock: Clock) -> AsyncIterator[ZhibuApp]:
    """The real bot, started after the clock is in place."""
    async with running_bot(settings) as application:
        yield application


async def _compose(admin: FakeUser, title: str, starts: str, place: str) -> FakeMessage:
    """A rotation training for the branch secretaries, up to its summary (not yet scheduled)."""
    await admin.send("/training")
    await admin.press(await admin.wait_reply(), "➕ New training")
    await admin.wait_edit()
    for answer in (title, starts):
        await admin.send(answer)
        await admin.wait_reply()
    await admin.send(place)
    await admin.press(await admin.wait_reply(), "branch secretaries")
    await admin.press(await admin.wait_edit(), "rotation training")
    return await admin.wait_edit()


def _engine(application: ZhibuApp) -> ReminderEngine:
    engine: ReminderEngine = application.bot_data[REMINDERS_KEY]
    return engine


async def test_admin_schedules_invitees_answer_and_are_reminded(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    secretaries = {
        name: await client.user(demo[name].telegram_id, name, language_code="zh-hans")
        for name in SECRETARIES
    }
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")

    await admin.send("/training")
    menu = await admin.wait_reply()
    await admin.press(menu, "➕ New training")
    assert "What is the training called?" in (await admin.wait_edit()).text
    await admin.send("Party history")
    assert "When does it start?" in (await admin.wait_reply()).text
    await admin.send("yesterday")
    assert "could not read" in (await admin.wait_reply()).text
    await admin.wait_reply()  # the question again
    await admin.send("11-25 14:00")
    assert "Where is it?" in (await admin.wait_reply()).text
    await admin.send("Room 301, 12 Jianshe Road")
    audiences = await admin.wait_reply()
    assert "Who in Demo Sub-district Committee is invited?" in audiences.text
    await admin.press(audiences, "branch secretaries")
    kinds = await admin.wait_edit()
    await admin.press(kinds, "rotation training")
    summary = await admin.wait_edit()
    assert "Party history" in summary.text and "Nov 25, 2026 2:00" in summary.text
    await admin.press(summary, "Schedule")
    done = await admin.wait_edit()
    assert "3 people invited" in done.text

    # The invitations go out at once, in Chinese, with the time in Shanghai.
    invitations = {name: await user.wait_reply() for name, user in secretaries.items()}
    invitation = invitations["王芳"]
    assert "邀请您参加培训" in invitation.text and "Party history" in invitation.text
    assert "2026年11月25日 14:00" in invitation.text
    assert invitation.button_texts == ["我会参加", "我无法参加"]
    await member.expect_no_reply()

    await secretaries["王芳"].press(invitations["王芳"], "我会参加")
    assert "您将参加" in (await secretaries["王芳"].wait_edit()).text
    await secretaries["陈静"].press(invitations["陈静"], "我无法参加")
    assert "您不参加" in (await secretaries["陈静"].wait_edit()).text

    engine = _engine(bot_at)
    clock.set(at("2026-11-24 14:00"))
    await engine.plan()
    report = await engine.tick()
    assert report.messages == 2
    for name in ("王芳", "周涛"):
        reminder = await secretaries[name].wait_reply()
        assert "明天有培训" in reminder.text and "Room 301" in reminder.text
    await secretaries["陈静"].expect_no_reply()
    # Planning again and ticking again changes nothing.
    await engine.plan()
    assert (await engine.tick()).messages == 0

    clock.set(at("2026-11-25 13:00"))
    await engine.plan()
    assert (await engine.tick()).messages == 2
    assert "一小时后" in (await secretaries["王芳"].wait_reply()).text
    await secretaries["陈静"].expect_no_reply()

    # Afterwards the admin records who came; it shows in the secretary's yearly record.
    clock.set(at("2026-11-25 17:00"))
    await admin.send("/training")
    menu = await admin.wait_reply()
    await admin.press(menu, next(b for b in menu.button_texts if "Party history" in b))
    view = await admin.wait_edit()
    assert "Attending: 1. Not attending: 1. No answer: 1." in view.text
    await admin.press(view, "Record attendance")
    attendance = await admin.wait_edit()
    await admin.press(attendance, "▫️ 王芳")
    assert "✅ 王芳" in (await admin.wait_edit()).button_texts
    await secretaries["王芳"].send("/training")
    record = await secretaries["王芳"].wait_reply()
    assert "2026" in record.text and "Party history" in record.text
    await engine.plan()
    assert (await engine.tick()).messages == 0


async def test_reminder_settings_mute_and_quiet_hours(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    await user.send("/reminders")
    view = await user.wait_reply()
    assert "Deadlines within 24 hours always reach you" in view.text
    assert "Quiet hours: 22:00–08:00 (Asia/Shanghai)" in view.text
    await user.press(view, "🔔 trainings")
    view = await user.wait_edit()
    assert "🔕 trainings" in view.button_texts
    await user.press(view, "no quiet hours")
    assert "Quiet hours: off." in (await user.wait_edit()).text
    async with db() as session:
        prefs = await rq.settings_of(session, (await account_of(db, "李强")).id)
    assert prefs.muted == ["training"] and (prefs.quiet_start, prefs.quiet_end) == (0, 0)
    # Members get no digest, so they are not offered its settings, and forged data does nothing.
    assert "Weekly digest" not in view.text and "Digest day: Monday" not in view.button_texts
    await user.press_data(view.message_id, "rem:d:3")
    await user.press_data(view.message_id, "rem:t:nonsense")
    await user.expect_no_reply()
    async with db() as session:
        prefs = await rq.settings_of(session, (await account_of(db, "李强")).id)
    assert prefs.digest_weekday is None and prefs.muted == ["training"]

    # A secretary moves the digest to Tuesday at ten.
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    await secretary.send("/reminders")
    view = await secretary.wait_reply()
    assert "Weekly digest: Monday at 09:00." in view.text
    await secretary.press(view, "Digest time: 09:00")
    view = await secretary.wait_edit()
    assert "Weekly digest: Monday at 10:00." in view.text
    await secretary.press(view, "Digest day: Monday")
    assert "Weekly digest: Tuesday at 10:00." in (await secretary.wait_edit()).text
    async with db() as session:
        prefs = await rq.settings_of(session, (await account_of(db, "王芳")).id)
    assert (prefs.digest_weekday, prefs.digest_hour) == (2, 10)


async def test_admin_invites_only_part_of_the_organisation(
    bot_at: ZhibuApp, clock: Clock, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    members = {
        name: await client.user(demo[name].telegram_id, name, language_code="en")
        for name in ("李强", "杨磊")
    }
    await admin.send("/training")
    await admin.press(await admin.wait_reply(), "➕ New training")
    await admin.wait_edit()
    await admin.send("Branch study day")
    await admin.wait_reply()
    await admin.send("2026-11-28 09:30")
    await admin.wait_reply()
    await admin.send("https://meeting.example/abc")
    await admin.wait_reply()
    await admin.send("DEMO-B1")
    choices = await admin.wait_reply()
    await admin.press(choices, "DEMO-B1 First Party Branch")
    audiences = await admin.wait_edit()
    assert "Who in First Party Branch is invited?" in audiences.text
    await admin.press(audiences, "everyone in the organisation")
    await admin.press(await admin.wait_edit(), "rotation training")
    await admin.press(await admin.wait_edit(), "Schedule")
    assert "4 people invited" in (await admin.wait_edit()).text
    invitation = await members["李强"].wait_reply()
    assert "Branch study day" in invitation.text and "Nov 28, 2026 9:30" in invitation.text
    await members["杨磊"].expect_no_reply()


async def test_a_draft_left_open_past_its_start_time_asks_for_the_time_again(
    bot_at: ZhibuApp, clock: Clock, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    summary = await _compose(admin, "Evening class", "11-20 19:00", "Room 2")
    clock.set(at("2026-11-20 19:30"))
    await admin.press(summary, "Schedule")
    again = (await admin.wait_edit()).text
    assert "future date and time" in again and "When does it start?" in again
    await admin.send("11-27 19:00")
    assert "Where is it?" in (await admin.wait_reply()).text


async def test_admin_cancels_a_training_and_those_invited_are_told_once(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    secretaries = {
        name: await client.user(demo[name].telegram_id, name, language_code="zh-hans")
        for name in SECRETARIES
    }
    await admin.press(await _compose(admin, "Party history", "11-25 14:00", "Room 301"), "Schedule")
    assert "3 people invited" in (await admin.wait_edit()).text
    invitations = {name: await user.wait_reply() for name, user in secretaries.items()}
    await secretaries["王芳"].press(invitations["王芳"], "我会参加")
    await secretaries["王芳"].wait_edit()
    await secretaries["陈静"].press(invitations["陈静"], "我无法参加")
    await secretaries["陈静"].wait_edit()

    await admin.send("/training")
    menu = await admin.wait_reply()
    await admin.press(menu, next(b for b in menu.button_texts if "Party history" in b))
    view = await admin.wait_edit()
    # Asked first; "keep it" changes nothing.
    await admin.press(view, "Cancel this training")
    question = await admin.wait_edit()
    assert "Cancel the training “Party history”" in question.text
    assert "cannot be undone" in question.text
    await admin.press(question, "No, keep it")
    view = await admin.wait_edit()
    assert "Cancel this training" in view.button_texts
    await admin.press(view, "Cancel this training")
    await admin.press(await admin.wait_edit(), "Yes, cancel the training")
    done = await admin.wait_edit()
    # Told: the one who accepted and the one who did not answer; not the one who declined.
    assert "Cancelled: “Party history”" in done.text and "2 people will be told" in done.text
    for name in ("王芳", "周涛"):
        notice = await secretaries[name].wait_reply()
        assert "已取消：培训“Party history”" in notice.text and "不再举行" in notice.text
        assert notice.button_texts == []
    await secretaries["陈静"].expect_no_reply()
    # The old invitation's buttons are closed, and no reminder follows.
    update_id = await secretaries["周涛"].press(invitations["周涛"], "我会参加")
    assert "此邀请已失效" in (await secretaries["周涛"].callback_answer(update_id))["text"]
    engine = _engine(bot_at)
    clock.set(at("2026-11-24 14:00"))
    await engine.plan()
    assert (await engine.tick()).messages == 0
    # Gone from the menu; the stale confirmation button and a forged one are refused.
    await admin.send("/training")
    assert not any("Party history" in b for b in (await admin.wait_reply()).button_texts)
    update_id = await admin.press_data(done, "trn:cy:1")
    assert "can no longer be cancelled" in (await admin.callback_answer(update_id))["text"]
    update_id = await secretaries["王芳"].press_data(invitations["王芳"], "trn:cy:1")
    refusal = await secretaries["王芳"].callback_answer(update_id)
    assert "您的角色无权进行此操作" in refusal["text"]
    async with db() as session:
        training = await tq.training_by_id(session, 1)
    assert training is not None and training.cancelled_at is not None


async def test_declining_after_reminders_were_planned_withdraws_them(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    chen = await client.user(demo["陈静"].telegram_id, "陈静", language_code="zh-hans")
    others = [
        await client.user(demo[name].telegram_id, name, language_code="zh-hans")
        for name in ("王芳", "周涛")
    ]
    await admin.press(await _compose(admin, "Party history", "11-25 14:00", "Room 301"), "Schedule")
    await admin.wait_edit()
    invitation = await chen.wait_reply()
    for user in others:
        await user.wait_reply()
    engine = _engine(bot_at)
    # The planner plans what falls due soon: an hour before the day-before reminder.
    clock.set(at("2026-11-24 13:00"))
    await engine.plan()
    chen_account = (await account_of(db, "陈静")).id

    async def pending_for_chen() -> int:
        async with db() as session:
            return (
                await session.scalar(
                    select(func.count())
                    .select_from(Reminder)
                    .where(
                        Reminder.account_id == chen_account,
                        Reminder.subject == "trn:1",
                        Reminder.state == ReminderState.PENDING,
                    )
                )
                or 0
            )

    assert await pending_for_chen() > 0
    await chen.press(invitation, "我无法参加")
    assert "您不参加" in (await chen.wait_edit()).text
    assert await pending_for_chen() == 0
    # The day before, without planning again: only those still coming are reminded.
    clock.set(at("2026-11-24 14:00"))
    assert (await engine.tick()).messages == 2
    await chen.expect_no_reply()


async def test_the_admins_training_list_comes_in_pages(
    bot_at: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    async with db.begin() as session:
        org = await queries.org_by_code(session, "DEMO")
        assert org is not None
        for day in range(1, 11):
            await tq.add_training(
                session,
                org=org,
                kind=TrainingKind.ROTATION,
                audience=TrainingAudience.SECRETARIES,
                title=f"Session {day}",
                place="Room 1",
                starts_at=at(f"2026-12-{day:02d} 09:00"),
                created_by=None,
            )
    await admin.send("/training")
    first = await admin.wait_reply()
    assert "page 1 of 2" in first.text
    # Soonest first, eight to a page after "New training", and a way to the later ones.
    assert first.button_texts[0] == "➕ New training"
    assert [b.partition("\u202fAM ")[2] for b in first.button_texts[1:9]] == [
        f"Session {d}" for d in range(1, 9)
    ]
    assert first.button_texts[-1] == "Later ›"
    await admin.press(first, "Later ›")
    second = await admin.wait_edit()
    assert "page 2 of 2" in second.text
    assert [b.partition("\u202fAM ")[2] for b in second.button_texts[1:3]] == [
        "Session 9",
        "Session 10",
    ]
    assert second.button_texts[-1] == "‹ Earlier"
    await admin.press(second, next(b for b in second.button_texts if "Session 10" in b))
    assert "Session 10" in (await admin.wait_edit()).text
    # A page that does not exist (a forged one) shows the last there is, of the admin's own.
    await admin.send("/training")
    await admin.press_data(await admin.wait_reply(), "trn:m:9")
    assert "page 2 of 2" in (await admin.wait_edit()).text
    # Someone without the role cannot page through it.
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    await member.send("/training")
    record = await member.wait_reply()
    update_id = await member.press_data(record, "trn:m:1")
    assert "not available" in (await member.callback_answer(update_id))["text"]
