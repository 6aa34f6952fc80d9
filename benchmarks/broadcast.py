"""A notice to N recipients through the fake Bot API enforcing Telegram's flood limits.

    .venv/bin/python benchmarks/broadcast.py [--recipients 10000] [--rate 30]
        [--paid-rate 1000] [--modes free,paid] [--probe-every 3] [--concurrency N]
        [--database-url URL]

The fake server runs in its own process with Telegram's limits enforced (30 messages a second
overall, 1 a second per chat, 1,000 a second for paid broadcasts; over-limit calls get 429).
The real bot (`python -m bot run`) runs in another, configured to broadcast at --rate (free
mode, target sustained >= 29/s at 30/s) or with allow_paid_broadcast at --paid-rate (paid
mode, target >= 900/s). While the notice goes out, three people who are not recipients send
/help in turn every --probe-every seconds (their replies share the 30/s with the broadcast);
the time from sending it to the reply is the interactive latency (target: 95th percentile
< 1.5 s). Printed per mode: recipients, sustained rate, limit violations (target 0),
duplicates (target 0), copies missing, and the latency percentiles.
10,000 recipients at 30/s take about six minutes, at 1,000/s about ten seconds (use a shorter
--probe-every there for more than a handful of latency samples). --concurrency overrides the
bot's copies in flight (default: its own, 8 for free mode and 32 for paid broadcasts).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, TOKEN, percentile, start_fake_server, stop
from sqlalchemy import insert, select

from bot.demo import seed_demo
from bot.enums import NoticeAudience
from bot.fake_telegram import FakeTelegramClient
from storage import notice_queries as nq
from storage import queries
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Account, Person

FIRST_ID = 5_000_000
PROBES = (990_001, 990_002, 990_003)
ADMIN_ID = 900001


async def seed(url: str, recipients: int) -> list[int]:
    """The demo organisation plus members spread over its branches; their Telegram ids."""
    engine = create_engine(url)
    db = session_factory(engine)
    async with db.begin() as session:
        await seed_demo(session)
        branches = [await queries.org_by_code(session, f"DEMO-B{i}") for i in (1, 2, 3)]
        extra = recipients - 12
        people = [
            {"name": f"成员{i}", "branch_id": branches[i % 3].id, "status": "regular"}  # type: ignore[union-attr]
            for i in range(extra)
        ]
        for start in range(0, extra, 2000):
            await session.execute(insert(Person), people[start : start + 2000])
        ids = list(
            await session.scalars(
                select(Person.id).where(Person.name.like("成员%")).order_by(Person.id)
            )
        )
        accounts = [
            {"telegram_id": FIRST_ID + i, "person_id": pid, "telegram_language": "en"}
            for i, pid in enumerate(ids)
        ]
        for start in range(0, len(accounts), 2000):
            await session.execute(insert(Account), accounts[start : start + 2000])
        chats = list(
            await session.scalars(
                select(Account.telegram_id)
                .join(Person, Person.id == Account.person_id)
                .where(Person.branch_id.is_not(None))
            )
        )
    await engine.dispose()
    return chats


async def create_notice(url: str, status_message_id: int) -> int:
    """A notice to every member of the demo committee, due now, reporting to the admin."""
    engine = create_engine(url)
    db = session_factory(engine)
    async with db.begin() as session:
        org = await queries.org_by_code(session, "DEMO")
        assert org is not None
        admin = await queries.account_by_telegram_id(session, ADMIN_ID)
        notice = await nq.create_notice(
            session,
            org=org,
            created_by=admin,
            audience=NoticeAudience.MEMBERS,
            branch_ids=[],
            texts={
                "en": "Organisational life meeting on Monday at 9:00.",
                "zh_Hans": "周一9点开组织生活会。",
            },
            primary_locale="zh_Hans",
            require_ack=True,
            media_kind=None,
            media_file_id=None,
            send_at=dt.datetime.now(dt.UTC),
            admin_chat_id=ADMIN_ID,
            progress_message_id=status_message_id,
        )
    await engine.dispose()
    return notice.id


def start_bot(
    url: str, port: int, *, paid: bool, rate: float, paid_rate: float, concurrency: int | None
) -> subprocess.Popen[bytes]:
    """`python -m bot run` against the fake server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env.update(
        ZHIBU_BOT_TOKEN=TOKEN,
        ZHIBU_DATABASE_URL=url,
        ZHIBU_BOT_API_URL=f"http://127.0.0.1:{port}/bot",
        ZHIBU_BOT_FILE_URL=f"http://127.0.0.1:{port}/file/bot",
        ZHIBU_LOG_LEVEL="WARNING",
        ZHIBU_TELEGRAM_RATE_LIMIT="30",
        ZHIBU_DELIVERY_RATE=str(rate),
        ZHIBU_PAID_BROADCAST="true" if paid else "false",
        ZHIBU_PAID_BROADCAST_RATE=str(paid_rate),
        ZHIBU_DELIVERY_PROGRESS_SECONDS="5",
        PYTHONPATH=str(ROOT),
    )
    if concurrency:
        env["ZHIBU_DELIVERY_CONCURRENCY"] = str(concurrency)
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env)


