"""Party dues arithmetic (党费): amounts in fen, months as an index, one member's ledger.

Pure: no database, no Telegram. Amounts are integer fen (0.01 yuan) parsed through Decimal,
so every sum is exact; a float never touches money. A month is `year * 12 + month - 1`
(November 2026 is 24322), the same index the ledger's tables store.

A member owes their standard for every month from their first standard on; the standard in
force for a month is the latest one starting at or before it (standards are reset once a
year and lowered for retirees, students and those in difficulty). A month is paid when the
ledger holds a payment for it; paying ahead (prepayment) and settling arrears are both
recorded month by month.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from bot.rules.calendar import PeriodKind, RuleOverride

Month = int

# One entry above this is a typing mistake, not a member's dues (100,000 yuan).
MAX_FEN = 10_000_000
DUES_RULE_KEY = "dues"


# ---- months --------------------------------------------------------------------------------


def month_index(year: int, month: int) -> Month:
    """The index of a calendar month."""
    return year * 12 + month - 1


def month_of(day: dt.date) -> Month:
    """The month a day falls in."""
    return month_index(day.year, day.month)


def year_of(month: Month) -> int:
    """The calendar year of a month."""
    return month // 12


def first_day(month: Month) -> dt.date:
    """The first day of a month."""
    return dt.date(month // 12, month % 12 + 1, 1)


def last_day(month: Month) -> dt.date:
    """The last day of a month."""
    return first_day(month + 1) - dt.timedelta(days=1)


def month_key(month: Month) -> str:
    """`2026-11`: the month as the files and the buttons write it."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def year_months(year: int) -> range:
    """The twelve months of a year."""
    return range(month_index(year, 1), month_index(year, 12) + 1)


_MONTH_RES = (
    # A date names its month (a spreadsheet turns 2026-11 into 2026-11-01).
    re.compile(r"(\d{4})-(\d{1,2})-\d{1,2}(?:[ T][\d:.]+)?"),
    re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月?"),
    re.compile(r"(\d{4})(\d{2})"),
)
# Ranges as bank exports and people write them: 2026-01~2026-03, 2026年1月至3月 is not read
# (the year must be repeated), 2026-01..2026-03, 2026-01 to 2026-03.
_RANGE_RE = re.compile(r"\s*(?:~|～|至|到|\.\.|—|–|\bto\b)\s*")
_LIST_RE = re.compile(r"\s*[,，、;；]\s*")
MAX_MONTHS_PER_ENTRY = 36


def parse_month(text: str) -> Month | None:
    """A month written as 2026-11, 2026/11, 2026.11, 2026年11月, 202611 or as a day of it
    (2026-11-01); None otherwise."""
    value = unicodedata.normalize("NFKC", text).strip()
    for pattern in _MONTH_RES:
        match = pattern.fullmatch(value)
        if match is not None:
            year, month = int(match.group(1)), int(match.group(2))
            if 1 <= month <= 12 and year >= 1921:
                return month_index(year, month)
            return None
    return None


def parse_months(text: str) -> list[Month] | None:
    """One month, a range (2026-01~2026-03) or a list (2026-01, 2026-02), in order and
    without repeats; None when any part is not a month or a range runs backwards."""
    value = unicodedata.normalize("NFKC", text).strip()
    if not value:
        return None
    months: set[Month] = set()
    for part in _LIST_RE.split(value):
        bounds = _RANGE_RE.split(part)
        if len(bounds) > 2:
            return None
        parsed = [parse_month(bound) for bound in bounds]
        if any(month is None for month in parsed):
            return None
        first, last = parsed[0], parsed[-1]
        assert first is not None and last is not None
        if last < first or last - first >= MAX_MONTHS_PER_ENTRY:
            return None
        months.update(range(first, last + 1))
    return sorted(months) if len(months) <= MAX_MONTHS_PER_ENTRY else None


# ---- amounts -------------------------------------------------------------------------------


class AmountProblem(StrEnum):
    """Why a typed or imported amount was not taken."""

    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    ZERO = "zero"
    TOO_PRECISE = "too_precise"
    TOO_LARGE = "too_large"


