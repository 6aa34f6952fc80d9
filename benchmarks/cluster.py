"""Updates per second with 1, 2 and 3 bot processes on one PostgreSQL database, and what the
shared Telegram budget costs per send.

Each run starts N `python -m bot run` processes serving by webhook; the fake Bot API (its own
process) posts the updates to them round-robin, as Telegram behind a load balancer. Every
simulated user sends /start, waits for the reply, sends /me, and so on (a closed loop, like
people). Telegram's global limit is raised (ZHIBU_TELEGRAM_RATE_LIMIT=1000, the fake's limits
off) so the figure is the bot's capacity, not Telegram's 30 a second; the per-chat spacing of
a second still holds, so each user does at most about one exchange a second: use enough users.

Each count runs `--repeat` times, interleaved with the others (the machine is shared and
noisy): medians, the range, and the largest peak resident memory (VmHWM) of a bot process.

Then `--gate`: N sends through the shared gate (bot.shared_gate) against the same database,
one after the other, next to the process-local FloodGate: the time each send costs.

    .venv/bin/python benchmarks/cluster.py --users 300 --rounds 3 --processes 1 2 3 --repeat 3
    ZHIBU_BENCH_PG_URL=postgresql+asyncpg://zhibu:zhibu@127.0.0.1:54329/zhibu_test ...
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, TOKEN, start_fake_server, stop
from sqlalchemy import text

from bot.enums import OrgKind
from bot.fake_telegram import FakeTelegramClient
from bot.floodgate import FREE_LANE, FloodGate
from bot.shared_gate import SharedGate
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Account, Person

PG_URL = os.environ.get(
    "ZHIBU_BENCH_PG_URL", "postgresql+asyncpg://zhibu:zhibu@127.0.0.1:54329/zhibu_test"
)
SECRET = "bench-webhook-secret-0123456789abcdefghij"
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"
FIRST_USER = 700000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin(statement: str) -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


async def _fresh_database(users: int) -> str:
    name = f"zhibu_bench_{os.getpid()}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}"')
    await _admin(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        from storage import queries

        committee = await queries.add_org_unit(
            session, code="BENCH", kind=OrgKind.COMMITTEE, name="基准党委"
        )
        branch = await queries.add_org_unit(
            session, code="BENCH-B", kind=OrgKind.BRANCH, name="基准支部", parent=committee
        )
        people = [Person(name=f"成员{i}", branch_id=branch.id) for i in range(users)]
        session.add_all(people)
        await session.flush()
        session.add_all(
            Account(telegram_id=FIRST_USER + i, person_id=p.id, telegram_language="zh-hans")
            for i, p in enumerate(people)
        )
    await engine.dispose()
    return url


async def _forget_updates(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM inbox"))
    await engine.dispose()


async def _drop_database(url: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _start_bots(
    url: str, fake_port: int, count: int, logs: Path
) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    ports = [_free_port() for _ in range(count)]
    processes = []
    for n, port in enumerate(ports):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
        env.update(
            PYTHONPATH=str(ROOT),
            ZHIBU_BOT_TOKEN=TOKEN,
            ZHIBU_SECRET_KEY=SECRET_KEY,
            ZHIBU_DATABASE_URL=url,
            ZHIBU_BOT_API_URL=f"http://127.0.0.1:{fake_port}/bot",
            ZHIBU_WEBHOOK_URL="https://bot.example.org/hook",
            ZHIBU_WEBHOOK_SECRET=SECRET,
            ZHIBU_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            ZHIBU_TELEGRAM_RATE_LIMIT="1000",
            ZHIBU_DELIVERY_RATE="25",
            ZHIBU_LOG_LEVEL="INFO",
        )
        log = (logs / f"bot-{count}-{n}.log").open("wb")
        profile = os.environ.get("ZHIBU_BENCH_PROFILE")
        command = [sys.executable, "-m", "bot", "run"]
        if profile:  # cProfile of each bot process, written when it stops
            command[1:1] = ["-m", "cProfile", "-o", f"{profile}.{count}.{n}"]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log))
    for n in range(count):
        path = logs / f"bot-{count}-{n}.log"
        deadline = time.monotonic() + 180
        while b"serving through the inbox" not in path.read_bytes():
            if time.monotonic() > deadline or processes[n].poll() is not None:
                raise SystemExit(f"bot {n} did not start:\n{path.read_text()}")
            time.sleep(0.2)
    return processes, ports


def _peak_rss_mib(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _traffic(fake_url: str, ports: list[int], users: int, rounds: int) -> float:
    """Every user alternates /start and /me; returns updates handled per second."""
    async with FakeTelegramClient(fake_url, timeout=120) as client:
        await client.set_webhook_targets([f"http://127.0.0.1:{p}/hook" for p in ports])
        people = [
            await client.user(FIRST_USER + i, f"U{i}", language_code="zh-hans")
            for i in range(users)
        ]
        # Warm-up: one exchange each (connections, caches, first queries, the leader's start).
        await asyncio.gather(*(_exchange(p, "/me") for p in people))
        started = time.perf_counter()
        await asyncio.gather(*(_user_loop(p, rounds) for p in people))
        elapsed = time.perf_counter() - started
    return users * rounds * 2 / elapsed


async def _exchange(user: object, text: str) -> None:
    await user.send(text)  # type: ignore[attr-defined]
    await user.wait_reply(timeout=120)  # type: ignore[attr-defined]


async def _user_loop(user: object, rounds: int) -> None:
    for _ in range(rounds):
        await _exchange(user, "/start")
        await _exchange(user, "/me")


async def _gate_cost(url: str, sends: int) -> tuple[float, float]:
    """Milliseconds per acquire + release: the shared gate, then a local FloodGate."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    shared = SharedGate(
        session_factory(engine),
        per_second=1000,
        paid_per_second=1000,
        broadcast_per_second={FREE_LANE: 1000},
        lease=dt.timedelta(seconds=30),
    )
    local = FloodGate(per_second=1000)
    results = []
    for gate in (shared, local):
        started = time.perf_counter()
        for n in range(sends):
            ticket = await gate.acquire(900000 + n, broadcast=True)
            gate.release(ticket)
        if isinstance(gate, SharedGate):
            await gate.drain()
        results.append((time.perf_counter() - started) * 1000 / sends)
    await engine.dispose()
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="/start + /me pairs per user")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--gate", type=int, default=2000, help="sends for the gate's cost")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each process count (medians reported)"
    )
    parser.add_argument("--logs", type=Path, help="keep the bots' logs in this directory")
    args = parser.parse_args()
    url = asyncio.run(_fresh_database(args.users))
    figures: dict[int, list[float]] = {count: [] for count in args.processes}
    memory: dict[int, list[float]] = {count: [] for count in args.processes}
    gate: list[tuple[float, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            logs = args.logs or Path(tmp)
            logs.mkdir(parents=True, exist_ok=True)
            # Interleaved (1, 2, 3, 1, 2, 3...): a noisy neighbour's burst spreads over all counts.
            for _ in range(args.repeat):
                for count in args.processes:
                    rate, rss = _one_run(url, count, logs, args.users, args.rounds)
                    figures[count].append(rate)
                    memory[count].append(rss)
                    print(f"{count} process(es): {rate:.0f} updates/s, {rss:.0f} MiB", flush=True)
                gate.append(asyncio.run(_gate_cost(url, args.gate)))
    finally:
        asyncio.run(_drop_database(url))
    print(
        f"{args.users} users, {args.rounds} × (/start, /me) each, webhook round-robin, "
        f"median of {args.repeat} runs (min-max):"
    )
    for count, rates in figures.items():
        print(
            f"  {count} process(es): {statistics.median(rates):.0f} updates/s "
            f"({min(rates):.0f}-{max(rates):.0f}); peak memory of a process "
            f"{max(memory[count]):.0f} MiB"
        )
    shared_ms = statistics.median(g[0] for g in gate)
    local_ms = statistics.median(g[1] for g in gate)
    print(
        f"one send's turn at the gate (median of {len(gate)} × {args.gate} sends): "
        f"shared (PostgreSQL) {shared_ms:.2f} ms, process-local {local_ms:.3f} ms"
    )


def _one_run(url: str, count: int, logs: Path, users: int, rounds: int) -> tuple[float, float]:
    """Updates per second with `count` fresh bot processes and a fresh fake server, and the
    largest peak resident memory of those processes (MiB)."""
    # Each fake server numbers its updates from 1 again: the last run's ids, still in the inbox,
    # would make the new updates look like redeliveries, stored and answered never.
    asyncio.run(_forget_updates(url))
    server, fake_port = start_fake_server()
    bots: list[subprocess.Popen[bytes]] = []
    try:
        bots, ports = _start_bots(url, fake_port, count, logs)
        rate = asyncio.run(_traffic(f"http://127.0.0.1:{fake_port}", ports, users, rounds))
        return rate, max(_peak_rss_mib(bot.pid) for bot in bots)
    finally:
        for bot in bots:
            stop(bot)
        stop(server)


if __name__ == "__main__":
    main()
