"""What /due adds about a branch's own calendar: the themed Party day's fixed day of the month
(shown, and chosen by the branch's leaders), the organisational life meeting's preparation
steps (shown, and marked done with their date), and activities that did not count for lack of
a quorum.

Every button names a branch: it is loaded and the presser must lead it (admins see /due of
their subtree read-only and get no buttons here).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.context import BotContext
from bot.enums import OrgKind, PreparationStep
from bot.reminders.branch_dates import PREPARATION_STEPS
from bot.rules.calendar import ObligationStatus
from bot.rules.kinds import ActivityKind
from handlers.buttons import Button
from handlers.common import Refused, edit_or_answer, in_rows, keyboard, sender
from handlers.compliance_texts import short_date
from storage import calendar_queries as cq
from storage import queries
from storage.models import OrgUnit
from storage.tree import BranchScope

Rows = list[list[tuple[str, str]]]
LAST_THEMED_DAY = 28


class ThemedDayAsk(Button, prefix="du:td"):
    """Choose the day of the month of the branch's themed Party day."""

    branch_id: int


class ThemedDaySet(Button, prefix="du:tds"):
    """Hold the themed Party day on this day of the month (0: no fixed day)."""

    branch_id: int
    day: int


class PreparationDone(Button, prefix="du:prep"):
    """Mark a preparation step of this year's organisational life meeting done today."""

    branch_id: int
    step: PreparationStep


def quorum_note(context: BotContext, status: ObligationStatus) -> str | None:
    """Why activities did not count: their dates, and what a quorum is for this rule."""
    if not status.without_quorum:
        return None
    dates = context._(", ").join(short_date(context, day) for day in status.without_quorum)
    if status.rule.kind is ActivityKind.COMMITTEE_MEETING:
        body = context._("more than half of the committee must be present")
    else:
        body = context._("more than half of the members with voting rights must be present")
    return context._("not counted, no quorum: {dates} ({body})").format(dates=dates, body=body)


def _ordinal(context: BotContext, day: int) -> str:
    return context._("day {day} of each month").format(day=day)


async def calendar_section(
    context: BotContext,
    session: AsyncSession,
    branch: OrgUnit,
    statuses: list[ObligationStatus],
    today: dt.date,
) -> tuple[list[str], Rows]:
    """The themed Party day's day and the life meeting's preparation, with their buttons for
    a leader of the branch."""
    leads = context.principal.leads_branch(branch.id)
    lines: list[str] = []
    rows: Rows = []
    themed = await cq.themed_day_of(session, branch.id)
    if themed:
        lines.append(context._("🗓 Themed Party day: {day}.").format(day=_ordinal(context, themed)))
    else:
        lines.append(context._("🗓 Themed Party day: no fixed day chosen yet."))
    if leads:
        rows.append([(context._("Themed Party day: choose the day"), ThemedDayAsk(branch.id).data)])
    life = next(
        (s for s in statuses if s.rule.kind is ActivityKind.LIFE_MEETING and s.rule.prepare_from),
        None,
    )
    if life is None or life.rule.prepare_from is None:
        return lines, rows
    done = (
        await cq.preparation_done(session, year=today.year, scope=BranchScope(ids=(branch.id,)))
    ).get(branch.id, {})
    if today < dt.date(today.year, life.rule.prepare_from, 1) and not done:
        return lines, rows
    steps = []
    for step in PreparationStep:
        label = context._(PREPARATION_STEPS[step])
        if step in done:
            steps.append(f"✅ {label} ({short_date(context, done[step])})")
        else:
            steps.append(f"▫️ {label}")
    lines.append(
        context._("Preparing the organisational life meeting: {steps}").format(
            steps=context._(", ").join(steps)
        )
    )
    open_steps = [step for step in PreparationStep if step not in done]
    if leads and open_steps:
        step = open_steps[0]
        label = context._("Mark done today: {step}").format(step=context._(PREPARATION_STEPS[step]))
        rows.append([(label[:60], PreparationDone(branch.id, step).data)])
    return lines, rows


