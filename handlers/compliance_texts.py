"""Texts shared by /due and /report compliance: periods, obligations and their states, and
the buttons stepping from month to month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.activities import KIND_LABELS
from bot.context import BotContext
from bot.rules.calendar import (
    ObligationState,
    ObligationStatus,
    Period,
    PeriodKind,
    next_period,
    previous_period,
)

STATE_MARKS = {
    ObligationState.DONE: "✅",
    ObligationState.DUE: "⏳",
    ObligationState.OVERDUE: "❗",
    ObligationState.NOT_APPLICABLE: "▫️",
}


def period_label(context: BotContext, period: Period) -> str:
    """A period in the reader's language: November 2026, Q4 2026, first half of 2026, 2026."""
    _ = context._
    year = period.start.year
    if period.kind is PeriodKind.MONTH:
        return context.tr.month(period.start)
    if period.kind is PeriodKind.QUARTER:
        return _("Q{quarter} {year}").format(quarter=(period.start.month + 2) // 3, year=year)
    if period.kind is PeriodKind.HALF:
        if period.start.month == 1:
            return _("first half of {year}").format(year=year)
        return _("second half of {year}").format(year=year)
    return _("year {year}").format(year=year)


def short_date(context: BotContext, day: dt.date) -> str:
    """A day in the reader's language: the one date format (Nov 20, 2026 / 2026年11月20日)."""
    return context.tr.date(day)


def rule_label(context: BotContext, status: ObligationStatus) -> str:
    """The obligation's name, with its minimum when more than one."""
    name = context._(KIND_LABELS[status.rule.kind])
    if status.rule.min_count > 1:
        return context._("{name} (at least {count})").format(name=name, count=status.rule.min_count)
    return name


def state_text(context: BotContext, status: ObligationStatus) -> str:
    """done on …, due with the days left, or overdue."""
    if status.state is ObligationState.DONE:
        dates = context._(", ").join(short_date(context, day) for day in status.done_dates)
        return context._("done on {dates}").format(dates=dates)
    if status.state is ObligationState.DUE:
        days = status.days_left or 0
        return context.tr.ngettext("due, {days} day left", "due, {days} days left", days).format(
            days=days
        )
    if status.state is ObligationState.OVERDUE:
        if status.count:
            return context._("overdue ({count} of {needed} held)").format(
                count=status.count, needed=status.rule.min_count
            )
        return context._("overdue")
    return context._("not applicable")


def status_line(context: BotContext, status: ObligationStatus) -> str:
    """One obligation on one line."""
    return context._("{mark} {rule} ({period}): {state}").format(
        mark=STATE_MARKS[status.state],
        rule=rule_label(context, status),
        period=period_label(context, status.period),
        state=state_text(context, status),
    )


def month_buttons(
    context: BotContext, button: Callable[[Period], str], month: Period, today: dt.date
) -> list[tuple[str, str]]:
    """‹ previous / next › buttons stepping one month (never past the current one);
    `button(month)` is the callback data showing that month."""
    buttons = [(context._("‹ Previous period"), button(previous_period(month)))]
    if month.end < today:
        buttons.append((context._("Next period ›"), button(next_period(month))))
    return buttons
