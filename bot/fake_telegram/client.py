"""Drive simulated people against a FakeTelegramServer over HTTP, from this or another process."""

# ruff: noqa: ASYNC109
# Waits take a timeout because it bounds a wait that runs inside the server (and is quoted in
# the assertion message); wrapping the call in asyncio.timeout could do neither.

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterable
from typing import Any

import aiohttp

JSON = dict[str, Any]

# Slack on top of a server-side wait, so the HTTP request outlives the wait it carries.
_WAIT_SLACK = 5.0


class FakeTelegramError(RuntimeError):
    """The fake server refused a control request for a reason other than test misuse."""


@dataclasses.dataclass(frozen=True)
class FakeFile:
    """A photo or document the bot sent, with its bytes."""

    file_id: str
    data: bytes
    filename: str | None
    mime_type: str | None


@dataclasses.dataclass(frozen=True)
class FakeMessage:
    """A bot message as the user saw it at one moment (when sent, edited or deleted)."""

    chat_id: int
    message_id: int
    text: str
    """Text of a text message, caption of a media message ("" if none)."""
    source_text: str | None
    reply_markup: JSON | None
    photo: FakeFile | None
    document: FakeFile | None
    edits: list[JSON]
    deleted: bool
    event: str
    """Why this snapshot was taken: "message", "edit", "delete", or "read" for a plain read."""
    raw: JSON

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Keyboard rows of (text, callback_data or url); reply-keyboard buttons have None."""
        markup = self.reply_markup or {}
        if "inline_keyboard" in markup:
            return [
                [
                    (button["text"], button.get("callback_data") or button.get("url"))
                    for button in row
                ]
                for row in markup["inline_keyboard"]
            ]
        return [
            [(button if isinstance(button, str) else button["text"], None) for button in row]
            for row in markup.get("keyboard", [])
        ]

    @property
    def button_texts(self) -> list[str]:
        """Every button label, row by row."""
        return [text for row in self.buttons for text, _ in row]

    def button_data(self, text: str) -> str | None:
        """The callback_data (or url) of the button labelled text."""
        for row in self.buttons:
            for label, value in row:
                if label == text:
                    return value
        raise AssertionError(f"no button {text!r} in {self.button_texts}")

    @property
    def edited(self) -> bool:
        """Whether the message had been edited at the time of this snapshot."""
        return bool(self.edits)

    def __str__(self) -> str:
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        media = ""
        if self.photo:
            media = " [photo]"
        if self.document:
            media = f" [document {self.document.filename}]"
        return f"#{self.message_id}{media} {self.text!r}{buttons}"


class FakeTelegramClient:
    """Control API client: create users, read what the bot did, set limits and faults."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        # Created on first use, inside the event loop that will use it.
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> FakeTelegramClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            # aiohttp, not httpx: every simulated user may hold a long poll at once, and
            # httpcore scans its whole pool on each request (quadratic in users: the load
            # generator, not the bot, was the bottleneck of the benchmarks with 200 users).
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._http

    async def call(
        self, verb: str, path: str, body: JSON | None = None, *, timeout: float | None = None
    ) -> Any:
        """Call a /_fake/ endpoint; test misuse surfaces as AssertionError."""
        url = f"{self._base_url}/_fake/{path}"
        limit = aiohttp.ClientTimeout(total=self._timeout if timeout is None else timeout)
        if verb == "GET":
            request = self._session().get(url, params=body, timeout=limit)
        else:
            request = self._session().post(url, json=body or {}, timeout=limit)
        async with request as response:
            content_type = response.headers.get("Content-Type", "")
            if content_type.startswith("application/octet-stream"):
                response.raise_for_status()
                return await response.read()
            if not content_type.startswith("application/json"):
                text = await response.text()
                raise FakeTelegramError(
                    f"{verb} /_fake/{path}: HTTP {response.status} {text[:200]!r}"
                )
            payload = json.loads(await response.read())
            if response.status == 400:
                raise AssertionError(payload["description"])
        if not payload.get("ok"):
            raise FakeTelegramError(f"{verb} /_fake/{path}: {payload.get('description')}")
        return payload["result"]

    async def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """Create (or update) a user; the returned FakeUser reads only what comes after this."""
        info = await self.call(
            "POST",
            "users",
            {
                "user_id": user_id,
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "language_code": language_code,
            },
        )
        return FakeUser(self, info, cursor=int(info["marker"]))

    async def marker(self) -> int:
        """The server's latest bot-event sequence number."""
        return int(await self.call("GET", "marker"))

    async def bot_messages(
        self, chat_id: int, *, include_deleted: bool = True
    ) -> list[FakeMessage]:
        """Everything the bot sent to the chat, as it is now."""
        records = await self.call(
            "GET",
            f"chats/{chat_id}/messages",
            {"include_deleted": str(include_deleted).lower()},
        )
        return [await self.message_from_record(record, "read") for record in records]

    async def wait_events(
        self,
        chat_id: int,
        *,
        since: int,
        count: int = 1,
        kinds: Iterable[str] = ("message", "edit"),
        timeout: float = 5.0,
    ) -> list[JSON]:
        """Wait server-side for bot events in the chat after `since`; fewer on timeout."""
        result = await self.call(
            "POST",
            "wait",
            {
                "chat_id": chat_id,
                "since": since,
                "count": count,
                "kinds": list(kinds),
                "timeout": timeout,
            },
            timeout=timeout + _WAIT_SLACK,
        )
        return list(result["events"])

    async def file_bytes(self, file_id: str) -> bytes:
        """Download a file the bot sent or a user uploaded."""
        data = await self.call("GET", f"files/{file_id}")
        assert isinstance(data, bytes)
        return data

    async def message_from_record(self, record: JSON, event: str) -> FakeMessage:
        """Build a FakeMessage from a server record, fetching the bytes of its media."""
        photo = await self._file(record.get("photo"))
        document = await self._file(record.get("document"))
        return FakeMessage(
            chat_id=int(record["chat_id"]),
            message_id=int(record["message_id"]),
            text=record.get("text") or record.get("caption") or "",
            source_text=record.get("source_text"),
            reply_markup=record.get("reply_markup"),
            photo=photo,
            document=document,
            edits=list(record.get("edits") or []),
            deleted=bool(record.get("deleted")),
            event=event,
            raw=record,
        )

    async def _file(self, info: JSON | None) -> FakeFile | None:
        if not info:
            return None
        return FakeFile(
            file_id=info["file_id"],
            data=await self.file_bytes(info["file_id"]),
            filename=info.get("file_name"),
            mime_type=info.get("mime_type"),
        )

    async def reset(self) -> None:
        """Reset the server to its initial state."""
        await self.call("POST", "reset")

    async def state(self) -> JSON:
        """Users, pending update count, webhook and method call counts."""
        result: JSON = await self.call("GET", "state")
        return result

    async def set_flood_limits(
        self,
        *,
        global_per_second: int = 30,
        per_chat_per_second: int = 1,
        paid_broadcast_per_second: int = 1000,
        enforce: bool = True,
    ) -> None:
        """Turn flood limits on with these values."""
        await self.call(
            "POST",
            "flood",
            {
                "global_per_second": global_per_second,
                "per_chat_per_second": per_chat_per_second,
                "paid_broadcast_per_second": paid_broadcast_per_second,
                "enforce": enforce,
            },
        )

    async def disable_flood_limits(self) -> None:
        """Turn flood limits off (counters are kept)."""
        await self.call("POST", "flood", {"enabled": False})

    async def flood_stats(self) -> JSON:
        """violations, sent_count, send_times, send_chats, peak_per_second and the limits."""
        result: JSON = await self.call("GET", "flood")
        return result

    async def webhook_deliveries(self) -> list[JSON]:
        """Every webhook delivery attempt with its status code."""
        return list(await self.call("GET", "webhook_deliveries"))

    async def callback_answers(self) -> list[JSON]:
        """Every answerCallbackQuery the bot made."""
        return list(await self.call("GET", "callback_answers"))

    async def commands(self) -> list[JSON]:
        """Every command list the bot set, with scope and language."""
        return list(await self.call("GET", "commands"))

    async def pending_updates(self) -> list[JSON]:
        """Updates the bot has not confirmed yet."""
        return list(await self.call("GET", "updates"))

    async def fail_next(
        self,
        method: str = "*",
        status: int = 500,
        count: int = 1,
        *,
        retry_after: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next count calls of method (to chat_id, if given) answer a transient 500
        or 502, or 429 with retry_after."""
        body = {"method": method, "status": status, "count": count, "retry_after": retry_after}
        if chat_id is not None:
            body["chat_id"] = chat_id
        await self.call("POST", "fail_next", body)

    async def set_latency(self, seconds: float) -> None:
        """Delay every Bot API answer."""
        await self.call("POST", "latency", {"seconds": seconds})


class FakeUser:
    """One simulated person in a private chat with the bot.

    Reads are ordered: each wait_* consumes the bot's events in this chat (new messages,
    edits, deletions) up to the one it returns, so the next wait sees only later ones.
    """

    def __init__(self, client: FakeTelegramClient, info: JSON, *, cursor: int) -> None:
        self.client = client
        self.user_id = int(info["user_id"])
        self.first_name: str = info["first_name"]
        self.last_name: str | None = info.get("last_name")
        self.username: str | None = info.get("username")
        self.language_code: str | None = info.get("language_code")
        self.cursor = cursor

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

    # -- reading -----------------------------------------------------------------------------

    async def wait_reply(self, timeout: float = 5.0) -> FakeMessage:
        """The next new message the bot sends to this user."""
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
            timeout=timeout + _WAIT_SLACK,
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

    async def callback_answer(self, update_id: int, timeout: float = 5.0) -> JSON:
        """Wait for the bot's answerCallbackQuery to the press that made update_id."""
        answer = await self.client.call(
            "POST",
            "callback_answers/wait",
            {"update_id": update_id, "timeout": timeout},
            timeout=timeout + _WAIT_SLACK,
        )
        if answer is None:
            raise AssertionError(
                f"{self!r}: the bot did not answer callback query of update {update_id} "
                f"within {timeout}s"
            )
        return dict(answer)

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


def _message_id(message: FakeMessage | int) -> int:
    return message if isinstance(message, int) else message.message_id
