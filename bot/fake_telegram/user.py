"""Simulated people (and groups) talking to the bot, driven over the control API."""

# ruff: noqa: ASYNC109
# Waits take a timeout because it bounds a wait that runs inside the server (and is quoted in
# the assertion message); wrapping the call in asyncio.timeout could do neither.

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from bot.fake_telegram.views import FakeMessage

if TYPE_CHECKING:
    from bot.fake_telegram.client import FakeTelegramClient

JSON = dict[str, Any]

# Slack on top of a server-side wait, so the HTTP request outlives the wait it carries.
WAIT_SLACK = 5.0


class ChatReader:
    """Reads the bot's events in one chat, in order: each wait_* consumes the events up to the
    one it returns, so the next wait sees only later ones."""

    def __init__(self, client: FakeTelegramClient, *, cursor: int) -> None:
        self.client = client
        self.cursor = cursor

    @property
    def chat_id(self) -> int:
        """The chat read."""
        raise NotImplementedError

    # -- reading -----------------------------------------------------------------------------

    async def wait_reply(self, timeout: float = 5.0) -> FakeMessage:
        """The next new message the bot sends to this chat."""
        return await self._next(("message",), timeout, "reply")

    async def wait_edit(self, timeout: float = 5.0) -> FakeMessage:
        """The next edit of one of the bot's messages in this chat."""
        return await self._next(("edit",), timeout, "edit")

    async def wait_edit_or_reply(self, timeout: float = 5.0) -> FakeMessage:
        """Whichever comes first: a new bot message or an edit of one."""
        return await self._next(("message", "edit"), timeout, "reply or edit")

    async def wait_deleted(self, timeout: float = 5.0) -> FakeMessage:
        """The next message the bot deletes in this chat."""
        return await self._next(("delete",), timeout, "deletion")

    async def wait_replies(self, count: int, timeout: float = 5.0) -> list[FakeMessage]:
        """The next count new messages."""
        events = await self.client.wait_events(
            self.chat_id, since=self.cursor, count=count, kinds=("message",), timeout=timeout
        )
        if len(events) < count:
            await self._fail(f"{count} replies (got {len(events)})", timeout)
        self.cursor = int(events[-1]["seq"])
        return [await self.client.message_from_record(e["message"], e["kind"]) for e in events]

    async def expect_no_reply(self, within: float | None = None, *, timeout: float = 5.0) -> None:
        """Assert the bot sends no new message to this user in answer to anything so far.

        Waits for a positive signal: the bot has processed every update of this chat (a bot
        harness reports that to the server; tests/support/bot.py does), then looks. For a bot
        that reports nothing (a plain PTB application, a bot process), each of those updates
        must have been fetched, and then `within` seconds (default 0.3) pass in silence.
        """
        settled = await self.client.call(
            "POST",
            "settle",
            {"chat_id": self.chat_id, "timeout": timeout, "since": self.cursor},
            timeout=timeout + WAIT_SLACK,
        )
        if not settled["settled"]:
            raise AssertionError(
                f"{self!r}: the bot did not finish this chat's updates within {timeout}s"
            )
        events = list(settled["events"])
        silence = 0.3 if within is None else within
        if not settled["tracked"] and not events:
            events = await self.client.wait_events(
                self.chat_id, since=self.cursor, kinds=("message",), timeout=silence
            )
        if events:
            message = await self.client.message_from_record(events[0]["message"], "message")
            raise AssertionError(f"{self!r} expected no reply but got {message}")

    async def skip_pending(self) -> None:
        """Treat everything the bot did so far as read."""
        self.cursor = await self.client.marker()

    async def messages(self, *, include_deleted: bool = True) -> list[FakeMessage]:
        """Every message the bot sent to this user, as it is now."""
        return await self.client.bot_messages(self.chat_id, include_deleted=include_deleted)

    async def last_message(self) -> FakeMessage | None:
        """The latest message the bot sent to this user, as it is now."""
        messages = await self.messages()
        return messages[-1] if messages else None

    async def _next(self, kinds: tuple[str, ...], timeout: float, what: str) -> FakeMessage:
        events = await self.client.wait_events(
            self.chat_id, since=self.cursor, kinds=kinds, timeout=timeout
        )
        if not events:
            await self._fail(what, timeout)
        event = events[0]
        self.cursor = int(event["seq"])
        return await self.client.message_from_record(event["message"], event["kind"])

    async def _fail(self, what: str, timeout: float) -> None:
        messages = await self.messages()
        seen = [
            f"  {message}{' (already read)' if message.raw['seq'] <= self.cursor else ''}"
            f"{' (deleted)' if message.deleted else ''}"
            for message in messages
        ]
        listing = "\n".join(seen) if seen else "  (none)"
        raise AssertionError(
            f"{self!r} got no {what} within {timeout}s; the bot's messages in this chat:\n{listing}"
        )


