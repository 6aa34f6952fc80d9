"""Seed a province-sized organisation into PostgreSQL with COPY (not timed by the benchmark).

    .venv/bin/python benchmarks/province_seed.py --postgres URL [--branches 200000]
        [--members 4500000] [--years 2] [--database zhibu_province]

Creates (or re-creates) the database, migrates it, and fills it: a province committee, 16 city
committees, 12 county committees each, general branches of about 25 branches, the branches
with their secretaries and members (each with a Telegram account), and two years of activities
as branches log them (about 33 a year each). Rows go in through COPY in chunks; every column the
models declare gets a value (a nullable one None), so new columns do not break the seed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg
from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.sql.schema import Column, Table

from bot.enums import OrgKind, PersonStatus, Role
from bot.rules.kinds import ActivityKind
from storage.migrate import upgrade
from storage.schema import Base

CITIES, COUNTIES = 16, 12
BRANCHES_PER_GENERAL = 25
CHUNK = 50_000
FIRST_TELEGRAM_ID = 10_000_000
NOW = dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)

# A year of a branch's log: (kinds, how many times a year).
YEAR_OF_ACTIVITIES = [
    ([ActivityKind.COMMITTEE_MEETING], 12),
    ([ActivityKind.THEMED_DAY], 12),
    ([ActivityKind.GENERAL_MEETING], 3),
    ([ActivityKind.GENERAL_MEETING, ActivityKind.LECTURE], 1),
    ([ActivityKind.LECTURE], 3),
    ([ActivityKind.LIFE_MEETING, ActivityKind.APPRAISAL], 1),
    ([ActivityKind.TALK], 1),
]


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _filler(column: Column[Any]) -> Any:
    """A value for a column the seed does not set itself."""
    if column.nullable or column.server_default is not None:
        return None
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 0
    if isinstance(kind, DateTime):
        return NOW
    if isinstance(kind, String | Text):
        return ""
    return "[]" if "JSON" in type(kind).__name__ else None


class Copier:
    """COPY rows into one table, filling the columns a row leaves out."""

    def __init__(self, connection: asyncpg.Connection, table: Table) -> None:
        self.connection = connection
        self.table = table
        self.columns = [c for c in table.columns if not (c.primary_key and c.autoincrement)]
        self.names = [c.name for c in self.columns]
        self.count = 0

    async def copy(self, rows: Iterator[dict[str, Any]], *, keep_ids: bool = False) -> int:
        """COPY the rows; with keep_ids the rows carry their id (the seed numbers them)."""
        columns = ([self.table.c.id] if keep_ids else []) + self.columns
        names = [c.name for c in columns]
        json_columns = {c.name for c in columns if "JSON" in type(c.type).__name__}
        batch: list[Sequence[Any]] = []
        for row in rows:
            record = []
            for column in columns:
                value = row[column.name] if column.name in row else _filler(column)
                if column.name in json_columns and not isinstance(value, str | None):
                    value = _json(value)
                record.append(value)
            batch.append(record)
            if len(batch) >= CHUNK:
                await self._flush(names, batch)
                batch = []
        if batch:
            await self._flush(names, batch)
        return self.count

    async def _flush(self, names: list[str], batch: list[Sequence[Any]]) -> None:
        await self.connection.copy_records_to_table(self.table.name, records=batch, columns=names)
        self.count += len(batch)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _tables() -> dict[str, Table]:
    return {table.name: table for table in Base.metadata.sorted_tables}


async def seed(url: str, *, branches: int, members: int, years: int) -> dict[str, int]:
    """Fill an empty, migrated database; returns the rows per table."""
    rng = random.Random(2026)
    tables = _tables()
    connection = await asyncpg.connect(_libpq(url))
    counts: dict[str, int] = {}
    try:
        await connection.execute("SET synchronous_commit = off")
        orgs, branch_ids = _organisation(branches)
        counts["org_units"] = await Copier(connection, tables["org_units"]).copy(
            iter(orgs), keep_ids=True
        )
        per_branch = max(1, members // branches)
        people = _people(branch_ids, per_branch)
        counts["people"] = await Copier(connection, tables["people"]).copy(people, keep_ids=True)
        total_people = len(branch_ids) * per_branch
        counts["accounts"] = await Copier(connection, tables["accounts"]).copy(
            _accounts(total_people), keep_ids=True
        )
        counts["role_assignments"] = await Copier(connection, tables["role_assignments"]).copy(
            _secretaries(branch_ids, per_branch)
        )
        counts["activities"] = await Copier(connection, tables["activities"]).copy(
            _activities(branch_ids, per_branch, years, rng)
        )
        for name in ("org_units", "people", "accounts"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return counts


def _organisation(branches: int) -> tuple[list[dict[str, Any]], list[int]]:
    """The tree, with ids and materialised paths; the ids of the branches."""
    rows: list[dict[str, Any]] = []
    branch_ids: list[int] = []
    next_id = 1

    def add(kind: OrgKind, code: str, name: str, parent: dict[str, Any] | None) -> dict[str, Any]:
        nonlocal next_id
        path = (parent["path"] if parent else "/") + f"{next_id}/"
        row = {
            "id": next_id,
            "code": code,
            "parent_id": parent["id"] if parent else None,
            "kind": kind.value,
            "name": name,
            "name_en": None,
            "path": path,
            "created_at": NOW,
        }
        rows.append(row)
        next_id += 1
        return row

    province = add(OrgKind.COMMITTEE, "P", "省委组织部", None)
    counties = [
        add(OrgKind.COMMITTEE, f"P-C{c}-X{x}", f"第{c}市第{x}县委", city)
        for c, city in enumerate(
            (add(OrgKind.COMMITTEE, f"P-C{c}", f"第{c}市委", province) for c in range(CITIES)),
            start=0,
        )
        for x in range(COUNTIES)
    ]
    generals = -(-branches // BRANCHES_PER_GENERAL)
    for g in range(generals):
        county = counties[g % len(counties)]
        general = add(OrgKind.GENERAL_BRANCH, f"G{g}", f"第{g}党总支", county)
        for b in range(BRANCHES_PER_GENERAL):
            if len(branch_ids) == branches:
                break
            branch = add(OrgKind.BRANCH, f"B{len(branch_ids)}", f"第{g}-{b}党支部", general)
            branch_ids.append(branch["id"])
    return rows, branch_ids


def _people(branch_ids: list[int], per_branch: int) -> Iterator[dict[str, Any]]:
    person_id = 1
    for branch_id in branch_ids:
        for _ in range(per_branch):
            yield {
                "id": person_id,
                "name": f"党员{person_id}",
                "branch_id": branch_id,
                "status": PersonStatus.REGULAR.value,
                "joined_on": dt.date(2000 + person_id % 25, 7, 1),
                "phone": None,
                "created_at": NOW,
            }
            person_id += 1


def _accounts(people: int) -> Iterator[dict[str, Any]]:
    for person_id in range(1, people + 1):
        yield {
            "id": person_id,
            "telegram_id": FIRST_TELEGRAM_ID + person_id,
            "person_id": person_id,
            "telegram_language": "zh-hans",
            "created_at": NOW,
        }


def _secretaries(branch_ids: list[int], per_branch: int) -> Iterator[dict[str, Any]]:
    for index, branch_id in enumerate(branch_ids):
        yield {
            "person_id": index * per_branch + 1,
            "org_unit_id": branch_id,
            "role": Role.SECRETARY.value,
            "created_at": NOW,
        }


def _activities(
    branch_ids: list[int], per_branch: int, years: int, rng: random.Random
) -> Iterator[dict[str, Any]]:
    first_day = dt.date(NOW.year - years + 1, 1, 1)
    span = (NOW.date() - first_day).days
    for index, branch_id in enumerate(branch_ids):
        secretary_account = index * per_branch + 1
        for _year in range(years):
            for kinds, times in YEAR_OF_ACTIVITIES:
                for _ in range(times):
                    day = first_day + dt.timedelta(days=rng.randrange(span))
                    present = rng.randint(max(1, per_branch - 5), per_branch)
                    yield {
                        "branch_id": branch_id,
                        "party_group_id": None,
                        "kinds": [k.value for k in kinds],
                        "day": day,
                        "topic": "学习贯彻会议精神",
                        "present": present,
                        "expected": per_branch,
                        "attachments": [],
                        "absences": [],
                        "late": False,
                        "voided": False,
                        "created_by": secretary_account,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }


async def _recreate(url: str, name: str) -> str:
    admin = await asyncpg.connect(_libpq(url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return url.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    """Seed from the command line and print the counts and the time it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="URL of a database on the server")
    parser.add_argument("--database", default="zhibu_province")
    parser.add_argument("--branches", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=4_500_000)
    parser.add_argument("--years", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    url = asyncio.run(_recreate(args.postgres, args.database))
    upgrade(url)
    counts = asyncio.run(seed(url, branches=args.branches, members=args.members, years=args.years))
    print(f"seeded {url} in {time.perf_counter() - started:.0f} s: {counts}")


if __name__ == "__main__":
    main()
