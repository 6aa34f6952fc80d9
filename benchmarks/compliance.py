"""Compliance of 10,000 branches with a year of activities, and /due through the fake server.

    .venv/bin/python benchmarks/compliance.py [--branches 10000] [--per-branch 40]
        [--due-requests 200] [--postgres "$(bash .ci/postgres | tail -1)"]

Seeds a committee with N branches and about 40 activities per branch spread over this year
(~400,000 rows), some voided and some with several kinds, into a temporary SQLite database and,
with --postgres, a scratch database on that PostgreSQL server (dropped afterwards). Then times
what /report compliance does for the whole subtree (loading the rules, the activities and
judging every branch; median of 3 runs; target < 5 s), and the latency of /due, from sending
the command to the reply, for branch secretaries through the fake Bot API with the real bot in
a child process (target: median < 100 ms); then the admin's whole `/report compliance` (summary,
charts, spreadsheet) with secretaries asking /due meanwhile, and that /due's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import tempfile
import time
import zoneinfo
from pathlib import Path

from _common import TOKEN, median, percentile, start_fake_server, start_python, stop
from sqlalchemy import insert, text

from bot.compliance import subtree_compliance
from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeTelegramClient
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Account, OrgUnit, Person, RoleAssignment
from storage.models_activity import Activity

CHUNK = 10_000
FIRST_USER = 800_000
ADMIN_USER = 799_999
SECRETARIES = 50
ORG_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")

ZHIBU_BOT = """
from bot.app import build_application
from bot.config import load_settings
app = build_application(load_settings(), rate_limit=False)
app.run_polling(poll_interval=0.0, timeout=1)
"""

# Mostly single-kind meetings, as branches log them; some meetings count for two obligations.
KIND_CHOICES = [
    [ActivityKind.COMMITTEE_MEETING],
    [ActivityKind.COMMITTEE_MEETING],
    [ActivityKind.THEMED_DAY],
    [ActivityKind.THEMED_DAY],
    [ActivityKind.GENERAL_MEETING],
    [ActivityKind.GENERAL_MEETING, ActivityKind.LECTURE],
    [ActivityKind.LECTURE],
    [ActivityKind.TALK],
    [ActivityKind.OTHER],
    [ActivityKind.LIFE_MEETING, ActivityKind.APPRAISAL],
]


async def seed(url: str, branches: int, per_branch: int, today: dt.date) -> int:
    """Fill the database; returns the number of activities."""
    rng = random.Random(2018)
    engine = create_engine(url)
    db = session_factory(engine)
    year_start = dt.date(today.year, 1, 1)
    span = (today - year_start).days + 1
    total = 0
    async with db.begin() as session:
        root = await queries.add_org_unit(
            session, code="BENCH", kind=OrgKind.COMMITTEE, name="基准党委"
        )
        first = root.id + 1
        rows = [
            {
                "id": first + n,
                "code": f"BENCH-{n:05d}",
                "kind": OrgKind.BRANCH,
                "name": f"第{n}党支部",
                "name_en": f"Branch {n}",
                "parent_id": root.id,
                "path": f"{root.path}{first + n}/",
            }
            for n in range(branches)
        ]
        for start in range(0, len(rows), CHUNK):
            await session.execute(insert(OrgUnit), rows[start : start + CHUNK])
        for n in range(min(SECRETARIES, branches)):
            person = Person(name=f"书记{n}", branch_id=first + n)
            session.add(person)
            await session.flush()
            session.add(
                RoleAssignment(person_id=person.id, org_unit_id=first + n, role=Role.SECRETARY)
            )
            session.add(
                Account(telegram_id=FIRST_USER + n, person_id=person.id, telegram_language="en")
            )
        # The committee's admin, who asks for the whole subtree's report.
        admin = Person(name="组织委员", branch_id=first)
        session.add(admin)
        await session.flush()
        session.add(RoleAssignment(person_id=admin.id, org_unit_id=root.id, role=Role.ADMIN))
        session.add(Account(telegram_id=ADMIN_USER, person_id=admin.id, telegram_language="en"))
        for n in range(branches):
            session.add_all(Person(name=f"党员{n}-{m}", branch_id=first + n) for m in range(3))
        now = dt.datetime.now(dt.UTC)
        batch: list[dict[str, object]] = []
        for n in range(branches):
            for _ in range(per_branch):
                day = year_start + dt.timedelta(days=rng.randrange(span))
                batch.append(
                    {
                        "branch_id": first + n,
                        "kinds": [k.value for k in rng.choice(KIND_CHOICES)],
                        "day": day,
                        "topic": "学习",
                        "present": 3,
                        "expected": 4,
                        "attachments": [],
                        "absences": [],
                        "late": False,
                        "voided": rng.random() < 0.02,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if len(batch) >= CHUNK:
                    await session.execute(insert(Activity), batch)
                    total += len(batch)
                    batch = []
        if batch:
            await session.execute(insert(Activity), batch)
            total += len(batch)
    await engine.dispose()
    return total


async def time_compliance(url: str, today: dt.date, runs: int = 3) -> tuple[float, int, int]:
    """(median seconds for the whole subtree, branches judged, obligations done)."""
    engine = create_engine(url)
    db = session_factory(engine)
    timings = []
    judged = done = 0
    for _ in range(runs):
        started = time.perf_counter()
        async with db() as session:
            root = await queries.org_by_code(session, "BENCH")
            assert root is not None
            rows = await subtree_compliance(session, root, on=today, today=today)
        timings.append(time.perf_counter() - started)
        judged = len(rows)
        done = sum(1 for row in rows for s in row.statuses if s.state.value == "done")
    await engine.dispose()
    return median(timings), judged, done


async def time_due(server_url: str, requests: int) -> list[float]:
    """Latency of /due, one secretary after another (a closed loop)."""
    async with FakeTelegramClient(server_url, timeout=60) as client:
        users = [
            await client.user(FIRST_USER + n, f"S{n}", language_code="en")
            for n in range(SECRETARIES)
        ]
        for user in users[:5]:  # warm-up: connections, catalogs, first queries
            await user.send("/due")
            await user.wait_reply(timeout=60)
        latencies = []
        for i in range(requests):
            user = users[i % len(users)]
            started = time.perf_counter()
            await user.send("/due")
            reply = await user.wait_reply(timeout=60)
            latencies.append(time.perf_counter() - started)
            assert "What is due" in reply.text, reply.text
    return latencies


async def time_report_meanwhile(server_url: str, runs: int = 3) -> tuple[list[float], list[float]]:
    """The admin's /report compliance until its spreadsheet arrives, with secretaries asking
    /due one after another meanwhile: (report seconds, /due latencies during the reports)."""
    async with FakeTelegramClient(server_url, timeout=300) as client:
        admin = await client.user(ADMIN_USER, "Admin", language_code="en")
        users = [await client.user(FIRST_USER + n, f"S{n}", language_code="en") for n in range(5)]
        seconds: list[float] = []
        latencies: list[float] = []
        for _ in range(runs):
            done = asyncio.Event()

            async def meanwhile(done: asyncio.Event = done) -> None:
                turn = 0
                while not done.is_set():
                    user = users[turn % len(users)]
                    started = time.perf_counter()
                    await user.send("/due")
                    await user.wait_reply(timeout=60)
                    latencies.append(time.perf_counter() - started)
                    turn += 1

            probes = asyncio.create_task(meanwhile())
            started = time.perf_counter()
            await admin.send("/report compliance")
            while (await admin.wait_reply(timeout=300)).document is None:
                pass
            seconds.append(time.perf_counter() - started)
            done.set()
            await probes
    return seconds, latencies


def run_one(url: str, args: argparse.Namespace, today: dt.date) -> None:
    """Seed one empty database, measure, print."""
    upgrade(url)
    seeding = time.perf_counter()
    rows = asyncio.run(seed(url, args.branches, args.per_branch, today))
    seeded = time.perf_counter() - seeding
    seconds, judged, done = asyncio.run(time_compliance(url, today))
    server, port = start_fake_server()
    env = {
        "ZHIBU_BOT_TOKEN": TOKEN,
        "ZHIBU_DATABASE_URL": url,
        "ZHIBU_BOT_API_URL": f"http://127.0.0.1:{port}/bot",
        "ZHIBU_LOG_LEVEL": "WARNING",
    }
    bot = start_python(ZHIBU_BOT, env)
    try:
        latencies = asyncio.run(time_due(f"http://127.0.0.1:{port}", args.due_requests))
        reports, meanwhile = asyncio.run(time_report_meanwhile(f"http://127.0.0.1:{port}"))
    finally:
        stop(bot)
        stop(server)
    due_median = median(latencies) * 1000
    due_p95 = percentile(latencies, 0.95) * 1000
    print(f"database: {url.split(':', 1)[0]}; seeded in {seeded:.1f} s (not timed)")
    print(f"  {judged} branches, {rows} activities this year ({today.year}), as of {today}")
    print(
        f"  compliance of the whole subtree (load + judge, median of 3): {seconds:.2f} s "
        f"(target < 5 s): {'OK' if seconds < 5 else 'TOO SLOW'}; {done} obligations done"
    )
    print(
        f"  /due through the fake Bot API, {len(latencies)} requests: median "
        f"{due_median:.0f} ms, p95 {due_p95:.0f} ms (target < 100 ms): "
        f"{'OK' if due_median < 100 else 'TOO SLOW'}",
        flush=True,
    )
    print(
        f"  /report compliance through the fake Bot API (until the spreadsheet): median "
        f"{median(reports):.1f} s of {len(reports)}; /due meanwhile: {len(meanwhile)} requests, "
        f"median {median(meanwhile) * 1000:.0f} ms, "
        f"p95 {percentile(meanwhile, 0.95) * 1000:.0f} ms",
        flush=True,
    )


async def _scratch_database(server_url: str, name: str, *, create: bool) -> str:
    """Create (or drop) a scratch database on the PostgreSQL server of `server_url`."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        if create:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    """Seed, measure, print: SQLite, then PostgreSQL when a server is given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=10_000)
    parser.add_argument("--per-branch", type=int, default=40)
    parser.add_argument("--due-requests", type=int, default=200)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL URL (e.g. from .ci/postgres): a scratch database is created on "
        "that server for the run and dropped afterwards",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    args = parser.parse_args()
    today = dt.datetime.now(ORG_TZ).date()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run_one(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}", args, today)
    if args.postgres:
        name = f"zhibu_bench_compliance_{os.getpid()}"
        url = asyncio.run(_scratch_database(args.postgres, name, create=True))
        try:
            run_one(url, args, today)
        finally:
            asyncio.run(_scratch_database(args.postgres, name, create=False))


if __name__ == "__main__":
    main()
