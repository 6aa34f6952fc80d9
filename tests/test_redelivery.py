"""Every step of every conversation ignores an update it has already applied.

The conversations are discovered from the application, so a new one is covered without
being named here. For each handler of each conversation (entry points, states, fallbacks) an
update it accepts is built; the draft is stored in that handler's state as if the update had
already been applied (a crash before Telegram learnt so); the update is delivered again: the
handler must send nothing and leave the draft as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    DictPersistence,
    MessageHandler,
)

from bot.app import ZhibuApp, add_handlers
from bot.context import BotContext
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from handlers.buttons import Button
from storage import queries
from storage.db import SessionFactory


def _conversations(application: ZhibuApp) -> Iterator[ConversationHandler[Any]]:
    for group in application.handlers.values():
        for handler in group:
            if isinstance(handler, ConversationHandler):
                yield handler


def _handlers(
    conversation: ConversationHandler[Any],
) -> Iterator[tuple[str, BaseHandler[Any, Any, Any]]]:
    for handler in conversation.entry_points:
        yield "entry", handler
    for state, handlers in conversation.states.items():
        for handler in handlers:
            yield str(state), handler
    for handler in conversation.fallbacks:
        yield "fallback", handler


def _sample_callback_data(pattern: re.Pattern[str] | str | object) -> str | None:
    """Callback data the handler accepts: a button family's example, or None."""
    text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    for family in Button.registry.values():
        if family.pattern == text:
            return family.example().data
    if isinstance(text, str) and text.startswith("^") and text.endswith(":"):
        # A conversation's fallback for its own stale buttons (`^prefix:`).
        return text[1:] + "x"
    return None


# What a MessageHandler may take: any text, a quick log (the activity conversation's entry),
# a photo, a document.
SAMPLE_MESSAGES: tuple[dict[str, Any], ...] = (
    {"text": "12"},
    {"text": "committee meeting today 3/4 topic: study"},
    {"photo": [{"file_id": "p1", "file_unique_id": "p1", "width": 1, "height": 1}]},
    {"document": {"file_id": "d1", "file_unique_id": "d1", "file_name": "a.txt"}},
)


def _updates_for(
    handler: BaseHandler[Any, Any, Any], user: dict[str, Any], update_id: int
) -> list[dict[str, Any]]:
    """Updates to try on the handler (it must accept one of them)."""
    if isinstance(handler, MessageHandler):
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        message = {"message_id": 77, "date": 0, "chat": chat, "from": user}
        return [{"update_id": update_id, "message": message | m} for m in SAMPLE_MESSAGES]
    payload = _update_for(handler, user, update_id)
    return [] if payload is None else [payload]


def _update_for(
    handler: BaseHandler[Any, Any, Any], user: dict[str, Any], update_id: int
) -> dict[str, Any] | None:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    message = {"message_id": 77, "date": 0, "chat": chat, "from": user}
    if isinstance(handler, CallbackQueryHandler):
        data = _sample_callback_data(handler.pattern)
        if data is None:
            return None
        query = {
            "id": "q1",
            "from": user,
            "chat_instance": "c1",
            "data": data,
            "message": {**message, "from": {"id": 1, "is_bot": True, "first_name": "Zhibu"}},
        }
        return {"update_id": update_id, "callback_query": query}
    if isinstance(handler, CommandHandler):
        command = sorted(handler.commands)[0]
        text = f"/{command}"
        entity = {"type": "bot_command", "offset": 0, "length": len(text)}
        return {
            "update_id": update_id,
            "message": {**message, "text": text, "entities": [entity]},
        }
    return None


def _conversation_names() -> list[str]:
    """Every conversation of a freshly built application (one test case each)."""
    application = (
        ApplicationBuilder()
        .token("1:X")
        .context_types(ContextTypes(context=BotContext))
        .updater(None)
        .persistence(DictPersistence())
        .build()
    )
    add_handlers(application)  # type: ignore[arg-type]
    return [str(c.name) for c in _conversations(application)]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", _conversation_names())
async def test_a_redelivered_update_changes_nothing_and_sends_nothing(
    name: str,
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    conversation = next(c for c in _conversations(bot) if c.name == name)
    admin = demo["林书记"]
    fake = await client.user(admin.telegram_id, admin.name, language_code="en")
    user = {"id": fake.user_id, "is_bot": False, "first_name": admin.name}
    # Every handler of the conversation, one after the other on one bot: each gets its own
    # update id, and a draft that has already applied it.
    for index, (state, handler) in enumerate(_handlers(conversation)):
        where = f"{name}/{state} #{index}"
        callback = getattr(handler, "callback", None)
        assert getattr(callback, "flow_step", None) is not None, (
            f"{where}: {callback!r} is not a Flow.step, so it can skip the redelivery check"
        )
        update_id = 4242 + index
        candidates = [Update.de_json(p, bot.bot) for p in _updates_for(handler, user, update_id)]
        update = next((u for u in candidates if handler.check_update(u)), None)
        assert update is not None, f"{where}: no update it accepts can be built for {handler!r}"
        stored_state = "entry" if state in ("entry", "fallback") else state
        async with db.begin() as session:
            await queries.save_conversation(
                session,
                name=name,
                chat_id=fake.chat_id,
                user_id=fake.user_id,
                state=stored_state,
                data={"marker": index},
                recent_updates=[update_id],
            )
        sent_before = len(await fake.messages())
        await callback(update, BotContext.from_update(update, bot))
        async with db() as session:
            record = await queries.load_conversation(
                session, name=name, chat_id=fake.chat_id, user_id=fake.user_id
            )
        assert record is not None, f"{where}: the draft was removed by a redelivery"
        assert (record.state, record.data, record.recent_updates) == (
            stored_state,
            {"marker": index},
            [update_id],
        ), where
        assert len(await fake.messages()) == sent_before, where
