"""What simulated people do: write to the bot, press its buttons, block it, add it to groups."""

from __future__ import annotations

import mimetypes

from bot.fake_telegram.api import JSON, FakeUsageError
from bot.fake_telegram.formatting import command_entities
from bot.fake_telegram.models import STICKER_BYTES, CallbackQueryRecord, Chat, StoredMessage
from bot.fake_telegram.state import ServerState

# What Telegram lists for a bot made administrator (of a channel, say): the usual defaults.
ADMINISTRATOR_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
    "can_edit_messages": True,
}


class PeopleActions(ServerState):
    """The user side of the fake: every action produces the update Telegram would send."""

    # -- private chats -----------------------------------------------------------------------

    def block_user(self, user_id: int) -> None:
        """The user blocks the bot: sends answer 403 and the bot gets a my_chat_member update."""
        chat = self._chat_for_user(user_id)
        user = self._user_of(chat)
        if not user.blocked:
            user.blocked = True
            self._push_member_update(chat, user_id, "member", "kicked")

    def unblock_user(self, user_id: int) -> None:
        """The user unblocks (restarts) the bot."""
        chat = self._chat_for_user(user_id)
        user = self._user_of(chat)
        if user.blocked:
            user.blocked = False
            self._push_member_update(chat, user_id, "kicked", "member")

    def deactivate_user(self, user_id: int) -> None:
        """The user deletes their account: sends answer 403 user is deactivated."""
        self._user_of(self._chat_for_user(user_id)).deactivated = True

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        reply_to_message_id: int | None = None,
        chat_id: int | None = None,
    ) -> int:
        """The user sends a text message (in their private chat, or in the group chat_id); a
        leading /command gets a bot_command entity. Returns the update_id, or 0 when the bot
        is not in that group and so gets no update."""
        if chat_id is not None and chat_id != user_id:
            return self._group_message(user_id, chat_id, text)
        chat = self._chat_for_user(user_id)
        message = self._add_message(
            chat,
            from_bot=False,
            text=text,
            entities=command_entities(text),
            reply_to=reply_to_message_id,
        )
        return self._push_update({"message": self._message_api(message)})

    def user_sends_sticker(self, user_id: int, emoji: str = "👍") -> int:
        """The user sends a sticker."""
        chat = self._chat_for_user(user_id)
        sticker = self._store_file(STICKER_BYTES, kind="sticker", mime_type="image/webp")
        sticker.emoji = emoji
        message = self._add_message(chat, from_bot=False, sticker=sticker)
        return self._push_update({"message": self._message_api(message)})

    def user_sends_photo(self, user_id: int, data: bytes, *, caption: str | None = None) -> int:
        """The user sends a photo with these bytes."""
        chat = self._chat_for_user(user_id)
        photo = self._store_file(data, kind="photo", mime_type="image/jpeg")
        message = self._add_message(chat, from_bot=False, photo=photo, caption=caption)
        return self._push_update({"message": self._message_api(message)})

    def user_sends_document(
        self,
        user_id: int,
        data: bytes,
        filename: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        """The user sends a file."""
        chat = self._chat_for_user(user_id)
        mime_type = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        document = self._store_file(data, kind="document", file_name=filename, mime_type=mime_type)
        message = self._add_message(chat, from_bot=False, document=document, caption=caption)
        return self._push_update({"message": self._message_api(message)})

    def user_presses(
        self, user_id: int, message_id: int, *, text: str | None = None, data: str | None = None
    ) -> int:
        """The user presses a button of a bot message, chosen by its text or callback_data.

        An inline button produces a callback_query update; a reply-keyboard button sends its
        text as a message, as Telegram clients do.
        """
        if (text is None) == (data is None):
            raise FakeUsageError("press a button either by text or by data")
        chat = self._chat_for_user(user_id)
        message = self._pressable_message(chat, message_id)
        markup = message.reply_markup or {}
        if text is not None and "keyboard" in markup:
            labels = [
                button if isinstance(button, str) else button.get("text")
                for row in markup["keyboard"]
                for button in row
            ]
            if text not in labels:
                raise FakeUsageError(
                    f"message {message_id} has no button {text!r}; it has {labels}"
                )
            return self.user_sends_text(user_id, text)
        buttons = [button for row in markup.get("inline_keyboard", []) for button in row]
        for button in buttons:
            if (text is not None and button.get("text") == text) or (
                data is not None and button.get("callback_data") == data
            ):
                if "callback_data" not in button:
                    raise FakeUsageError(f"button {button} has no callback_data to press")
                return self._push_callback_query(chat, message, button["callback_data"])
        wanted = f"text {text!r}" if text is not None else f"data {data!r}"
        available = [(b.get("text"), b.get("callback_data") or b.get("url")) for b in buttons]
        raise FakeUsageError(
            f"message {message_id} has no button with {wanted}; its buttons are {available}"
        )

    def user_presses_forged(self, user_id: int, message_id: int, data: str) -> int:
        """Send a callback_query with arbitrary data for a message, as a tampered client could."""
        chat = self._chat_for_user(user_id)
        return self._push_callback_query(chat, self._pressable_message(chat, message_id), data)

    def _pressable_message(self, chat: Chat, message_id: int) -> StoredMessage:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise FakeUsageError(f"chat {chat.chat_id} has no message {message_id} to press")
        if not message.from_bot:
            raise FakeUsageError(
                f"message {message_id} is the user's own; only bot messages have buttons"
            )
        return message

    def _push_callback_query(self, chat: Chat, message: StoredMessage, data: str) -> int:
        query_id = f"{self.bot_id}{next(self._query_ids):012d}"
        update_id = self._push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user_of(chat).to_api(),
                    "message": self._message_api(message),
                    # Stable per chat, as Telegram's is.
                    "chat_instance": str((chat.chat_id * 1_000_003 + self.bot_id) % 2**63),
                    "data": data,
                }
            }
        )
        self._callback_queries[query_id] = CallbackQueryRecord(
            query_id, update_id, chat.chat_id, message.message_id, data
        )
        self._callback_by_update[update_id] = query_id
        return update_id

    def _chat_member(self, status: str) -> JSON:
        member: JSON = {"user": self._bot_user(), "status": status}
        if status == "kicked":
            member["until_date"] = 0  # Telegram always sends it for a ban (0: forever)
        if status == "administrator":
            member.update(ADMINISTRATOR_RIGHTS)
        return member

    def _push_member_update(self, chat: Chat, by_user_id: int, old: str, new: str) -> int:
        """The bot's membership of the chat changed (blocked, unblocked, added, left)."""
        by = self._bot_user() if by_user_id == self.bot_id else self.users[by_user_id].to_api()
        return self._push_update(
            {
                "my_chat_member": {
                    "chat": chat.api(),
                    "from": by,
                    "date": self._now(),
                    "old_chat_member": self._chat_member(old),
                    "new_chat_member": self._chat_member(new),
                }
            }
        )

    # -- groups and channels -----------------------------------------------------------------

    def add_bot_to_group(self, chat_id: int, by_user_id: int, *, status: str = "member") -> int:
        """A user adds the bot to a group (or a channel, as administrator): the bot gets a
        my_chat_member update. Returns its update_id."""
        chat = self._group(chat_id)
        self._chat_for_user(by_user_id)
        old, chat.bot_status = chat.bot_status, status
        return self._push_member_update(chat, by_user_id, old, status)

    def _group_message(self, user_id: int, chat_id: int, text: str) -> int:
        chat = self._group(chat_id)
        self._chat_for_user(user_id)
        message = self._add_message(
            chat, from_bot=False, text=text, entities=command_entities(text), sender_id=user_id
        )
        if chat.bot_status not in ("member", "administrator"):
            return 0  # Telegram sends nothing to a bot that is not in the chat
        return self._push_update({"message": self._message_api(message)})
