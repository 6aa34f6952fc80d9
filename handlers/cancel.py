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
from handlers.common import SHORT_TEXT_LIMIT, answer, sender, stale_button_alert
from handlers.flow import Flow, State, Step


def cancel_for(flow: Flow) -> Callable[[Update, BotContext], Coroutine[Any, Any, State]]:
    """A /cancel fallback for one conversation."""

    @flow.step()
    async def cancel(update: Update, context: BotContext, step: Step) -> int:
        step.reply(context._("Cancelled. Nothing was saved."))
        return ConversationHandler.END

    return cancel


@sender()
async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    """/cancel outside any conversation."""
    await answer(update, context, context._("There is nothing to cancel."))


def odd_input_for(
    flow: Flow, reprompt: Callable[[Update, BotContext], Coroutine[Any, Any, None]]
) -> Callable[[Update, BotContext], Coroutine[Any, Any, State]]:
    """A conversation's answer to input its current step does not take: explain, repeat the
    question, keep the state and the answers."""

    @flow.step()
    async def odd_input(update: Update, context: BotContext, step: Step) -> None:
        if update.callback_query is not None:
            step.then(stale_button_alert)
            return
        message = update.effective_message
        too_long = message is not None and len(message.text or "") > SHORT_TEXT_LIMIT
        if too_long:
            step.reply(
                context._("That is too long (at most {limit} characters).").format(
                    limit=SHORT_TEXT_LIMIT
                )
            )
        else:
            step.reply(context._("That is not what I asked for."))
        step.then(reprompt)

    return odd_input


def conversation_fallbacks(
    flow: Flow,
    reprompt: Callable[[Update, BotContext], Coroutine[Any, Any, None]],
    *,
    button_prefix: str | None,
) -> list[BaseHandler[Update, BotContext, Any]]:
    """The usual fallbacks of a conversation: /cancel, odd input answered with the question
    again, and stale buttons of this flow only (with a button_prefix) — other features'
    buttons (such as /lang's) must still reach their own handlers while it is open."""
    odd_input = odd_input_for(flow, reprompt)
    fallbacks: list[BaseHandler[Update, BotContext, Any]] = [
        CommandHandler("cancel", cancel_for(flow)),
        MessageHandler(~filters.COMMAND, odd_input),
    ]
    if button_prefix is not None:
        pattern = rf"^{re.escape(button_prefix)}:"
        fallbacks.append(CallbackQueryHandler(odd_input, pattern=pattern))
    return fallbacks
