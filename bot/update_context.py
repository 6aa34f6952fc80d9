"""Which update this task is handling, for the log lines and metrics written meanwhile.

The update processor opens `handling(update)` around each update; the step and sender
decorators name the handler (`note_handler`), the error handler notes a failure. Context
variables follow the task that handles the update (and nothing else), so two chats handled
side by side never see each other's ids.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator


@dataclasses.dataclass(slots=True)
class Handling:
    """The update in hand: its ids, the handler that took it, whether it failed."""

    update_id: int | None = None
    chat_id: int | None = None
    handler: str | None = None
    failed: bool = False


_CURRENT: contextvars.ContextVar[Handling | None] = contextvars.ContextVar(
    "zhibu_handling", default=None
)


@contextlib.contextmanager
def handling(update_id: int | None, chat_id: int | None) -> Iterator[Handling]:
    """Mark the lines logged in this block as this update's."""
    current = Handling(update_id, chat_id)
    token = _CURRENT.set(current)
    try:
        yield current
    finally:
        _CURRENT.reset(token)


def current() -> Handling | None:
    """The update being handled by this task, if any."""
    return _CURRENT.get()


def note_handler(name: str) -> None:
    """The handler (module.function) that took the update."""
    found = _CURRENT.get()
    if found is not None:
        found.handler = name


def note_failure() -> None:
    """The update's handler raised (the error handler saw it)."""
    found = _CURRENT.get()
    if found is not None:
        found.failed = True


_ARRIVED: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "zhibu_arrived", default=None
)


@contextlib.contextmanager
def arrived_at(moment: float) -> Iterator[None]:
    """The update reached us at `moment` (wall-clock seconds since the epoch): an inbox row
    waited before this task took it, and the reply's latency counts from its arrival."""
    token = _ARRIVED.set(moment)
    try:
        yield
    finally:
        _ARRIVED.reset(token)


def arrival() -> float | None:
    """When the update in hand arrived, if someone said so."""
    return _ARRIVED.get()
