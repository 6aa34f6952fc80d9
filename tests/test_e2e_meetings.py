"""End to end through the fake Bot API, in both languages: a secretary calls a meeting for 8
members; 5 accept, 2 can't attend and say why, 1 does not answer and is reminded once; the
meeting is moved once (everyone told, reminders planned anew); 5 sign in; the secretary's
"log this meeting?" opens a /log draft already filled in, saved with one confirmation; /due
shows the obligations done."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import ReminderState, Rsvp
from bot.fake_telegram import FakeTelegramClient, FakeUser
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from storage.db import SessionFactory
from storage.models import Account
from storage.models_activity import Activity
from storage.models_meetings import Meeting, MeetingInvitee
from storage.models_reminders import Reminder
from tests.support.meetings import add_members, call_meeting, has, until
from tests.support.reminders import Clock, at

SECRETARY = "王芳"
MEMBERS = ("李强", "张伟", "刘洋")
NEW = (("赵一", 910001), ("钱二", 910002), ("孙三", 910003), ("周四", 910004))

WORDS = {
    "en": {
        "invited": "You are invited to a meeting",
        "attending": "Your reply: attending",
        "absent": "Your reply: can't attend (sick leave)",
        "absent_work": "Your reply: can't attend (on duty at work)",
        "moved": "The meeting was moved",
        "ask": "you have not answered yet",
        "soon": "starts in one hour",
        "log": "Log this meeting?",
        "called": "Meeting #1 is called: 8 people invited.",
        "attend_card": "Attending (5)",
        "saved": "Saved:",
        "present": "5 present out of 8 expected",
        "done": "done on Nov 26, 2026",
    },
    "zh-hans": {
        "invited": "邀请您参加会议",
        "attending": "您的回复：参加",
        "absent": "您的回复：无法参加（病假）",
        "absent_work": "您的回复：无法参加（工作值班）",
        "moved": "会议已改期",
        "ask": "您还没有回复",
        "soon": "一小时后开始",
        "log": "要记录这次会议吗？",
        "called": "会议 #1 已召集：邀请了 8 人。",
        "attend_card": "参加（5）",
        "saved": "已保存：",
        "present": "应到 8 人，实到 5 人",
        "done": "已于 2026年11月26日 完成",
    },
}


def _engine(application: ZhibuApp) -> ReminderEngine:
    engine: ReminderEngine = application.bot_data[REMINDERS_KEY]
    return engine


async def _remind(application: ZhibuApp) -> int:
    engine = _engine(application)
    await engine.plan()
    return (await engine.tick()).messages


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_a_called_meeting_becomes_its_record(
    language: str,
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    words = WORDS[language]
    await add_members(db, "DEMO-B1", [(name, tid, language) for name, tid in NEW])
    people: dict[str, FakeUser] = {}
    for name in (SECRETARY, *MEMBERS):
        people[name] = await client.user(demo[name].telegram_id, name, language_code=language)
    for name, telegram_id in NEW:
        people[name] = await client.user(telegram_id, name, language_code=language)
    secretary = people[SECRETARY]
    # Everyone reads in the test's language (invitations go before anyone writes to the bot).
    async with db.begin() as session:
        await session.execute(update(Account).values(telegram_language=language))

    preview = await call_meeting(
        secretary,
        kinds=("general_meeting", "lecture"),
        when="2026-11-25 14:00",
        place="Room 301",
        agenda="学习党章 Party constitution",
        decides=False,
    )
    assert "Room 301" in preview.text
    await secretary.press(preview, data="meet:send")
    card = await secretary.wait_edit()
    assert words["called"] in card.text

    invitations = {}
    for name, user in people.items():
        invitations[name] = await until(user, has(words["invited"]), edits=False)
    accepting = [SECRETARY, "李强", "张伟", "赵一", "钱二"]
    for name in accepting:
        await people[name].press(invitations[name], data="mt:y:1")
        assert words["attending"] in (await people[name].wait_edit()).text
    # Two decline, each with their own reason.
    for name, reason, said in (("刘洋", "sick", "absent"), ("孙三", "work", "absent_work")):
        await people[name].press(invitations[name], data="mt:n:1")
        await people[name].wait_edit()
        await people[name].press(invitations[name], data=f"mt:why:1:{reason}")
        assert words[said] in (await people[name].wait_edit()).text
        note = await people[name].wait_reply()
        if name == "刘洋":
            await people[name].send("住院了")
            await people[name].wait_reply()
        else:
            await people[name].press(note, data="mt:nonote")
            await people[name].wait_edit()
    # The card follows the answers (edited, never sent again).
    shown = await until(secretary, has(words["attend_card"], "住院了"))
    assert shown.message_id == card.message_id and "周四" in shown.text

    # Moved once, before anyone is reminded: everyone told, in their language.
    await secretary.press(shown, data="mt:mv:1")
    await secretary.wait_reply()
    await secretary.send("2026-11-26 15:00")
    confirm = await secretary.wait_reply()
    await secretary.press(confirm, data="mt:mvy")
    moved = await until(secretary, lambda m: m.message_id == confirm.message_id)
    assert "8" in moved.text
    for user in people.values():
        await until(user, has(words["moved"]), edits=False)

    # A day before: only the one who did not answer is reminded, once.
    clock.set(at("2026-11-25 15:00"))
    assert await _remind(bot_at) == 1
    assert words["ask"] in (await until(people["周四"], has(words["ask"]), edits=False)).text
    assert await _remind(bot_at) == 0
    # An hour before: the five coming.
    clock.set(at("2026-11-26 14:00"))
    assert await _remind(bot_at) == 5
    for name in accepting:
        await until(people[name], has(words["soon"]), edits=False)

    # Sign-in: four press "I'm here", the secretary ticks the fifth.
    clock.set(at("2026-11-26 14:50"))
    for name in accepting[:4]:
        await people[name].press(invitations[name], data="mt:here:1")
        await people[name].wait_edit()
    await secretary.press(card, data="mt:chk:1:0")
    checklist = await until(
        secretary, lambda m: any("钱二" in b for b in m.button_texts), edits=False
    )
    label = next(b for b in checklist.button_texts if "钱二" in b)
    await secretary.press(checklist, label)
    ticked = await until(secretary, lambda m: m.message_id == checklist.message_id)
    assert any("✅" in b and "钱二" in b for b in ticked.button_texts)

    # Once sign-in closes, the secretary is asked to log it: one confirmation saves it.
    clock.set(at("2026-11-26 17:30"))
    assert await _remind(bot_at) >= 1
    prompt = await until(secretary, has(words["log"]), edits=False)
    await secretary.press(prompt, data="mt:log:1")
    summary = await until(secretary, has(words["present"]))
    assert "住院了" not in summary.text
    await secretary.press(summary, data="lg:save")
    await until(secretary, has(words["saved"]))

    async with db() as session:
        activity = await session.scalar(select(Activity))
        meeting = await session.scalar(select(Meeting))
        answers = list(await session.scalars(select(MeetingInvitee.rsvp)))
        pending = await session.scalar(
            select(Reminder.id).where(Reminder.state == ReminderState.PENDING)
        )
    assert activity is not None and meeting is not None
    assert meeting.activity_id == activity.id
    assert sorted(activity.kinds) == ["general_meeting", "lecture"]
    assert (activity.present, activity.expected) == (5, 8)
    reasons = {a["name"]: a["reason"] for a in activity.absences}
    assert reasons == {"刘洋": "sick", "孙三": "work", "周四": None}
    assert answers.count(Rsvp.YES) == 5 and pending is None

    await secretary.send("/due")
    due = await secretary.wait_reply()
    assert due.text.count(words["done"]) >= 2, due.text