async def _led_branch(context: BotContext, session: AsyncSession, branch_id: int) -> OrgUnit:
    branch = await queries.org_by_id(session, branch_id)
    if branch is None or branch.kind is not OrgKind.BRANCH:
        raise Refused()
    if not context.principal.leads_branch(branch.id):
        raise Refused()
    return branch


def _back(context: BotContext, branch_id: int) -> list[tuple[str, str]]:
    # Imported here: handlers.due shows this module's section, so it imports this one first.
    from handlers.due import DueMonth

    month = context.today().strftime("%Y-%m")
    return [(context._("‹ Back to what is due"), DueMonth(branch_id, month).data)]


@sender(registered=True)
async def themed_day_asked(update: Update, context: BotContext) -> None:
    """The days of the month to choose from."""
    branch_id = ThemedDayAsk.read(update).branch_id
    async with context.db() as session:
        await _led_branch(context, session, branch_id)
    days = [(str(day), ThemedDaySet(branch_id, day).data) for day in range(1, LAST_THEMED_DAY + 1)]
    rows = in_rows(days, 7)
    rows.append([(context._("No fixed day"), ThemedDaySet(branch_id, 0).data)])
    rows.append(_back(context, branch_id))
    text = context._(
        "On which day of the month does the branch hold its themed Party day? Its reminder "
        "comes 3 days before."
    )
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def themed_day_chosen(update: Update, context: BotContext) -> None:
    """Store the branch's themed Party day (audited)."""
    button = ThemedDaySet.read(update)
    if not 0 <= button.day <= LAST_THEMED_DAY:
        raise Refused()
    async with context.db.begin() as session:
        branch = await _led_branch(context, session, button.branch_id)
        await cq.set_themed_day(session, branch.id, button.day or None, account_id=context.actor_id)
        await queries.audit(
            session,
            action="calendar.themed_day",
            actor=context.account,
            target_type="org_unit",
            target_id=branch.id,
            org_unit_id=branch.id,
            details={"day": button.day or None},
        )
    if button.day:
        text = context._("The themed Party day is now on {day}.").format(
            day=_ordinal(context, button.day)
        )
    else:
        text = context._("The themed Party day has no fixed day now.")
    await edit_or_answer(update, context, text, keyboard([_back(context, button.branch_id)]))


@sender(registered=True)
async def preparation_done(update: Update, context: BotContext) -> None:
    """Record a preparation step done today (once; audited)."""
    button = PreparationDone.read(update)
    today = context.today()
    async with context.db.begin() as session:
        branch = await _led_branch(context, session, button.branch_id)
        recorded = await cq.record_step(
            session,
            branch_id=branch.id,
            year=today.year,
            step=button.step,
            done_on=today,
            account_id=context.actor_id,
        )
        if recorded:
            await queries.audit(
                session,
                action="calendar.preparation",
                actor=context.account,
                target_type="org_unit",
                target_id=branch.id,
                org_unit_id=branch.id,
                details={"step": button.step.value, "year": today.year},
            )
    step = context._(PREPARATION_STEPS[button.step])
    if recorded:
        text = context._("Marked done on {date}: {step}.").format(
            date=short_date(context, today), step=step
        )
    else:
        text = context._("Already marked done: {step}.").format(step=step)
    await edit_or_answer(update, context, text, keyboard([_back(context, branch.id)]))


def handlers() -> list[CallbackQueryHandler[BotContext, None]]:
    """The buttons of the themed Party day and the preparation steps in /due."""
    return [
        CallbackQueryHandler(themed_day_asked, pattern=ThemedDayAsk.pattern),
        CallbackQueryHandler(themed_day_chosen, pattern=ThemedDaySet.pattern),
        CallbackQueryHandler(preparation_done, pattern=PreparationDone.pattern),
    ]
