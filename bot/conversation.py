"""Crash-safe conversation steps: answers and the next state are committed before replying.

A step loads the stored draft, records the user's answer and the state it moves to in one
transaction, and only then sends the next question. A bot killed at any point therefore
restarts with the draft as the user last saw it, and an update delivered twice (the bot died
before Telegram learnt it was handled) is recognised by its update_id and not applied again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from storage import queries


@dataclass(slots=True)
class Draft:
    """A conversation's stored state and answers."""

    state: str | None
    data: dict[str, Any] = field(default_factory=dict)
    last_update_id: int = 0

    def seen(self, update: Update) -> bool:
        """True when this update was already applied (a redelivery after a crash)."""
        return update.update_id <= self.last_update_id


@dataclass(frozen=True, slots=True)
class Flow:
    """One persistent ConversationHandler's storage, keyed like PTB (chat, user)."""

    name: str

    @staticmethod
    def _key(update: Update) -> tuple[int, int]:
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or user is None:
            raise ValueError("conversation updates need a chat and a user")
        return chat.id, user.id

    async def load(self, session: AsyncSession, update: Update) -> Draft:
        """The stored draft (empty when none)."""
        chat_id, user_id = self._key(update)
        record = await queries.load_conversation(
            session, name=self.name, chat_id=chat_id, user_id=user_id
        )
        if record is None:
            return Draft(state=None)
        return Draft(
            state=record.state, data=dict(record.data), last_update_id=record.last_update_id
        )

    async def save(
        self, session: AsyncSession, update: Update, *, state: str, data: dict[str, Any]
    ) -> None:
        """Store the state the conversation moves to and every answer so far."""
        chat_id, user_id = self._key(update)
        await queries.save_conversation(
            session,
            name=self.name,
            chat_id=chat_id,
            user_id=user_id,
            state=state,
            data=data,
            update_id=update.update_id,
        )

    async def end(self, session: AsyncSession, update: Update) -> None:
        """Forget the draft."""
        chat_id, user_id = self._key(update)
        await queries.end_conversation(session, name=self.name, chat_id=chat_id, user_id=user_id)
