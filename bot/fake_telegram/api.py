"""The fake Bot API's vocabulary: errors as Telegram words them, and the method registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

JSON = dict[str, Any]

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TRANSIENT_DESCRIPTIONS = {500: "Internal Server Error", 502: "Bad Gateway"}


class ApiError(Exception):
    """A Bot API error, answered to the bot exactly as Telegram words it."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        """Return the JSON body Telegram sends with this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class FakeUsageError(AssertionError):
    """A simulated user tried something a real client could not do (e.g. press a missing button)."""


def bad_request(detail: str) -> ApiError:
    """Telegram's 400 with its "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {detail}")


# Bot API methods by lower-case name; each takes the server and the request's parameters.
BotMethod = Callable[[Any, Any], Awaitable[Any]]
BOT_METHODS: dict[str, BotMethod] = {}
_M = TypeVar("_M", bound=BotMethod)


def bot_method(*names: str) -> Callable[[_M], _M]:
    """Register a Bot API method implementation under its (case-insensitive) names."""

    def register(implementation: _M) -> _M:
        for name in names:
            BOT_METHODS[name.lower()] = implementation
        return implementation

    return register
