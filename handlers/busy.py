"""What the requester sees while a report or a document is being built: a chat action
("sending a photo", "sending a file"), repeated until it is sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

# Telegram shows a chat action for five seconds.
ACTION_SECONDS = 4.0


@contextlib.asynccontextmanager
async def showing(
    bot: Bot, chat_id: int, action: ChatAction = ChatAction.UPLOAD_DOCUMENT
) -> AsyncIterator[None]:
    """Show `action` in the chat until the block ends."""

    async def keep_showing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, action)
            await asyncio.sleep(ACTION_SECONDS)

    task = asyncio.create_task(keep_showing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
