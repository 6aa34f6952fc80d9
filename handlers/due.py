"""/due: where each obligation of the secretary's branch stands, period by period."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_skeleton
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.activities import KIND_LABELS
from bot.compliance import branch_compliance
from bot.context import BotContext
from bot.enums import OrgKind
from bot.rules.calendar import (
    ObligationState,
    ObligationStatus,
    Period,
    PeriodKind,
    next_period,
    period_containing,
    period_from_key,
    previous_period,
)
from handlers.activity import today_in_org
from handlers.common import edit_or_answer, escape, keyboard, refuse, sender
from storage import activity_queries, queries
from storage.models import OrgUnit

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
        return format_skeleton("yMMMM", period.start, locale=context.tr.babel_locale)
    if period.kind is PeriodKind.QUARTER:
        return _("Q{quarter} {year}").format(quarter=(period.start.month + 2) // 3, year=year)
    if period.kind is PeriodKind.HALF:
        if period.start.month == 1:
            return _("first half of {year}").format(year=year)
        return _("second half of {year}").format(year=year)
    return _("year {year}").format(year=year)


def short_date(context: BotContext, day: dt.date) -> str:
    """Month and day in the reader's language (Nov 20, 11月20日)."""
    return format_skeleton("MMMd", day, locale=context.tr.babel_locale)


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
    context: BotContext, prefix: str, month: Period, today: dt.date
) -> list[tuple[str, str]]:
    """‹ previous / next › buttons stepping one month (never past the current one)."""
    buttons = [(context._("‹ Previous period"), f"{prefix}:{previous_period(month).key}")]
    if month.end < today:
        buttons.append((context._("Next period ›"), f"{prefix}:{next_period(month).key}"))
    return buttons


def reference_day(month: Period, today: dt.date) -> dt.date:
    """The day whose periods are judged: today in the current month, else the month's end."""
    return today if today in month else month.end


async def _show(update: Update, context: BotContext, branch_id: int, month: Period) -> None:
    today = today_in_org(context)
    async with context.db() as session:
        branch = await queries.org_by_id(session, branch_id)
        assert branch is not None
        statuses = await branch_compliance(
            session, branch, on=reference_day(month, today), today=today
        )
        groups = {}
        if any(status.missing_groups for status in statuses):
            english = context.tr.locale == "en"
            groups = {
                group_id: name_en if english and name_en else name
                for group_id, _parent, _code, name, name_en in await activity_queries.party_groups(
                    session, branch_id=branch_id
                )
            }
    lines = [
        context._("<b>What is due: {branch}</b>").format(
            branch=escape(branch.display_name(context.tr.locale))
        ),
        context._("Periods containing {month}").format(month=period_label(context, month)),
        "",
    ]
    shown = [s for s in statuses if s.state is not ObligationState.NOT_APPLICABLE]
    for status in shown:
        line = status_line(context, status)
        if status.missing_groups and status.state is not ObligationState.DONE:
            names = context._(", ").join(
                escape(groups.get(group_id, str(group_id))) for group_id in status.missing_groups
            )
            line += "\n    " + context._("party groups still to meet: {groups}").format(
                groups=names
            )
        lines.append(line)
    if not shown:
        lines.append(context._("Nothing applies to this period."))
    rows = [month_buttons(context, f"du:{branch_id}", month, today)]
    others = [g for g in context.principal.led_branches() if g.org_id != branch_id]
    if others and context.principal.leads_branch(branch_id):
        # Someone leading several branches switches between them, in the same period.
        rows.append([(g.org_code, f"du:{g.org_id}:{month.key}") for g in others[:6]])
    await edit_or_answer(update, context, "\n".join(lines), keyboard(rows))


def _refusal(context: BotContext) -> str:
    return context._(
        "/due is for branch secretaries and deputies; admins send /due with a branch code "
        "of their subtree, or /report compliance. Nothing was changed."
    )


def _may_see_branch(context: BotContext, branch: OrgUnit) -> bool:
    """Leaders of the branch, and admins of a subtree containing it (read-only)."""
    principal = context.principal
    return principal.leads_branch(branch.id) or principal.is_admin_of(branch.path)


async def _may_see(context: BotContext, branch_id: int) -> bool:
    """As _may_see_branch, reading the branch only when the answer depends on its place."""
    if context.principal.leads_branch(branch_id):
        return True
    if not context.principal.admin_grants():
        return False
    async with context.db() as session:
        branch = await queries.org_by_id(session, branch_id)
    return branch is not None and _may_see_branch(context, branch)


@sender(registered=True)
async def due(update: Update, context: BotContext) -> None:
    """/due: the current periods of the sender's (first) branch, or of a named one in scope."""
    today = today_in_org(context)
    month = period_containing(PeriodKind.MONTH, today)
    led = context.principal.led_branches()
    args = context.args or []
    if args and (context.principal.admin_grants() or led):
        async with context.db() as session:
            branch = await queries.org_by_code(session, args[0][:64])
        if (
            branch is None
            or branch.kind is not OrgKind.BRANCH
            or not _may_see_branch(context, branch)
        ):
            await refuse(
                update,
                context,
                context._("There is no branch {code} in your subtree.").format(
                    code=escape(args[0][:64])
                ),
            )
            return
        await _show(update, context, branch.id, month)
        return
    if not led:
        await refuse(update, context, _refusal(context))
        return
    await _show(update, context, led[0].org_id, month)


@sender(registered=True)
async def due_period_pressed(update: Update, context: BotContext) -> None:
    """Browse to another month's periods."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _prefix, branch_text, key = query.data.split(":", 2)
    month = period_from_key(key)
    branch_id = int(branch_text)
    today = today_in_org(context)
    if (
        month is None
        or month.kind is not PeriodKind.MONTH
        or month.start > today
        or not await _may_see(context, branch_id)
    ):
        await refuse(update, context, _refusal(context))
        return
    await _show(update, context, branch_id, month)


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("due", due),
        CallbackQueryHandler(due_period_pressed, pattern=r"^du:\d{1,12}:\d{4}-\d{2}$"),
    ]
