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

# TEMPORARY, while issue 16 converts them to Flow.step: each name goes as its conversation is.
NOT_YET_STEPS = {
    "activity",
    "grading_answer",
    "grading_start",
    "grading_survey",
    "grading_rectify",
    "relink",
    "relink_review",
    "relink_act",
    "grading_superior",
}


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
    if isinstance(handler, MessageHandler):
        return {"update_id": update_id, "message": {**message, "text": "12"}}
    return None


def _collect() -> list[Any]:
    """(conversation, state, handler index) for every handler, from a freshly built app."""
    application = (
        ApplicationBuilder()
        .token("1:X")
        .context_types(ContextTypes(context=BotContext))
        .updater(None)
        .persistence(DictPersistence())
        .build()
    )
    add_handlers(application)  # type: ignore[arg-type]
    found = []
    for conversation in _conversations(application):  # type: ignore[arg-type]
        for index, (state, _) in enumerate(_handlers(conversation)):
            name = str(conversation.name)
            marks = []
            if name in NOT_YET_STEPS:
                marks.append(pytest.mark.skip(reason=f"{name} is not Flow steps yet (issue 16)"))
            found.append(pytest.param(name, state, index, marks=marks))
    return found


@pytest.mark.parametrize(("name", "state", "index"), _collect())
async def test_a_redelivered_update_changes_nothing_and_sends_nothing(
    name: str,
    state: str,
    index: int,
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    conversation = next(c for c in _conversations(bot) if c.name == name)
    handler = list(_handlers(conversation))[index][1]
    callback = getattr(handler, "callback", None)
    assert getattr(callback, "flow_step", None) is not None, (
        f"{name}/{state}: {callback!r} is not a Flow.step, so it can skip the redelivery check"
    )
    admin = demo["林书记"]
    fake = await client.user(admin.telegram_id, admin.name, language_code="en")
    user = {"id": fake.user_id, "is_bot": False, "first_name": admin.name}
    payload = _update_for(handler, user, update_id=4242)
    assert payload is not None, f"{name}/{state}: no update can be built for {handler!r}"
    update = Update.de_json(payload, bot.bot)
    assert handler.check_update(update), f"{name}/{state}: the built update is not accepted"
    stored_state = "entry" if state in ("entry", "fallback") else state
    async with db.begin() as session:
        await queries.save_conversation(
            session,
            name=name,
            chat_id=fake.chat_id,
            user_id=fake.user_id,
            state=stored_state,
            data={"marker": 1},
            recent_updates=[4242],
        )
    sent_before = len(await fake.messages())
    context = BotContext.from_update(update, bot)
    await callback(update, context)
    async with db() as session:
        record = await queries.load_conversation(
            session, name=name, chat_id=fake.chat_id, user_id=fake.user_id
        )
    assert record is not None, f"{name}/{state}: the draft was removed by a redelivery"
    assert (record.state, record.data, record.recent_updates) == (
        stored_state,
        {"marker": 1},
        [4242],
    )
    assert len(await fake.messages()) == sent_before
