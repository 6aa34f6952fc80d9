"""Updates per second for /start and /me from simulated users, next to a bare PTB echo bot.

Both bots poll the same fake Bot API server (its own process) in the same run; every user
sends a command, waits for the reply, and sends the next (a closed loop, like people do).

    .venv/bin/python benchmarks/updates.py --users 200 --rounds 5 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from _common import TOKEN, median, start_fake_server, start_python, stop

from bot.enums import OrgKind
from bot.fake_telegram import FakeTelegramClient
from storage import queries
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Account, Person

ZHIBU_BOT = """
import asyncio
from bot.app import build_application
from bot.config import load_settings
app = build_application(load_settings(), rate_limit=False)
app.run_polling(poll_interval=0.0, timeout=1)
"""

# The bare PTB echo bot from PTB's examples, default settings: the baseline.
ECHO_BOT = f"""
import os
from telegram.ext import Application, MessageHandler, filters
async def echo(update, context):
    await update.message.reply_text(update.message.text)
app = (Application.builder().token("{TOKEN}")
       .base_url(os.environ["ZHIBU_BOT_API_URL"]).build())
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling(poll_interval=0.0, timeout=1)
"""

FIRST_USER = 700000


async def _seed(url: str, users: int) -> None:
    upgrade(url)
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        committee = await queries.add_org_unit(
            session, code="BENCH", kind=OrgKind.COMMITTEE, name="基准党委"
        )
        branch = await queries.add_org_unit(
            session, code="BENCH-B", kind=OrgKind.BRANCH, name="基准支部", parent=committee
        )
        for i in range(users):
            person = Person(name=f"成员{i}", branch_id=branch.id)
            session.add(person)
            await session.flush()
            session.add(
                Account(
                    telegram_id=FIRST_USER + i, person_id=person.id, telegram_language="zh-hans"
                )
            )
    await engine.dispose()


async def _traffic(server_url: str, users: int, rounds: int) -> float:
    """Every user alternates /start and /me; returns updates handled per second."""
    async with FakeTelegramClient(server_url, timeout=60) as client:
        people = [
            await client.user(FIRST_USER + i, f"U{i}", language_code="zh-hans")
            for i in range(users)
        ]
        # Warm-up: one exchange each (connections, caches, first queries).
        await asyncio.gather(*(_exchange(p, "/me") for p in people))
        started = time.perf_counter()
        await asyncio.gather(*(_user_loop(p, rounds) for p in people))
        elapsed = time.perf_counter() - started
    return users * rounds * 2 / elapsed


async def _exchange(user: object, text: str) -> None:
    await user.send(text)  # type: ignore[attr-defined]
    await user.wait_reply(timeout=60)  # type: ignore[attr-defined]


async def _user_loop(user: object, rounds: int) -> None:
    for _ in range(rounds):
        await _exchange(user, "/start")
        await _exchange(user, "/me")


def _measure(code: str, env: dict[str, str], port: int, users: int, rounds: int) -> float:
    bot = start_python(code, env)
    try:
        return asyncio.run(_traffic(f"http://127.0.0.1:{port}", users, rounds))
    finally:
        stop(bot)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="/start + /me pairs per user")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"zhibu": [], "echo": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            server, port = start_fake_server()
            try:
                url = f"sqlite+aiosqlite:///{Path(tmp) / f'bench{run}.sqlite3'}"
                asyncio.run(_seed(url, args.users))
                env = {
                    "ZHIBU_BOT_TOKEN": TOKEN,
                    "ZHIBU_DATABASE_URL": url,
                    "ZHIBU_BOT_API_URL": f"http://127.0.0.1:{port}/bot",
                    "ZHIBU_LOG_LEVEL": "WARNING",
                }
                results["echo"].append(_measure(ECHO_BOT, env, port, args.users, args.rounds))
                results["zhibu"].append(_measure(ZHIBU_BOT, env, port, args.users, args.rounds))
            finally:
                stop(server)
            print(
                f"run {run + 1}: zhibu {results['zhibu'][-1]:.0f}/s, "
                f"echo {results['echo'][-1]:.0f}/s",
                flush=True,
            )
    print(
        f"{args.users} users, {args.rounds} × (/start, /me) each, median of {args.runs} runs:\n"
        f"  zhibu (SQLite, chats in parallel): {median(results['zhibu']):.0f} updates/s\n"
        f"  bare PTB echo bot (same server):   {median(results['echo']):.0f} updates/s"
    )


if __name__ == "__main__":
    main()
