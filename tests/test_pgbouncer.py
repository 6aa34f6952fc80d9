"""The bot through PgBouncer in transaction pooling mode (README's deployment section): its
engines, and two bot processes serving conversations and the leader's jobs through it."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.cluster import bookkeeping_engine
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import DeliveryState
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from storage import reminder_arrays
from storage import reminder_queries as rq
from storage.db import SessionFactory, create_engine, session_factory
from storage.models import Account
from storage.models_cluster import InboxUpdate
from storage.models_notices import NoticeDelivery
from storage.models_reminders import Reminder
from tests.support import database
from tests.support.bot import eventually
from tests.support.cluster import (
    INVITE_ANSWERS,
    Inviter,
    make_secretaries,
    serving_with_a_notice,
    start_cluster,
)
from tests.support.notices import make_people
from tests.support.pgbouncer import SERVER_CONNECTIONS, pgbouncer
from tests.support.reminders import year_end_rows

pytestmark = pytest.mark.skipif(
    database.BACKEND != "postgresql", reason="PgBouncer pools PostgreSQL connections only"
)


async def test_many_clients_share_fewer_server_connections_without_statement_clashes(
    database_url: str, tmp_path: Path
) -> None:
    """More clients than server connections, each running transactions of parameterised
    statements: every statement gets its own rows back, JIT is off on every server connection
    (PgBouncer's connect_query), and so does the bookkeeping engine's."""
    async with pgbouncer(database_url, tmp_path) as bouncer:
        engine = create_engine(bouncer.url, pool_size=3 * SERVER_CONNECTIONS, max_overflow=0)
        book = bookkeeping_engine(bouncer.url)
        try:
            db = session_factory(engine)

            async def client(n: int) -> list[tuple[int, str]]:
                seen = []
                for step in range(10):
                    async with db.begin() as session:
                        value = await session.scalar(
                            text("SELECT :n * 100 + :s"), {"n": n, "s": step}
                        )
                        jit = await session.scalar(text("SHOW jit"))
                        seen.append((int(value), str(jit)))
                return seen

            results = await asyncio.gather(*(client(n) for n in range(3 * SERVER_CONNECTIONS)))
            async with session_factory(book).begin() as session:
                assert await session.scalar(text("SELECT CAST(:x AS int) + 1"), {"x": 41}) == 42
        finally:
            await engine.dispose()
            await book.dispose()
    for n, seen in enumerate(results):
        assert seen == [(n * 100 + step, "off") for step in range(10)]
    assert "login attempt" in bouncer.log()


async def test_server_connections_keep_no_prepared_statements_between_transactions(
    database_url: str, tmp_path: Path
) -> None:
    """The driver names each statement it prepares and closes it later, on whichever server
    connection its client has then: without the reset query, 6,000 statements of 30 clients
    left about 290 behind on each of the 10 server connections, and they pile up until the
    connection is recycled."""
    async with pgbouncer(database_url, tmp_path) as bouncer:
        engine = create_engine(bouncer.url, pool_size=3 * SERVER_CONNECTIONS, max_overflow=0)
        try:
            db = session_factory(engine)

            async def client(n: int) -> None:
                for step in range(40):
                    async with db.begin() as session:
                        await session.execute(
                            text("SELECT CAST(:n AS int) + :s"), {"n": n, "s": step}
                        )
                        await session.execute(text("SELECT CAST(:n AS int) * 2"), {"n": n})

            await asyncio.gather(*(client(n) for n in range(3 * SERVER_CONNECTIONS)))
            # One transaction open on each server connection at once, to look at all of them.
            everyone_in = asyncio.Barrier(SERVER_CONNECTIONS)

            async def look() -> tuple[int, int]:
                async with db.begin() as session:
                    row = (
                        await session.execute(
                            text(
                                "SELECT pg_backend_pid(), "
                                "(SELECT count(*) FROM pg_prepared_statements)"
                            )
                        )
                    ).one()
                    await everyone_in.wait()
                    return int(row[0]), int(row[1])

            seen = await asyncio.gather(*(look() for _ in range(SERVER_CONNECTIONS)))
        finally:
            await engine.dispose()
    assert len({pid for pid, _ in seen}) == SERVER_CONNECTIONS
    # What a connection holds is the statement of its own transaction, at most.
    assert max(held for _, held in seen) <= 1, seen


async def test_planning_passes_copy_their_reminders_through_the_pooler(
    database_url: str, tmp_path: Path
) -> None:
    """More passes at once than server connections store big plans by COPY (its column
    look-up is a prepared statement: unnamed, or two clients' statements would clash on a
    shared server connection); each shares half its keys with the next, whose COPY then gives
    way to the INSERT that skips them. Every reminder is stored once."""
    per_pass, passes = reminder_arrays.COPY_FROM + 200, 3 * SERVER_CONNECTIONS
    async with pgbouncer(database_url, tmp_path) as bouncer:
        engine = create_engine(bouncer.url, pool_size=passes, max_overflow=0)
        try:
            db = session_factory(engine)
            async with db.begin() as session:
                account = Account(telegram_id=880_002, time_zone="Asia/Shanghai")
                session.add(account)
                await session.flush()

            async def plan(n: int) -> int:
                rows = year_end_rows(account.id, per_pass, first=n * per_pass // 2)
                async with db.begin() as session:
                    return await rq.insert_reminders(session, rows)

            inserted = await asyncio.gather(*(plan(n) for n in range(passes)))
            async with db() as session:
                keys = list(await session.scalars(select(Reminder.dedupe_key)))
        finally:
            await engine.dispose()
    assert sum(inserted) == len(keys) == len(set(keys)) == per_pass // 2 * (passes + 1)


USERS = 8
RECIPIENTS = 40
NOTICE_TEXT = "Pooler drill on Friday."


async def _copies_by_state(db: SessionFactory, notice_id: int) -> Counter[DeliveryState]:
    async with db() as session:
        states = await session.scalars(
            select(NoticeDelivery.state).where(NoticeDelivery.notice_id == notice_id)
        )
        return Counter(states)


@pytest.mark.slow
async def test_two_processes_through_pgbouncer_serve_conversations_in_order_and_the_leaders_jobs(
    settings: Settings,
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    database_url: str,
    tmp_path: Path,
) -> None:
    """ZHIBU_DATABASE_URL through PgBouncer in transaction mode, ZHIBU_DATABASE_DIRECT_URL to
    the server (LISTEN, migrations): people go through /invite while the leader sends a notice."""
    for name, person in demo.items():
        telegram.add_user(person.telegram_id, name, language_code="en")
    secretaries = await make_secretaries(db, "DEMO-B1", 710000, USERS)
    members = await make_people(db, "DEMO-B2", 720000, RECIPIENTS)
    for telegram_id in members:
        telegram.add_user(telegram_id, f"m{telegram_id}", language_code="en")
    inviters = [Inviter(await client.user(t, f"s{t}", language_code="en")) for t in secretaries]
    async with pgbouncer(database_url, tmp_path) as bouncer:
        env = {"ZHIBU_DATABASE_URL": bouncer.url, "ZHIBU_DATABASE_DIRECT_URL": database_url}
        cluster = start_cluster(settings, 2, tmp_path, **env)
        try:
            notice_id = await serving_with_a_notice(cluster, client, db, settings, NOTICE_TEXT)
            links = await asyncio.gather(*(i.invite(patience=120) for i in inviters))

            async def delivered() -> bool:
                states = await _copies_by_state(db, notice_id)
                return bool(states) and set(states) == {DeliveryState.SENT}

            assert await eventually(delivered, within=300), await _copies_by_state(db, notice_id)
        finally:
            cluster.stop()
    logs = "\n".join(p.log() for p in cluster.processes)
    assert all(links), logs[-3000:]
    for inviter in inviters:
        assert inviter.answers == INVITE_ANSWERS
    # The leader's job sent each member the notice once, whichever process led.
    assert (await _copies_by_state(db, notice_id)).total() >= USERS + RECIPIENTS
    for chat in members:
        assert sum(NOTICE_TEXT in m["text"] for m in telegram.bot_messages(chat)) == 1, chat
    async with db() as session:
        assert set(await session.scalars(select(InboxUpdate.attempts))) == {1}
    used = Counter(d["url"] for d in telegram.webhook_deliveries if d["ok"])
    assert set(used) == set(cluster.urls), used
    assert "prepared statement" not in logs
    errors = [line for line in logs.splitlines() if '"level": "ERROR"' in line]
    assert not errors, errors[:5]
    # The bots' connections went through PgBouncer (it logs each client's login).
    assert bouncer.log().count("login attempt") >= 2
