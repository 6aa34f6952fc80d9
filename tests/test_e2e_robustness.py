"""Cancel, overlong answers, a refused command menu, registration beside other buttons, blocking."""

import logging
from collections.abc import Awaitable

import pytest
from sqlalchemy import select

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import Role
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from storage import queries
from storage.db import SessionFactory
from storage.models import ConversationRecord
from tests.support.bot import eventually, running_bot
from tests.support.registration import agree_to_privacy
from tests.support.registration import make_invite as _invite


async def test_cancel_leaves_registration_and_forgets_the_draft(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await _invite(db, Role.MEMBER, "DEMO-B1")
    user = await client.user(60, "Quit", language_code="en")
    await user.send(f"/start {code}")
    await agree_to_privacy(user)
    await user.wait_reply()
    await user.send("A" * 51)
    assert "at most 50 characters" in (await user.wait_reply()).text
    await user.send("x" * 5000)
    assert "at most 50 characters" in (await user.wait_reply()).text
    async with db() as session:
        assert (await session.scalar(select(ConversationRecord.state))) == "name"
    await user.send("/cancel")
    assert (await user.wait_reply()).text == "Cancelled. Nothing was saved."
    async with db() as session:
        assert list(await session.scalars(select(ConversationRecord))) == []
    await user.send("Quentin")
    assert "not waiting for anything" in (await user.wait_reply()).text


async def test_refused_command_menu_is_logged_and_the_bot_carries_on(
    settings: Settings,
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram.fail_next("setMyCommands", status=500, count=10)
    with caplog.at_level(logging.WARNING):
        async with running_bot(settings):
            user = await client.user(61, "Menu", language_code="en")
            await user.send("/help")
            assert "What you can do" in (await user.wait_reply()).text
    assert any(
        "setMyCommands" in r.getMessage() and "carrying on" in r.getMessage()
        for r in caplog.records
    )


async def test_other_buttons_work_while_registration_is_open(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await _invite(db, Role.MEMBER, "DEMO-B1")
    user = await client.user(62, "Lang", language_code="en")
    await user.send(f"/start {code}")
    await agree_to_privacy(user)
    assert "full name" in (await user.wait_reply()).text
    await user.send("/lang")
    menu = await user.wait_reply()
    await user.press(menu, "中文（简体）")  # handled by /lang, not eaten by the open registration
    assert (await user.wait_edit()).text == "好的，今后我将用中文与您交流。"
    await user.send("吕 明")
    assert "电话" in (await user.wait_reply()).text  # the registration carries on, now in Chinese


async def _account_unreachable(db: SessionFactory, telegram_id: int) -> bool:
    async with db() as session:
        account = await queries.account_by_telegram_id(session, telegram_id)
        return account is not None and account.unreachable_since is not None


async def test_blocking_and_unblocking_the_bot_is_noted(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    telegram.block_user(user.user_id)
    assert await eventually(lambda: _account_unreachable(db, user.user_id))
    telegram.unblock_user(user.user_id)
    assert await eventually(lambda: _not(_account_unreachable(db, user.user_id)))
    # Writing to the bot also makes an account reachable again.
    telegram.block_user(user.user_id)
    assert await eventually(lambda: _account_unreachable(db, user.user_id))
    telegram.unblock_user(user.user_id)
    await user.send("/me")
    await user.wait_reply()
    assert not await _account_unreachable(db, user.user_id)


async def _not(check: Awaitable[bool]) -> bool:
    return not await check
