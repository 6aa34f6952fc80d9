"""What the fake server tells tests beyond the Bot API: when the bot is done with a chat's
updates (the positive signal behind expect_no_reply), held chats, injected 429s, groups."""

from __future__ import annotations

import pytest

from bot.app import ZhibuApp
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.fake_telegram.params import Params

USER = 5005


async def test_expect_no_reply_waits_until_the_bot_has_processed_the_chat(
    bot: ZhibuApp, client: FakeTelegramClient, telegram: FakeTelegramServer
) -> None:
    user = await client.user(USER, "Slow", language_code="en")
    # The bot's answer hangs at the server: the update is not processed, so silence so far
    # proves nothing (0.3 s of it used to be taken as "no reply").
    telegram.hold_chat(USER)
    await user.send("hello")
    with pytest.raises(AssertionError, match="did not finish this chat's updates"):
        await user.expect_no_reply(timeout=0.5)
    telegram.release_chat(USER)
    with pytest.raises(AssertionError, match="expected no reply but got"):
        await user.expect_no_reply()
    # Once processed, and with nothing sent, it holds at once.
    await user.skip_pending()
    await user.expect_no_reply()


async def test_a_429_can_be_injected_for_one_chat(
    client: FakeTelegramClient, telegram: FakeTelegramServer
) -> None:
    telegram.add_user(1)
    telegram.add_user(2)
    await client.fail_next("sendMessage", status=429, retry_after=7, chat_id=1)
    status, other = await telegram.handle_bot_request(
        telegram.token, "sendMessage", _params(chat_id=2, text="to 2")
    )
    assert status == 200 and other["ok"]
    status, refused = await telegram.handle_bot_request(
        telegram.token, "sendMessage", _params(chat_id=1, text="to 1")
    )
    assert status == 429
    assert refused["parameters"] == {"retry_after": 7}
    assert refused["description"] == "Too Many Requests: retry after 7"


def _params(**values: object) -> Params:
    return Params(dict(values))
