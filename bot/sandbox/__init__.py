"""The offline sandbox: the real bot on a local fake Telegram, with the demo organisation.

`world` starts the pieces (and starts them over), `web` serves the page that shows the demo's
people as phones side by side (`page/`), `terminal` is the chat for machines without a
browser, `texts` the page's own words. The bot's logs go to data/sandbox.log, never into the
chat; `data/sandbox.json` tells `zhibu clock` where the running sandbox listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from pathlib import Path

import tornado.httpserver
import tornado.netutil

from bot.config import Settings

DATA = Path("data")
LOG_FILE = DATA / "sandbox.log"
ADDRESS_FILE = DATA / "sandbox.json"
DEFAULT_PORT = 8780


def log_to_file(path: Path = LOG_FILE) -> None:
    """Send the process's log records (redacted as everywhere) and warnings to a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in root.handlers:
        for kept in old.filters:
            handler.addFilter(kept)
    root.handlers[:] = [handler]
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    logging.captureWarnings(True)


def _listen(host: str, port: int) -> list[socket.socket]:
    """Bind the page's port; if the usual one is taken, any free one."""
    try:
        return tornado.netutil.bind_sockets(port, address=host, family=socket.AF_INET)
    except OSError:
        if port != DEFAULT_PORT:
            raise
        return tornado.netutil.bind_sockets(0, address=host, family=socket.AF_INET)


async def serve_page(
    settings: Settings, *, port: int = DEFAULT_PORT, database_url: str | None = None
) -> int:
    """Serve the sandbox's page until SIGINT or SIGTERM; print its URL first."""
    from bot.sandbox.web import application
    from bot.sandbox.world import Sandbox

    log_to_file()
    sandbox = Sandbox(settings, database_url=database_url)
    print("Starting the offline sandbox: a demo organisation and a year of its history...")
    await sandbox.start()
    # Loopback only: the sandbox lets anyone who reaches it act as anyone.
    sockets = _listen("127.0.0.1", port)
    server = tornado.httpserver.HTTPServer(application(sandbox))
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{bound}/"
    ADDRESS_FILE.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
    print(f"Offline sandbox ready: open {url} in a browser (this computer only).")
    print(f"Move its clock with the page's buttons or `zhibu clock advance 1d`; logs: {LOG_FILE}.")
    print("Ctrl-C stops it.", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        server.stop()
        await server.close_all_connections()
        await sandbox.stop()
        with contextlib.suppress(FileNotFoundError):
            ADDRESS_FILE.unlink()
    return 0


async def run_sandbox(settings: Settings) -> int:
    """The terminal chat (or, without a terminal, a short scripted conversation)."""
    from bot.sandbox.terminal import chat_in_terminal

    log_to_file()
    return await chat_in_terminal(settings)
