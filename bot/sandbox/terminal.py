"""The sandbox's terminal chat, for machines without a browser: `zhibu sandbox --terminal`.

You type as one demo person at a time, and see every chat: each message is printed with the
name of the person it went to, buttons are numbered across every recent message (`#N` presses
button N, as the person whose chat it is), alerts and toasts are printed, photos and files are
saved under data/sandbox-files/ with their path. Logs go to data/sandbox.log. Without a
terminal (piped input, CI) it plays a short scripted conversation and exits.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram.api import JSON, FakeUsageError
from bot.sandbox.world import Sandbox, SandboxError, image_suffix

FILES = Path("data") / "sandbox-files"
HELP = (
    "Sandbox commands: /as N (act as demo person N), /users (list them), #N (press button N of\n"
    "any recent message), /clock 1h|1d|next (move the clock and send what falls due), /quit.\n"
    "Everything else is sent to the bot as the current person."
)
SCRIPT = ("/start", "/help", "/me", "/lang")
# Numbered buttons kept for #N: the most recent ones.
KEPT_BUTTONS = 200
_SAFE_NAME = re.compile(r"[^\w.-]+")


class TerminalChat:
    """Prints every chat's events; sends what the person types as the current demo person."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.current: DemoUser | None = None
        # #N -> (chat, message id, label, callback data; None for a reply-keyboard button).
        self.buttons: OrderedDict[int, tuple[int, int, str, str | None]] = OrderedDict()
        self.next_number = 1
        # The numbers each message's buttons were given, by (chat, message id).
        self.numbers: dict[tuple[int, int], list[int]] = {}
        self.queue: asyncio.Queue[JSON] = asyncio.Queue()

    def name_of(self, chat_id: int) -> str:
        """Whose chat this is."""
        for phone in self.sandbox.phones:
            if phone.telegram_id == chat_id:
                return phone.name
        return str(chat_id)

    # -- printing ----------------------------------------------------------------------------

    async def print_events(self) -> None:
        """Print events as they come (runs for the whole session)."""
        while True:
            event = await self.queue.get()
            try:
                self.show(event)
            finally:
                self.queue.task_done()

    def show(self, event: JSON) -> None:
        """Print one event of any chat."""
        kind = event.get("kind")
        chat_id = event.get("chat_id")
        if chat_id is None:
            return
        who = f"[{self.name_of(int(chat_id))}]"
        if kind in ("message", "edit"):
            self._show_message(who, event["message"], edited=kind == "edit")
        elif kind == "delete":
            print(f"{who} (the bot deleted its message {event['message_id']})")
        elif kind == "answer" and event.get("text"):
            label = "alert" if event.get("show_alert") else "toast"
            print(f"{who} {label}: {event['text']}")
        elif kind == "action":
            print(f"{who} ({event['action']}...)")

    def _show_message(self, who: str, record: JSON, *, edited: bool) -> None:
        text = record.get("text") or record.get("caption") or ""
        label = "(edited) " if edited else ""
        lines = text.splitlines() or [""]
        print(f"{who} bot> {label}{lines[0]}")
        for line in lines[1:]:
            print(f"       {line}")
        for field in ("photo", "document"):
            info = record.get(field)
            if info:
                print(f"       [{field} saved to {self._save(record, info)}]")
        self._show_buttons(record)

    def _save(self, record: JSON, info: JSON) -> Path:
        stored = self.sandbox.server.stored_file(info["file_id"])
        data = stored.data if stored else b""
        name = info.get("file_name") or "file"
        if "width" in info and info.get("width"):  # a photo: named by what it is
            name = f"photo{image_suffix(data)}"
        path = FILES / f"{record['chat_id']}-{record['message_id']}-{_SAFE_NAME.sub('_', name)}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def _show_buttons(self, record: JSON) -> None:
        markup = record.get("reply_markup") or {}
        rows: list[list[tuple[str, str | None]]] = []
        if "inline_keyboard" in markup:
            rows = [
                [(b["text"], b.get("callback_data")) for b in row]
                for row in markup["inline_keyboard"]
            ]
        elif "keyboard" in markup:
            rows = [
                [(b if isinstance(b, str) else b["text"], None) for b in row]
                for row in markup["keyboard"]
            ]
        # An edited message keeps its numbers, so a keyboard that changes in place (a choice
        # ticked) is pressed with the same #N as before.
        key = (int(record["chat_id"]), int(record["message_id"]))
        numbers = iter(self.numbers.get(key, []))
        used = []
        for row in rows:
            cells = []
            for text, data in row:
                number = next(numbers, None) or self._new_number()
                used.append(number)
                self.buttons[number] = (key[0], key[1], text, data)
                self.buttons.move_to_end(number)
                cells.append(f"[#{number} {text}]")
            print("       " + "  ".join(cells))
        for stale in set(self.numbers.get(key, [])) - set(used):
            self.buttons.pop(stale, None)
        self.numbers[key] = used
        while len(self.buttons) > KEPT_BUTTONS:
            self.buttons.popitem(last=False)

    def _new_number(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number

    # -- acting ------------------------------------------------------------------------------

    def act_as(self, index: int) -> None:
        """Switch to demo person number index (from 0)."""
        self.current = self.sandbox.phones[index]
        print(f"-- you are now {self.current.name} ({self.current.description})")
        if self.current.invite_code:
            print(f"-- they hold the invite code {self.current.invite_code}: /start it")

    async def handle(self, line: str) -> bool:
        """Act on one line typed by the person; False to quit."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        if line == "/users":
            for index, phone in enumerate(self.sandbox.phones, 1):
                print(f"  {index}. {phone.name} — {phone.description}")
        elif line.startswith("/as "):
            chosen = line[4:].strip()
            if chosen.isdigit() and 1 <= int(chosen) <= len(self.sandbox.phones):
                self.act_as(int(chosen) - 1)
            else:
                print("  no such person; /users lists them")
        elif line.startswith("/clock"):
            await self._clock(line.removeprefix("/clock").strip() or "1h")
        elif line.startswith("#") and line[1:].isdigit():
            await self._press(int(line[1:]))
        elif self.current is not None:
            self.sandbox.server.user_sends_text(self.current.telegram_id, line)
            await self.settle(self.current.telegram_id)
        return True

    async def _clock(self, step: str) -> None:
        try:
            fired = await self.sandbox.advance(step)
        except SandboxError as exc:
            print(f"  {exc}")
            return
        await self.queue.join()
        print(f"-- the clock is now {fired.now:%Y-%m-%d %H:%M} UTC; {fired.messages} sent")

    async def _press(self, number: int) -> None:
        found = self.buttons.get(number)
        if found is None:
            print("  no such button among the recent messages")
            return
        chat_id, message_id, text, data = found
        if self.current is None or chat_id != self.current.telegram_id:
            print(f"  (pressed as {self.name_of(chat_id)})")
        server = self.sandbox.server
        try:
            if data is None:
                server.user_presses(chat_id, message_id, text=text)
            else:
                server.user_presses(chat_id, message_id, data=data)
        except FakeUsageError:
            print("  that button is gone (the message was edited or deleted)")
            return
        await self.settle(chat_id)

    async def settle(self, chat_id: int) -> None:
        """Wait until the bot has handled everything the chat sent, and it is all printed."""
        await self.sandbox.server.wait_settled(chat_id, timeout=30)
        await self.queue.join()


def _report_processing(application: Any, sandbox: Sandbox) -> None:
    """The bot tells the fake each update it has finished: the signal `settle` waits for."""
    from telegram import Update

    from bot.updates import PerChatUpdateProcessor

    processor = application.update_processor
    if not isinstance(processor, PerChatUpdateProcessor):
        return
    sandbox.server.track_processing()

    def processed(update: object) -> None:
        if isinstance(update, Update):
            sandbox.server.mark_processed(update.update_id)

    processor.observe(processed)


async def chat_in_terminal(settings: Settings) -> int:
    """Start the sandbox and chat (or play the script when there is no terminal)."""
    interactive = sys.stdin.isatty()
    sandbox = Sandbox(settings)
    sandbox.on_started.append(lambda application: _report_processing(application, sandbox))
    chat = TerminalChat(sandbox)
    with sandbox.server.listen() as queue:
        chat.queue = queue
        printer = asyncio.create_task(chat.print_events())
        try:
            # The script is the same every time: nothing falls due while it plays.
            await sandbox.start(fire=interactive)
            database = sandbox.database_url.split(":///")[-1]
            print(
                f"Offline sandbox ready: fake Telegram at {sandbox.server.url}, database "
                f"{database}, logs in data/sandbox.log."
            )
            chat.act_as(1)  # a branch secretary: the bot's main user
            if interactive:
                await _interactive(chat)
            else:
                await _script(chat)
        finally:
            printer.cancel()
            await sandbox.stop()
    return 0


async def _script(chat: TerminalChat) -> None:
    print("(no terminal: playing a short scripted conversation)")
    for line in SCRIPT:
        print(f"you> {line}")
        await chat.handle(line)
    print(
        "Run `zhibu sandbox --terminal` in a terminal to chat yourself; "
        "/users lists the demo users."
    )


async def _interactive(chat: TerminalChat) -> None:
    print(HELP)
    loop = asyncio.get_running_loop()
    while True:
        try:
            line = await loop.run_in_executor(None, input, "you> ")
        except EOFError:
            break
        if not await chat.handle(line):
            break