class FakeUser(ChatReader):
    """One simulated person in a private chat with the bot.

    Reads are ordered: each wait_* consumes the bot's events in this chat (new messages,
    edits, deletions) up to the one it returns, so the next wait sees only later ones.
    """

    def __init__(self, client: FakeTelegramClient, info: JSON, *, cursor: int) -> None:
        super().__init__(client, cursor=cursor)
        self.user_id = int(info["user_id"])
        self.first_name: str = info["first_name"]
        self.last_name: str | None = info.get("last_name")
        self.username: str | None = info.get("username")
        self.language_code: str | None = info.get("language_code")

    @property
    def chat_id(self) -> int:
        """The private chat's id (the user's id, as in Telegram)."""
        return self.user_id

    def __repr__(self) -> str:
        return f"<FakeUser {self.first_name} ({self.user_id})>"

    # -- acting ------------------------------------------------------------------------------

    async def send(self, text: str, *, reply_to: FakeMessage | int | None = None) -> int:
        """Send a text message (a leading /command becomes a bot_command); return the update_id."""
        body: JSON = {"text": text}
        if reply_to is not None:
            body["reply_to_message_id"] = _message_id(reply_to)
        return int(await self.client.call("POST", f"users/{self.user_id}/text", body))

    async def send_sticker(self, emoji: str = "👍") -> int:
        """Send a sticker; return the update_id."""
        return int(
            await self.client.call("POST", f"users/{self.user_id}/sticker", {"emoji": emoji})
        )

    async def send_photo(self, data: bytes, *, caption: str | None = None) -> int:
        """Send a photo; return the update_id."""
        body = {"data_b64": base64.b64encode(data).decode(), "caption": caption}
        return int(await self.client.call("POST", f"users/{self.user_id}/photo", body))

    async def send_document(
        self,
        data: bytes,
        filename: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        """Send a file; return the update_id."""
        body = {
            "data_b64": base64.b64encode(data).decode(),
            "filename": filename,
            "mime_type": mime_type,
            "caption": caption,
        }
        return int(await self.client.call("POST", f"users/{self.user_id}/document", body))

    async def press(
        self, message: FakeMessage | int, text: str | None = None, *, data: str | None = None
    ) -> int:
        """Press a button of the message by its label (or callback data); return the update_id.

        The server checks the message's current keyboard, so a button removed by an edit can
        no longer be pressed. A reply-keyboard button sends its label as a text message.
        """
        body = {"message_id": _message_id(message), "text": text, "data": data}
        return int(await self.client.call("POST", f"users/{self.user_id}/press", body))

    async def press_data(self, message: FakeMessage | int, data: str) -> int:
        """Send a callback query with arbitrary (forged or stale) data; return the update_id."""
        body = {"message_id": _message_id(message), "data": data, "forged": True}
        return int(await self.client.call("POST", f"users/{self.user_id}/press", body))

    async def block(self) -> None:
        """Block the bot: its sends to this user fail with 403."""
        await self.client.call("POST", f"users/{self.user_id}/block", {"blocked": True})

    async def unblock(self) -> None:
        """Unblock (restart) the bot."""
        await self.client.call("POST", f"users/{self.user_id}/block", {"blocked": False})

    async def deactivate(self) -> None:
        """Delete the account: sends fail with 403 user is deactivated."""
        await self.client.call("POST", f"users/{self.user_id}/deactivate")

    async def callback_answer(self, update_id: int, timeout: float = 5.0) -> JSON:
        """Wait for the bot's answerCallbackQuery to the press that made update_id."""
        answer = await self.client.call(
            "POST",
            "callback_answers/wait",
            {"update_id": update_id, "timeout": timeout},
            timeout=timeout + WAIT_SLACK,
        )
        if answer is None:
            raise AssertionError(
                f"{self!r}: the bot did not answer callback query of update {update_id} "
                f"within {timeout}s"
            )
        return dict(answer)


class FakeGroup(ChatReader):
    """A group, supergroup or channel: people write there, and the bot may be added to it."""

    def __init__(self, client: FakeTelegramClient, info: JSON, *, cursor: int) -> None:
        super().__init__(client, cursor=cursor)
        self.id = int(info["id"])
        self.title: str = info.get("title", "")
        self.kind: str = info["type"]

    @property
    def chat_id(self) -> int:
        """The group's id (negative, as in Telegram)."""
        return self.id

    def __repr__(self) -> str:
        return f"<FakeGroup {self.title} ({self.id})>"

    async def add_bot(self, by: FakeUser, *, status: str = "member") -> int:
        """`by` adds the bot (a channel makes it an administrator); return the update_id."""
        body = {"by_user_id": by.user_id, "status": status}
        return int(await self.client.call("POST", f"groups/{self.id}/bot", body))

    async def send(self, by: FakeUser, text: str) -> int:
        """`by` writes in the group; return the update_id (0: the bot is not there to get it)."""
        body = {"user_id": by.user_id, "text": text}
        return int(await self.client.call("POST", f"groups/{self.id}/text", body))

    async def bot_left(self) -> bool:
        """Whether the bot has left this chat (by leaveChat)."""
        return self.id in await self.client.call("GET", "left_chats")


def _message_id(message: FakeMessage | int) -> int:
    return message if isinstance(message, int) else message.message_id
