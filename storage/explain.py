"""The plans the database chooses for our statements, as the application runs them: with bound
parameters, and on PostgreSQL as the generic plan a prepared statement settles on after a few
executions (asyncpg prepares every statement). For tests and benchmarks that prove a query is
served by an index.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def plan_of_sql(
    session: AsyncSession, sql: str, params: tuple[Any, ...], *, indexes_only: bool = False
) -> str:
    """EXPLAIN of a statement as sent to the driver (PostgreSQL: its generic plan). With
    `indexes_only`, PostgreSQL avoids sequential scans where it can: on a small test table
    that shows whether an index *can* serve the query, which is what a bigger table needs."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in rows)
    # PREPARE, then EXPLAIN EXECUTE with the generic plan forced: the plan the parameters'
    # values can't shape, which is what a long-lived connection ends up running.
    await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    if indexes_only:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.execute(f"PREPARE zhibu_plan AS {sql}")
    try:
        arguments = ", ".join(_literal(value) for value in params)
        call = f"zhibu_plan({arguments})" if params else "zhibu_plan"
        rows = await driver.fetch(f"EXPLAIN EXECUTE {call}")
    finally:
        await driver.execute("DEALLOCATE zhibu_plan")
    return "\n".join(str(row[0]) for row in rows)


async def query_plan(
    session: AsyncSession, statement: ClauseElement, *, indexes_only: bool = False
) -> str:
    """EXPLAIN of a SQLAlchemy statement with its bound parameters."""
    connection = await session.connection()
    compiled: Any = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = tuple(compiled.params[name] for name in compiled.positiontup or [])
    return await plan_of_sql(session, compiled.string, params, indexes_only=indexes_only)


@contextmanager
def _capturing(session: AsyncSession) -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, many: bool) -> None:
        if not many and sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, tuple(params) if isinstance(params, list | tuple) else ()))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def plans_of_call(
    session: AsyncSession,
    call: Callable[[AsyncSession], Awaitable[Any]],
    *,
    indexes_only: bool = False,
) -> list[str]:
    """The plans of every SELECT a query function runs (run once to capture them)."""
    with _capturing(session) as seen:
        await call(session)
    return [await plan_of_sql(session, sql, p, indexes_only=indexes_only) for sql, p in seen]


async def analyze(session: AsyncSession) -> None:
    """Refresh the planner's statistics (PostgreSQL; SQLite plans by its rules)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.execute(text("ANALYZE"))
