"""Offline fake Telegram Bot API: a real HTTP server for PTB plus simulated users driving it."""

from bot.fake_telegram.client import (
    FakeFile,
    FakeGroup,
    FakeMessage,
    FakeTelegramClient,
    FakeUser,
)
from bot.fake_telegram.server import (
    ApiError,
    FakeTelegramServer,
    FakeUsageError,
    FloodLimits,
    SimulatedUser,
    parse_html,
)

__all__ = [
    "ApiError",
    "FakeFile",
    "FakeGroup",
    "FakeMessage",
    "FakeTelegramClient",
    "FakeTelegramServer",
    "FakeUsageError",
    "FakeUser",
    "FloodLimits",
    "SimulatedUser",
    "parse_html",
]
