"""One chat cannot stall the others: its backlog waits for its turn without holding a slot,
is capped (the chat is asked once to slow down), and a 429 pauses only the chat it names."""

from __future__ import annotations

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer

FLOODER = 990_001
SLOW_DOWN = "You are sending messages faster than I can answer"


async def test_a_flooding_chat_does_not_hold_up_another_users_help(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    settings: Settings,
    demo: dict[str, DemoUser],
) -> None:
    flooder = await client.user(FLOODER, "Flood", language_code="en")
    other = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    # Telegram is slow for the flooding chat: its first answer hangs, and the rest of its 100
    # messages queue behind it. They used to take every processing slot while they waited.
    telegram.hold_chat(FLOODER)
    for number in range(100):
        telegram.user_sends_text(FLOODER, f"message {number}")
    await other.send("/help")
    assert "/me" in (await other.wait_reply()).text
    telegram.release_chat(FLOODER)
    # The chat's backlog was answered in order; what came beyond it was dropped, and the
    # chat was asked once to slow down.
    replies = await flooder.wait_replies(settings.chat_backlog + 1)
    await flooder.expect_no_reply()
    texts = [reply.text for reply in replies]
    assert sum(SLOW_DOWN in text for text in texts) == 1
    assert sum("not waiting for anything" in text for text in texts) == settings.chat_backlog


async def test_the_slow_down_reply_is_localized(
    bot: ZhibuApp, client: FakeTelegramClient, telegram: FakeTelegramServer, settings: Settings
) -> None:
    flooder = await client.user(FLOODER, "洪", language_code="zh-hans")
    telegram.hold_chat(FLOODER)
    for number in range(settings.chat_backlog + 1):
        telegram.user_sends_text(FLOODER, f"消息 {number}")
    telegram.release_chat(FLOODER)
    replies = await flooder.wait_replies(settings.chat_backlog + 1)
    texts = [reply.text for reply in replies]
    assert not any(SLOW_DOWN in text for text in texts)
    assert sum("跳过" in text for text in texts) == 1
