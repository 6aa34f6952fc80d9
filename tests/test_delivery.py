"""The delivery worker against the fake Bot API: limits, 429, 403, 5xx, 400, and priority."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from sqlalchemy import select
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.delivery import FloodGate, GateRateLimiter
from bot.demo import DemoUser
from bot.enums import DeliveryState
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.fake_telegram.server import FloodLimits
from storage import notice_queries as nq
from storage.db import SessionFactory
from storage.models import Account
from storage.models_notices import Notice, NoticeDelivery
from tests.support.bot import TOKEN, eventually, running_bot, settings_for
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


async def test_an_audience_of_many_slices_is_written_while_the_sending_waits(
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Slices of 3 account ids, and Telegram holds every send: the worker, stuck on its first
    # copy, wrote only the first slice; the rest is now written beside the sending.
    monkeypatch.setattr(nq, "FILL_SPAN", 3)
    await demo_users(client, demo)
    extra = await make_people(db, "DEMO-B1", 700000, 28)
    for telegram_id in extra:
        telegram.add_user(telegram_id)
    chats = [d.telegram_id for d in demo.values() if d.name != "林书记"] + extra
    for chat in chats:
        telegram.hold_chat(chat)
    settings = settings_for(database_url, telegram, delivery_concurrency=1)
    async with running_bot(settings) as app:
        notice_id = await notice_now(db, now=settings.now())

        async def written() -> bool:
            async with db() as session:
                notice = await session.get(Notice, notice_id)
                assert notice is not None
                return notice.started_at is not None and notice.fill_after is None

        assert await eventually(written, within=30)
        assert len(await _rows(db)) == 40
        for chat in chats:
            telegram.release_chat(chat)
        await delivery(app).drained()
    rows = await _rows(db)
    assert len(rows) == 40 and {r.state for r in rows} == {DeliveryState.SENT}
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


T = TypeVar("T")


class SteppedClock:
    """A gate clock that stands still until the test moves it (no real time passes)."""

    def __init__(self) -> None:
        self._now = 0.0
        self._moved = asyncio.Event()
        self.deadlines: list[float] = []

    def now(self) -> float:
        return self._now

    async def wait(self, event: asyncio.Event, timeout: float | None) -> None:  # noqa: ASYNC109
        deadline = None if timeout is None else self._now + timeout
        if deadline is not None:
            self.deadlines.append(deadline)
        waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._moved.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            if deadline is not None:
                self.deadlines.remove(deadline)

    def advance(self, seconds: float) -> None:
        self._now += seconds
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Move time from one deadline the gate waits for to the next until it is done."""
        task = asyncio.ensure_future(awaitable)
        for _ in range(10_000):
            await asyncio.sleep(0)
            if task.done():
                return task.result()
            if self.deadlines:
                self.advance(max(0.0, min(self.deadlines) - self._now))
        raise AssertionError("the gate is waiting for something other than time")


async def test_interactive_slot_goes_before_waiting_broadcasts() -> None:
    clock = SteppedClock()
    gate = FloodGate(per_second=2, clock=clock)
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
    await asyncio.sleep(0)
    await clock.run(asyncio.gather(*broadcasts, reply))
    assert order[0] == "reply"


async def test_a_reply_keeps_its_chats_second_without_holding_up_broadcasts() -> None:
    clock = SteppedClock()
    gate = FloodGate(per_second=100, clock=clock)
    # A notice's copy just went to chat 7: a reply to it waits a second (Telegram counts a
    # burst in one chat), and broadcasts to other chats go meanwhile.
    gate.release(await gate.acquire(7, broadcast=True))
    order: list[tuple[str, float]] = []

    async def take(name: str, chat: int, *, broadcast: bool) -> None:
        ticket = await gate.acquire(chat, broadcast=broadcast, rate=10)
        order.append((name, clock.now()))
        gate.release(ticket)

    reply = asyncio.create_task(take("reply", 7, broadcast=False))
    await asyncio.sleep(0)
    copies = [asyncio.create_task(take(f"copy{n}", n, broadcast=True)) for n in range(1, 4)]
    await clock.run(asyncio.gather(reply, *copies))
    at = dict(order)
    assert at["reply"] >= 1.0
    assert max(at[f"copy{n}"] for n in range(1, 4)) < 1.0


