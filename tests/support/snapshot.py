"""Every row of every table, to show that something changed nothing."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class Table:
    """A table's columns and its rows (as many times as each occurs)."""

    columns: tuple[str, ...]
    rows: Counter[tuple[Any, ...]]


Snapshot = dict[str, Table]


async def snapshot(
    engine: AsyncEngine, skip: Mapping[str, Collection[str]] | None = None
) -> Snapshot:
    """Every row of every table, without the columns `skip` names by table."""
    if engine.url.get_backend_name() == "sqlite":
        # Read the file directly: one synchronous connection reads every table in a few
        # milliseconds, where a query through the async driver costs several thread hops.
        with contextlib.closing(sqlite3.connect(engine.url.database or "")) as file:

            def plain_query(query: str) -> tuple[list[str], list[Any]]:
                cursor = file.execute(query)
                return [c[0] for c in cursor.description], cursor.fetchall()

            return _read(plain_query, _sqlite_tables(file), skip or {})

    async with engine.connect() as conn:

        def read(sync: Any) -> Snapshot:
            def query(statement: str) -> tuple[list[str], list[Any]]:
                result = sync.execute(text(statement))
                return list(result.keys()), list(result)

            return _read(query, inspect(sync).get_table_names(), skip or {})

        return await conn.run_sync(read)


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return [name for (name,) in rows if not name.startswith("sqlite_")]


def _read(
    execute: Callable[[str], tuple[list[str], list[Any]]],
    names: Sequence[str],
    skip: Mapping[str, Collection[str]],
) -> Snapshot:
    tables = {}
    for table in sorted(names):
        columns, result = execute(f'SELECT * FROM "{table}"')
        keep = [i for i, c in enumerate(columns) if c not in skip.get(table, ())]
        rows = Counter(tuple(_plain(row[i]) for i in keep) for row in result)
        tables[table] = Table(tuple(columns[i] for i in keep), rows)
    return tables


def _plain(value: object) -> object:
    """A hashable value (JSON columns come back as lists or dicts from PostgreSQL)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def changes(before: Snapshot, after: Snapshot) -> dict[str, list[dict[str, Any]]]:
    """Rows added or removed, by table."""
    found = {}
    for name in sorted(set(before) | set(after)):
        assert name in before and name in after, f"table {name} appeared or went"
        old, new = before[name], after[name]
        rows = list((new.rows - old.rows).elements()) + list((old.rows - new.rows).elements())
        if rows:
            found[name] = [dict(zip(new.columns, row, strict=True)) for row in rows]
    return found
