"""Other users' reply times while one chat floods the bot, next to the same run without it.

One unregistered chat sends 300 messages as fast as it can while 50 registered users each do
/start, /me and /help (a person reads each reply for a second before the next command, and the
50 begin within the first few seconds). Telegram's limits are enforced by the fake server (30
messages a second, one a second per chat: over them it answers 429) and the bot runs as in
production (`zhibu run`, its rate limiter on). Each run measures the 50 users' reply times
without the flood, then with it, each time against a fresh bot process and fake server.

    .venv/bin/python benchmarks/flood.py --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from _common import TOKEN, median, percentile, start_fake_server, start_python, stop
from updates import FIRST_USER, _seed

from bot.fake_telegram import FakeTelegramClient, FakeUser

ZHIBU_RUN = "import sys; from bot.__main__ import main; sys.exit(main(['run']))"
FLOODER = 990_000
COMMANDS = ("/start", "/me", "/help")


async def _user(person: FakeUser, start: float, think: float, times: list[float]) -> None:
    await asyncio.sleep(start)
    for command in COMMANDS:
        sent = time.perf_counter()
        await person.send(command)
        await person.wait_reply(timeout=120)
        times.append(time.perf_counter() - sent)
        await asyncio.sleep(think)


async def _flood(client: FakeTelegramClient, messages: int) -> None:
    flooder = await client.user(FLOODER, "Flood", language_code="en")
    for number in range(messages):
        await flooder.send(f"flood {number}")


async def _phase(url: str, users: int, spread: float, think: float, flood: int) -> list[float]:
    """The users' reply times, in seconds, with `flood` messages from one chat meanwhile."""
    async with FakeTelegramClient(url, timeout=180) as client:
        # Once the bot answers, it is serving (a new bot process takes a moment to start).
        warm_up = await client.user(FLOODER + 1, "Warm-up", language_code="en")
        await warm_up.send("/help")
        await warm_up.wait_reply(timeout=120)
        people = [
            await client.user(FIRST_USER + i, f"U{i}", language_code="zh-hans")
            for i in range(users)
        ]
        starts = random.Random(7)
        times: list[float] = []
        work = [_user(p, starts.uniform(0, spread), think, times) for p in people]
        if flood:
            work.append(_flood(client, flood))
        await asyncio.gather(*work)
    return times


def _measure(env: dict[str, str], args: argparse.Namespace, flood: int) -> list[float]:
    server, port = start_fake_server(flood=True)
    bot = start_python(ZHIBU_RUN, {**env, "ZHIBU_BOT_API_URL": f"http://127.0.0.1:{port}/bot"})
    try:
        url = f"http://127.0.0.1:{port}"
        return asyncio.run(_phase(url, args.users, args.spread, args.think, flood))
    finally:
        stop(bot)
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--flood", type=int, default=300, help="messages from the flooding chat")
    parser.add_argument("--spread", type=float, default=5.0, help="seconds the users start in")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between commands")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures: dict[str, dict[str, list[float]]] = {
        "without": {"p50": [], "p95": []},
        "with": {"p50": [], "p95": []},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            url = f"sqlite+aiosqlite:///{Path(tmp) / f'flood{run}.sqlite3'}"
            asyncio.run(_seed(url, args.users))
            env = {
                "ZHIBU_BOT_TOKEN": TOKEN,
                "ZHIBU_DATABASE_URL": url,
                "ZHIBU_LOG_LEVEL": "WARNING",
            }
            for name, flood in (("without", 0), ("with", args.flood)):
                times = _measure(env, args, flood)
                figures[name]["p50"].append(percentile(times, 0.50))
                figures[name]["p95"].append(percentile(times, 0.95))
            print(
                f"run {run + 1}: p50/p95 without the flood "
                f"{figures['without']['p50'][-1]:.3f}/{figures['without']['p95'][-1]:.3f} s, "
                f"with it {figures['with']['p50'][-1]:.3f}/{figures['with']['p95'][-1]:.3f} s",
                flush=True,
            )
    print(
        f"{args.users} users × {', '.join(COMMANDS)}; one chat sending {args.flood} messages; "
        f"median of {args.runs} runs:\n"
        f"  without the flood: p50 {median(figures['without']['p50']):.3f} s, "
        f"p95 {median(figures['without']['p95']):.3f} s\n"
        f"  with the flood:    p50 {median(figures['with']['p50']):.3f} s, "
        f"p95 {median(figures['with']['p95']):.3f} s"
    )


if __name__ == "__main__":
    main()
