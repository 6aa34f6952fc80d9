"""The drafts are the truth: any process continues any conversation, and idle ones end.

Two applications on one database play two bot processes: each reads the conversation states
of an update from the database before handling it, so what one process remembers from earlier
never wins over a step the other answered since. PTB's conversation_timeout (a timer in one
process) is replaced by the draft's idle limit, judged when the next update comes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from telegram.ext import ConversationHandler

from bot.app import build_application
from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from handlers.flow import idle_limits
from storage import queries
from storage.db import SessionFactory
from storage.models import ConversationRecord
from tests.support import grading
from tests.support.bot import running_bot


async def test_a_conversation_goes_on_in_whichever_process_gets_the_next_step(
    settings: Settings, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    async with running_bot(settings) as first:
        await secretary.send("/invite")
        roles = await secretary.wait_reply()
        assert first.updater is not None
        await first.updater.stop()  # the first process stays, its memory at "role"
        async with running_bot(settings):
            await secretary.press(roles, "member")
            uses = await secretary.wait_edit()
            assert uses.button_texts[0] == "1"
        await first.updater.start_polling(poll_interval=0.0, timeout=1)
        # The first process must take this press in the state the second one left.
        await secretary.press(uses, "5")
        expiry = await secretary.wait_edit()
        assert "7 days" in expiry.button_texts
        await secretary.press(expiry, "7 days")
        assert "Invite created" in (await secretary.wait_edit()).text


async def test_a_conversation_ended_elsewhere_is_over_here_too(
    settings: Settings, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    async with running_bot(settings):
        await secretary.send("/invite")
        roles = await secretary.wait_reply()
        async with db.begin() as session:  # e.g. the retention purge, or another process
            await queries.end_conversations_of(session, secretary.user_id)
        update_id = await secretary.press(roles, "member")
        assert "no longer active" in (await secretary.callback_answer(update_id))["text"]


async def _age_draft(db: SessionFactory, name: str, minutes: int) -> None:
    async with db.begin() as session:
        await session.execute(
            update(ConversationRecord)
            .where(ConversationRecord.name == name)
            .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes))
        )


async def test_an_idle_grading_questionnaire_ends_after_30_minutes_in_any_process(
    settings: Settings, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    secretary = await client.user(demo["陈静"].telegram_id, "陈静", language_code="zh-hans")
    async with running_bot(settings):
        await secretary.send("/grade")
        card = await secretary.wait_reply()
        await secretary.press(card, "填写自评表")
        question = await secretary.wait_reply()
        await secretary.press(question, "是")
        question = await secretary.wait_edit()
        await secretary.press(question, "部分")
        question = await secretary.wait_edit()
        assert " 3/27" in question.text and "请输入数字" in question.text
        # 29 minutes idle: still open, the number is the answer.
        await _age_draft(db, "grading_answer", 29)
        await secretary.send("60")
        question = await secretary.wait_reply()
        assert " 4/27" in question.text
        # 31 minutes idle: over, and the typed text is not taken as an answer.
        await _age_draft(db, "grading_answer", 31)
        await secretary.send("70")
        reply = await secretary.wait_reply()
        assert "/27" not in reply.text
    async with db() as session:
        assert (
            await queries.load_conversation(
                session, name="grading_answer", chat_id=secretary.user_id, user_id=secretary.user_id
            )
            is None
        )
    row = await grading.assessment(db, campaign_id, "DEMO-B2")
    assert row.answers == {
        "leader-committee": "yes",
        "leader-training": "partly",
        "leader-study": 60,
    }


def test_no_conversation_keeps_a_timer_of_its_own(settings: Settings) -> None:
    # PTB's conversation_timeout would end a conversation in the process that answered last,
    # whichever process has continued it since: idle limits belong on the Flow.
    application = build_application(settings)
    conversations = [
        handler
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, ConversationHandler)
    ]
    assert conversations
    timed = [c.name for c in conversations if c.conversation_timeout is not None]
    assert timed == []
    assert {c.name for c in conversations} >= set(idle_limits())
