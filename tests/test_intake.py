"""Updates reach the inbox before Telegram hears they arrived, and a retry is stored once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select
from telegram import Bot

from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.intake import SECRET_HEADER, poll_into_inbox, webhook_routes
from storage.db import SessionFactory
from storage.models_cluster import InboxUpdate
from tests.support import database
from tests.support.bot import TOKEN, eventually

pytestmark = pytest.mark.skipif(
    database.BACKEND != "postgresql", reason="the inbox serves several processes on PostgreSQL"
)
SECRET = "s" * 40


async def _stored(db: SessionFactory) -> list[tuple[int, int]]:
    async with db() as session:
        rows = await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.chat_id).order_by(InboxUpdate.update_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
async def webhook(db: SessionFactory) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(webhook_routes("hook", SECRET, db))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def test_webhook_updates_are_stored_once_and_a_wrong_secret_is_refused(
    telegram: FakeTelegramServer, client: FakeTelegramClient, db: SessionFactory, webhook: str
) -> None:
    async with Bot(TOKEN, base_url=telegram.base_url) as bot:
        await bot.set_webhook(webhook, secret_token=SECRET)
    user = await client.user(31, "Li", language_code="en")
    first = await user.send("hello")
    second = await user.send("again")

    async def both() -> bool:
        return len(await _stored(db)) == 2

    assert await eventually(both)
    assert await _stored(db) == [(first, 31), (second, 31)]
    body = json.dumps(telegram.updates_by_id[first]).encode()
    async with aiohttp.ClientSession() as http:
        async with http.post(webhook, data=body, headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 200  # Telegram retrying: acknowledged, not stored again
        async with http.post(webhook, data=body, headers={SECRET_HEADER: "wrong"}) as response:
            assert response.status == 403
        async with http.post(webhook, data=b"{}", headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 400
    assert await _stored(db) == [(first, 31), (second, 31)]


async def test_polling_stores_updates_and_confirms_them_only_afterwards(
    telegram: FakeTelegramServer, client: FakeTelegramClient, db: SessionFactory
) -> None:
    user = await client.user(32, "Wu", language_code="en")
    ids = [await user.send(f"m{n}") for n in range(3)]
    async with Bot(TOKEN, base_url=telegram.base_url) as bot:
        poller = asyncio.create_task(
            poll_into_inbox(bot, db, allowed_updates=["message"], poll_seconds=1)
        )
        try:

            async def all_stored() -> bool:
                return [u for u, _ in await _stored(db)] == ids

            assert await eventually(all_stored)
            later = await user.send("later")

            async def confirmed() -> bool:
                # The first three were confirmed by the poll that asked for what came after.
                state = await client.state()
                return state["pending_updates"] == 0

            assert await eventually(confirmed)
            assert [u for u, _ in await _stored(db)] == [*ids, later]
        finally:
            poller.cancel()
            with pytest.raises(asyncio.CancelledError):
                await poller
