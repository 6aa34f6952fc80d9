"""Import of the lost-contact register (失联党员名册) from CSV or XLSX, all or nothing.

Same reading and checking as the roster import (bot.imports): every bad cell of every row is
reported at once and nothing is written unless the whole file is good. Rows are keyed by name
and original branch: importing an updated register updates the rows it names and never
deletes, so a member already re-linked keeps that fact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.enums import OrgKind
from bot.imports import (
    HEADER_ALIASES,
    PARTY_FOUNDED_YEAR,
    CellError,
    ImportSummary,
    Problems,
    Table,
    date_parser,
    optional_text,
    parse_optional_code,
    parse_person_name,
    parse_phone_cell,
    read_table,
)
from storage import import_queries, queries
from storage.db import transaction
from storage.models_relink import LostContactEntry

REGISTER_ALIASES: Mapping[str, str] = {
    **HEADER_ALIASES,
    "原支部": "branch",
    "原所在支部": "branch",
    "入党年份": "join_year",
    "入党年度": "join_year",
    "失联时间": "lost_on",
    "失联日期": "lost_on",
    "备注": "note",
}
REQUIRED = ("name",)
COLUMNS = ("name", "branch", "joined_on", "join_year", "lost_on", "phone", "note")


@dataclass(frozen=True)
class RegisterLine:
    """A checked register row."""

    line: int
    name: str
    branch: str | None
    join_year: int | None
    lost_on: dt.date | None
    phone: str | None
    note: str | None


def _branch_parser(org_kinds: Mapping[str, OrgKind]) -> Callable[[str], str | None]:
    def parse_branch(text: str) -> str | None:
        code = parse_optional_code(text)
        if code is None:
            return None
        kind = org_kinds.get(code)
        if kind is None:
            raise CellError(f"no node {code} in the database (import the organisation first)")
        if kind is not OrgKind.BRANCH:
            raise CellError(f"{code} is a {kind.value}, not a branch")
        return code

    return parse_branch


def _year_parser(today: dt.date) -> Callable[[str], int | None]:
    def parse_year(text: str) -> int | None:
        if not text:
            return None
        if not text.isdigit() or not PARTY_FOUNDED_YEAR <= int(text) <= today.year:
            raise CellError(f"{text!r} is not a year from {PARTY_FOUNDED_YEAR} to {today.year}")
        return int(text)

    return parse_year


def _line(problems: Problems, line: int, values: dict[str, Any]) -> RegisterLine | None:
    """A register line from a row's parsed cells, unless its date and year disagree."""
    joined_on: dt.date | None = values.pop("joined_on")
    year: int | None = values.pop("join_year")
    if joined_on is not None and year is not None and joined_on.year != year:
        problems.add(line, "join_year", f"{year} differs from the date {joined_on}")
        return None
    return RegisterLine(
        line=line, join_year=year or (joined_on.year if joined_on else None), **values
    )


def validate_register(
    table: Table, org_kinds: Mapping[str, OrgKind], *, today: dt.date
) -> list[RegisterLine]:
    """Check a register file against the existing nodes; raises ImportFailed."""
    problems = Problems(table)
    problems.require_columns(REQUIRED)
    problems.raise_if_any()
    parsers: dict[str, Callable[[str], object]] = {
        "name": parse_person_name,
        "branch": _branch_parser(org_kinds),
        "joined_on": date_parser(today),
        "join_year": _year_parser(today),
        "lost_on": date_parser(today),
        "phone": parse_phone_cell,
        "note": optional_text(200),
    }
    seen: dict[tuple[str, str | None], int] = {}
    rows: list[RegisterLine] = []
    for row in table.rows:
        values = problems.parse(row, parsers)
        line = _line(problems, row.line, values) if values is not None else None
        if line is None:
            continue
        key = (line.name, line.branch)
        if key in seen:
            where = f" in {line.branch}" if line.branch else ""
            problems.add(row.line, "name", f"{line.name}{where} is already on line {seen[key]}")
            continue
        seen[key] = row.line
        rows.append(line)
    problems.raise_if_any()
    return rows


async def apply_register(session: AsyncSession, rows: Sequence[RegisterLine]) -> ImportSummary:
    """Create or update register rows by (name, original branch); never deletes."""
    summary = ImportSummary("register")
    existing = {(e.name, e.branch_code): e for e in await import_queries.register_entries(session)}
    branches = await import_queries.units_by_code(session, {r.branch for r in rows if r.branch})
    for row in rows:
        branch = branches.get(row.branch) if row.branch else None
        entry = existing.get((row.name, row.branch))
        if entry is None:
            person = (
                await queries.person_in_branch(session, branch=branch, name=row.name)
                if branch
                else None
            )
            session.add(
                LostContactEntry(
                    name=row.name,
                    branch_code=row.branch,
                    branch_id=branch.id if branch else None,
                    join_year=row.join_year,
                    lost_on=row.lost_on,
                    phone=row.phone,
                    note=row.note,
                    person_id=person.id if person else None,
                )
            )
            summary.created += 1
            continue
        changed = False
        for attribute in ("join_year", "lost_on", "phone", "note"):
            value = getattr(row, attribute)
            if value is not None and getattr(entry, attribute) != value:
                setattr(entry, attribute, value)
                changed = True
        if changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
    await session.flush()
    return summary


async def import_register(session: AsyncSession, table: Table, *, today: dt.date) -> ImportSummary:
    """Validate and apply a register file in the caller's transaction, with audit."""
    rows = validate_register(table, await import_queries.org_kinds(session), today=today)
    summary = await apply_register(session, rows)
    summary.ignored_columns = tuple(table.label(c) for c in table.columns if c not in COLUMNS)
    if summary.changed:
        await queries.audit(
            session,
            action="register.import",
            actor_label="cli",
            details={
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "file": table.source,
            },
        )
    return summary


async def import_register_file(settings: Settings, path: Path | str) -> str:
    """`zhibu register import FILE` in one transaction; the summary, or ImportFailed."""
    table = read_table(path, aliases=REGISTER_ALIASES)
    today = settings.now().astimezone(settings.tz).date()
    async with transaction(settings.database_url) as session:
        summary = await import_register(session, table, today=today)
    return str(summary)
