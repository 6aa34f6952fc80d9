"""/cancel: leave the current conversation and forget its draft."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.conversation import Flow
from handlers.common import answer, sender


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
