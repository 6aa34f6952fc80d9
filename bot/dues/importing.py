"""`zhibu dues import FILE` (standards) and `zhibu dues payments FILE` (what members paid).

Both read CSV (UTF-8 or GB18030) or XLSX like the roster import and are all or nothing: every
problem of every row is reported with its line and nothing is written unless the whole file
is good. Importing the same file again changes nothing: a standard already in force, or a
month already recorded with the same amount, is counted as unchanged; a month recorded with a
different amount is a problem (void the wrong entry first).

A payment row names a month or months (2026-11, 2026-01~2026-03, 2026-01,2026-02) and the
amount paid for them: each month gets the member's standard, and anything beyond the
standards goes to the first month (members may pay more); less than the standards, a month
without a standard, or a month further ahead than members may prepay, is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.dues.ledger import set_standard
from bot.enums import OrgKind
from bot.imports import (
    HEADER_ALIASES,
    CellError,
    ImportSummary,
    Problems,
    Table,
    date_parser,
    parse_code,
    parse_person_name,
    read_table,
)
from bot.rules.dues import (
    AllocationError,
    AllocationProblem,
    AmountError,
    AmountProblem,
    Month,
    Standard,
    allocate,
    format_amount,
    month_key,
    month_of,
    parse_amount,
    parse_month,
    parse_months,
)
from storage import dues_queries as dq
from storage import import_queries, queries
from storage.db import transaction
from storage.models import Person

DUES_ALIASES: Mapping[str, str] = {
    **HEADER_ALIASES,
    "月缴纳额": "monthly_amount",
    "月交纳额": "monthly_amount",
    "每月党费": "monthly_amount",
    "党费标准": "monthly_amount",
    "缴纳标准": "monthly_amount",
    "月缴党费": "monthly_amount",
    "起始月份": "from_month",
    "开始月份": "from_month",
    "起缴月份": "from_month",
    "执行月份": "from_month",
    "month": "months",
    "月份": "months",
    "缴费月份": "months",
    "所属月份": "months",
    "党费月份": "months",
    "金额": "amount",
    "缴费金额": "amount",
    "缴纳金额": "amount",
    "实缴金额": "amount",
    "缴费日期": "paid_on",
    "交易日期": "paid_on",
}
STANDARD_COLUMNS = ("name", "branch", "monthly_amount", "from_month")
PAYMENT_COLUMNS = ("name", "branch", "months", "amount", "paid_on")
# A standard may be decided ahead (the yearly reset), not further.
STANDARD_AHEAD_MONTHS = 12
CHUNK = 5000

AMOUNT_REASONS = {
    AmountProblem.NOT_A_NUMBER: "is not an amount in yuan like 12.50",
    AmountProblem.NEGATIVE: "is negative",
    AmountProblem.ZERO: "is zero",
    AmountProblem.TOO_PRECISE: "has more than two decimals (fen)",
    AmountProblem.TOO_LARGE: "is more than 100000 yuan",
}


def parse_amount_cell(text: str) -> int:
    """An amount in yuan as fen, or CellError saying what is wrong with it."""
    try:
        return parse_amount(text)
    except AmountError as error:
        raise CellError(f"{text!r} {AMOUNT_REASONS[error.problem]}") from None


class Roster:
    """The people of the branches a file names, found by (branch code, name)."""

    def __init__(
        self, org_kinds: Mapping[str, OrgKind], people: Mapping[tuple[str, str], list[Person]]
    ):
        self.org_kinds = org_kinds
        self.people = people

    def branch(self, text: str) -> str:
        """A branch code that exists and is a branch."""
        code = parse_code(text)
        kind = self.org_kinds.get(code)
        if kind is None:
            raise CellError(f"no node {code} in the database")
        if kind is not OrgKind.BRANCH:
            raise CellError(f"{code} is a {kind.value}, not a branch")
        return code

    def person(self, branch: str, name: str) -> Person:
        """The one person of that name on the branch roster."""
        found = self.people.get((branch, name), [])
        if not found:
            raise CellError(f"{name} is not on the roster of {branch}")
        if len(found) > 1:
            raise CellError(f"{branch} has {len(found)} people named {name}: use the bot instead")
        return found[0]


async def load_roster(session: AsyncSession, table: Table) -> Roster:
    """The nodes by code, and the people of the branches the file names."""
    org_kinds = await import_queries.org_kinds(session)
    codes = sorted({row["branch"] for row in table.rows if org_kinds.get(row["branch"])})
    units = await import_queries.units_by_code(session, codes)
    code_of = {unit.id: code for code, unit in units.items()}
    people: dict[tuple[str, str], list[Person]] = {}
    ids = sorted(code_of)
    for start in range(0, len(ids), CHUNK):
        for person in await import_queries.people_in_branches(session, ids[start : start + CHUNK]):
            if person.branch_id is not None:
                people.setdefault((code_of[person.branch_id], person.name), []).append(person)
    return Roster(org_kinds, people)


def _month_parser(latest: Month) -> Callable[[str], Month]:
    def parse(text: str) -> Month:
        month = parse_month(text)
        if month is None:
            raise CellError(f"{text!r} is not a month like 2026-11")
        if month > latest:
            raise CellError(f"{month_key(month)} is more than {STANDARD_AHEAD_MONTHS} months ahead")
        return month

    return parse


@dataclass(frozen=True)
class StandardLine:
    """A checked row of a standards file."""

    line: int
    person: Person
    fen: int
    from_month: Month


def validate_standards(table: Table, roster: Roster, *, today: dt.date) -> list[StandardLine]:
    """Check a standards file; ImportFailed with every problem."""
    problems = Problems(table)
    problems.require_columns(STANDARD_COLUMNS)
    problems.raise_if_any()
    parsers: dict[str, Callable[[str], object]] = {
        "name": parse_person_name,
        "branch": roster.branch,
        "monthly_amount": parse_amount_cell,
        "from_month": _month_parser(month_of(today) + STANDARD_AHEAD_MONTHS),
    }
    lines: list[StandardLine] = []
    seen: dict[tuple[int, Month], int] = {}
    for row in table.rows:
        values = problems.parse(row, parsers)
        if values is None:
            continue
        try:
            person = roster.person(values["branch"], values["name"])
        except CellError as exc:
            problems.add(row.line, "name", str(exc))
            continue
        key = (person.id, values["from_month"])
        if key in seen:
            problems.add(
                row.line,
                "from_month",
                f"{person.name} from {month_key(key[1])} is already on line {seen[key]}",
            )
            continue
        seen[key] = row.line
        lines.append(StandardLine(row.line, person, values["monthly_amount"], values["from_month"]))
    problems.raise_if_any()
    return lines


async def import_standards(
    session: AsyncSession, table: Table, *, today: dt.date, now: dt.datetime
) -> ImportSummary:
    """Validate and apply a standards file in the caller's transaction (each change audited)."""
    lines = validate_standards(table, await load_roster(session, table), today=today)
    summary = ImportSummary("dues standards")
    for line in lines:
        existing = await dq.standard_at_month(session, line.person.id, line.from_month)
        _standard, changed = await set_standard(
            session,
            person=line.person,
            from_month=line.from_month,
            fen=line.fen,
            actor=None,
            now=now,
            actor_label="cli",
            source="import",
        )
        if not changed:
            summary.unchanged += 1
        elif existing is None:
            summary.created += 1
        else:
            summary.updated += 1
    summary.ignored_columns = tuple(
        table.label(c) for c in table.columns if c not in STANDARD_COLUMNS
    )
    return summary


