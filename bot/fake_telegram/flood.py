"""Telegram's flood limits as the fake enforces them: sliding one-second windows."""

from __future__ import annotations

import collections
import dataclasses
import math
import time

from telegram.constants import FloodLimit

from bot.fake_telegram.api import JSON, ApiError

# Methods Telegram counts against the flood limits; reads, answers and chat actions are not.
FLOOD_LIMITED_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendsticker",
        "sendvideo",
        "sendaudio",
        "sendanimation",
        "sendvoice",
        "sendmediagroup",
        "sendlocation",
        "sendcontact",
        "sendpoll",
        "senddice",
        "copymessage",
        "copymessages",
        "forwardmessage",
        "forwardmessages",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
        "editmessagemedia",
    }
)


@dataclasses.dataclass(frozen=True)
class FloodLimits:
    """Telegram's send limits; with enforce=False over-limit sends pass but are still counted."""

    global_per_second: int = int(FloodLimit.MESSAGES_PER_SECOND)
    per_chat_per_second: int = int(FloodLimit.MESSAGES_PER_SECOND_PER_CHAT)
    paid_broadcast_per_second: int = int(FloodLimit.PAID_MESSAGES_PER_SECOND)
    enforce: bool = True


def _retry_after(window: collections.deque[float], limit: int, now: float) -> int | None:
    """Seconds until a one-second sliding window has room, or None if it has room now."""
    while window and window[0] <= now - 1.0:
        window.popleft()
    if len(window) < limit:
        return None
    return max(1, math.ceil(window[0] + 1.0 - now))


class FloodControl:
    """Sliding one-second windows over accepted sends, globally and per chat."""

    def __init__(self, limits: FloodLimits | None) -> None:
        self.limits = limits
        self.violations = 0
        self.send_times: list[float] = []
        self.send_chats: list[int] = []
        self._global: collections.deque[float] = collections.deque()
        self._paid: collections.deque[float] = collections.deque()
        self._chats: dict[int, collections.deque[float]] = {}

    def admit(self, chat_id: int, *, paid: bool) -> None:
        """Record a send, or refuse it with 429 when it would exceed an enforced limit."""
        now = time.monotonic()
        chat_window = self._chats.setdefault(chat_id, collections.deque())
        shared_window = self._paid if paid else self._global
        if self.limits is not None:
            shared_limit = (
                self.limits.paid_broadcast_per_second if paid else self.limits.global_per_second
            )
            waits = [
                wait
                for wait in (
                    _retry_after(shared_window, shared_limit, now),
                    _retry_after(chat_window, self.limits.per_chat_per_second, now),
                )
                if wait is not None
            ]
            if waits:
                self.violations += 1
                if self.limits.enforce:
                    retry = max(waits)
                    raise ApiError(
                        429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                    )
        shared_window.append(now)
        chat_window.append(now)
        self.send_times.append(now)
        self.send_chats.append(chat_id)

    def peak_per_second(self) -> int:
        """The most sends accepted within any one-second window."""
        peak, start = 0, 0
        for end, moment in enumerate(self.send_times):
            while self.send_times[start] <= moment - 1.0:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    def stats(self) -> JSON:
        """Return the counters benchmarks and tests read."""
        limits = dataclasses.asdict(self.limits) if self.limits else None
        return {
            "limits": limits,
            "violations": self.violations,
            "sent_count": len(self.send_times),
            "send_times": list(self.send_times),
            "send_chats": list(self.send_chats),
            "peak_per_second": self.peak_per_second(),
        }