class AmountError(ValueError):
    """An amount that is not a positive number of yuan with at most two decimals."""

    def __init__(self, problem: AmountProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


_CURRENCY_RE = re.compile(r"(?i)^(?:rmb|cny|¥|￥)\s*|\s*(?:元|yuan|rmb|cny)$")


def parse_amount(text: str) -> int:
    """Fen from `12.50`, `12.5元`, `¥12`, `１２.５０` or `1,234.50`; AmountError otherwise."""
    value = unicodedata.normalize("NFKC", text).strip()
    value = _CURRENCY_RE.sub("", value).replace(",", "").replace(" ", "")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", value):
        raise AmountError(AmountProblem.NOT_A_NUMBER)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise AmountError(AmountProblem.NOT_A_NUMBER) from None
    if amount < 0:
        raise AmountError(AmountProblem.NEGATIVE)
    if amount == 0:
        raise AmountError(AmountProblem.ZERO)
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise AmountError(AmountProblem.TOO_PRECISE)
    if fen > MAX_FEN:
        raise AmountError(AmountProblem.TOO_LARGE)
    return int(fen)


def format_amount(fen: int) -> str:
    """`12.50`: yuan with two decimals, the same in every language."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


# ---- standards and a member's ledger ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Standard:
    """A monthly standard in force from a month on."""

    from_month: Month
    fen: int


def standard_at(standards: Sequence[Standard], month: Month) -> int | None:
    """The standard in force in a month (standards ordered by month), or None before the
    first one."""
    starts = [s.from_month for s in standards]
    index = bisect.bisect_right(starts, month) - 1
    return standards[index].fen if index >= 0 else None


class AllocationProblem(StrEnum):
    """Why a payment cannot be spread over the months it names."""

    NO_STANDARD = "no_standard"
    TOO_LITTLE = "too_little"


class AllocationError(ValueError):
    """The amount does not cover the standards of the months (or a month has none)."""

    def __init__(
        self, problem: AllocationProblem, month: Month | None = None, needed_fen: int = 0
    ) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.month = month
        self.needed_fen = needed_fen


def allocate(total_fen: int, months: Sequence[Month], standards: Sequence[Standard]) -> list[int]:
    """Spread one payment over its months: each month its standard, anything paid beyond the
    standards to the first month (members may pay more than their standard); exact, the parts
    always sum to the total."""
    parts = []
    for month in months:
        fen = standard_at(standards, month)
        if fen is None:
            raise AllocationError(AllocationProblem.NO_STANDARD, month)
        parts.append(fen)
    needed = sum(parts)
    if total_fen < needed:
        raise AllocationError(AllocationProblem.TOO_LITTLE, None, needed)
    if parts:
        parts[0] += total_fen - needed
    return parts


class MonthState(StrEnum):
    """Where one month of a member's ledger stands."""

    PAID = "paid"
    ARREARS = "arrears"
    OPEN = "open"  # not over yet and not paid: due, not in arrears
    NOT_DUE = "not_due"  # before the first standard, or not begun


@dataclass(frozen=True, slots=True)
class MonthLine:
    """One month of a member's ledger."""

    month: Month
    state: MonthState
    due_fen: int | None
    paid_fen: int | None


@dataclass(frozen=True, slots=True)
class MemberLedger:
    """A member's standards and payments, judged in the month `current` (which is due but
    not yet in arrears: it can still be paid on time)."""

    standards: tuple[Standard, ...]
    paid: Mapping[Month, int]
    current: Month
    _first: Month | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.standards, key=lambda s: s.from_month))
        object.__setattr__(self, "standards", ordered)
        object.__setattr__(self, "_first", ordered[0].from_month if ordered else None)

    def due_fen(self, month: Month) -> int | None:
        """The standard for a month, or None when nothing is due for it."""
        return standard_at(self.standards, month)

    def line(self, month: Month) -> MonthLine:
        """One month: paid, in arrears, open (the current month) or not due."""
        due = self.due_fen(month)
        paid = self.paid.get(month)
        if paid is not None:
            state = MonthState.PAID
        elif due is None or month > self.current:
            state = MonthState.NOT_DUE
        elif month == self.current:
            state = MonthState.OPEN
        else:
            state = MonthState.ARREARS
        return MonthLine(month, state, due, paid)

    def arrears(self) -> list[MonthLine]:
        """Every month before the current one that was due and is not paid, oldest first."""
        if self._first is None:
            return []
        lines = (self.line(month) for month in range(self._first, self.current))
        return [line for line in lines if line.state is MonthState.ARREARS]

    def arrears_fen(self) -> int:
        """What the arrears add up to."""
        return sum(line.due_fen or 0 for line in self.arrears())

    def prepaid(self) -> list[Month]:
        """Months after the current one already paid (prepayment)."""
        return sorted(month for month in self.paid if month > self.current)

    def year(self, year: int) -> list[MonthLine]:
        """The twelve months of a year."""
        return [self.line(month) for month in year_months(year)]

    def paid_fen_in(self, months: Iterable[Month]) -> int:
        """What was paid for these months."""
        return sum(self.paid.get(month, 0) for month in months)


def arrears_run(ledger: MemberLedger) -> int:
    """How many months in a row, ending last month, are in arrears (for "for how long")."""
    run = 0
    month = ledger.current - 1
    while ledger.line(month).state is MonthState.ARREARS:
        run += 1
        month -= 1
    return run


# ---- the collection rule -------------------------------------------------------------------


def collection_period(overrides_by_ancestor: Sequence[Sequence[RuleOverride]]) -> PeriodKind:
    """Monthly, or quarterly where the branch (or a node above it) decided so: the nearest
    override of the `dues` rule that names a period wins; others are ignored."""
    period = PeriodKind.MONTH
    for level in overrides_by_ancestor:
        for override in level:
            if override.key == DUES_RULE_KEY and override.period in (
                PeriodKind.MONTH,
                PeriodKind.QUARTER,
            ):
                period = override.period
    return period


def period_months(month: Month, period: PeriodKind) -> list[Month]:
    """The months of the collection period (a month, or its quarter) containing `month`."""
    if period is PeriodKind.QUARTER:
        first = month - month % 3
        return [first, first + 1, first + 2]
    return [month]


def collects_in(month: Month, period: PeriodKind) -> bool:
    """Whether the branch collects (and reminds its members) in this month: every month, or
    the first month of each quarter."""
    return period is not PeriodKind.QUARTER or month % 3 == 0
