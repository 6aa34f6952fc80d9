"""kill -9 in the middle of a broadcast of 2,000, then restart: everyone has exactly one copy."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.demo import DemoUser
from bot.enums import DeliveryState
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from storage.db import SessionFactory
from storage.models_notices import NoticeDelivery
from tests.support.bot import BotProcess, env_for, settings_for
from tests.support.notices import ADMIN, compose, demo_users, make_people, wait_status

RECIPIENTS = 2000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("paid", "lanes"), [(False, 8), (True, 32)], ids=["30-per-second", "paid-broadcast"]
)
async def test_kill_mid_broadcast_then_restart_delivers_exactly_one_copy_each(
    paid: bool,
    lanes: int,
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
    tmp_path: Path,
) -> None:
    users = await demo_users(client, demo)
    extra = await make_people(db, "DEMO-B1", 700000, RECIPIENTS - 12)
    for telegram_id in extra:
        telegram.add_user(telegram_id, language_code="en")
    chats = [d.telegram_id for d in demo.values() if d.name != ADMIN] + extra
    env = env_for(settings_for(database_url, telegram))
    env.update(
        ZHIBU_DELIVERY_RATE="1000",
        ZHIBU_TELEGRAM_RATE_LIMIT="1000",
        ZHIBU_DELIVERY_CONCURRENCY=str(lanes),
        # Paid mode: its own, larger number of copies in flight, and allow_paid_broadcast.
        ZHIBU_PAID_BROADCAST="true" if paid else "false",
        ZHIBU_PAID_BROADCAST_CONCURRENCY=str(lanes),
        ZHIBU_DELIVERY_LEASE_SECONDS="2",
        ZHIBU_DELIVERY_POLL_SECONDS="0.5",
        # No progress edits while sending: every call in flight at the kill is a notice copy.
        ZHIBU_DELIVERY_PROGRESS_SECONDS="600",
    )
    bot = BotProcess(env, tmp_path / "bot.log")
    bot.start()
    await bot.started()
    try:
        # Serving once it polls: migrating a new database can take seconds on a busy machine.
        assert await telegram.wait_until(lambda: telegram.method_calls["getupdates"] > 0, 60)
        admin = users[ADMIN]
        summary = await compose(admin, "Everyone: organisational life meeting on Monday")
        assert f"Recipients: {RECIPIENTS}" in summary.text
        before = telegram.sent_count
        await admin.press(summary, "Confirm and send")
        assert await telegram.wait_until(lambda: telegram.sent_count >= before + 500, 60)
        # Hold every call that reaches the server from now on, until each lane has its one
        # claimed copy waiting there; then kill. The calls held complete after the kill, as a
        # request Telegram received does even if the sender dies.
        telegram.set_latency(3.0)
        calls = ("sendmessage", "editmessagetext")

        def held() -> int:
            return sum(telegram.method_calls[m] for m in calls) - telegram.sent_count

        assert await telegram.wait_until(lambda: held() >= lanes, 30), bot.log()
        bot.kill()
        telegram.set_latency(0.0)
        async with db() as session:
            in_flight = await session.scalar(
                select(func.count()).where(NoticeDelivery.state == DeliveryState.SENDING)
            )
        # Each lane's copy is held at the server; copies sent just before may still await
        # their group commit. Both are resolved as delivered after the restart.
        assert in_flight is not None and in_flight >= lanes
        assert telegram.sent_count < before + RECIPIENTS
        bot.start()
        await bot.started()
        everyone = before + RECIPIENTS
        assert await telegram.wait_until(lambda: telegram.sent_count >= everyone, 60), bot.log()
        # The summary appears once every copy is settled (the interrupted ones included).
        final = await wait_status(admin, "has gone out")
        assert f"of {RECIPIENTS}" in final.text
    finally:
        await bot.terminate()
    copies = collections.Counter({c: len(telegram.bot_messages(c)) for c in chats})
    assert len(copies) == RECIPIENTS and set(copies.values()) == {1}, [
        (c, n) for c, n in copies.items() if n != 1
    ][:10]
    async with db() as session:
        states = collections.Counter(await session.scalars(select(NoticeDelivery.state)))
    assert set(states) == {DeliveryState.SENT, DeliveryState.UNCONFIRMED}
    assert states[DeliveryState.UNCONFIRMED] == in_flight


@pytest.mark.slow
async def test_sigterm_mid_broadcast_leaves_nothing_uncertain(
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
    tmp_path: Path,
) -> None:
    users = await demo_users(client, demo)
    total = 300
    extra = await make_people(db, "DEMO-B2", 710000, total - 12)
    for telegram_id in extra:
        telegram.add_user(telegram_id, language_code="en")
    chats = [d.telegram_id for d in demo.values() if d.name != ADMIN] + extra
    env = env_for(settings_for(database_url, telegram))
    env.update(ZHIBU_DELIVERY_RATE="200", ZHIBU_TELEGRAM_RATE_LIMIT="1000")
    bot = BotProcess(env, tmp_path / "bot.log")
    bot.start()
    await bot.started()
    try:
        # Serving once it polls: migrating a new database can take seconds on a busy machine.
        assert await telegram.wait_until(lambda: telegram.method_calls["getupdates"] > 0, 60)
        admin = users[ADMIN]
        summary = await compose(admin, "Dues for November")
        before = telegram.sent_count
        await admin.press(summary, "Confirm and send")
        assert await telegram.wait_until(lambda: telegram.sent_count >= before + 50, 60)
        assert await bot.terminate() == 0, bot.log()
        async with db() as session:
            states = collections.Counter(await session.scalars(select(NoticeDelivery.state)))
        # A graceful stop records every call it made: nothing is left in flight.
        assert DeliveryState.SENDING not in states and states[DeliveryState.PENDING] > 0
        bot.start()
        await bot.started()
        await wait_status(admin, "has gone out")
    finally:
        await bot.terminate()
    copies = collections.Counter({c: len(telegram.bot_messages(c)) for c in chats})
    assert set(copies.values()) == {1}
    async with db() as session:
        states = collections.Counter(await session.scalars(select(NoticeDelivery.state)))
    assert states == {DeliveryState.SENT: total}
