"""An offline fake of the Telegram Bot API that speaks real HTTP, with simulated users.

The parts: `state` (what the server knows, and waiting on it), `people` (what simulated users
do, in private chats and groups), `send` and `methods` (the Bot API methods), `faults`
(injected failures, 429s, held chats), `webhooks`, `control` (the /_fake/ API that tests drive
over HTTP), `routes` (Tornado), `formatting` (HTML parse mode, keyboards), `params`, `models`,
`flood` (Telegram's limits), `events` (every event as it happens, and its HTTP stream) and
`api` (errors and the method registry). On the user's side:
`client` (FakeTelegramClient), `user` (FakeUser, FakeGroup) and `views` (FakeMessage).

Positive signals for tests: a bot harness reports each update it has finished
(`mark_processed`), so "the bot did not answer" is known once the chat's updates are
processed (`settled`), not guessed from a moment of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.fake_telegram.api import BOT_METHODS, JSON, ApiError, FakeUsageError
from bot.fake_telegram.control import ControlApi
from bot.fake_telegram.events import EventFeed
from bot.fake_telegram.flood import FLOOD_LIMITED_METHODS, FloodLimits
from bot.fake_telegram.formatting import HtmlParseError, parse_html, utf16_length
from bot.fake_telegram.methods import BotMethods
from bot.fake_telegram.models import SimulatedUser, StoredFile, StoredMessage
from bot.fake_telegram.params import Params, UploadedFile
from bot.fake_telegram.routes import BotApiHandler, ControlHandler, FileHandler, log_request
from bot.fake_telegram.send import MessageMethods
from bot.fake_telegram.webhooks import WebhookDelivery

__all__ = [
    "FLOOD_LIMITED_METHODS",
    "ApiError",
    "FakeTelegramServer",
    "FakeUsageError",
    "FloodLimits",
    "HtmlParseError",
    "Params",
    "SimulatedUser",
    "StoredFile",
    "StoredMessage",
    "UploadedFile",
    "parse_html",
    "utf16_length",
]


class FakeTelegramServer(ControlApi, BotMethods, MessageMethods, WebhookDelivery, EventFeed):
    """A Telegram Bot API server for one bot, with simulated users, over real HTTP.

    Not thread-safe: drive it from the asyncio loop it was started on (or over HTTP).
    """

    # Servers started in this process, by base_url: an in-process bot harness finds the
    # server it polls to report the updates it has processed (see mark_processed).
    _serving: ClassVar[dict[str, FakeTelegramServer]] = {}

    @classmethod
    def serving(cls, base_url: str) -> FakeTelegramServer | None:
        """The server started in this process whose base_url (or url) this is, if any."""
        return cls._serving.get(base_url.rstrip("/").removesuffix("/bot"))

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on host:port (0 picks a free port) on the running loop; return the port."""
        if self._http_server is not None:
            raise RuntimeError("FakeTelegramServer is already started")
        self._closing = False
        self._changed = asyncio.Event()
        app = tornado.web.Application(self._routes(), log_function=log_request)
        self._http_server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(port, address=host)
        self._http_server.add_sockets(sockets)
        self._host = host
        self._port = int(sockets[0].getsockname()[1])
        self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        self._serving[self.url] = self
        return self._port

    async def stop(self) -> None:
        """Answer waiting long polls, stop delivering webhooks and close every connection."""
        self._closing = True
        self._notify()
        if self._port is not None and self._serving.get(self.url) is self:
            del self._serving[self.url]
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
            self._webhook_task = None
        if self._http_server is not None:
            self._http_server.stop()
            # Let handlers woken above write their answers before their connections go.
            await self.wait_until(lambda: self._inflight == 0, timeout=1.0)
            await self._http_server.close_all_connections()
            self._http_server = None
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. for FakeTelegramClient."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for PTB's base_url (the token is appended by PTB)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's base_file_url."""
        return f"{self.url}/file/bot"

    # -- HTTP --------------------------------------------------------------------------------

    def _routes(self) -> list[Any]:
        routes: list[Any] = [
            (r"/bot([^/]+)/([A-Za-z0-9_]+)/?", BotApiHandler, {"server": self}),
            (r"/file/bot([^/]+)/(.+)", FileHandler, {"server": self}),
            *self._event_routes(),
        ]
        for pattern, actions in self._control_routes():
            options = {"server": self, "actions": actions}
            routes.append((f"/_fake/{pattern}", ControlHandler, options))
        return routes

    async def handle_bot_request(self, token: str, method: str, params: Params) -> tuple[int, JSON]:
        """Run one Bot API call; return the HTTP status and Telegram's JSON answer."""
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").payload()
        implementation = BOT_METHODS.get(method.lower())
        if implementation is None:
            return 404, ApiError(404, "Not Found").payload()
        self.method_calls[method.lower()] += 1
        raw_chat = params.text("chat_id") or ""
        chat_id = int(raw_chat) if raw_chat.lstrip("-").isdigit() else None
        with self.request_scope():
            try:
                await self._wait_if_held(chat_id)
                self._raise_injected_failure(method.lower(), chat_id)
                if self.latency:
                    await asyncio.sleep(self.latency)
                result = await implementation(self, params)
            except ApiError as error:
                return error.status, error.payload()
        return 200, {"ok": True, "result": result}

    @contextlib.contextmanager
    def request_scope(self) -> Iterator[None]:
        """Count a request as in flight, so stop() lets it answer before closing connections."""
        self._inflight += 1
        # Any call may change what a wait_until predicate looks at, including its mere arrival.
        self._notify()
        try:
            yield
        finally:
            self._inflight -= 1
            self._notify()

    def file_by_path(self, path: str) -> StoredFile | None:
        """A file by the path getFile gave for it (what a download asks for)."""
        return self._files_by_path.get(path)
