"""A notice's preview met in the first hour (issue 17): five messages to the admin's chat at
once go through the flood gate, so a 429 for that chat loses none of them (the confirm button
always arrives)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.fake_telegram.flood import FloodLimits
from tests.support.bot import running_bot
from tests.support.notices import ADMIN, demo_users


@pytest.fixture
async def gated_bot(settings: Settings) -> AsyncIterator[ZhibuApp]:
    """The bot with interactive replies through the flood gate, as in production."""
    async with running_bot(settings, rate_limit=True) as application:
        yield application


async def test_a_two_language_preview_with_a_document_reaches_the_confirm_button(
    gated_bot: ZhibuApp,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    demo: dict[str, DemoUser],
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    await admin.send("/notify")
    await admin.wait_reply()
    await admin.send_document(b"%PDF-1.4 plan", "plan.pdf", caption="The 2027 study plan")
    question = await admin.wait_reply()
    await admin.press(question, data="ntf:second:add")
    await admin.wait_edit()
    await admin.send("2027年学习计划")
    audiences = await admin.wait_reply()
    await admin.press(audiences, data="ntf:aud:secretaries")
    await admin.press(await admin.wait_edit(), data="ntf:ack:1")
    when = await admin.wait_edit()
    # Telegram's per-chat limit, enforced from here on: one message a second, no bursts.
    telegram.set_flood_limits(FloodLimits(per_chat_per_second=1))
    await admin.press(when, data="ntf:when:now")
    messages = await admin.wait_replies(5, timeout=30)
    # Each 429 paused the admin's chat and the reply was sent again: nothing was lost.
    assert messages[-1].button_texts == ["Confirm and send", "Cancel"]
    assert [m.text for m in messages[::2][:2]] == ["Preview (English):", "Preview (Chinese):"]


async def test_a_chinese_admin_is_asked_for_the_english_text_in_chinese(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo, admin_language="zh-hans")
    admin = users[ADMIN]
    await admin.send("/notify")
    await admin.wait_reply()
    await admin.send("明天上午九点开会。")
    question = await admin.wait_reply()
    assert "使用英文的读者" in question.text
    assert not re.search("[A-Za-z]", question.text), question.text
    assert question.button_texts[0] == "添加英文文本"
