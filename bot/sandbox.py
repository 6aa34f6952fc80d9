"""The offline sandbox: a local fake Telegram, the demo organisation and a terminal chat.

You type as one of the demo users; the bot's messages are printed with their buttons
numbered, `#N` presses button N of the last message, `/as N` switches user. Without a
terminal (piped input, CI) it plays a short scripted conversation and exits.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from bot.config import Settings
from bot.demo import DemoUser, seed_demo
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeTelegramServer, FakeUser

SANDBOX_DB = Path("data") / "sandbox.sqlite3"
SANDBOX_TOKEN = "100000:SANDBOX"
HELP = (
    "Sandbox commands: /as N (act as demo user N), /users (list them), #N (press button N of the\n"
    "last message), /quit. Everything else is sent to the bot as the current user."
)
SCRIPT = ("/start", "/help", "/me", "/lang")


def _print_message(message: FakeMessage) -> None:
    label = "(edited) " if message.event == "edit" else ""
    print(f"  bot> {label}{message.text}")
    number = 1
    for row in message.buttons:
        print(
            "       " + "  ".join(f"[#{number + i} {text}]" for i, (text, _data) in enumerate(row))
        )
        number += len(row)


class _Chat:
    """The terminal side: one current user, bot messages printed as they arrive."""

    def __init__(self, client: FakeTelegramClient, users: list[DemoUser]) -> None:
        self.client = client
        self.users = users
        self.current: FakeUser | None = None
        self.last: FakeMessage | None = None

    async def act_as(self, index: int) -> None:
        demo = self.users[index]
        self.current = await self.client.user(
            demo.telegram_id, demo.name, language_code=demo.language_code
        )
        self.last = None
        print(f"-- you are now {demo.name} ({demo.description})")

    async def drain(self) -> None:
        """Print what the bot says until it has been quiet for a moment."""
        assert self.current is not None
        timeout = 1.5  # the first answer may need a database write; later ones come quickly
        while True:
            try:
                message = await self.current.wait_edit_or_reply(timeout=timeout)
            except AssertionError:
                return
            self.last = message
            _print_message(message)
            timeout = 0.4

    async def handle(self, line: str) -> bool:
        """Act on one line typed by the person; False to quit."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        if line == "/users":
            for i, user in enumerate(self.users, 1):
                print(f"  {i}. {user.name} — {user.description}")
            return True
        if line.startswith("/as "):
            number = line[4:].strip()
            if number.isdigit() and 1 <= int(number) <= len(self.users):
                await self.act_as(int(number) - 1)
            else:
                print("  no such user; /users lists them")
            return True
        assert self.current is not None
        if line.startswith("#") and line[1:].isdigit():
            buttons = [text for row in (self.last.buttons if self.last else []) for text, _ in row]
            index = int(line[1:]) - 1
            if self.last is None or not 0 <= index < len(buttons):
                print("  no such button")
                return True
            await self.current.press(self.last, buttons[index])
        else:
            await self.current.send(line)
        await self.drain()
        return True


async def run_sandbox(settings: Settings) -> int:
    """Start everything locally and chat (or play the script when there is no terminal)."""
    from bot.app import build_application
    from storage.db import transaction
    from storage.migrate import upgrade

    # The terminal is the chat; only problems should interrupt it.
    logging.getLogger().setLevel(logging.WARNING)
    url = f"sqlite+aiosqlite:///{SANDBOX_DB}"
    upgrade(url)
    async with transaction(url) as session:
        users = await seed_demo(session)

    server = FakeTelegramServer(token=SANDBOX_TOKEN, bot_username="zhibu_sandbox_bot")
    await server.start()
    sandbox_settings = settings.model_copy(
        update={
            "bot_token": None,
            "database_url": url,
            "bot_api_url": server.base_url,
            "bot_file_url": server.base_file_url,
            "log_level": "WARNING",
        }
    )
    from pydantic import SecretStr

    sandbox_settings.bot_token = SecretStr(SANDBOX_TOKEN)
    application = build_application(sandbox_settings, rate_limit=False)
    await application.initialize()
    assert application.post_init is not None and application.post_shutdown is not None
    await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    print(f"Offline sandbox ready: fake Telegram at {server.url}, database {SANDBOX_DB}.")
    try:
        async with FakeTelegramClient(server.url) as client:
            chat = _Chat(client, users)
            await chat.act_as(1)  # a branch secretary: the bot's main user
            if sys.stdin.isatty():
                print(HELP)
                loop = asyncio.get_running_loop()
                while True:
                    try:
                        line = await loop.run_in_executor(None, input, "you> ")
                    except EOFError:
                        break
                    if not await chat.handle(line):
                        break
            else:
                print("(no terminal: playing a short scripted conversation)")
                for line in SCRIPT:
                    print(f"you> {line}")
                    await chat.handle(line)
                print(
                    "Run `zhibu sandbox` in a terminal to chat yourself; "
                    "/users lists the demo users."
                )
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)
        await server.stop()
    return 0
