"""Tornado request handlers: the Bot API, file downloads and the control API."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import tornado.web

from bot.fake_telegram.api import JSON, ApiError, FakeUsageError
from bot.fake_telegram.control import Action
from bot.fake_telegram.params import read_params

if TYPE_CHECKING:
    from bot.fake_telegram.server import FakeTelegramServer

logger = logging.getLogger(__name__)


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Every request at debug level (the fake's --verbose)."""
    logger.debug("%s %s -> %s", handler.request.method, handler.request.path, handler.get_status())


class _JsonHandler(tornado.web.RequestHandler):
    def compute_etag(self) -> None:
        return None  # API answers are never cacheable

    def send_json(self, status: int, body: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))


class BotApiHandler(_JsonHandler):
    def initialize(self, server: FakeTelegramServer) -> None:
        self.server = server

    async def get(self, *args: str, **kwargs: str) -> None:
        await self._handle(*args)

    async def post(self, *args: str, **kwargs: str) -> None:
        await self._handle(*args)

    async def _handle(self, token: str, method: str) -> None:
        try:
            params = read_params(self.request)
        except ApiError as error:
            self.send_json(error.status, error.payload())
            return
        status, body = await self.server.handle_bot_request(token, method, params)
        self.send_json(status, body)


class FileHandler(tornado.web.RequestHandler):
    def initialize(self, server: FakeTelegramServer) -> None:
        self.server = server

    def compute_etag(self) -> None:
        return None

    async def get(self, *args: str, **kwargs: str) -> None:
        token, path = args
        stored = self.server.file_by_path(path)
        if token != self.server.token or stored is None:
            self.set_status(404)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(ApiError(404, "Not Found").payload()))
            return
        self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        self.finish(stored.data)


class ControlHandler(_JsonHandler):
    def initialize(self, server: FakeTelegramServer, actions: dict[str, Action]) -> None:
        self.server = server
        self.actions = actions

    async def get(self, *args: str, **kwargs: str) -> None:
        query = {name: raw[-1].decode() for name, raw in self.request.query_arguments.items()}
        await self._run("GET", query, args)

    async def post(self, *args: str, **kwargs: str) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            self.send_json(400, {"ok": False, "description": "request body must be JSON"})
            return
        await self._run("POST", body if isinstance(body, dict) else {}, args)

    async def _run(self, verb: str, body: JSON, args: tuple[str, ...]) -> None:
        action = self.actions.get(verb)
        if action is None:
            self.send_json(405, {"ok": False, "description": f"{verb} not allowed here"})
            return
        try:
            with self.server.request_scope():
                result = await action(body, *args)
        except FakeUsageError as error:
            self.send_json(400, {"ok": False, "description": str(error)})
            return
        except (KeyError, TypeError, ValueError) as error:
            self.send_json(400, {"ok": False, "description": f"bad request: {error!r}"})
            return
        if isinstance(result, bytes):
            self.set_header("Content-Type", "application/octet-stream")
            self.finish(result)
            return
        self.send_json(200, {"ok": True, "result": result})
