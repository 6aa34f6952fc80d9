"""The dues arithmetic (exact, in fen) and the lapse rule, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.calendar import PeriodKind, RuleOverride
from bot.rules.dues import (
    AllocationError,
    AllocationProblem,
    AmountError,
    AmountProblem,
    MemberLedger,
    MonthState,
    Standard,
    allocate,
    arrears_run,
    collection_period,
    collects_in,
    format_amount,
    month_index,
    month_key,
    parse_amount,
    parse_month,
    parse_months,
    period_months,
    standard_at,
)
from bot.rules.lapse import Gap, Level, gap, last_covered, level

NOV = month_index(2026, 11)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12.50", 1250),
        ("12.5", 1250),
        ("12", 1200),
        ("0.2", 20),
        (".20", 20),
        ("１２.５０", 1250),
        ("12.50元", 1250),
        ("¥ 12", 1200),
        ("RMB 1,234.50", 123450),
        ("12.500", 1250),
        ("100000", 10_000_000),
    ],
)
def test_amounts_are_read_exactly(text: str, fen: int) -> None:
    assert parse_amount(text) == fen


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("-5", AmountProblem.NEGATIVE),
        ("-0.01", AmountProblem.NEGATIVE),
        ("0", AmountProblem.ZERO),
        ("0.00", AmountProblem.ZERO),
        ("abc", AmountProblem.NOT_A_NUMBER),
        ("12,5.0.1", AmountProblem.NOT_A_NUMBER),
        ("1e3", AmountProblem.NOT_A_NUMBER),
        ("NaN", AmountProblem.NOT_A_NUMBER),
        ("", AmountProblem.NOT_A_NUMBER),
        ("12.505", AmountProblem.TOO_PRECISE),
        ("100000.01", AmountProblem.TOO_LARGE),
    ],
)
def test_bad_amounts_say_why(text: str, problem: AmountProblem) -> None:
    with pytest.raises(AmountError) as raised:
        parse_amount(text)
    assert raised.value.problem is problem


@given(st.integers(min_value=1, max_value=10_000_000))
def test_amounts_round_trip_through_their_text(fen: int) -> None:
    assert parse_amount(format_amount(fen)) == fen
    assert Decimal(format_amount(fen)) * 100 == fen


def test_months_are_read_in_the_usual_spellings() -> None:
    for text in ("2026-11", "2026/11", "2026.11", "2026年11月", "202611", " 2026-11 "):
        assert parse_month(text) == NOV, text
    assert month_key(NOV) == "2026-11"
    assert parse_month("2026-13") is None and parse_month("11/2026") is None
    assert parse_months("2026-01~2026-03") == [NOV - 10, NOV - 9, NOV - 8]
    assert parse_months("2026-01 to 2026-02, 2026-02、2026-04") == [NOV - 10, NOV - 9, NOV - 7]
    assert parse_months("2026-03~2026-01") is None
    assert parse_months("2026-01~2026-02~2026-03") is None
    assert parse_months("2026-01, soon") is None


def test_the_standard_in_force_is_the_latest_started() -> None:
    standards = [Standard(NOV - 10, 1000), Standard(NOV, 1250)]
    assert standard_at(standards, NOV - 11) is None
    assert standard_at(standards, NOV - 1) == 1000
    assert standard_at(standards, NOV) == 1250
    assert standard_at(standards, NOV + 5) == 1250


def test_a_payment_over_several_months_is_split_exactly() -> None:
    standards = [Standard(NOV - 2, 1000), Standard(NOV, 1250)]
    assert allocate(2250, [NOV - 1, NOV], standards) == [1000, 1250]
    parts = allocate(3600, [NOV - 1, NOV, NOV + 1], standards)
    assert parts == [1100, 1250, 1250] and sum(parts) == 3600
    with pytest.raises(AllocationError) as too_little:
        allocate(3000, [NOV - 1, NOV, NOV + 1], standards)
    assert too_little.value.problem is AllocationProblem.TOO_LITTLE
    assert too_little.value.needed_fen == 3500
    with pytest.raises(AllocationError) as none:
        allocate(1000, [NOV - 3], standards)
    assert none.value.problem is AllocationProblem.NO_STANDARD and none.value.month == NOV - 3


@given(
    st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=100_000),
)
def test_splits_always_sum_to_what_was_paid(standards_fen: list[int], extra: int) -> None:
    months = list(range(NOV, NOV + len(standards_fen)))
    standards = [Standard(m, fen) for m, fen in zip(months, standards_fen, strict=True)]
    total = sum(standards_fen) + extra
    parts = allocate(total, months, standards)
    assert sum(parts) == total
    assert all(part >= fen for part, fen in zip(parts, standards_fen, strict=True))


def test_the_ledger_knows_arrears_prepayment_and_voids() -> None:
    standards = (Standard(NOV - 4, 1000), Standard(NOV - 1, 1250))
    # Paid July and August, nothing for September and October; November (the current month)
    # is open; December and January are paid ahead.
    paid = {NOV - 4: 1000, NOV - 3: 1000, NOV + 1: 1250, NOV + 2: 1250}
    ledger = MemberLedger(standards, paid, NOV)
    assert [line.month for line in ledger.arrears()] == [NOV - 2, NOV - 1]
    assert ledger.arrears_fen() == 1000 + 1250
    assert arrears_run(ledger) == 2
    assert ledger.line(NOV).state is MonthState.OPEN
    assert ledger.line(NOV - 5).state is MonthState.NOT_DUE
    assert ledger.prepaid() == [NOV + 1, NOV + 2]
    assert ledger.paid_fen_in(range(NOV - 10, NOV + 3)) == 4500
    year = ledger.year(2026)
    assert [line.state for line in year[6:]] == [
        MonthState.PAID,
        MonthState.PAID,
        MonthState.ARREARS,
        MonthState.ARREARS,
        MonthState.OPEN,
        MonthState.PAID,
    ]
    assert ledger.line(NOV + 3).state is MonthState.NOT_DUE
    # Voiding July's payment (the ledger no longer counts it) puts July back in arrears.
    voided = MemberLedger(standards, {k: v for k, v in paid.items() if k != NOV - 4}, NOV)
    assert [line.month for line in voided.arrears()] == [NOV - 4, NOV - 2, NOV - 1]
    assert voided.arrears_fen() == 1000 + 1000 + 1250
    assert arrears_run(voided) == 2


def test_collection_is_monthly_unless_the_branch_decided_quarterly() -> None:
    assert collection_period([]) is PeriodKind.MONTH
    quarterly = RuleOverride(node_id=2, key="dues", period=PeriodKind.QUARTER)
    other = RuleOverride(node_id=2, key="lecture", period=PeriodKind.HALF)
    back = RuleOverride(node_id=3, key="dues", period=PeriodKind.MONTH)
    assert collection_period([[quarterly, other]]) is PeriodKind.QUARTER
    assert collection_period([[quarterly], [back]]) is PeriodKind.MONTH
    assert period_months(NOV, PeriodKind.QUARTER) == [NOV - 1, NOV, NOV + 1]
    assert period_months(NOV, PeriodKind.MONTH) == [NOV]
    assert collects_in(NOV - 1, PeriodKind.QUARTER) and not collects_in(NOV, PeriodKind.QUARTER)


def test_the_gap_counts_whole_months_after_the_last_covered() -> None:
    assert gap(NOV - 4, NOV - 12, NOV - 1) == Gap(3, NOV - 3)
    assert gap(None, NOV - 2, NOV - 1) == Gap(1, NOV - 1)
    assert gap(NOV + 2, NOV - 12, NOV - 1) == Gap(0, NOV + 3)
    assert gap(NOV - 20, NOV - 3, NOV - 1) == Gap(2, NOV - 2)
    assert level(Gap(2, 0), warn=3, escalate=5) is Level.NONE
    assert level(Gap(3, 0), warn=3, escalate=5) is Level.SECRETARY
    assert level(Gap(6, 0), warn=3, escalate=5) is Level.ADMIN
    assert last_covered([None, 3], [], [7, None]) == 7
    assert last_covered([None]) is None


def _scan(covered: list[bool], *, warn: int = 3, escalate: int = 5) -> list[tuple[int, int, Level]]:
    """Month by month from month 1 (the roster's baseline is month 0), the monthly scan at the
    start of each month knowing what was recorded for the months before, and a second scan
    later in the month knowing the month's own facts too: (scan month, episode, level) of
    every warning, once per episode and level (the reminders' dedupe key)."""
    sent: dict[tuple[int, Level], int] = {}
    for now in range(1, len(covered) + 1):
        for knows_this_month in (False, True):
            known = [m for m in range(1, now + (1 if knows_this_month else 0)) if covered[m - 1]]
            missing = gap(last_covered(known), 0, now - 1)
            reached = level(missing, warn=warn, escalate=escalate)
            for told in (Level.SECRETARY, Level.ADMIN):
                if reached >= told:
                    sent.setdefault((missing.since, told), now)
    return [(now, since, told) for (since, told), now in sent.items()]


def _runs(covered: list[bool], through: int) -> list[tuple[int, int]]:
    """(first month, length) of every maximal run of missing months within 1..through."""
    runs, start = [], None
    for month in range(1, through + 1):
        if not covered[month - 1]:
            start = month if start is None else start
        elif start is not None:
            runs.append((start, month - start))
            start = None
    if start is not None:
        runs.append((start, through + 1 - start))
    return runs


@given(st.lists(st.booleans(), min_size=1, max_size=40))
def test_no_warning_without_three_whole_months_missing(covered: list[bool]) -> None:
    for now, since, told in _scan(covered):
        needed = 3 if told is Level.SECRETARY else 5
        # The months since..since+needed-1 are all over by the scan and all missing.
        assert since + needed - 1 <= now - 1
        assert not any(covered[m - 1] for m in range(since, since + needed))


@given(st.lists(st.booleans(), min_size=1, max_size=40))
def test_every_gap_of_three_months_is_warned_once(covered: list[bool]) -> None:
    sent = _scan(covered)
    # Only whole months before the last scan can have been judged.
    runs = _runs(covered, len(covered) - 1)
    for told, needed in ((Level.SECRETARY, 3), (Level.ADMIN, 5)):
        warned = sorted(since for _, since, level_ in sent if level_ is told)
        expected = sorted(start for start, length in runs if length >= needed)
        assert warned == expected, (told, covered)
