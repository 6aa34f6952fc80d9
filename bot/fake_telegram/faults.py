"""Faults the fake server plays: transient 5xx, 429s (for one chat or all), latency, and
chats whose calls hang until released (Telegram slow for them)."""

# The waits take a timeout because the fake answers "nothing yet" on timeout.

from __future__ import annotations

import dataclasses

from bot.fake_telegram.api import TRANSIENT_DESCRIPTIONS, ApiError
from bot.fake_telegram.state import ServerState


@dataclasses.dataclass(frozen=True)
class Fault:
    """An answer the next call of a method gets instead of its result."""

    status: int
    retry_after: int = 1
    chat_id: int | None = None  # only calls to this chat


class Faults(ServerState):
    """Injected failures, consulted by every Bot API call before it runs."""

    def fail_next(
        self,
        method: str = "*",
        status: int = 500,
        count: int = 1,
        *,
        retry_after: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next count calls of method ("*" for any), to chat_id if given, with a
        transient 5xx, or with 429 and retry_after as Telegram's flood control does."""
        if status != 429 and status not in TRANSIENT_DESCRIPTIONS:
            raise ValueError(f"status must be 429 or one of {sorted(TRANSIENT_DESCRIPTIONS)}")
        faults = self._fail_next.setdefault(method.lower(), [])
        faults.extend([Fault(status, retry_after, chat_id)] * count)

    def hold_chat(self, chat_id: int) -> None:
        """Telegram is slow for this chat: the bot's calls to it wait until release_chat()."""
        self._held_chats.add(chat_id)

    def release_chat(self, chat_id: int) -> None:
        """Answer the held calls to the chat, and those that follow."""
        self._held_chats.discard(chat_id)
        self._notify()

    def set_latency(self, seconds: float) -> None:
        """Delay every Bot API answer by this many seconds."""
        self.latency = max(0.0, seconds)

    def _raise_injected_failure(self, method: str, chat_id: int | None) -> None:
        for key in (method, "*"):
            faults = self._fail_next.get(key, [])
            fault = next((f for f in faults if f.chat_id in (None, chat_id)), None)
            if fault is None:
                continue
            faults.remove(fault)
            if fault.status == 429:
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {fault.retry_after}",
                    {"retry_after": fault.retry_after},
                )
            raise ApiError(fault.status, TRANSIENT_DESCRIPTIONS[fault.status])

    async def _wait_if_held(self, chat_id: int | None) -> None:
        if chat_id is not None and chat_id in self._held_chats:
            await self.wait_until(
                lambda: self._closing or chat_id not in self._held_chats, timeout=None
            )
