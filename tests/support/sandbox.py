"""The offline sandbox in the test's own event loop, on the test database, with its page."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import tornado.httpserver
import tornado.netutil

from bot import clock
from bot.config import Settings
from bot.sandbox.web import application
from bot.sandbox.world import Sandbox
from tests.support.bot import SECRET_KEY


@dataclass
class RunningSandbox:
    """The sandbox and where its page is."""

    sandbox: Sandbox
    url: str


def sandbox_settings(**extra: object) -> Settings:
    """The settings a person starting the sandbox would have: no token, a generated key."""
    return Settings(secret_key=SECRET_KEY, **extra)  # type: ignore[arg-type]


@asynccontextmanager
async def running_sandbox(
    database_url: str, *, fire: bool = False, page: bool = False, **extra: object
) -> AsyncIterator[RunningSandbox]:
    """Start the sandbox (and its page, on a free loopback port); stop it, and put the clock
    back to real time, whatever happens."""
    sandbox = Sandbox(sandbox_settings(**extra), database_url=database_url)
    server = None
    try:
        await sandbox.start(fire=fire)
        url = ""
        if page:
            sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
            server = tornado.httpserver.HTTPServer(application(sandbox))
            server.add_sockets(sockets)
            url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/"
        yield RunningSandbox(sandbox, url)
    finally:
        if server is not None:
            server.stop()
            await server.close_all_connections()
        await sandbox.stop()
        clock.lock()
