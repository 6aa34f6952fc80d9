"""The sandbox's world: a fake Telegram, the demo organisation with its history, the real bot,
and what the page (or the terminal) may do to them: act as anyone, move the clock, start over.

Every demo person's chat exists in the fake from the start, so whatever the bot sends them
(notices, reminders, relink cards) lands there, where the page and the terminal show it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot import clock
from bot.app import build_application
from bot.config import Settings
from bot.delivery import DELIVERY_KEY
from bot.demo import DemoUser, seed_demo
from bot.demo.history import History, write_history
from bot.demo.people import NEWCOMER_ID, invite_stranger, seed_people
from bot.fake_telegram import FakeTelegramServer
from bot.relink.jobs import check_pocket_members
from bot.reminders.engine import REMINDERS_KEY
from storage import queries, sandbox_queries
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade

log = logging.getLogger(__name__)

SANDBOX_DB = Path("data") / "sandbox.sqlite3"
SANDBOX_TOKEN = "100000:SANDBOX"
BOT_USERNAME = "zhibu_sandbox_bot"
STRANGER_NAMES = ("孟凡", "秦雨", "韩冰", "贾宁", "温柔", "谢安", "卢峰", "苏晴")
_STEP = re.compile(r"^(\d{1,4})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class SandboxError(Exception):
    """What the page or the terminal asked cannot be done; the message says why."""


@dataclasses.dataclass(frozen=True, slots=True)
class Fired:
    """What moving the clock set off."""

    now: dt.datetime
    planned: int
    reminders: int
    messages: int


def parse_step(text: str) -> dt.timedelta:
    """ "1h", "1d", "90m": how far to move the clock."""
    match = _STEP.match(text.strip().lower())
    if match is None:
        raise SandboxError(f"{text!r}: give minutes, hours or days, such as 90m, 1h or 1d")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def image_suffix(data: bytes) -> str:
    """The file suffix of an image, from its first bytes."""
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data[:4] == b"GIF8":
        return ".gif"
    return ".jpg"


class Sandbox:
    """The fake Telegram, the database and the bot, started and started over together."""

    def __init__(self, settings: Settings, *, database_url: str | None = None) -> None:
        self.base_settings = settings
        self.database_url = database_url or f"sqlite+aiosqlite:///{SANDBOX_DB}"
        self.server = FakeTelegramServer(
            token=SANDBOX_TOKEN,
            bot_username=BOT_USERNAME,
            bot_first_name="Zhibu",
            clock=lambda: clock.now().timestamp(),
        )
        self.phones: list[DemoUser] = []
        self.history: History | None = None
        self.application: Any = None
        self.settings: Settings | None = None
        self._db: SessionFactory | None = None
        self._engine: Any = None
        self._strangers = 0
        # Called once the bot is (again) serving: the terminal hooks its processing signal here.
        self.on_started: list[Callable[[Any], Awaitable[None] | None]] = []
        # One change at a time: a stop (or a clock move) arriving while a start-over builds the
        # new bot would otherwise find no bot, and the new one would then run on, unstopped.
        self._busy = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, fire: bool = True) -> None:
        """Start the fake Telegram, lay out the demo and its history, start the bot."""
        async with self._busy:
            await self.server.start("127.0.0.1", 0)
            clock.lock()
            upgrade(self.database_url)
            self._engine = create_engine(self.database_url)
            self._db = session_factory(self._engine)
            await self._lay_out()
            await self._start_bot()
            if fire:
                await self._fire()

    async def stop(self) -> None:
        """Stop the bot and the fake; the clock is real again."""
        async with self._busy:
            await self._stop_bot()
            await self.server.stop()
            if self._engine is not None:
                await self._engine.dispose()
            clock.lock()

    async def reset(self) -> None:
        """Start the demo over: real time, a fresh organisation and history, empty chats."""
        async with self._busy:
            await self._stop_bot()
            clock.lock()
            self._strangers = 0
            await self._lay_out()
            await self._start_bot()
            await self._fire()

    async def _lay_out(self) -> None:
        """The demo's people and a year of history in an emptied database, and every
        person's chat in the fake."""
        assert self._db is not None
        now = clock.now()
        settings = self._keyed_settings()
        async with self._db.begin() as session:
            await sandbox_queries.erase_everything(session)
        async with self._db.begin() as session:
            users = await seed_demo(session)
            self.phones = await seed_people(session, settings, users, now)
        self.history = await write_history(self._db, settings, now)
        # Empty chats for everyone (the page hears "reset" and reads the new state).
        self.server.reset()
        for phone in self.phones:
            self.server.add_user(phone.telegram_id, phone.name, language_code=phone.language_code)

    def _keyed_settings(self) -> Settings:
        return self.base_settings.model_copy(
            update={
                "bot_token": SecretStr(SANDBOX_TOKEN),
                "database_url": self.database_url,
                "bot_api_url": self.server.base_url,
                "bot_file_url": self.server.base_file_url,
                "bot_username": BOT_USERNAME,
                "webhook_url": None,
            }
        )

    async def _start_bot(self) -> None:
        self.settings = self._keyed_settings()
        # The clock may move only for a bot that talks to this process's own fake Telegram,
        # never to Telegram's API.
        if FakeTelegramServer.serving(self.settings.bot_api_url) is not self.server:
            raise SandboxError("the sandbox's bot does not talk to the sandbox's fake Telegram")
        clock.unlock("offline sandbox")
        application = build_application(self.settings, rate_limit=False)
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        self.application = application
        for hook in self.on_started:
            result = hook(application)
            if result is not None:
                await result

    async def _stop_bot(self) -> None:
        application, self.application = self.application, None
        if application is None:
            return
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)

    # -- the clock ---------------------------------------------------------------------------

    async def advance(self, step: str) -> Fired:
        """Move the clock forward ("1h", "1d", "90m", or "next": to the next reminder) and
        fire what became due."""
        async with self._busy:
            return await self._advance(step)

    async def _advance(self, step: str) -> Fired:
        if step == "next":
            await self._plan()
            assert self._db is not None
            async with self._db() as session:
                due = await sandbox_queries.next_reminder_at(session, clock.now())
            if due is None:
                raise SandboxError("no reminder is planned after now")
            delta = max(due - clock.now(), dt.timedelta(0)) + dt.timedelta(seconds=1)
        else:
            delta = parse_step(step)
        try:
            clock.advance(delta)
        except clock.ClockRefused as exc:
            raise SandboxError(str(exc)) from None
        return await self._fire()

    async def _plan(self) -> int:

        engine = self.application.bot_data[REMINDERS_KEY]
        report = await engine.plan()
        return int(report.inserted)

    async def fire(self) -> Fired:
        """Do now what the bot's jobs would do at this moment: plan reminders, send what is
        due (each once: planning and sending are idempotent), check transfer letters, and let
        the notice worker look for what is due."""
        async with self._busy:
            return await self._fire()

    async def _fire(self) -> Fired:
        application = self.application
        planned = await self._plan()
        report = await application.bot_data[REMINDERS_KEY].tick()
        await check_pocket_members(application, clock.now())
        delivery = application.bot_data.get(DELIVERY_KEY)
        if delivery is not None:
            delivery.wake()
        log.info("sandbox clock at %s: %d planned, %s", clock.now().isoformat(), planned, report)
        return Fired(clock.now(), planned, report.reminders, report.messages)

    # -- the people --------------------------------------------------------------------------

    def phone(self, telegram_id: int) -> DemoUser:
        """A phone shown by the sandbox."""
        for phone in self.phones:
            if phone.telegram_id == telegram_id:
                return phone
        raise SandboxError(f"there is no phone {telegram_id}")

    async def new_stranger(self) -> DemoUser:
        """Someone new, holding an invite to the first branch; nothing is stored about them
        until they agree to the privacy notice."""
        async with self._busy:
            return await self._new_stranger()

    async def _new_stranger(self) -> DemoUser:
        assert self._db is not None
        self._strangers += 1
        telegram_id = NEWCOMER_ID + self._strangers
        name = STRANGER_NAMES[(self._strangers - 1) % len(STRANGER_NAMES)]
        async with self._db.begin() as session:
            stranger = await invite_stranger(
                session, self._keyed_settings(), clock.now(), telegram_id=telegram_id, name=name
            )
        self.server.add_user(telegram_id, name, language_code=stranger.language_code)
        self.phones.append(stranger)
        return stranger

    async def set_language(self, telegram_id: int, language_code: str) -> DemoUser:
        """The phone's interface language, as Telegram tells the bot (and the bot's stored copy
        of it, so what it pushes follows at once)."""
        if language_code not in ("en", "zh-hans"):
            raise SandboxError("the language is en or zh-hans")
        async with self._busy:
            return await self._set_language(telegram_id, language_code)

    async def _set_language(self, telegram_id: int, language_code: str) -> DemoUser:
        phone = self.phone(telegram_id)
        changed = dataclasses.replace(phone, language_code=language_code)
        self.phones[self.phones.index(phone)] = changed
        self.server.add_user(telegram_id, phone.name, language_code=language_code)
        assert self._db is not None
        async with self._db.begin() as session:
            await queries.account_for_update(
                session, telegram_id=telegram_id, language_code=language_code, username=None
            )
        return changed

    def deep_link(self, phone: DemoUser) -> str | None:
        """The invite link a newcomer was sent, if they hold one."""
        if phone.invite_code is None:
            return None
        return f"https://t.me/{BOT_USERNAME}?start={phone.invite_code}"
