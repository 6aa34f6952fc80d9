"""The year's compliance of one branch, per obligation and period, and its dues (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence

from bot.book.model import ComplianceRow, DuesMonth, DuesSummary, PeriodState
from bot.rules.calendar import (
    ActivityFact,
    CalendarRule,
    ObligationStatus,
    PeriodKind,
    compliance_many,
    period_containing,
    reference_day,
)
from bot.rules.dues import MemberLedger, year_months
from bot.rules.kinds import ActivityKind


def judged_months(year: int, today: dt.date) -> list[tuple[dt.date, dt.date]]:
    """(month start, the day its periods are judged on) for each month of the year begun by
    `today`: the month's last day, or today in the current month."""
    months = []
    for number in range(1, 13):
        month = period_containing(PeriodKind.MONTH, dt.date(year, number, 1))
        if month.start > today:
            break
        months.append((month.start, reference_day(month, today)))
    return months


def year_compliance_many(
    rules: Mapping[int, Sequence[CalendarRule]],
    facts: Mapping[int, list[ActivityFact]],
    groups: Mapping[int, Collection[int]],
    year: int,
    today: dt.date,
) -> dict[int, tuple[ComplianceRow, ...]]:
    """For each branch, every enabled obligation with each of its periods of `year` judged as
    of `today` (a period judged on several days keeps its latest judgement)."""
    by_branch: dict[int, dict[str, dict[dt.date, ObligationStatus]]] = {b: {} for b in rules}
    for _start, on in judged_months(year, today):
        judged = compliance_many(rules, facts, groups, on, today=today)
        for branch, statuses in judged.items():
            seen = by_branch[branch]
            for status in statuses:
                seen.setdefault(status.rule.key, {})[status.period.start] = status
    return {
        branch: tuple(_row(rule, seen.get(rule.key, {})) for rule in rules[branch] if rule.enabled)
        for branch, seen in by_branch.items()
    }


def _row(rule: CalendarRule, periods: dict[dt.date, ObligationStatus]) -> ComplianceRow:
    return ComplianceRow(
        rule_key=rule.key,
        kind=rule.kind.value,
        period=rule.period.value,
        min_count=rule.min_count,
        periods=tuple(
            PeriodState(
                kind=status.period.kind.value,
                start=status.period.start,
                state=status.state.value,
                dates=status.done_dates,
            )
            for _start, status in sorted(periods.items())
        ),
    )


_KINDS = {kind.value: kind for kind in ActivityKind}


def facts_of(
    activities: Iterable[tuple[int, dt.date, Iterable[str], int | None, bool]],
) -> list[ActivityFact]:
    """ActivityFacts from (id, day, kind values, party group id, voided) rows."""
    known = _KINDS
    return [
        ActivityFact(
            activity_id,
            day,
            frozenset(known[value] for value in kinds if value in known),
            group,
            voided,
        )
        for activity_id, day, kinds, group, voided in activities
    ]


def dues_summary(
    ledgers: Sequence[MemberLedger], year: int, published_on: dt.date | None = None
) -> DuesSummary | None:
    """The branch's dues of `year` from its members' ledgers, all judged in the same month:
    totals per month, from the first with dues through the current one (or a later one
    prepaid), and the yearly account's figures as bot.dues.account counts them. None when
    nobody had a standard or paid in the year."""
    months = year_months(year)
    if not any(
        ledger.paid_fen_in(months) or any(ledger.due_fen(m) is not None for m in months)
        for ledger in ledgers
    ):
        return None
    current = min((ledger.current for ledger in ledgers), default=months[-1])
    # Through the current month, or a later one already prepaid.
    last = max([current, *(m for ledger in ledgers for m in ledger.paid if m in months)])
    shown: list[DuesMonth] = []
    for month in months:
        owing = [due for ledger in ledgers if (due := ledger.due_fen(month)) is not None]
        paid = [ledger.paid[month] for ledger in ledgers if month in ledger.paid]
        if month > last or not (shown or owing or paid):
            continue
        shown.append(DuesMonth(month - months[0] + 1, len(owing), len(paid), sum(owing), sum(paid)))
    return DuesSummary(
        months=tuple(shown),
        collected_fen=sum(ledger.paid_fen_in(months) for ledger in ledgers),
        payers=sum(1 for ledger in ledgers if _paid_any(ledger, months)),
        members=len(ledgers),
        arrears_months=sum(
            1 for ledger in ledgers for line in ledger.arrears() if line.month in months
        ),
        published_on=published_on,
    )


def _paid_any(ledger: MemberLedger, months: range) -> bool:
    return any(month in ledger.paid for month in months)
