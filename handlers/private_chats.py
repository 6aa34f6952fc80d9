"""Zhibu works in private chats only: in a group or channel it says so once and leaves.

Its answers carry people's names, phones and membership, which a group would show to everyone
in it. So before any other handler (in a group of its own), an update from a chat that is not
private is stopped: no command answers there.
"""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.context import BotContext

log = logging.getLogger(__name__)

# Chats told in this process; the bot leaves them at once, so Telegram sends little more.
TOLD_KEY = "zhibu.told_private_only"
_GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


async def outside_private_chats(update: Update, context: BotContext) -> None:
    """Let private chats through; elsewhere say once that Zhibu works privately, and leave."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    told: set[int] = context.bot_data.setdefault(TOLD_KEY, set())
    change = update.my_chat_member
    if change is not None and change.new_chat_member.status in _GONE:
        told.discard(chat.id)  # left or removed: if added again, it says so again
        raise ApplicationHandlerStop
    if chat.id not in told:
        told.add(chat.id)
        await _say_and_leave(update, context, chat)
    raise ApplicationHandlerStop


async def _say_and_leave(update: Update, context: BotContext, chat: Chat) -> None:
    tr = context.translator_for_update(update)
    text = tr._(
        "Zhibu works only in private chats, so that what it shows about people stays between "
        "you and it. Please write to me directly: @{username}"
    ).format(username=context.bot.username)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(chat.id, text)
    except TelegramError as exc:  # a channel where it may not post, say
        log.warning("could not tell %s %s why Zhibu leaves: %s", chat.type, chat.id, exc)
    try:
        await context.bot.leave_chat(chat.id)
    except TelegramError as exc:
        log.warning("could not leave %s %s: %s", chat.type, chat.id, exc)
        return
    log.info("left %s %s: Zhibu works in private chats only", chat.type, chat.id)


def handler() -> TypeHandler[Update, BotContext, None]:
    """The check, in a group of its own before every other handler."""
    return TypeHandler(Update, outside_private_chats)