@dataclass(frozen=True)
class PaymentLine:
    """A checked row of a payments file, spread over its months."""

    line: int
    person: Person
    parts: dict[Month, int]
    paid_on: dt.date | None


def _months_parser(latest: Month, prepay_months: int) -> Callable[[str], list[Month]]:
    def parse(text: str) -> list[Month]:
        months = parse_months(text)
        if months is None:
            raise CellError(
                f"{text!r} is not a month like 2026-11, a range like 2026-01~2026-03 or a list"
            )
        beyond = [m for m in months if m > latest]
        if beyond:
            raise CellError(
                f"{month_key(beyond[0])} is further ahead than members may prepay "
                f"({prepay_months} months)"
            )
        return months

    return parse


def _allocation_problem(error: AllocationError, fen: int) -> str:
    if error.problem is AllocationProblem.NO_STANDARD and error.month is not None:
        return f"no monthly standard covers {month_key(error.month)}: import the standard first"
    return (
        f"{format_amount(fen)} is less than the standards of those months "
        f"({format_amount(error.needed_fen)})"
    )


Parsed = tuple[int, Person, list[Month], int, dt.date | None]


def _parse_payment_rows(
    problems: Problems, table: Table, roster: Roster, *, today: dt.date, prepay_months: int
) -> list[Parsed]:
    parsers: dict[str, Callable[[str], object]] = {
        "name": parse_person_name,
        "branch": roster.branch,
        "months": _months_parser(month_of(today) + prepay_months, prepay_months),
        "amount": parse_amount_cell,
        "paid_on": date_parser(today),
    }
    parsed: list[Parsed] = []
    for row in table.rows:
        values = problems.parse(row, parsers)
        if values is None:
            continue
        try:
            person = roster.person(values["branch"], values["name"])
        except CellError as exc:
            problems.add(row.line, "name", str(exc))
            continue
        parsed.append((row.line, person, values["months"], values["amount"], values["paid_on"]))
    return parsed