async def test_gate_spaces_copies_to_one_chat() -> None:
    clock = SteppedClock()
    gate = FloodGate(per_second=100, per_chat_interval=0.2, clock=clock)
    starts = []
    for _ in range(3):
        ticket = await clock.run(gate.acquire(7, broadcast=True))
        starts.append(clock.now())
        gate.release(ticket)
    assert starts[2] - starts[0] >= 0.4 - 0.01
    assert dt.timedelta(seconds=starts[1] - starts[0]) >= dt.timedelta(seconds=0.19)


async def test_a_429_for_one_chat_pauses_only_that_chat(telegram: FakeTelegramServer) -> None:
    telegram.add_user(1, "Flood")
    telegram.add_user(2, "Other")
    clock = SteppedClock()
    gate = FloodGate(clock=clock)
    limiter = GateRateLimiter(gate, max_retries=1)
    async with ExtBot(TOKEN, base_url=telegram.base_url, rate_limiter=limiter) as bot:
        telegram.fail_next("sendMessage", status=429, retry_after=30, chat_id=1)
        paused = asyncio.create_task(bot.send_message(1, "to the chat that got the 429"))
        await telegram.wait_until(lambda: telegram.method_calls["sendmessage"] == 1)
        # Another chat's reply goes at once, while the first chat waits out its 30 seconds.
        await asyncio.wait_for(bot.send_message(2, "to another chat"), timeout=5)
        assert not paused.done()
        clock.advance(30)
        await asyncio.wait_for(paused, timeout=5)
    assert [m["text"] for m in telegram.bot_messages(1)] == ["to the chat that got the 429"]


async def test_a_429_for_no_chat_or_a_paid_broadcast_pauses_everyone(
    telegram: FakeTelegramServer,
) -> None:
    telegram.add_user(1, "Reader")
    telegram.add_user(2, "Other")
    clock = SteppedClock()
    gate = FloodGate(clock=clock)
    limiter = GateRateLimiter(gate, max_retries=1)
    async with ExtBot(TOKEN, base_url=telegram.base_url, rate_limiter=limiter) as bot:
        telegram.fail_next("sendMessage", status=429, retry_after=30, chat_id=1)
        paid = asyncio.create_task(bot.send_message(1, "paid", allow_paid_broadcast=True))
        await telegram.wait_until(lambda: telegram.method_calls["sendmessage"] == 1)
        other = asyncio.create_task(bot.send_message(2, "paid too", allow_paid_broadcast=True))
        for _ in range(100):
            await asyncio.sleep(0)
        assert not paid.done() and not other.done()
        clock.advance(30)
        await asyncio.wait_for(asyncio.gather(paid, other), timeout=5)
        # A flood-limited call to no chat (an inline message) pauses the free lane.
        telegram.fail_next("editMessageText", status=429, retry_after=30)
        edit = asyncio.create_task(bot.edit_message_text("x", inline_message_id="1"))
        await telegram.wait_until(lambda: telegram.method_calls["editmessagetext"] == 1)
        reply = asyncio.create_task(bot.send_message(2, "free lane"))
        for _ in range(100):
            await asyncio.sleep(0)
        assert not reply.done()
        clock.advance(30)
        await asyncio.wait_for(reply, timeout=5)
        with pytest.raises(BadRequest):
            await asyncio.wait_for(edit, timeout=5)


async def _unreachable(db: SessionFactory, telegram_id: int) -> bool:
    async with db() as session:
        account = await session.scalar(select(Account).where(Account.telegram_id == telegram_id))
        return account is not None and account.unreachable_since is not None
