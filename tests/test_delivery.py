"""The delivery worker against the fake Bot API: limits, 429, 403, 5xx, 400, and priority."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

from sqlalchemy import select

from bot.delivery import FloodGate
from bot.demo import DemoUser
from bot.enums import DeliveryState
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.fake_telegram.server import FloodLimits
from storage.db import SessionFactory
from storage.models import Account
from storage.models_notices import NoticeDelivery
from tests.support.bot import eventually, running_bot, settings_for
from tests.support.notices import delivery, demo_users, make_people, notice_now


async def _rows(db: SessionFactory) -> list[NoticeDelivery]:
    async with db() as session:
        return list(await session.scalars(select(NoticeDelivery).order_by(NoticeDelivery.id)))


def _copies_per_chat(telegram: FakeTelegramServer, chat_ids: list[int]) -> collections.Counter[int]:
    return collections.Counter({c: len(telegram.bot_messages(c)) for c in chat_ids})


async def test_stays_within_flood_limits_and_sends_each_copy_once(
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
) -> None:
    await demo_users(client, demo)
    extra = await make_people(db, "DEMO-B1", 700000, 28)
    for telegram_id in extra:
        telegram.add_user(telegram_id)
    telegram.set_flood_limits(FloodLimits(global_per_second=30, per_chat_per_second=1))
    settings = settings_for(database_url, telegram, delivery_rate=30, telegram_rate_limit=30)
    async with running_bot(settings) as app:
        await notice_now(db, now=settings.now())
        await delivery(app).drained()
    rows = await _rows(db)
    assert len(rows) == 40 and {r.state for r in rows} == {DeliveryState.SENT}
    assert telegram.violations == 0
    chats = [d.telegram_id for d in demo.values() if d.name != "林书记"] + extra
    assert set(_copies_per_chat(telegram, chats).values()) == {1}


async def test_429_pauses_and_the_copy_goes_later(
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
) -> None:
    await demo_users(client, demo)
    # The server allows less than we were told: Telegram answers 429 with retry_after.
    telegram.set_flood_limits(FloodLimits(global_per_second=5, per_chat_per_second=1))
    settings = settings_for(database_url, telegram, delivery_rate=50, telegram_rate_limit=50)
    async with running_bot(settings) as app:
        await notice_now(db, now=settings.now())
        await delivery(app).drained()
    rows = await _rows(db)
    assert {r.state for r in rows} == {DeliveryState.SENT}
    assert any(r.attempts > 1 for r in rows)
    chats = [d.telegram_id for d in demo.values() if d.name != "林书记"]
    assert set(_copies_per_chat(telegram, chats).values()) == {1}


async def test_blocked_deactivated_transient_and_permanent_errors(
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
) -> None:
    users = await demo_users(client, demo)
    await users["李强"].block()
    await users["张伟"].deactivate()
    # 刘洋 never opened a chat with the bot: a permanent 400 "chat not found".
    telegram.users.pop(demo["刘洋"].telegram_id)
    telegram._chats.pop(demo["刘洋"].telegram_id)
    telegram.fail_next("sendMessage", status=502, count=2)
    settings = settings_for(
        database_url, telegram, delivery_backoff_seconds=0, delivery_concurrency=1
    )
    async with running_bot(settings) as app:
        # Telegram tells the bot about the block (my_chat_member): the account is marked before
        # the notice is written, so its copy is skipped without a call. The deactivated account
        # has no such update and meets the 403 when its copy is sent.
        assert await eventually(lambda: _unreachable(db, demo["李强"].telegram_id))
        await notice_now(db, now=settings.now())
        await delivery(app).drained()
        by_account = {r.account_id: r for r in await _rows(db)}
        async with db() as session:
            accounts = {a.telegram_id: a for a in await session.scalars(select(Account))}

        def row(name: str) -> NoticeDelivery:
            return by_account[accounts[demo[name].telegram_id].id]

        assert row("李强").state is DeliveryState.UNREACHABLE
        assert row("李强").error == "unreachable before sending"
        assert row("张伟").state is DeliveryState.UNREACHABLE
        assert "deactivated" in (row("张伟").error or "")
        assert accounts[demo["李强"].telegram_id].unreachable_since is not None
        assert row("刘洋").state is DeliveryState.FAILED
        assert row("刘洋").error == "Chat not found"
        sent = [r for r in by_account.values() if r.state is DeliveryState.SENT]
        assert len(sent) == 9
        # Each copy but the blocked one was tried once, and the two answered 502 once more.
        assert sum(r.attempts for r in by_account.values()) == 11 + 2
        # From now on the unreachable are skipped without trying.
        calls = telegram.method_calls["sendmessage"]
        await notice_now(db, now=settings.now())
        await delivery(app).drained()
        assert telegram.method_calls["sendmessage"] - calls == 10
    rows = [r for r in await _rows(db) if r.notice_id == 2]
    states = collections.Counter(r.state for r in rows)
    assert states[DeliveryState.UNREACHABLE] == 2


async def test_interactive_slot_goes_before_waiting_broadcasts() -> None:
    gate = FloodGate(per_second=2)
    for _ in range(2):
        gate.release(await gate.acquire(None))
    order: list[str] = []

    async def take(name: str, *, broadcast: bool) -> None:
        ticket = await gate.acquire(None, broadcast=broadcast, rate=100)
        order.append(name)
        gate.release(ticket)

    broadcasts = [asyncio.create_task(take(f"b{i}", broadcast=True)) for i in range(2)]
    await asyncio.sleep(0)
    reply = asyncio.create_task(take("reply", broadcast=False))
    await asyncio.wait_for(asyncio.gather(*broadcasts, reply), timeout=5)
    assert order[0] == "reply"


async def test_gate_spaces_copies_to_one_chat() -> None:
    gate = FloodGate(per_second=100, per_chat_interval=0.2)
    loop = asyncio.get_running_loop()
    starts = []
    for _ in range(3):
        ticket = await gate.acquire(7, broadcast=True)
        starts.append(loop.time())
        gate.release(ticket)
    assert starts[2] - starts[0] >= 0.4 - 0.01
    assert dt.timedelta(seconds=starts[1] - starts[0]) >= dt.timedelta(seconds=0.19)


async def _unreachable(db: SessionFactory, telegram_id: int) -> bool:
    async with db() as session:
        account = await session.scalar(select(Account).where(Account.telegram_id == telegram_id))
        return account is not None and account.unreachable_since is not None
