"""Zhibu works in private chats only: added to a group or channel it says so once, in the
language of whoever added it, and leaves; nothing answers there."""

from __future__ import annotations

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer

GROUP = -100_200_300
PRIVATE_ONLY = "works only in private chats"


async def test_added_to_a_group_it_says_once_that_it_works_privately_and_leaves(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    group = await client.group(GROUP, "First branch committee", kind="supergroup")
    await group.add_bot(secretary)
    notice = await group.wait_reply()
    assert PRIVATE_ONLY in notice.text and "@zhibu_test_bot" in notice.text
    assert await group.bot_left()
    # Gone: what is written there afterwards never reaches the bot.
    assert await group.send(secretary, "/help") == 0
    await group.expect_no_reply()
    await secretary.expect_no_reply()


async def test_no_command_answers_in_a_group_it_was_already_in(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    member = await client.user(demo["李强"].telegram_id, "李强", language_code="zh-hans")
    group = await client.group(GROUP, "支部群", bot_member=True)
    await group.send(member, "/me")
    notice = await group.wait_reply()
    assert "私聊" in notice.text
    await group.expect_no_reply()
    assert await group.bot_left()
    await member.expect_no_reply()


async def test_it_says_so_once_however_many_updates_came_before_it_left(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    demo: dict[str, DemoUser],
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    group = await client.group(GROUP, "Branch group")
    # Added, and three commands sent at once, all before the bot had a chance to leave.
    telegram.add_bot_to_group(GROUP, secretary.user_id)
    for command in ("/help", "/me", "/due"):
        telegram.user_sends_text(secretary.user_id, command, chat_id=GROUP)
    assert PRIVATE_ONLY in (await group.wait_reply()).text
    await group.expect_no_reply()
    assert telegram.left_chats == [GROUP]


async def test_added_to_a_channel_it_leaves_it_too(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    channel = await client.group(-100_900, "Committee news", kind="channel")
    await channel.add_bot(admin, status="administrator")
    assert PRIVATE_ONLY in (await channel.wait_reply()).text
    assert await channel.bot_left()
