"""Reports that never freeze the bot: /help latency of 50 users while the bot builds them.

    .venv/bin/python benchmarks/reports.py [--branches 1000] [--per-branch 30]
        [--big-activities 200] [--big-photos 100] [--runs 3] [--zip-runs 1] [--probe 10]

Seeds a temporary SQLite database: a committee of N branches (5 people each, ~30 activities
a year each) and one more branch with 200 activities and 100 photos (1280x960 JPEGs that the
fake Bot API holds, as Telegram would). The real bot runs in a child process against the fake
Bot API in another. Measured, each while 50 users send /help once a second each (staggered;
each waits for its reply), next to the same 50 users with nothing else going on:

- the record book of the big branch (`/book`, photos downloaded and embedded);
- the books of the whole N-branch subtree as one ZIP (the admin's button);
- the compliance chart for the N branches (`/report compliance`, until the chart arrives).

Prints each report's time and the /help median and p95 (target p95 < 300 ms), medians of
--runs runs (the subtree ZIP: --zip-runs, it takes minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import random
import tempfile
import time
import zoneinfo
from collections.abc import Awaitable, Callable
from pathlib import Path

from _common import TOKEN, median, percentile, start_fake_server, start_python, stop
from PIL import Image
from sqlalchemy import insert
from telegram import Bot

from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeTelegramClient, FakeUser
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Account, OrgUnit, Person, RoleAssignment
from storage.models_activity import Activity

ORG_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
ADMIN, SECRETARY, KEEPER, PROBES = 700_001, 700_002, 700_003, 710_000
CHUNK = 10_000
WAIT = 3_600.0

ZHIBU_BOT = """
from bot.app import build_application
from bot.config import load_settings
app = build_application(load_settings(), rate_limit=False)
app.run_polling(poll_interval=0.0, timeout=1)
"""

KINDS = [
    [ActivityKind.COMMITTEE_MEETING],
    [ActivityKind.THEMED_DAY],
    [ActivityKind.GENERAL_MEETING, ActivityKind.LECTURE],
    [ActivityKind.COMMITTEE_MEETING, ActivityKind.THEMED_DAY],
    [ActivityKind.TALK],
]


def photo(seed: int) -> bytes:
    """A 1280x960 JPEG of about 100-200 kB, like the photos Telegram keeps."""
    rng = random.Random(seed)
    small = Image.new("RGB", (64, 48))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 48)]
    )
    buffer = io.BytesIO()
    small.resize((1280, 960), Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def upload_photos(api_url: str, count: int) -> list[str]:
    """Photos on the fake Bot API (the bot sent them to someone); their file ids."""
    async with FakeTelegramClient(api_url.rsplit("/bot", 1)[0]) as client:
        await client.user(KEEPER, "Keeper", language_code="en")
    bot = Bot(TOKEN, base_url=api_url)
    ids = []
    async with bot:
        for number in range(count):
            sent = await bot.send_photo(KEEPER, photo(number))
            ids.append(sent.photo[-1].file_id)
    return ids


def _activity(
    branch_id: int, day: dt.date, rng: random.Random, now: dt.datetime, **extra: object
) -> dict[str, object]:
    return {
        "branch_id": branch_id,
        "kinds": [k.value for k in rng.choice(KINDS)],
        "day": day,
        "topic": "学习贯彻党的二十大精神",
        "present": 4,
        "expected": 5,
        "place": "党员活动室",
        "minutes": "一、传达上级精神\n二、讨论发展党员工作\n三、布置下月工作",
        "attachments": [],
        "absences": [{"person_id": 0, "name": "党员", "reason": "work"}],
        "late": False,
        "voided": False,
        "created_at": now,
        "updated_at": now,
        **extra,
    }


async def seed(url: str, args: argparse.Namespace, today: dt.date, photo_ids: list[str]) -> None:
    """The committee, its branches and people, a year of activities, the big branch."""
    rng = random.Random(2018)
    engine = create_engine(url)
    db = session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    start = dt.date(today.year, 1, 1)
    span = (today - start).days + 1
    async with db.begin() as session:
        root = await queries.add_org_unit(
            session, code="BENCH", kind=OrgKind.COMMITTEE, name="基准党委"
        )
        first = root.id + 1
        units = [
            {
                "id": first + n,
                "code": f"BENCH-{n:04d}",
                "kind": OrgKind.BRANCH,
                "name": f"第{n}党支部",
                "name_en": f"Branch {n}",
                "parent_id": root.id,
                "path": f"{root.path}{first + n}/",
            }
            for n in range(args.branches)
        ]
        for begin in range(0, len(units), CHUNK):
            await session.execute(insert(OrgUnit), units[begin : begin + CHUNK])
        people = [
            {"name": f"党员{n}-{m}", "branch_id": first + n}
            for n in range(args.branches)
            for m in range(5)
        ]
        for begin in range(0, len(people), CHUNK):
            await session.execute(insert(Person), people[begin : begin + CHUNK])
        rows = [
            _activity(first + n, start + dt.timedelta(days=rng.randrange(span)), rng, now)
            for n in range(args.branches)
            for _ in range(args.per_branch)
        ]
        for begin in range(0, len(rows), CHUNK):
            await session.execute(insert(Activity), rows[begin : begin + CHUNK])
        admin = Person(name="林书记")
        session.add(admin)
        await session.flush()
        session.add(RoleAssignment(person_id=admin.id, org_unit_id=root.id, role=Role.ADMIN))
        session.add(Account(telegram_id=ADMIN, person_id=admin.id, telegram_language="zh-hans"))
        # The big branch sits outside the committee, so the subtree ZIP stays N branches.
        big = await queries.add_org_unit(session, code="BIG", kind=OrgKind.BRANCH, name="大支部")
        secretary = Person(name="王芳", branch_id=big.id)
        session.add(secretary)
        await session.flush()
        session.add(RoleAssignment(person_id=secretary.id, org_unit_id=big.id, role=Role.SECRETARY))
        session.add(
            Account(telegram_id=SECRETARY, person_id=secretary.id, telegram_language="zh-hans")
        )
        session.add_all(Person(name=f"大支部党员{m}", branch_id=big.id) for m in range(30))
        big_rows = []
        for n in range(args.big_activities):
            attachments = [{"type": "photo", "file_id": photo_ids[n]}] if n < len(photo_ids) else []
            day = start + dt.timedelta(days=n * span // args.big_activities)
            big_rows.append(_activity(big.id, day, rng, now, attachments=attachments))
        await session.execute(insert(Activity), big_rows)
    await engine.dispose()


async def probe(users: list[FakeUser], until: asyncio.Event, every: float) -> list[float]:
    """Each user sends /help every `every` seconds (staggered), waiting for each reply,
    until `until` is set."""
    latencies: list[float] = []

    async def one(index: int, user: FakeUser) -> None:
        await asyncio.sleep(every * index / len(users))
        while not until.is_set():
            started = time.perf_counter()
            await user.send("/help")
            await user.wait_reply(timeout=120)
            took = time.perf_counter() - started
            latencies.append(took)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(until.wait(), max(0.0, every - took))

    await asyncio.gather(*(one(index, user) for index, user in enumerate(users)))
    return latencies


async def during(
    users: list[FakeUser], report: Callable[[], Awaitable[None]], every: float
) -> tuple[float, list[float]]:
    """Run the report while the users probe; (report seconds, /help latencies)."""
    for user in users:
        await user.skip_pending()
    stop_probe = asyncio.Event()
    probing = asyncio.create_task(probe(users, stop_probe, every))
    started = time.perf_counter()
    await report()
    seconds = time.perf_counter() - started
    stop_probe.set()
    return seconds, await probing


async def idle(seconds: float) -> None:
    """No report: the baseline."""
    await asyncio.sleep(seconds)


async def measure(
    server_url: str, args: argparse.Namespace, year: int
) -> dict[str, list[tuple[float, list[float]]]]:
    """Every scenario, `runs` times each."""
    results: dict[str, list[tuple[float, list[float]]]] = {}
    async with FakeTelegramClient(server_url, timeout=WAIT) as client:
        users = [await client.user(PROBES + n, f"P{n}", language_code="zh-hans") for n in range(50)]
        secretary = await client.user(SECRETARY, "王芳", language_code="zh-hans")
        admin = await client.user(ADMIN, "林书记", language_code="zh-hans")
        for user in users[:5]:  # warm-up: connections, catalogs, first queries
            await user.send("/help")
            await user.wait_reply(timeout=60)

        async def big_book() -> None:
            await secretary.skip_pending()
            await secretary.send(f"/book {year}")
            while (await secretary.wait_reply(timeout=WAIT)).document is None:
                pass

        async def subtree_zip() -> None:
            await admin.skip_pending()
            await admin.send(f"/book {year}")
            picker = await admin.wait_reply(timeout=120)
            label = next(text for text in picker.button_texts if "ZIP" in text)
            await admin.press(picker, label)
            while (await admin.wait_reply(timeout=WAIT)).document is None:
                pass

        async def chart() -> None:
            await admin.skip_pending()
            await admin.send("/report compliance")
            while (await admin.wait_reply(timeout=WAIT)).photo is None:
                pass

        await big_book()  # warm-up: the worker process starts on first use
        plan = [
            ("nothing (baseline)", lambda: idle(args.probe), args.runs),
            (
                f"record book: {args.big_activities} activities, {args.big_photos} photos",
                big_book,
                args.runs,
            ),
            (f"books of {args.branches} branches as one ZIP", subtree_zip, args.zip_runs),
            (f"compliance chart of {args.branches} branches", chart, args.runs),
        ]
        for name, report, runs in plan:
            for _ in range(runs):
                results.setdefault(name, []).append(await during(users, report, args.every))
                print(f"  ... {name}: {results[name][-1][0]:.1f} s", flush=True)
    return results


def main() -> None:
    """Seed, run the bot, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=1000)
    parser.add_argument("--per-branch", type=int, default=30)
    parser.add_argument("--big-activities", type=int, default=200)
    parser.add_argument("--big-photos", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--zip-runs", type=int, default=1)
    parser.add_argument("--probe", type=float, default=10.0, help="seconds of the baseline")
    parser.add_argument(
        "--every", type=float, default=1.0, help="seconds between one user's /help (50 a second)"
    )
    args = parser.parse_args()
    today = dt.datetime.now(ORG_TZ).date()
    server, port = start_fake_server()
    api_url = f"http://127.0.0.1:{port}/bot"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
            upgrade(url)
            photo_ids = asyncio.run(upload_photos(api_url, args.big_photos))
            asyncio.run(seed(url, args, today, photo_ids))
            env = {
                "ZHIBU_BOT_TOKEN": TOKEN,
                "ZHIBU_DATABASE_URL": url,
                "ZHIBU_BOT_API_URL": api_url,
                "ZHIBU_LOG_LEVEL": "WARNING",
            }
            bot = start_python(ZHIBU_BOT, env)
            try:
                results = asyncio.run(measure(f"http://127.0.0.1:{port}", args, today.year))
            finally:
                stop(bot)
    finally:
        stop(server)
    print(
        f"50 users each sending /help every {args.every:g} s; SQLite; medians of the runs ({today})"
    )
    for name, runs in results.items():
        seconds = median([s for s, _ in runs])
        p95 = median([percentile(lat, 0.95) for _, lat in runs]) * 1000
        p50 = median([percentile(lat, 0.5) for _, lat in runs]) * 1000
        count = sum(len(lat) for _, lat in runs)
        took = "" if name.startswith("nothing") else f"took {seconds:.1f} s; "
        verdict = "OK" if p95 < 300 else "TOO SLOW"
        print(
            f"  {name}: {took}/help median {p50:.0f} ms, p95 {p95:.0f} ms over {count} replies "
            f"(target p95 < 300 ms): {verdict}"
        )


if __name__ == "__main__":
    main()
