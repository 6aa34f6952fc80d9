"""Party dues at scale: the monthly lapse scan and the subtree collection report.

    .venv/bin/python benchmarks/dues.py [--branches 10000] [--members 30] [--runs 3]
        [--postgres "$(bash .ci/postgres | tail -1)"] [--no-sqlite]

Seeds a committee with N branches of M members (10,000 x 30: 300,000 members), each with a
monthly standard and twelve months of payments (about 3.5 million rows), and a year of monthly
meetings per branch naming a few absentees. About 3 % of the members stop paying and taking
part three to six months before "today" (2026-12-15), so the scan has lapses to find. Rows go
in with COPY on PostgreSQL and executemany on SQLite; the seed is not timed.

Then times, median of --runs: the lapse scan of the whole organisation as the planner runs it
(bot.dues.lapse.lapse_scan), and the collection report of the whole subtree as /report dues
builds it (bot.dues.report.subtree_collection). Target: each under 5 s on both databases.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# This checkout's packages, whatever the virtualenv has installed; and the benchmarks' helpers.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import median
from sqlalchemy import insert, text

from bot.config import Settings
from bot.dues.lapse import lapse_scan
from bot.dues.report import subtree_collection
from bot.enums import OrgKind, PersonStatus
from bot.rules.dues import month_index
from storage import queries
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.schema import Base

TODAY = dt.date(2026, 12, 15)
NOW = dt.datetime(2026, 12, 15, 2, tzinfo=dt.UTC)
ARRIVED = dt.datetime(2025, 6, 1, 2, tzinfo=dt.UTC)
CURRENT = month_index(2026, 12)
# Twelve months of payments: December 2025 to November 2026.
MONTHS = range(CURRENT - 12, CURRENT)
LAPSING = 0.03
CHUNK = 20_000


def _organisation(branches: int) -> list[dict[str, Any]]:
    rows = [
        {
            "id": 1,
            "code": "BENCH",
            "parent_id": None,
            "kind": OrgKind.COMMITTEE.value,
            "name": "基准党委",
            "name_en": None,
            "path": "/1/",
            "created_at": NOW,
        }
    ]
    for n in range(branches):
        rows.append(
            {
                "id": n + 2,
                "code": f"BENCH-{n:05d}",
                "parent_id": 1,
                "kind": OrgKind.BRANCH.value,
                "name": f"第{n}党支部",
                "name_en": None,
                "path": f"/1/{n + 2}/",
                "created_at": NOW,
            }
        )
    return rows


class Plan:
    """Who lapses, and from which month (the same in every table's rows)."""

    def __init__(self, branches: int, members: int) -> None:
        rng = random.Random(2026)
        self.branches, self.members = branches, members
        self.stops: dict[int, int] = {}
        for person_id in range(1, branches * members + 1):
            if rng.random() < LAPSING:
                self.stops[person_id] = CURRENT - rng.randint(3, 6)

    def branch_of(self, person_id: int) -> int:
        return (person_id - 1) // self.members + 2

    def people(self) -> Iterator[dict[str, Any]]:
        for person_id in range(1, self.branches * self.members + 1):
            yield {
                "id": person_id,
                "name": f"党员{person_id}",
                "branch_id": self.branch_of(person_id),
                "status": PersonStatus.REGULAR.value,
                "joined_on": None,
                "phone": None,
                "created_at": ARRIVED,
                "added_by_invite": False,
            }

    def standards(self) -> Iterator[dict[str, Any]]:
        for person_id in range(1, self.branches * self.members + 1):
            yield {
                "person_id": person_id,
                "from_month": MONTHS[0],
                "amount_fen": 50 + person_id % 4950,
                "source": "import",
                "created_at": NOW,
            }

    def payments(self) -> Iterator[dict[str, Any]]:
        for person_id in range(1, self.branches * self.members + 1):
            stop = self.stops.get(person_id, CURRENT)
            for month in MONTHS:
                if month >= stop:
                    break
                yield {
                    "person_id": person_id,
                    "branch_id": self.branch_of(person_id),
                    "month": month,
                    "amount_fen": 50 + person_id % 4950,
                    "paid_on": TODAY,
                    "source": "import",
                    "created_at": NOW,
                }

    def activities(self) -> Iterator[dict[str, Any]]:
        rng = random.Random(18)
        for branch in range(self.branches):
            first = branch * self.members + 1
            members = range(first, first + self.members)
            for month in MONTHS:
                # Those lapsing are absent without a reason; two others a month, one of them
                # excused.
                lapsing = [p for p in members if self.stops.get(p, CURRENT) <= month]
                others = [p for p in rng.sample(members, 2) if p not in lapsing]
                absences = [{"person_id": p, "name": f"党员{p}", "reason": None} for p in lapsing]
                absences += [
                    {"person_id": p, "name": f"党员{p}", "reason": "work" if i else None}
                    for i, p in enumerate(others)
                ]
                yield {
                    "branch_id": branch + 2,
                    "kinds": ["themed_day"],
                    "day": dt.date(month // 12, month % 12 + 1, 20),
                    "topic": "主题党日",
                    "present": self.members - len(absences),
                    "expected": self.members,
                    "attachments": [],
                    "absences": absences,
                    "late": False,
                    "voided": False,
                    "version": 1,
                    "created_at": NOW,
                    "updated_at": NOW,
                }


def _tables() -> dict[str, Any]:
    return {table.name: table for table in Base.metadata.sorted_tables}


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _sources(plan: Plan, branches: int) -> list[tuple[str, Iterator[dict[str, Any]], bool]]:
    return [
        ("org_units", iter(_organisation(branches)), True),
        ("people", plan.people(), True),
        ("dues_standards", plan.standards(), False),
        ("dues_payments", plan.payments(), False),
        ("activities", plan.activities(), False),
    ]


async def seed_sqlite(url: str, plan: Plan, branches: int) -> dict[str, int]:
    """executemany, a chunk at a time, in one transaction."""
    tables = _tables()
    engine = create_engine(url)
    counts: dict[str, int] = {}
    async with engine.begin() as connection:
        for name, rows, _keep_ids in _sources(plan, branches):
            counts[name] = 0
            for batch in _batches(rows):
                await connection.execute(insert(tables[name]), batch)
                counts[name] += len(batch)
        await connection.execute(text("ANALYZE"))
    await engine.dispose()
    return counts


async def seed_postgres(url: str, plan: Plan, branches: int) -> dict[str, int]:
    """COPY, as the province seed does."""
    import asyncpg

    tables = _tables()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    counts: dict[str, int] = {}
    try:
        for name, rows, keep_ids in _sources(plan, branches):
            counts[name] = await Copier(connection, tables[name]).copy(
                (_jsonable(row) for row in rows), keep_ids=keep_ids
            )
        for name in ("org_units", "people"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return counts


class Copier:
    """COPY rows (dicts) into one table; a column a row leaves out gets a neutral value."""

    def __init__(self, connection: Any, table: Any) -> None:
        self.connection = connection
        self.table = table
        self.columns = [c for c in table.columns if not (c.primary_key and c.autoincrement)]

    async def copy(self, rows: Any, *, keep_ids: bool = False, chunk: int = 50_000) -> int:
        """COPY the rows; with keep_ids the rows carry their id (the seed numbers them)."""
        columns = ([self.table.c.id] if keep_ids else []) + self.columns
        names = [c.name for c in columns]
        count = 0
        batch: list[list[Any]] = []
        for row in rows:
            batch.append(
                [row[n] if n in row else _filler(c) for n, c in zip(names, columns, strict=True)]
            )
            if len(batch) >= chunk:
                await self.connection.copy_records_to_table(
                    self.table.name, records=batch, columns=names
                )
                count, batch = count + len(batch), []
        if batch:
            await self.connection.copy_records_to_table(
                self.table.name, records=batch, columns=names
            )
            count += len(batch)
        return count


def _filler(column: Any) -> Any:
    if column.nullable:
        return None
    python = getattr(column.type, "python_type", None)
    if column.default is not None and getattr(column.default, "is_scalar", False):
        return column.default.arg
    if column.name in ("created_at", "updated_at"):
        return dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)
    return {bool: False, int: 0, str: ""}.get(python) if python else None


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
        for key, value in row.items()
    }


async def measure(url: str, runs: int) -> tuple[float, int, float, int]:
    """(scan seconds, lapses found, report seconds, branches reported), medians."""
    settings = Settings(database_url=url)
    engine = create_engine(url)
    db = session_factory(engine)
    scans, reports = [], []
    found = branches = 0
    for _ in range(runs):
        started = time.perf_counter()
        async with db() as session:
            lapses = await lapse_scan(session, settings, TODAY)
        scans.append(time.perf_counter() - started)
        found = len(lapses)
        started = time.perf_counter()
        async with db() as session:
            root = await queries.org_by_code(session, "BENCH")
            assert root is not None
            collection = await subtree_collection(session, [root], CURRENT - 1)
        reports.append(time.perf_counter() - started)
        branches = len(collection.lines)
    await engine.dispose()
    return median(scans), found, median(reports), branches


def run_one(url: str, args: argparse.Namespace, *, postgres: bool) -> None:
    """Seed one empty database, measure, print."""
    upgrade(url)
    plan = Plan(args.branches, args.members)
    started = time.perf_counter()
    seed = seed_postgres if postgres else seed_sqlite
    counts = asyncio.run(seed(url, plan, args.branches))
    seeded = time.perf_counter() - started
    scan, found, report, branches = asyncio.run(measure(url, args.runs))
    expected = sum(1 for stop in plan.stops.values() if CURRENT - 1 - stop + 1 >= 3)
    print(f"database: {url.split(':', 1)[0]}; seeded in {seeded:.0f} s (not timed): {counts}")
    print(
        f"  lapse scan of {args.branches * args.members} members as of {TODAY} (median of "
        f"{args.runs}): {scan:.2f} s (target < 5 s): {'OK' if scan < 5 else 'TOO SLOW'}; "
        f"{found} lapsing (seeded {expected})"
    )
    print(
        f"  collection report of the subtree, {branches} branches, November 2026 (median of "
        f"{args.runs}): {report:.2f} s (target < 5 s): {'OK' if report < 5 else 'TOO SLOW'}",
        flush=True,
    )


async def _scratch_database(server_url: str, name: str, *, create: bool) -> str:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        if create:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    """Seed, measure, print: SQLite, then PostgreSQL when a server is given."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--branches", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="a scratch database is made there")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--keep", metavar="PATH", help="seed SQLite at PATH and keep it")
    args = parser.parse_args()
    if args.keep:
        run_one(f"sqlite+aiosqlite:///{args.keep}", args, postgres=False)
    elif not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run_one(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}", args, postgres=False)
    if args.postgres:
        name = f"zhibu_bench_dues_{os.getpid()}"
        url = asyncio.run(_scratch_database(args.postgres, name, create=True))
        try:
            run_one(url, args, postgres=True)
        finally:
            asyncio.run(_scratch_database(args.postgres, name, create=False))


if __name__ == "__main__":
    main()
