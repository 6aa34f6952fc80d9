"""Update processing: different chats side by side, one chat strictly in order, none hogging.

PTB's default handles one update at a time, so one slow database write delays every user;
its concurrent mode would let a user's second message overtake their first mid-conversation.
So each chat (or user) takes turns, and different chats run side by side in a bounded number
of processing slots. A chat's update takes the chat's turn *before* a slot: the updates queued
behind it wait without holding one, so a chat sending a hundred messages occupies one slot, not
all of them. Its backlog is capped: beyond it updates are dropped, and the chat is asked once,
until its backlog has drained, to slow down.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor, ConversationHandler

from bot.config import Settings
from bot.i18n import Translator, resolve_locale
from bot.update_context import arrival, handling, note_handler

log = logging.getLogger(__name__)

# PTB takes its own semaphore before do_process_update, that is before the chat's turn; ours
# is taken after it, so PTB's is sized never to limit.
_UNLIMITED = 2**31 - 1

Overflow = Callable[[Update], Awaitable[None]]
Observer = Callable[[object], None]
Prepare = Callable[[object], Awaitable[None]]
# (update, outcome: handled | failed | dropped, seconds since it arrived)
Finished = Callable[[object, str, float], None]


@dataclasses.dataclass
class _Turns:
    """A chat's lock and how many of its updates hold or await it."""

    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    waiting: int = 0
    dropped: int = 0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Serialise updates per chat (or user), run different chats side by side."""

    def __init__(
        self,
        max_concurrent_updates: int = 64,
        *,
        backlog: int = 20,
        on_overflow: Overflow | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        super().__init__(_UNLIMITED)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._backlog = backlog
        self.on_overflow = on_overflow
        # Run in the chat's turn, just before its handlers (the conversation states are read
        # there: bot.conversation_states).
        self.prepare = prepare
        self.on_finished: Finished | None = None
        self._chats: dict[int, _Turns] = {}
        self._observers: list[Observer] = []

    def observe(self, observer: Observer) -> None:
        """Call observer(update) whenever an update is done with (handled, failed or dropped)."""
        self._observers.append(observer)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers once earlier updates of the same chat are done."""
        started = arrival() or time.time()  # wall clock: a latency, not the bot's time
        key = _key(update)
        update_id = update.update_id if isinstance(update, Update) else None
        with handling(update_id, key) as handled:
            outcome = "handled"
            try:
                if key is None:
                    async with self._slots:
                        await coroutine
                elif not await self._in_turn(key, update, coroutine):
                    outcome = "dropped"
            finally:
                for observer in self._observers:
                    observer(update)
                if self.on_finished is not None:
                    outcome = "failed" if handled.failed else outcome
                    self.on_finished(update, outcome, time.time() - started)  # wall clock: latency

    async def _in_turn(self, key: int, update: object, coroutine: Awaitable[Any]) -> bool:
        """Run the coroutine in the chat's turn; False when the chat's backlog is full."""
        turns = self._chats.setdefault(key, _Turns())
        if turns.waiting >= self._backlog:
            _close(coroutine)
            await self._drop(key, turns, update)
            return False
        turns.waiting += 1
        try:
            async with turns.lock, self._slots:
                await self._prepare(update)
                await coroutine
        finally:
            turns.waiting -= 1
            if turns.waiting == 0:
                del self._chats[key]
                if turns.dropped:
                    log.info("chat %s: %d updates were dropped", key, turns.dropped)
        return True

    async def _prepare(self, update: object) -> None:
        if self.prepare is None:
            return
        try:
            await self.prepare(update)
        except Exception:
            # The handlers then see what this process last knew; a step reads its draft anyway.
            log.exception("preparing update %s failed", getattr(update, "update_id", "?"))

    async def _drop(self, key: int, turns: _Turns, update: object) -> None:
        turns.dropped += 1
        if turns.dropped > 1:
            return
        log.warning(
            "chat %s sends faster than it is answered: updates beyond %d waiting are dropped "
            "(first: update %s)",
            key,
            self._backlog,
            update.update_id if isinstance(update, Update) else "?",
        )
        if self.on_overflow is not None and isinstance(update, Update):
            await self.on_overflow(update)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


def _close(coroutine: Awaitable[Any]) -> None:
    """Discard a handler coroutine that will never run (without a 'never awaited' warning)."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()


async def ask_to_slow_down(bot: Bot, settings: Settings, update: Update) -> None:
    """Tell a chat whose updates were dropped to wait for the answers (once per episode)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    locale = resolve_locale(None, user.language_code if user else None, settings.default_locale)
    tr = Translator(locale, settings.timezone)
    try:
        await bot.send_message(
            chat.id,
            tr._(
                "You are sending messages faster than I can answer, so I skipped some of them. "
                "Please wait for my replies, then send again what is still missing."
            ),
        )
    except TelegramError as exc:
        log.warning("could not ask chat %s to slow down: %s", chat.id, type(exc).__name__)


def name_handlers(application: Any) -> None:
    """Name each top-level handler in the log lines of the updates it takes.

    Steps and `@sender` handlers name themselves; this covers the rest (the private-chats gate,
    plain callbacks). A ConversationHandler's own steps name themselves, so it is left as is.
    """
    for handlers in application.handlers.values():
        for handler in handlers:
            if isinstance(handler, ConversationHandler):
                continue
            handler.callback = _named(handler.callback)


def _named(callback: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    name = f"{callback.__module__}.{callback.__qualname__}"

    @functools.wraps(callback)
    async def named(update: object, context: Any) -> Any:
        note_handler(name)
        return await callback(update, context)

    return named
