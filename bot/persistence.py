"""PTB persistence backed by our `conversations` table: read, never written.

Every step of our conversations writes its state and answers in its own transaction before
replying (handlers.flow), and before each update the states are read back into PTB's handlers
(bot.conversation_states): the drafts are the truth. PTB's own reports of state changes come
later, from its periodic flush, and may be stale by then: another process may have answered
the next step, or ended the conversation, meanwhile. Writing them would overwrite that draft or
bring an ended one back without its answers, so they are ignored.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from storage import queries
from storage.db import SessionFactory


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Conversation states in the database; user, chat, bot and callback data not stored."""

    def __init__(self, db: SessionFactory, update_interval: float = 5) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=False, callback_data=False
            ),
            update_interval=update_interval,
        )
        self._db = db

    async def get_conversations(self, name: str) -> ConversationDict:
        """Read every open conversation of one handler at start-up."""
        async with self._db() as session:
            records = await queries.conversation_states(session, name)
        return {(r.chat_id, r.user_id): r.state for r in records}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Ignored: the step that changed the state has already stored it (see above)."""

    # The remaining hooks are required by the interface; nothing else is persisted.

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        """No user data is persisted."""
        return {}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """No chat data is persisted."""
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        """No bot data is persisted."""
        return {}

    async def get_callback_data(self) -> CDCData | None:
        """No callback data cache is persisted."""
        return None

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        """Not persisted."""

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Not persisted."""

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Not persisted."""

    async def update_callback_data(self, data: CDCData) -> None:
        """Not persisted."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not persisted."""

    async def drop_user_data(self, user_id: int) -> None:
        """Not persisted."""

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Not persisted."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Not persisted."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Not persisted."""

    async def flush(self) -> None:
        """Every write above is committed immediately; nothing to flush."""
