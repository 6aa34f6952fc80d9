"""Telegram's limits hold across processes: two gates on one database never exceed them."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from telegram import Bot

from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.floodgate import FREE_LANE
from bot.shared_gate import SharedGate
from storage.db import SessionFactory, create_engine, session_factory
from tests.support import database
from tests.support.bot import TOKEN

pytestmark = pytest.mark.skipif(
    database.BACKEND != "postgresql", reason="several processes run on PostgreSQL only"
)
PER_SECOND = 10


def _gate(db: SessionFactory) -> SharedGate:
    return SharedGate(
        db,
        per_second=PER_SECOND,
        paid_per_second=100,
        broadcast_per_second={FREE_LANE: 7},
        lease=dt.timedelta(seconds=30),
    )


async def test_two_processes_gates_keep_the_global_and_per_chat_limits_together(
    database_url: str, telegram: FakeTelegramServer, client: FakeTelegramClient
) -> None:
    await client.set_flood_limits(global_per_second=PER_SECOND, enforce=False)
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    gates = [_gate(session_factory(engine)) for _ in range(2)]
    readers = [await client.user(800 + n, f"r{n}") for n in range(24)]
    talker = await client.user(900, "talker")

    async def send(bot: Bot, gate: SharedGate, chat: int, *, broadcast: bool) -> None:
        ticket = await gate.acquire(chat, broadcast=broadcast, rate=7.0 if broadcast else None)
        try:
            await bot.send_message(chat, "x")
        finally:
            gate.release(ticket)

    try:
        async with Bot(TOKEN, base_url=telegram.base_url) as bot:
            # Each "process" broadcasts to half the readers and replies to the same chat.
            await asyncio.gather(
                *(
                    send(bot, gates[n % 2], reader.user_id, broadcast=True)
                    for n, reader in enumerate(readers)
                ),
                *(send(bot, gates[n % 2], talker.user_id, broadcast=False) for n in range(4)),
            )
        for gate in gates:
            await gate.drain()
    finally:
        await engine.dispose()
    stats = await client.flood_stats()
    assert stats["sent_count"] == 28
    assert stats["violations"] == 0, stats
