"""Logs carry ids, never what people typed, their names, phones or the buttons they pressed:
not in our own lines, not in PTB's debug lines, not in a traceback's exception message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import ZhibuApp
from bot.config import Settings
from bot.context import BotContext
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from tests.support.bot import BotProcess, env_for

NAME = "Qiuxiang-NAME-4711"
TEXT = "my phone is 13912345678, TEXT-8842"
BUTTON = "BUTTON-VALUE-5531"
PERSONAL = (NAME, "Qiuxiang", "TEXT-8842", "13912345678", BUTTON)


async def _fail(update: Update, context: BotContext) -> None:
    """A handler that fails, quoting everything personal in its error (as errors do)."""
    message = update.effective_message
    query = update.callback_query
    user = update.effective_user
    raise ValueError(
        f"cannot handle {message.text if message else ''!r} from "
        f"{user.first_name if user else ''} pressing {query.data if query else ''}"
    )


async def test_a_failing_handler_logs_ids_but_no_text_name_or_button(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # PTB's own debug lines show whole updates and calls
    bot.add_handler(TypeHandler(Update, _fail), group=-10)
    user = await client.user(4711, NAME, username="qx4711", language_code="en")
    sent = await user.send(TEXT)
    apology, _ = await user.wait_replies(2)  # the apology, then the usual answer
    assert "something went wrong" in apology.text
    pressed = await user.press_data(apology, BUTTON)
    assert "something went wrong" in (await user.wait_reply()).text
    await user.expect_no_reply()
    log = caplog.text
    assert f"handling update {sent} (chat 4711, user 4711) in tests.test_logs._fail" in log
    assert f"handling update {pressed} (chat 4711, user 4711) in" in log
    assert "ValueError (message withheld" in log
    leaked = [word for word in PERSONAL if word in log]
    assert leaked == [], leaked
    for record in caplog.records:
        if record.exc_info:
            assert not any(word in (record.exc_text or "") for word in PERSONAL)


@pytest.mark.slow
async def test_the_bot_processs_log_holds_no_personal_data_even_at_debug_level(
    settings: Settings,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    tmp_path: Path,
) -> None:
    env = env_for(settings)
    env["ZHIBU_LOG_LEVEL"] = "DEBUG"
    process = BotProcess(env, tmp_path / "bot.log")
    process.start()
    try:
        user = await client.user(4711, NAME, username="qx4711", language_code="en")
        await user.send("/help")
        help_reply = await user.wait_reply(timeout=60)
        # Telegram fails the bot's answers (and its apologies): the error handler logs.
        telegram.fail_next("sendMessage", status=500, count=2)
        sent = await user.send(TEXT)
        await telegram.wait_until(lambda: telegram.method_calls["sendmessage"] >= 3)
        telegram.fail_next("answerCallbackQuery", status=500, count=2)
        pressed = await user.press_data(help_reply, BUTTON)
        await user.send("/help")  # answered once the failed updates are done with
        await user.wait_reply(timeout=30)
    finally:
        assert await process.terminate() == 0
    log = process.log()
    assert f"handling update {sent} (chat 4711, user 4711) in" in log, log
    assert f"handling update {pressed} (chat 4711, user 4711) in" in log, log
    # PTB's debug lines are there (on PostgreSQL updates come through the inbox, not PTB's
    # "Processing update", but PTB still logs at debug level).
    assert "DEBUG telegram.ext." in log
    leaked = [word for word in PERSONAL if word in log]
    assert leaked == [], leaked
