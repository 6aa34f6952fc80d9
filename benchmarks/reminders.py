"""Reminders: planning for 100,000 branches, sending through the fake server, start-up time.

    .venv/bin/python benchmarks/reminders.py [--branches 100000] [--members-per-branch 9]
        [--send 10000] [--rate 30] [--pending 100000] [--database-url URL]

1. Planning: seeds a committee with N branches, each with a secretary who has an account and
   `members-per-branch` members (1,000,000 people by default), no activities (so every
   obligation is open and the most reminders are planned), then times one planning pass at
   Tuesday 24 November 2026 10:00 in Shanghai (target < 30 s on SQLite), and a second pass
   (nothing new: the dedupe keys hold).
2. Sending: `--send` reminders due now for as many recipients, claimed and sent by the engine
   through the fake Bot API with Telegram's flood limits enforced (30/s overall, 1/s per chat),
   at `--rate` per second. Counts duplicates (a chat with more than one message) and limit
   violations reported by the server; both must be zero.
3. Start-up: with `--pending` reminders pending (due later), the time from starting the bot
   process to its first reply to /help (target < 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

from _common import TOKEN, start_fake_server, start_python, stop
from sqlalchemy import func, insert, select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.delivery import FloodGate
from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeTelegramClient
from bot.reminders.engine import ReminderEngine
from bot.reminders.passes import plan_everything
from handlers.training_buttons import invitation_keyboard
from storage import queries
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Account, OrgUnit, Person, RoleAssignment
from storage.models_reminders import Reminder

CHUNK = 10_000
FIRST_USER = 5_000_000
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
PLAN_AT = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)

ZHIBU_BOT = """
from bot.app import build_application
from bot.config import load_settings
app = build_application(load_settings(), rate_limit=False)
app.run_polling(poll_interval=0.0, timeout=1)
"""


async def seed(url: str, branches: int, members: int) -> int:
    """Branches with a secretary (and account) and members; returns the number of people."""
    engine = create_engine(url)
    db = session_factory(engine)
    people = 0
    async with db.begin() as session:
        root = await queries.add_org_unit(
            session, code="BENCH", kind=OrgKind.COMMITTEE, name="基准党委"
        )
        admin = Person(name="管理员")
        session.add(admin)
        await session.flush()
        session.add(RoleAssignment(person_id=admin.id, org_unit_id=root.id, role=Role.ADMIN))
        session.add(Account(telegram_id=FIRST_USER - 1, person_id=admin.id))
        first_org = root.id + 1
        first_person = admin.id + 1
        appointed = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
        for start in range(0, branches, CHUNK):
            stop_at = min(branches, start + CHUNK)
            numbers = range(start, stop_at)
            await session.execute(
                insert(OrgUnit),
                [
                    {
                        "id": first_org + n,
                        "code": f"B-{n:06d}",
                        "kind": OrgKind.BRANCH,
                        "name": f"第{n}党支部",
                        "parent_id": root.id,
                        "path": f"{root.path}{first_org + n}/",
                    }
                    for n in numbers
                ],
            )
            await session.execute(
                insert(Person),
                [
                    {"id": first_person + n, "name": f"书记{n}", "branch_id": first_org + n}
                    for n in numbers
                ],
            )
            await session.execute(
                insert(RoleAssignment),
                [
                    {
                        "person_id": first_person + n,
                        "org_unit_id": first_org + n,
                        "role": Role.SECRETARY,
                        "created_at": appointed,
                    }
                    for n in numbers
                ],
            )
            await session.execute(
                insert(Account),
                [
                    {
                        "telegram_id": FIRST_USER + n,
                        "person_id": first_person + n,
                        "telegram_language": "zh-hans" if n % 2 else "en",
                    }
                    for n in numbers
                ],
            )
            people += len(numbers)
        rows: list[dict[str, object]] = []
        for n in range(branches):
            for m in range(members):
                rows.append({"name": f"党员{n}-{m}", "branch_id": first_org + n})
            if len(rows) >= CHUNK * 2:
                await session.execute(insert(Person), rows)
                people += len(rows)
                rows = []
        if rows:
            await session.execute(insert(Person), rows)
            people += len(rows)
    await engine.dispose()
    return people


async def time_planning(url: str, settings: Settings) -> list[tuple[float, int, int]]:
    """Two planning passes: (seconds, planned, inserted)."""
    engine = create_engine(url)
    db = session_factory(engine)
    results = []
    for _ in range(2):
        started = time.perf_counter()
        report = await plan_everything(db, settings, PLAN_AT)
        results.append((time.perf_counter() - started, report.planned, report.inserted))
    await engine.dispose()
    return results


async def add_due(url: str, count: int, due: dt.datetime, *, urgent: bool) -> None:
    """`count` reminders, one per secretary account, due at `due`."""
    engine = create_engine(url)
    db = session_factory(engine)
    async with db.begin() as session:
        ids = list(
            (
                await session.scalars(
                    select(Account.id)
                    .where(Account.telegram_id >= FIRST_USER)
                    .order_by(Account.id)
                    .limit(count)
                )
            ).all()
        )
        for start in range(0, len(ids), CHUNK):
            await session.execute(
                insert(Reminder),
                [
                    {
                        "account_id": account_id,
                        "kind": "mobile_report",
                        "subject": f"bench:{due.isoformat()}:{account_id}",
                        "dedupe_key": f"bench:{due.isoformat()}:{account_id}",
                        "due_at": due,
                        "urgent": urgent,
                        "soft": False,
                        "payload": {"due_day": "2026-12-01"},
                        "state": "pending",
                        "attempts": 0,
                        "created_at": due,
                    }
                    for account_id in ids[start : start + CHUNK]
                ],
            )
    await engine.dispose()


async def time_sending(url: str, port: int, count: int, rate: float) -> dict[str, object]:
    """Claim and send `count` due reminders through the fake server with flood limits on."""
    now = dt.datetime.now(dt.UTC)
    await add_due(url, count, now - dt.timedelta(minutes=1), urgent=True)
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        bot_token=TOKEN,
        database_url=url,
        bot_api_url=f"{base}/bot",
        delivery_rate=rate,
    )
    async with FakeTelegramClient(base, timeout=60) as client:
        for n in range(count):
            await client.user(FIRST_USER + n, f"S{n}", language_code="en" if n % 2 else "zh")
        engine = create_engine(url)
        bot = Bot(
            TOKEN,
            base_url=settings.bot_api_url,
            request=HTTPXRequest(connection_pool_size=settings.delivery_concurrency + 4),
        )
        await bot.initialize()
        reminders = ReminderEngine(
            db=session_factory(engine),
            settings=settings,
            gate=FloodGate(per_second=30),
            bot=bot,
            invitation_keyboard=invitation_keyboard,
            clock=lambda: dt.datetime.now(dt.UTC),
        )
        started = time.perf_counter()
        report = await reminders.tick()
        seconds = time.perf_counter() - started
        await bot.shutdown()
        stats = await client.flood_stats()
        # Every accepted send, by chat: a chat that appears twice got a duplicate.
        chats = list(stats.get("send_chats") or [])
        duplicates = len(chats) - len(set(chats))
        async with session_factory(engine)() as session:
            sent = await session.scalar(
                select(func.count()).select_from(Reminder).where(Reminder.state == "sent")
            )
        await engine.dispose()
    return {
        "seconds": seconds,
        "messages": report.messages,
        "sent_rows": sent,
        "violations": stats.get("violations"),
        "server_count": stats.get("sent_count"),
        "peak": stats.get("peak_per_second"),
        "duplicates": duplicates,
    }


async def time_startup(url: str, port: int, pending: int) -> float:
    """Seconds from starting the bot process to its first reply, with `pending` reminders."""
    await add_due(url, pending, PLAN_AT + dt.timedelta(days=365), urgent=False)
    env = {
        "ZHIBU_BOT_TOKEN": TOKEN,
        "ZHIBU_DATABASE_URL": url,
        "ZHIBU_BOT_API_URL": f"http://127.0.0.1:{port}/bot",
        "ZHIBU_LOG_LEVEL": "WARNING",
        # The first tick runs right away, on the table with all those pending rows.
        "ZHIBU_REMINDER_TICK_SECONDS": "0.1",
    }
    async with FakeTelegramClient(f"http://127.0.0.1:{port}", timeout=60) as client:
        user = await client.user(FIRST_USER - 7, "Startup", language_code="en")
        started = time.perf_counter()
        process = start_python(ZHIBU_BOT, env)
        try:
            await user.send("/help")
            await user.wait_reply(timeout=60)
            return time.perf_counter() - started
        finally:
            stop(process)


def main() -> None:
    """Seed, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=100_000)
    parser.add_argument("--members-per-branch", type=int, default=9)
    parser.add_argument("--send", type=int, default=10_000, help="reminders to send")
    parser.add_argument("--rate", type=float, default=30, help="sends per second")
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        seeding = time.perf_counter()
        people = asyncio.run(seed(url, args.branches, args.members_per_branch))
        print(
            f"database: {url.split(':', 1)[0]}; {args.branches} branches, {people} people, "
            f"seeded in {time.perf_counter() - seeding:.1f} s (not timed)",
            flush=True,
        )
        settings = Settings(database_url=url)
        (first, planned, inserted), (again, _, inserted_again) = asyncio.run(
            time_planning(url, settings)
        )
        print(
            f"planning at {PLAN_AT.isoformat()}: {planned} reminders planned, {inserted} "
            f"inserted in {first:.1f} s (target < 30 s): {'OK' if first < 30 else 'TOO SLOW'}; "
            f"again: {inserted_again} inserted in {again:.1f} s",
            flush=True,
        )
        server, port = start_fake_server(flood=True)
        try:
            sending = asyncio.run(time_sending(url, port, args.send, args.rate))
            seconds = float(str(sending["seconds"]))
            print(
                f"sending {args.send} due reminders at {args.rate:g}/s through the fake server "
                f"(flood limits on): {sending['messages']} messages in {seconds:.1f} s "
                f"({int(str(sending['messages'])) / seconds:.1f}/s, server peak "
                f"{sending['peak']}/s); rows sent {sending['sent_rows']}; limit violations "
                f"{sending['violations']}; duplicates {sending['duplicates']} "
                f"({sending['server_count']} sends accepted by the server)",
                flush=True,
            )
            startup = asyncio.run(time_startup(url, port, args.pending))
            print(
                f"start-up with {args.pending} more pending reminders, process start to the "
                f"first reply: {startup:.2f} s (target < 3 s): "
                f"{'OK' if startup < 3 else 'TOO SLOW'}",
                flush=True,
            )
        finally:
            stop(server)


if __name__ == "__main__":
    main()
