"""The one clock every part of Zhibu reads: `Settings.now()`, column defaults, the jobs.

Real UTC time, plus an offset that only the offline sandbox may move (its page, its HTTP
endpoint and `zhibu clock`), so reminders, deadlines, quiet hours, the digest and transfer
letters can be seen without waiting. The clock is locked until the sandbox unlocks it for a
bot that talks to a fake Telegram in its own process; a bot serving Telegram never does, so
its clock cannot be moved. It only moves forward: what was planned and sent stays true.

`travel(moment)` pins the clock for one task (a contextvar), so the sandbox's demo history is
written at the moments it tells of, column defaults included, without moving anyone else's
clock.

A leaf: it imports nothing of the project, so storage may read it too.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator


class ClockRefused(Exception):
    """The clock may not be moved (serving Telegram, or backwards)."""


_offset = dt.timedelta(0)
_unlocked_for: str | None = None
_pinned: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "zhibu_clock_pinned", default=None
)


def now() -> dt.datetime:
    """The current UTC time on the bot's clock."""
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    return dt.datetime.now(dt.UTC) + _offset


def offset() -> dt.timedelta:
    """How far the clock runs ahead of real time."""
    return _offset


def unlock(reason: str) -> None:
    """Let the clock be moved (the sandbox, for its fake Telegram; `reason` says which)."""
    global _unlocked_for
    _unlocked_for = reason


def lock() -> None:
    """Back to real time, and no more moving (the sandbox stops or starts again)."""
    global _offset, _unlocked_for
    _offset = dt.timedelta(0)
    _unlocked_for = None


def movable() -> bool:
    """Whether advance() is allowed in this process."""
    return _unlocked_for is not None


def advance(delta: dt.timedelta) -> dt.datetime:
    """Move the clock forward by delta; return the new time."""
    global _offset
    if _unlocked_for is None:
        raise ClockRefused(
            "the clock moves only in the offline sandbox; a bot serving Telegram keeps real time"
        )
    if delta < dt.timedelta(0):
        raise ClockRefused("the clock only moves forward")
    _offset += delta
    return now()


@contextlib.contextmanager
def travel(moment: dt.datetime) -> Iterator[None]:
    """Pin the clock at moment for the current task (and what it awaits), then let go."""
    if moment.tzinfo is None:
        raise ValueError("travel() needs an aware datetime")
    token = _pinned.set(moment.astimezone(dt.UTC))
    try:
        yield
    finally:
        _pinned.reset(token)
