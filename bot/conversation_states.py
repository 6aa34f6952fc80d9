"""The drafts are the truth: before each update, its conversations' states come from the database.

PTB keeps every ConversationHandler's states in memory and reads them from the persistence only
at start-up, so a process would not know of a step another process answered, nor of a draft
that was ended meanwhile (access taken away, retention). So before an update is handled, in the
chat's turn, the stored states of its chat and user are read (one query for every persistent
conversation) and put into each handler, replacing whatever the process remembered.

This also replaces PTB's `conversation_timeout`, whose timer lives in the one process that
answered last and would end a conversation another process had continued: a conversation with
an idle limit (`Flow(name, idle=...)`) whose draft is older than that is over, as if its timer
had fired; the draft is deleted and the update goes where it would go outside the conversation.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler
from telegram.ext._utils.trackingdict import TrackingDict

from bot import clock
from storage import queries
from storage.db import SessionFactory

log = logging.getLogger(__name__)


def expired(updated_at: dt.datetime, idle: dt.timedelta | None, now: dt.datetime) -> bool:
    """Whether a draft last written at `updated_at` has outlived its conversation's idle limit."""
    return idle is not None and updated_at < now - idle


class ConversationStates:
    """Loads the stored conversation states of an update's chat and user into PTB's handlers."""

    def __init__(
        self,
        db: SessionFactory,
        handlers: Iterable[ConversationHandler[Any]],
        idle: Mapping[str, dt.timedelta],
    ) -> None:
        self._db = db
        self._handlers = {h.name: h for h in handlers if h.persistent and h.name}
        self._idle = dict(idle)

    async def __call__(self, update: object) -> None:
        """Put the stored states of the update's (chat, user) into every conversation."""
        if not isinstance(update, Update) or not self._handlers:
            return
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        states = await self._stored(chat.id, user.id)
        key = (chat.id, user.id)
        for name, handler in self._handlers.items():
            # PTB's own dictionary: written without marking it changed, so PTB does not
            # report these states back to the persistence as if a handler had set them.
            conversations: Any = handler._conversations
            state = states.get(name)
            if isinstance(conversations, TrackingDict):
                if state is None:
                    conversations.data.pop(key, None)
                else:
                    conversations.update_no_track({key: state})
            elif state is None:
                conversations.pop(key, None)
            else:
                conversations[key] = state

    async def _stored(self, chat_id: int, user_id: int) -> dict[str, str]:
        now = clock.now()  # the clock the drafts' updated_at is written with
        states: dict[str, str] = {}
        async with self._db.begin() as session:
            records = await queries.conversations_of(
                session, names=list(self._handlers), chat_id=chat_id, user_id=user_id
            )
            for record in records:
                if expired(record.updated_at, self._idle.get(record.name), now):
                    log.info("conversation %s of chat %s ended: idle", record.name, chat_id)
                    await queries.end_conversation(
                        session, name=record.name, chat_id=chat_id, user_id=user_id
                    )
                else:
                    states[record.name] = record.state
        return states
