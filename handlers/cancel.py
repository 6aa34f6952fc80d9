"""/cancel: leave the current conversation and forget its draft."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.conversation import Flow
from handlers.common import answer, in_conversation_fallbacks, sender


def cancel_for(flow: Flow) -> Callable[[Update, BotContext], Coroutine[Any, Any, int | None]]:
    """A /cancel fallback for one conversation."""

    @sender()
    async def cancel(update: Update, context: BotContext) -> int:
        async with context.db.begin() as session:
            await flow.end(session, update)
        await answer(update, context, context._("Cancelled. Nothing was saved."))
        return ConversationHandler.END

    return cancel


@sender()
async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    """/cancel outside any conversation."""
    await answer(update, context, context._("There is nothing to cancel."))


def conversation_fallbacks(
    flow: Flow,
    reprompt: Callable[[Update, BotContext], Coroutine[Any, Any, None]],
    *,
    button_prefix: str | None,
) -> list[BaseHandler[Update, BotContext, Any]]:
    """The usual fallbacks of a conversation: /cancel, odd input answered with the question
    again, and stale buttons of this flow only (with a button_prefix) — other features'
    buttons (such as /lang's) must still reach their own handlers while it is open."""
    fallbacks: list[BaseHandler[Update, BotContext, Any]] = [
        CommandHandler("cancel", cancel_for(flow)),
        MessageHandler(~filters.COMMAND, in_conversation_fallbacks(reprompt)),
    ]
    if button_prefix is not None:
        pattern = rf"^{re.escape(button_prefix)}:"
        fallbacks.append(CallbackQueryHandler(in_conversation_fallbacks(reprompt), pattern=pattern))
    return fallbacks
