"""Meetings against the calendar's rules: a committee meeting without a quorum is saved,
flagged and not counted; a cancelled meeting withdraws its reminders and says so once; a
meeting logged by hand is recognised, not counted twice; a mobile member attends remotely."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import PersonStatus, ReminderState, Role, Rsvp
from bot.fake_telegram import FakeTelegramClient, FakeUser
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from storage.db import SessionFactory
from storage.models_activity import Activity
from storage.models_meetings import Meeting, MeetingInvitee
from storage.models_reminders import Reminder
from tests.support.meetings import add_members, call_meeting, grant, has, until
from tests.support.reminders import Clock, at


async def _remind(application: ZhibuApp) -> int:
    engine: ReminderEngine = application.bot_data[REMINDERS_KEY]
    await engine.plan()
    return (await engine.tick()).messages


async def _users(client: FakeTelegramClient, people: dict[str, int]) -> dict[str, FakeUser]:
    return {name: await client.user(tid, name, language_code="en") for name, tid in people.items()}


async def test_a_committee_meeting_of_2_of_5_is_saved_flagged_and_not_counted(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await add_members(db, "DEMO-B2", [("委员甲", 920001, "en"), ("委员乙", 920002, "en")])
    for name in ("杨磊", "赵敏", "委员甲", "委员乙"):
        await grant(db, name, "DEMO-B2", Role.COMMITTEE)
    ids = {name: demo[name].telegram_id for name in ("陈静", "杨磊", "赵敏")}
    users = await _users(client, {**ids, "委员甲": 920001, "委员乙": 920002})
    secretary = users["陈静"]
    preview = await call_meeting(
        secretary,
        kinds=("committee_meeting",),
        when="11-24 19:00",
        place="https://meeting.example.org/b2",
        agenda="发展对象",
        audience="committee",
        reason=False,
    )
    assert "Invited: 5 (the branch committee)." in preview.text
    await secretary.press(preview, data="meet:send")
    await secretary.wait_edit()
    invitations = {
        name: await until(user, has("invited to a meeting"), edits=False)
        for name, user in users.items()
    }
    clock.set(at("2026-11-24 18:45"))
    for name in ("陈静", "杨磊"):
        await users[name].press(invitations[name], data="mt:here:1")
        await users[name].wait_edit()
    clock.set(at("2026-11-24 21:30"))
    assert await _remind(bot_at) >= 1
    prompt = await until(secretary, has("Log this meeting?"), edits=False)
    await secretary.press(prompt, data="mt:log:1")
    summary = await until(secretary, has("Quorum: 2 of 5 committee members present"))
    assert "not more than half" in summary.text
    await secretary.press(summary, data="lg:save")
    await until(secretary, has("Without a quorum: it does not count as done in /due"))

    async with db() as session:
        activity = await session.scalar(select(Activity))
    assert activity is not None and activity.quorum == {"committee_meeting": [2, 5]}
    await secretary.send("/due")
    due = await secretary.wait_reply()
    line = next(line for line in due.text.splitlines() if "branch committee meeting" in line)
    assert "done" not in line
    assert "not counted, no quorum: Nov 24, 2026 (more than half of the committee" in due.text
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    await secretary.press(listing, data=f"ac:v:{activity.id}:0")
    await until(secretary, has("❗ Quorum: 2 of 5 committee members present"))


async def test_a_cancelled_meeting_withdraws_its_reminders_and_says_so_once(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    names = ("周涛", "吴军", "孙丽", "马超", "胡婷")
    users = await _users(client, {name: demo[name].telegram_id for name in names})
    secretary = users["周涛"]
    preview = await call_meeting(
        secretary,
        kinds=("lecture",),
        when="2026-11-25 14:00",
        place="Room 5",
        agenda="党史",
        reason=False,
    )
    await secretary.press(preview, data="meet:send")
    card = await secretary.wait_edit()
    invitations = {
        name: await until(user, has("invited to a meeting"), edits=False)
        for name, user in users.items()
    }
    await users["吴军"].press(invitations["吴军"], data="mt:y:1")
    await users["吴军"].wait_edit()
    # The day before, the reminders are planned (none due yet)...
    clock.set(at("2026-11-24 10:00"))
    assert await _remind(bot_at) == 0
    async with db() as session:
        planned = await session.scalar(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.subject.like("meet:1:%"), Reminder.state == ReminderState.PENDING)
        )
    assert planned and planned >= 5
    # ... and the meeting is called off: everyone told once, nothing else ever comes.
    await secretary.press(card, data="mt:x:1")
    confirm = await until(secretary, has("Call off meeting #1"), edits=False)
    await secretary.press(confirm, data="mt:xy:1:1")
    assert (
        "Cancelled; 5 people who got the invitation are told."
        in (await until(secretary, has("Cancelled;"))).text
    )
    for user in users.values():
        await until(user, has("Cancelled: the Party lecture"), edits=False)
    for moment in ("2026-11-24 14:30", "2026-11-25 13:30", "2026-11-25 17:00"):
        clock.set(at(moment))
        assert await _remind(bot_at) == 0
    async with db() as session:
        states = dict(
            (
                await session.execute(
                    select(Reminder.state, func.count())
                    .where(Reminder.subject.like("meet:1:%"))
                    .group_by(Reminder.state)
                )
            ).all()
        )
    assert ReminderState.PENDING not in states and states[ReminderState.CANCELLED] >= 5
    for user in users.values():
        assert sum("Cancelled:" in m.text for m in await user.messages()) == 1
    # Answers after the cancellation are refused and change nothing.
    update_id = await users["孙丽"].press_data(invitations["孙丽"], "mt:y:1")
    answer = await users["孙丽"].callback_answer(update_id)
    assert "cancelled" in answer["text"]
    async with db() as session:
        answers = list(await session.scalars(select(MeetingInvitee.rsvp)))
    assert answers.count(Rsvp.YES) == 1


async def test_a_meeting_logged_by_hand_is_recognised_not_doubled(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await add_members(
        db, "DEMO-B1", [("流动甲", 930001, "en")], status={"流动甲": PersonStatus.MOBILE}
    )
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    mobile = await client.user(930001, "流动甲", language_code="en")
    preview = await call_meeting(
        secretary,
        kinds=("themed_day",),
        when="2026-11-22 09:00",
        place="Park",
        agenda="Volunteering",
        reason=False,
    )
    await secretary.press(preview, data="meet:send")
    await secretary.wait_edit()
    invitation = await until(mobile, has("invited to a meeting"), edits=False)
    assert "As a mobile member you may attend remotely." in invitation.text
    await mobile.press(invitation, "🌐 Attending remotely")
    assert "Your reply: attending remotely" in (await mobile.wait_edit()).text

    clock.set(at("2026-11-22 10:00"))
    await secretary.send("主题党日 今天 4/5 议题：志愿服务")
    summary = await until(secretary, has("Please check the activity"))
    await secretary.press(summary, data="lg:save")
    saved = await until(secretary, has("It is the meeting #1 called with /meet"))
    # The prompt to log it never comes; its button (from the card) says where it went.
    clock.set(at("2026-11-22 11:30"))
    await _remind(bot_at)
    await secretary.press_data(saved, "mt:log:1")
    await until(secretary, has("already logged as activity #1"))
    # Logging it again by hand is not counted twice.
    await secretary.send("主题党日 今天 4/5 议题：志愿服务")
    summary = await until(secretary, has("Please check the activity"))
    update_id = await secretary.press(summary, data="lg:save")
    answer = await secretary.callback_answer(update_id)
    assert "already logged as activity #1" in answer["text"]
    async with db() as session:
        count = await session.scalar(select(func.count()).select_from(Activity))
        meeting = await session.scalar(select(Meeting))
    assert count == 1 and meeting is not None and meeting.activity_id == 1
    assert not any("Log this meeting?" in m.text for m in await secretary.messages())
