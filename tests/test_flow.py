"""The conversation step primitive: redelivery, update ids that restart, refusals that roll back."""

from __future__ import annotations

from telegram import Update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import Role
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from storage import queries
from storage.db import SessionFactory
from tests.support.registration import agree_to_privacy, make_invite


async def _member_invite(db: SessionFactory) -> str:
    return await make_invite(db, Role.MEMBER, "DEMO-B2")


async def _draft(db: SessionFactory, user_id: int) -> tuple[str, dict[str, object], list[int]]:
    async with db() as session:
        record = await queries.load_conversation(
            session, name="register", chat_id=user_id, user_id=user_id
        )
        assert record is not None
        return record.state, dict(record.data), list(record.recent_updates)


async def _deliver(bot: ZhibuApp, payload: dict[str, object]) -> None:
    """Hand the application an update as Telegram would deliver it, and wait until handled."""
    await bot.process_update(Update.de_json(payload, bot.bot))


async def test_a_redelivered_step_is_ignored_and_an_update_id_lower_than_before_is_not(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    code = await _member_invite(db)
    user = await client.user(42, "Xu", language_code="en")
    await user.send(f"/start {code}")
    await agree_to_privacy(user)
    await user.wait_reply()
    name_update = await user.send("Xu Wen")
    assert "phone" in (await user.wait_reply()).text
    before = await _draft(db, 42)

    # The bot died before Telegram learnt the name was handled: the same update comes again.
    sent = len(await user.messages())
    await _deliver(bot, telegram.updates_by_id[name_update])
    assert await _draft(db, 42) == before
    assert len(await user.messages()) == sent

    # After a quiet week Telegram's ids start again from a random, lower value: still new.
    phone = {**telegram.updates_by_id[name_update], "update_id": 1}
    phone["message"] = {**phone["message"], "text": "+86 138 0000 0000", "message_id": 999}
    await _deliver(bot, phone)
    assert "Welcome, Xu Wen" in (await user.wait_reply()).text


async def test_a_refused_step_changes_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = demo["王芳"]
    user = await client.user(secretary.telegram_id, secretary.name, language_code="en")
    await user.send("/invite")
    roles = await user.wait_reply()
    async with db() as session:
        record = await queries.load_conversation(
            session, name="invite", chat_id=user.chat_id, user_id=user.user_id
        )
        before = None if record is None else (record.state, dict(record.data))
    # A forged button for a role above the secretary's own, pressed on the real question.
    update_id = await user.press_data(roles, "inv:role:admin")
    answer = await user.callback_answer(update_id)
    assert answer is not None and "within your own scope" in answer["text"]
    async with db() as session:
        record = await queries.load_conversation(
            session, name="invite", chat_id=user.chat_id, user_id=user.user_id
        )
        after = None if record is None else (record.state, dict(record.data))
    assert after == before
