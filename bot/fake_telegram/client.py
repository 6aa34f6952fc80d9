"""Drive simulated people against a FakeTelegramServer over HTTP, from this or another process."""

# ruff: noqa: ASYNC109
# Waits take a timeout because it bounds a wait that runs inside the server (and is quoted in
# the assertion message); wrapping the call in asyncio.timeout could do neither.

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import aiohttp

from bot.fake_telegram.user import WAIT_SLACK, FakeGroup, FakeUser
from bot.fake_telegram.views import FakeFile, FakeMessage

__all__ = [
    "FakeFile",
    "FakeGroup",
    "FakeMessage",
    "FakeTelegramClient",
    "FakeTelegramError",
    "FakeUser",
]

JSON = dict[str, Any]


class FakeTelegramError(RuntimeError):
    """The fake server refused a control request for a reason other than test misuse."""


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

    async def group(
        self, chat_id: int, title: str, *, kind: str = "group", bot_member: bool = False
    ) -> FakeGroup:
        """Create a group, supergroup or channel (a negative id); the bot is not in it, unless
        bot_member (added earlier)."""
        body = {"chat_id": chat_id, "title": title, "kind": kind, "bot_member": bot_member}
        info = await self.call("POST", "groups", body)
        return FakeGroup(self, info, cursor=int(info["marker"]))

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
            timeout=timeout + WAIT_SLACK,
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

    async def set_webhook_targets(self, urls: list[str]) -> None:
        """Post the webhook's updates to these URLs round-robin (a load balancer's upstreams)."""
        await self.call("POST", "webhook_targets", {"urls": urls})

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
