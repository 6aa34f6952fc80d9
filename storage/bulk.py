"""Set-based writes on both databases: inserts that skip existing keys, JSON built by the
database, and bounded chunks for the lists that truly come from outside (an import file).

A set of people or branches is written with INSERT ... SELECT, never as a Python list of ids in
a query: asyncpg and SQLite refuse more than 32,767 bind parameters in one statement.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, ColumnElement, Integer, String, cast, func, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

# Values per statement when a list comes from outside: far below every driver's limit.
CHUNK = 1000

T = TypeVar("T")


def chunked(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """The values in slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def dialect(session: AsyncSession) -> str:
    """ "postgresql" or "sqlite"."""
    return session.get_bind().dialect.name


def insert_ignoring(session: AsyncSession, table: Any, key: Sequence[str]) -> Insert:
    """INSERT that skips rows whose unique `key` is already taken (ON CONFLICT DO NOTHING)."""
    make = postgresql.insert if dialect(session) == "postgresql" else sqlite.insert
    return make(table).on_conflict_do_nothing(index_elements=list(key))


async def slice_plans(session: AsyncSession) -> None:
    """Plan this transaction's statements, which read a slice of a large set by ranges and keys,
    for their parameters' values and without reading a table whole (PostgreSQL)."""
    if dialect(session) != "postgresql":
        return
    # asyncpg prepares every statement, and after a few runs PostgreSQL may keep a generic
    # plan, which assumes a subtree is small: right for a branch, ruinous for a province.
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    # A slice of an audience is 100,000 accounts, each probing its person by key. Costing
    # random reads as on spinning disks (4, the default), PostgreSQL read all of a province's
    # 4.5 million people for every slice instead: 16 s a slice on the loaded benchmark
    # machine, 2 s with the probes. 1.1 is the usual cost on SSDs.
    await session.execute(text("SET LOCAL random_page_cost = 1.1"))
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    # Compiling a slice's expressions took 0.3 s of it, for a statement that runs once.
    await session.execute(text("SET LOCAL jit = off"))


async def one_core(session: AsyncSession) -> None:
    """Run this transaction's queries without parallel workers (PostgreSQL): for background
    reports, which should leave the other cores to the work they report on."""
    if dialect(session) == "postgresql":
        await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


async def commit_lazily(session: AsyncSession) -> None:
    """Let this transaction's commit return before its WAL is flushed (PostgreSQL): the
    caller says why losing it whole in a server crash is safe."""
    if dialect(session) == "postgresql":
        await session.execute(text("SET LOCAL synchronous_commit = off"))


def _typed(value: Any) -> Any:
    """A value for a JSON builder: columns as they are, Python values cast to their SQL type
    (PostgreSQL can't guess the type of a parameter of json_build_object)."""
    if isinstance(value, ColumnElement) or hasattr(value, "__clause_element__"):
        return value
    if isinstance(value, bool):
        return cast(literal(value), Boolean)
    if isinstance(value, int):
        return cast(literal(value), Integer)
    return cast(literal(str(value)), String)


def json_object(session: AsyncSession, fields: Mapping[str, Any]) -> ColumnElement[Any]:
    """A JSON object built per row by the database from columns and values."""
    args: list[Any] = []
    for name, value in fields.items():
        args.extend((literal(name, String), _typed(value)))
    if dialect(session) == "postgresql":
        return func.json_build_object(*args, type_=JSON)
    return func.json_object(*args, type_=JSON)
