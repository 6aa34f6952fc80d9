"""Telegram's flood limits, shared by every sender in the process (see bot.delivery).

`FloodGate` keeps a sliding one-second window for all sends (30/s), a separate one for paid
broadcasts (up to 1,000/s) and one send per second per chat, replies included (Telegram may
tolerate a short burst in a private chat, but counts it: a secretary pressing through a
conversation, or an edit followed by a question, would otherwise meet 429s). Every outgoing
call takes a slot first. Interactive replies take theirs with priority (through
`GateRateLimiter`, PTB's rate-limiter hook), so they never queue behind a broadcast; a reply
waiting only for its chat's turn does not hold the broadcasts up. A slot counts from when the
call starts until its answer arrives: the server's clock sees the call somewhere in between, so
the window never overfills however long a call takes.

A 429 pauses what Telegram named: the chat of an interactive reply, so that one chat sending
too fast cannot hold up everyone's replies; the whole lane for a broadcast or a call to no chat.
The gate reads time and waits through a clock, so tests drive it without real time passing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.config import Settings

# Calls Telegram counts against the flood limits; reads and callback answers are free.
FLOOD_LIMITED_PREFIXES = ("send", "edit", "copy", "forward")
FREE_LANE, PAID_LANE = "free", "paid"
GATE_KEY = "zhibu.gate"


# The waits take a timeout (ASYNC109) because they return when it passes, to re-check the
# limits, instead of raising as asyncio.timeout would.
class GateClock(Protocol):
    """Where the gate reads the time and waits."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""

    async def wait(self, event: asyncio.Event, timeout: float | None) -> None:  # noqa: ASYNC109
        """Return when the event is set or `timeout` seconds have passed (None: no limit)."""