async def probe(client: FakeTelegramClient, stop_at: asyncio.Event, every: float) -> list[float]:
    """People who are not recipients send /help in turn, every few seconds; reply times."""
    users = [await client.user(uid, f"Probe{uid}", language_code="en") for uid in PROBES]
    latencies = []
    turn = 0
    while not stop_at.is_set():
        user = users[turn % len(users)]
        turn += 1
        started = time.perf_counter()
        await user.send("/help")
        await user.wait_reply(timeout=30)
        latencies.append(time.perf_counter() - started)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_at.wait(), every)
    return latencies


async def run_mode(
    url: str,
    port: int,
    chats: list[int],
    *,
    paid: bool,
    rate: float,
    paid_rate: float,
    probe_every: float,
    concurrency: int | None,
) -> None:
    """One notice to everyone, measured."""
    async with FakeTelegramClient(f"http://127.0.0.1:{port}", timeout=120) as client:
        admin = await client.user(ADMIN_ID, "林书记", language_code="en")
        bot = start_bot(
            url, port, paid=paid, rate=rate, paid_rate=paid_rate, concurrency=concurrency
        )
        try:
            await admin.send("/notices")
            status = await admin.wait_reply(timeout=60)
            before = await client.flood_stats()
            offset = len(before["send_chats"])
            violations_before = before["violations"]
            wanted = set(chats)
            await create_notice(url, status.message_id)
            stop_probes = asyncio.Event()
            probes = asyncio.create_task(probe(client, stop_probes, probe_every))
            started = time.perf_counter()
            while True:
                await asyncio.sleep(2)
                stats = await client.flood_stats()
                got = sum(1 for c in stats["send_chats"][offset:] if c in wanted)
                if got >= len(chats) or time.perf_counter() - started > 3600:
                    break
            # A little longer: a duplicate would show up now.
            await asyncio.sleep(3)
            stop_probes.set()
            latencies = await probes
            stats = await client.flood_stats()
        finally:
            stop(bot)
    times = [
        t
        for t, c in zip(stats["send_times"][offset:], stats["send_chats"][offset:], strict=True)
        if c in wanted
    ]
    copies = collections.Counter(c for c in stats["send_chats"][offset:] if c in wanted)
    duplicates = sum(n - 1 for n in copies.values() if n > 1)
    missing = len(wanted - set(copies))
    elapsed = times[-1] - times[0] if len(times) > 1 else 0.0
    sustained = (len(times) - 1) / elapsed if elapsed else 0.0
    mode = f"paid broadcast at {paid_rate:g}/s" if paid else f"free at {rate:g}/s"
    target = 900 if paid else 29
    print(f"== {mode}: {len(chats)} recipients")
    print(
        f"   sustained rate: {sustained:.1f} msg/s over {elapsed:.1f} s "
        f"(target >= {target}/s): {'OK' if sustained >= target else 'TOO SLOW'}"
    )
    print(f"   limit violations: {stats['violations'] - violations_before} (target 0)")
    print(f"   duplicates: {duplicates} (target 0); missing: {missing}")
    if latencies:
        p95 = percentile(latencies, 0.95)
        print(
            f"   interactive /help during the broadcast: {len(latencies)} replies, "
            f"median {percentile(latencies, 0.5) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
            f"(target < 1500 ms): {'OK' if p95 < 1.5 else 'TOO SLOW'}"
        )
    sys.stdout.flush()


def main() -> None:
    """Parse arguments, seed, run each mode."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--paid-rate", type=float, default=1000)
    parser.add_argument("--modes", default="free,paid")
    parser.add_argument(
        "--probe-every", type=float, default=3.0, help="seconds between interactive /help"
    )
    parser.add_argument(
        "--concurrency", type=int, help="copies in flight (default: the bot's own default)"
    )
    parser.add_argument("--database-url", help="an empty database (default: temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'broadcast.sqlite3'}"
        upgrade(url)
        chats = asyncio.run(seed(url, args.recipients))
        server, port = start_fake_server(flood=True)
        try:
            asyncio.run(_add_users(port, chats))
            for mode in args.modes.split(","):
                asyncio.run(
                    run_mode(
                        url,
                        port,
                        chats,
                        paid=mode == "paid",
                        rate=args.rate,
                        paid_rate=args.paid_rate,
                        probe_every=args.probe_every,
                        concurrency=args.concurrency,
                    )
                )
        finally:
            stop(server)


async def _add_users(port: int, chats: list[int]) -> None:
    async with FakeTelegramClient(f"http://127.0.0.1:{port}") as client:
        for start in range(0, len(chats), 100):
            await asyncio.gather(
                *(client.user(c, f"U{c}", language_code="en") for c in chats[start : start + 100])
            )


if __name__ == "__main__":
    main()
