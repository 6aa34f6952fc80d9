"""Everything that happens in the fake, as it happens: an event feed and its HTTP stream.

Every bot message, edit and deletion, every message a simulated user sends, every answer to
a button press (a toast or an alert) and every chat action ("typing...") is published to the
listeners, in order. The sandbox's page and its terminal chat show every chat from it, live;
over HTTP it is a server-sent event stream (`GET /_fake/events`, one JSON object per event),
and `GET /_fake/chats/<id>/history` gives a chat's messages so far, both sides, to start from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import tornado.iostream
import tornado.web

from bot.fake_telegram.api import JSON
from bot.fake_telegram.models import StoredFile
from bot.fake_telegram.state import ServerState

# A comment line this often keeps proxies and browsers from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0


class EventFeed(ServerState):
    """Listening to the fake's events, and reading whole chats."""

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[JSON]]:
        """A queue that receives every event from now on, until the block ends."""
        queue: asyncio.Queue[JSON] = asyncio.Queue()
        self._listeners.append(queue.put_nowait)
        try:
            yield queue
        finally:
            self._listeners.remove(queue.put_nowait)

    def chat_history(self, chat_id: int) -> list[JSON]:
        """Every message of the chat, the user's and the bot's, as it is now (oldest first)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [message.record() for message in chat.messages.values()]

    def stored_file(self, file_id: str) -> StoredFile | None:
        """A file the bot sent or a user uploaded, with its bytes."""
        return self._files.get(file_id)

    def _event_routes(self) -> list[Any]:
        return [
            (r"/_fake/events", EventStreamHandler, {"server": self}),
            (r"/_fake/chats/(-?\d+)/history", HistoryHandler, {"server": self}),
        ]


class EventStreamHandler(tornado.web.RequestHandler):
    """Server-sent events: `data: <event as JSON>` for every event, until the client goes.

    `?chats=1,2` keeps only those chats' events (and resets, which concern every chat).
    """

    def initialize(self, server: EventFeed) -> None:
        self.server = server
        self._gone = asyncio.Event()

    def compute_etag(self) -> None:
        return None

    def on_connection_close(self) -> None:
        self._gone.set()

    async def get(self, *args: str, **kwargs: str) -> None:
        raw = self.get_query_argument("chats", "")
        wanted = {int(part) for part in raw.split(",") if part.strip().lstrip("-").isdigit()}
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        with self.server.listen() as queue:
            try:
                # A first comment, so the client knows it is listening from here on.
                self.write(": listening\n\n")
                await self.flush()
                while not self._gone.is_set() and not self.server._closing:
                    event = await self._next(queue)
                    if event is None:
                        self.write(": keepalive\n\n")
                    elif not wanted or event.get("chat_id") in wanted or "chat_id" not in event:
                        self.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n")
                    await self.flush()
            except tornado.iostream.StreamClosedError:
                return

    async def _next(self, queue: asyncio.Queue[JSON]) -> JSON | None:
        """The next event; None after a quiet while, or when the client went."""
        getter = asyncio.ensure_future(queue.get())
        gone = asyncio.ensure_future(self._gone.wait())
        done, pending = await asyncio.wait(
            {getter, gone}, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        return getter.result() if getter in done else None


class HistoryHandler(tornado.web.RequestHandler):
    """A chat's messages so far, both sides, as JSON."""

    def initialize(self, server: EventFeed) -> None:
        self.server = server

    def compute_etag(self) -> None:
        return None

    async def get(self, chat_id: str) -> None:
        self.set_header("Content-Type", "application/json")
        body = {"ok": True, "result": self.server.chat_history(int(chat_id))}
        self.finish(json.dumps(body, ensure_ascii=False))