async def _ledger_of(
    session: AsyncSession, people: list[int]
) -> tuple[dict[int, list[Standard]], dict[tuple[int, Month], int]]:
    """The standards and the recorded months of the people a file names."""
    standards: dict[int, list[Standard]] = {}
    recorded: dict[tuple[int, Month], int] = {}
    for start in range(0, len(people), CHUNK):
        chunk = people[start : start + CHUNK]
        for standard in await dq.standards_of(session, chunk):
            standards.setdefault(standard.person_id, []).append(
                Standard(standard.from_month, standard.amount_fen)
            )
        for payment in await dq.payments_of(session, chunk):
            recorded[(payment.person_id, payment.month)] = payment.amount_fen
    return standards, recorded


@dataclass
class _Seen:
    """Months met so far in the file, and those already recorded identically."""

    lines: dict[tuple[int, Month], int]
    recorded: dict[tuple[int, Month], int]
    unchanged: int = 0

    def fresh(
        self, problems: Problems, line: int, person: Person, parts: dict[Month, int]
    ) -> dict[Month, int]:
        """The months of a row still to record; problems for clashes."""
        fresh: dict[Month, int] = {}
        for month, part in parts.items():
            key = (person.id, month)
            known = self.recorded.get(key)
            if key in self.lines:
                where = self.lines[key]
                problems.add(
                    line, "months", f"{month_key(month)} of {person.name} is also on line {where}"
                )
            elif known is not None and known != part:
                problems.add(
                    line,
                    "months",
                    f"{month_key(month)} of {person.name} is already recorded as "
                    f"{format_amount(known)}: void that entry in the bot first",
                )
            elif known is not None:
                self.unchanged += 1
            else:
                fresh[month] = part
            self.lines.setdefault(key, line)
        return fresh


async def validate_payments(
    session: AsyncSession, table: Table, roster: Roster, *, today: dt.date, prepay_months: int
) -> tuple[list[PaymentLine], int]:
    """Check a payments file against the roster, the standards and what is already recorded;
    the lines to apply (months already recorded identically left out) and how many months
    were already recorded. ImportFailed with every problem."""
    problems = Problems(table)
    problems.require_columns(("name", "branch", "months", "amount"))
    problems.raise_if_any()
    parsed = _parse_payment_rows(problems, table, roster, today=today, prepay_months=prepay_months)
    standards, recorded = await _ledger_of(session, sorted({p.id for _, p, *_ in parsed}))
    seen = _Seen({}, recorded)
    lines: list[PaymentLine] = []
    for line, person, months, fen, paid_on in parsed:
        try:
            spread = allocate(fen, months, standards.get(person.id, []))
        except AllocationError as error:
            problems.add(line, "amount", _allocation_problem(error, fen))
            continue
        fresh = seen.fresh(problems, line, person, dict(zip(months, spread, strict=True)))
        if fresh:
            lines.append(PaymentLine(line, person, fresh, paid_on))
    problems.raise_if_any()
    return lines, seen.unchanged


async def import_payments(
    session: AsyncSession, table: Table, *, today: dt.date, prepay_months: int
) -> ImportSummary:
    """Validate and record a payments file in the caller's transaction, audited."""
    roster = await load_roster(session, table)
    lines, unchanged = await validate_payments(
        session, table, roster, today=today, prepay_months=prepay_months
    )
    rows = [
        {
            "person_id": line.person.id,
            "branch_id": line.person.branch_id,
            "month": month,
            "amount_fen": fen,
            "paid_on": line.paid_on,
            "source": "import",
        }
        for line in lines
        for month, fen in line.parts.items()
    ]
    payments = await dq.add_payments(session, rows) if rows else []
    summary = ImportSummary("dues payments", created=len(payments), unchanged=unchanged)
    summary.ignored_columns = tuple(
        table.label(c) for c in table.columns if c not in PAYMENT_COLUMNS
    )
    if payments:
        await queries.audit(
            session,
            action="dues.import_payments",
            actor_label="cli",
            details={
                "file": table.source,
                "months": len(payments),
                "unchanged": unchanged,
                "amount_fen": sum(p.amount_fen for p in payments),
                "payments": [p.id for p in payments],
            },
        )
    return summary


async def import_dues_file(settings: Settings, what: str, path: Path | str) -> str:
    """`zhibu dues import|payments FILE` in one transaction; the summary, or ImportFailed."""
    table = read_table(path, aliases=DUES_ALIASES)
    now = settings.now()
    today = now.astimezone(settings.tz).date()
    async with transaction(settings.database_url) as session:
        if what == "standards":
            summary = await import_standards(session, table, today=today, now=now)
        else:
            summary = await import_payments(
                session, table, today=today, prepay_months=settings.dues_prepay_months
            )
    return str(summary)
