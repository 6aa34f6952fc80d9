"""PTB persistence backed by our `conversations` table.

Only conversation states are persisted through PTB. Handlers of our conversations also write
the state and the answers so far in their own transaction *before* replying (see
handlers.flow), so after a kill -9 the row already holds what the user saw; the writes made
here by PTB's periodic flush are the same values and only keep the two views in step.
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
        """Store a state change reported by a ConversationHandler."""
        chat_id, user_id = int(key[0]), int(key[-1])
        async with self._db.begin() as session:
            if new_state is None:
                await queries.end_conversation(session, name=name, chat_id=chat_id, user_id=user_id)
                return
            record = await queries.load_conversation(
                session, name=name, chat_id=chat_id, user_id=user_id
            )
            if record is None:
                await queries.save_conversation(
                    session,
                    name=name,
                    chat_id=chat_id,
                    user_id=user_id,
                    state=str(new_state),
                    data={},
                    recent_updates=[],
                )
            elif record.state != str(new_state):
                record.state = str(new_state)

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