class MonotonicClock:
    """Real time: time.monotonic() and asyncio's timed waits."""

    def now(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    async def wait(self, event: asyncio.Event, timeout: float | None) -> None:  # noqa: ASYNC109
        """Return when the event is set or the timeout has passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter's wait in seconds (PTB gives an int or a timedelta)."""
    value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class _Window:
    """A sliding window of `limit` calls per `span` seconds, counting calls still in flight."""

    def __init__(self, limit: int, span: float = 1.0) -> None:
        self.limit = max(1, limit)
        self.span = span
        self.done: collections.deque[float] = collections.deque()
        self.in_flight = 0
        self.urgent_waiting = 0
        self.paused_until = 0.0

    def delay(self, now: float) -> float | None:
        """Seconds until a call may start (0 = now, None = when a call in flight finishes)."""
        if now < self.paused_until:
            return self.paused_until - now
        while self.done and self.done[0] <= now - self.span:
            self.done.popleft()
        if len(self.done) + self.in_flight < self.limit:
            return 0.0
        if not self.done:
            return None
        return self.done[0] + self.span - now


@dataclasses.dataclass
class _ChatSlot:
    in_flight: int = 0
    last_done: float = -math.inf
    paused_until: float = -math.inf


@dataclasses.dataclass
class Ticket:
    """A slot taken from the gate; give it back with FloodGate.release()."""

    lane: str
    chat_id: int | None
    broadcast: bool = False


class GateObserver(Protocol):
    """What the gate reports for the metrics (bot.ops)."""

    def sent(self, lane: str, *, broadcast: bool) -> None:
        """A call with a slot has its answer."""

    def limited(self, scope: str) -> None:
        """Telegram answered 429 (scope: the chat, or the whole lane)."""


class FloodGate:
    """Telegram's flood limits shared by every sender in the process."""

    def __init__(
        self,
        *,
        per_second: int = int(FloodLimit.MESSAGES_PER_SECOND),
        paid_per_second: int = int(FloodLimit.PAID_MESSAGES_PER_SECOND),
        per_chat_interval: float = 1.0,
        clock: GateClock | None = None,
    ) -> None:
        self._windows = {FREE_LANE: _Window(per_second), PAID_LANE: _Window(paid_per_second)}
        self._chat_interval = per_chat_interval
        self._chats: dict[int, _ChatSlot] = {}
        self._clock = clock or MonotonicClock()
        self._changed = asyncio.Event()
        self._next_start: dict[str, float] = {}
        self._last_prune = 0.0
        self.observer: GateObserver | None = None

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _chat_delay(self, chat_id: int | None, now: float) -> float | None:
        if chat_id is None:
            return 0.0
        slot = self._chats.get(chat_id)
        if slot is None:
            return 0.0
        if now < slot.paused_until:
            return slot.paused_until - now
        # Whatever the call, a second's distance from the answer to the last one in the chat.
        if slot.in_flight:
            return None
        return max(0.0, slot.last_done + self._chat_interval - now)

    def can_start(
        self, chat_id: int | None, *, lane: str = FREE_LANE, rate: float | None = None
    ) -> bool:
        """Whether a broadcast call could take a slot right now (without taking it)."""
        now = self._clock.now()
        window = self._windows[lane]
        pace = max(0.0, self._next_start.get(lane, 0.0) - now) if rate else 0.0
        return (
            not window.urgent_waiting
            and window.delay(now) == 0.0
            and self._chat_delay(chat_id, now) == 0.0
            and pace == 0.0
        )

    async def acquire(
        self,
        chat_id: int | None,
        *,
        lane: str = FREE_LANE,
        broadcast: bool = False,
        rate: float | None = None,
    ) -> Ticket:
        """Wait for a slot, one call a second per chat; interactive callers go first,
        broadcasts are paced at `rate`/s."""
        window = self._windows[lane]
        urgent = False
        try:
            while True:
                now = self._clock.now()
                chat_delay = self._chat_delay(chat_id, now)
                if not broadcast and urgent != (chat_delay == 0.0):
                    # Broadcasts give way to a reply only once its chat may take it: one
                    # waiting out its chat's second must not stall every other chat.
                    urgent = not urgent
                    window.urgent_waiting += 1 if urgent else -1
                    self._notify()
                delays = [window.delay(now), chat_delay]
                if broadcast:
                    if window.urgent_waiting:
                        delays.append(None)
                    if rate:
                        delays.append(max(0.0, self._next_start.get(lane, 0.0) - now))
                if all(d == 0.0 for d in delays):
                    break
                timeouts = [d for d in delays if d is not None]
                timeout = max(timeouts) if len(timeouts) == len(delays) else None
                await self._clock.wait(self._changed, timeout)
        finally:
            if urgent:
                window.urgent_waiting -= 1
        if broadcast and rate:
            # Keep the average exact: catch up after short stalls, not after long ones.
            start = max(self._next_start.get(lane, 0.0), now - 0.05)
            self._next_start[lane] = start + 1.0 / rate
        window.in_flight += 1
        if chat_id is not None:
            self._chats.setdefault(chat_id, _ChatSlot()).in_flight += 1
        return Ticket(lane, chat_id, broadcast)

    def release(self, ticket: Ticket) -> None:
        """The call has its answer: it now counts in the window from this moment."""
        now = self._clock.now()
        window = self._windows[ticket.lane]
        window.in_flight -= 1
        window.done.append(now)
        if ticket.chat_id is not None:
            slot = self._chats[ticket.chat_id]
            slot.in_flight -= 1
            slot.last_done = now
        if now - self._last_prune > 5.0:
            self._prune(now)
        if self.observer is not None:
            self.observer.sent(ticket.lane, broadcast=ticket.broadcast)
        self._notify()

    def cancel(self, ticket: Ticket) -> None:
        """The slot was not used (the call never started)."""
        window = self._windows[ticket.lane]
        window.in_flight -= 1
        if ticket.chat_id is not None:
            self._chats[ticket.chat_id].in_flight -= 1
        self._notify()

    def pause(self, seconds: float, lane: str = FREE_LANE) -> None:
        """Telegram answered 429 to a broadcast (or a call to no chat): nobody in this lane
        sends for `seconds`."""
        window = self._windows[lane]
        window.paused_until = max(window.paused_until, self._clock.now() + seconds)
        if self.observer is not None:
            self.observer.limited("lane")
        self._notify()

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 to a call to this chat: nothing goes to it for `seconds`."""
        slot = self._chats.setdefault(chat_id, _ChatSlot())
        slot.paused_until = max(slot.paused_until, self._clock.now() + seconds)
        if self.observer is not None:
            self.observer.limited("chat")
        self._notify()

    def _prune(self, now: float) -> None:
        self._last_prune = now
        stale = now - 2 * self._chat_interval
        for chat_id in [
            c
            for c, s in self._chats.items()
            if not s.in_flight and max(s.last_done, s.paused_until - self._chat_interval) < stale
        ]:
            del self._chats[chat_id]


class GateRateLimiter(BaseRateLimiter[None]):
    """PTB's rate-limiter hook for interactive calls: a priority slot from the shared gate."""

    def __init__(self, gate: FloodGate, max_retries: int = 1) -> None:
        self._gate = gate
        self._max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Take a slot for flood-limited calls; on a 429 wait as told and retry."""
        if not endpoint.lower().startswith(FLOOD_LIMITED_PREFIXES):
            return await callback(*args, **kwargs)
        chat = data.get("chat_id")
        chat_id = (
            int(chat) if isinstance(chat, int | str) and str(chat).lstrip("-").isdigit() else None
        )
        lane = PAID_LANE if data.get("allow_paid_broadcast") else FREE_LANE
        for attempt in range(self._max_retries + 1):
            ticket = await self._gate.acquire(chat_id, lane=lane)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == self._max_retries:
                    raise
                # One chat sending too fast must not hold up everyone else's replies.
                if chat_id is None or lane == PAID_LANE:
                    self._gate.pause(retry_seconds(error), lane)
                else:
                    self._gate.pause_chat(chat_id, retry_seconds(error))
            finally:
                self._gate.release(ticket)
        raise AssertionError("unreachable")  # pragma: no cover


def gate_for(settings: Settings) -> FloodGate:
    """The process's gate, sized from the settings."""
    return FloodGate(
        per_second=settings.telegram_rate_limit, paid_per_second=settings.paid_broadcast_limit
    )
