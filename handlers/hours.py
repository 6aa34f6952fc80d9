"""Class hours and training coverage.

- `/report training`: admins see, for their subtrees, the secretaries with no rotation training
  this year, the new secretaries whose induction deadline is near or past, and everyone's
  class hours against the yearly target, as text, a chart in the reader's language and a
  spreadsheet, both made off the event loop.
- The class hours of a training (its admins) and of a Party lecture (its branch's leaders):
  buttons under the training's and the activity's view, checked again on every press.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.commands import ADMINS
from bot.compliance import merge_subtrees
from bot.context import BotContext
from bot.dues.hours import Coverage, HoursRow, coverage, subtree_hours
from bot.dues.report import hours_chart
from bot.reminders.trainings import administered_training
from bot.xlsx import workbook_bytes
from handlers.activity_texts import ViewActivity
from handlers.busy import showing
from handlers.common import Refused, answer, edit_or_answer, escape, keyboard, sender
from handlers.dues_buttons import LectureHours, LectureHoursSet, TrainingHours, TrainingHoursSet
from handlers.training_buttons import OpenTraining
from storage import activity_queries, queries
from storage import hours_queries as hq
from storage.models import OrgUnit

TRAINING_REPORT = filters.Regex(r"^/report(@\w+)?\s+training\s*$")
HOUR_CHOICES = (1, 2, 3, 4, 6, 8, 16, 24, 40)
LISTED = 30


async def _roots(context: BotContext, session: AsyncSession) -> list[OrgUnit]:
    units = [await queries.org_by_id(session, g.org_id) for g in context.principal.admin_grants()]
    roots = merge_subtrees([unit for unit in units if unit is not None])
    if not roots:
        raise Refused()
    return roots


def _coverage_lines(context: BotContext, found: Coverage) -> list[str]:
    _ = context._
    lines = [
        _("Secretaries with no rotation training this year: {count}").format(
            count=len(found.without_rotation)
        )
    ]
    lines += [
        f"• {escape(row.branch_code)} {escape(row.name)}" for row in found.without_rotation[:LISTED]
    ]
    lines.append(
        _("New secretaries whose induction training is due soon or overdue: {count}").format(
            count=len(found.inductions)
        )
    )
    for induction in found.inductions[:LISTED]:
        template = (
            _("• {branch} {name}: was due by {date}")
            if induction.past
            else _("• {branch} {name}: due by {date}")
        )
        lines.append(
            template.format(
                branch=escape(induction.secretary.branch_code),
                name=escape(induction.secretary.name),
                date=context.tr.date(induction.deadline),
            )
        )
    return lines


def _hours_lines(context: BotContext, rows: list[HoursRow], year: int) -> list[str]:
    _ = context._
    leaders = [row for row in rows if row.leader]
    members = [row for row in rows if not row.leader]
    return [
        _("Class hours in {year} against the yearly target:").format(year=year),
        _("Secretaries and committee members: {reached} of {count} reached it").format(
            reached=sum(row.reached for row in leaders), count=len(leaders)
        ),
        _("Members: {reached} of {count} reached it").format(
            reached=sum(row.reached for row in members), count=len(members)
        ),
    ]


def _spreadsheet(context: BotContext, rows: list[HoursRow], found: Coverage) -> bytes:
    _ = context._
    rotation = {row.person_id for row in found.without_rotation}
    header = [
        _("Branch code"),
        _("Name"),
        _("Leads the branch"),
        _("Class hours"),
        _("Target"),
        _("Target reached"),
        _("Trainings attended"),
        _("Secretary without rotation training"),
    ]
    yes, no = _("yes"), _("no")
    table = [
        [
            row.branch_code,
            row.name,
            yes if row.leader else no,
            row.hours,
            row.target,
            yes if row.reached else no,
            row.trainings,
            yes if row.person_id in rotation else "",
        ]
        for row in rows
    ]
    return workbook_bytes(_("Study hours"), header, table)


@sender(registered=True, roles=ADMINS)
async def report(update: Update, context: BotContext) -> None:
    """/report training: coverage and hours of the admin's subtrees."""
    today = context.today()
    async with context.db() as session:
        roots = await _roots(context, session)
        found = await coverage(session, context.settings, roots, today)
        rows = await subtree_hours(session, context.settings, roots, today.year)
    scope = ", ".join(root.display_name(context.tr.locale) for root in roots)
    lines = [
        context._("<b>Training and study of {scope}</b>").format(scope=escape(scope)),
        *_coverage_lines(context, found),
        "",
        *_hours_lines(context, rows, today.year),
    ]
    await answer(update, context, "\n".join(lines))
    chat = update.effective_chat
    if chat is None:
        return
    _ = context._
    groups = [
        (_("Secretaries and committee members"), [(r.hours, r.target) for r in rows if r.leader]),
        (_("Members"), [(r.hours, r.target) for r in rows if not r.leader]),
    ]
    title = _("Class hours in {year}").format(year=today.year)
    async with showing(context.bot, chat.id, ChatAction.UPLOAD_PHOTO):
        # Drawn and written off the event loop: other users' replies do not wait.
        png = await asyncio.to_thread(hours_chart, groups, title)
        await context.bot.send_photo(
            chat.id,
            png,
            caption=_(
                "Share of the yearly target reached so far: leaders (secretaries and committee "
                "members), then members; red is under a quarter, green is reached."
            ),
        )
    async with showing(context.bot, chat.id):
        data = await asyncio.to_thread(_spreadsheet, context, rows, found)
        await context.bot.send_document(
            chat.id,
            data,
            filename=f"study-hours-{today.year}.xlsx",
            caption=_("One row per person on a roster of your subtree."),
        )


@sender(registered=True, roles=ADMINS)
async def training_hours_pressed(update: Update, context: BotContext) -> None:
    """Offer the class hours of a training of the admin's subtree."""
    training_id = TrainingHours.read(update).training_id
    async with context.db() as session:
        training = await administered_training(session, context.principal, training_id)
    if training is None:
        raise Refused()
    rows = [
        [(str(h), TrainingHoursSet(training.id, h).data) for h in HOUR_CHOICES[:5]],
        [(str(h), TrainingHoursSet(training.id, h).data) for h in HOUR_CHOICES[5:]],
        [(context._("‹ Back to the training"), OpenTraining(training.id).data)],
    ]
    text = context._(
        "How many class hours does “{title}” carry for those who attend? (8 is one full day)"
    ).format(title=escape(training.title))
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def training_hours_set(update: Update, context: BotContext) -> None:
    """Set a training's class hours (audited)."""
    button = TrainingHoursSet.read(update)
    if button.hours not in HOUR_CHOICES:
        raise Refused()
    async with context.db.begin() as session:
        training = await administered_training(session, context.principal, button.training_id)
        if training is None or training.cancelled_at is not None:
            raise Refused()
        await hq.set_training_hours(session, training.id, button.hours)
        await queries.audit(
            session,
            action="training.class_hours",
            actor=context.account,
            target_type="training",
            target_id=training.id,
            org_unit_id=training.org_unit_id,
            details={"hours": button.hours},
        )
    text = context._("Saved: {hours} class hours.").format(hours=button.hours)
    back = [[(context._("‹ Back to the training"), OpenTraining(button.training_id).data)]]
    await edit_or_answer(update, context, text, keyboard(back))


async def _led_lecture(context: BotContext, session: AsyncSession, activity_id: int) -> int:
    activity = await activity_queries.activity_by_id(session, activity_id)
    if (
        activity is None
        or activity.voided
        or "lecture" not in activity.kinds
        or not context.principal.leads_branch(activity.branch_id)
    ):
        raise Refused()
    return activity.id


@sender(registered=True)
async def lecture_hours_pressed(update: Update, context: BotContext) -> None:
    """Offer the class hours of a Party lecture of a branch the presser leads."""
    button = LectureHours.read(update)
    async with context.db() as session:
        activity_id = await _led_lecture(context, session, button.activity_id)
    rows = [
        [(str(h), LectureHoursSet(activity_id, h, button.page).data) for h in HOUR_CHOICES[:5]],
        [(str(h), LectureHoursSet(activity_id, h, button.page).data) for h in HOUR_CHOICES[5:]],
        [(context._("‹ Back to the activity"), ViewActivity(activity_id, button.page).data)],
    ]
    text = context._("How many class hours does this Party lecture carry for those present?")
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def lecture_hours_set(update: Update, context: BotContext) -> None:
    """Set a Party lecture's class hours (audited)."""
    button = LectureHoursSet.read(update)
    if button.hours not in HOUR_CHOICES:
        raise Refused()
    async with context.db.begin() as session:
        activity_id = await _led_lecture(context, session, button.activity_id)
        await hq.set_lecture_hours(session, activity_id, button.hours)
        activity = await activity_queries.activity_by_id(session, activity_id)
        await queries.audit(
            session,
            action="activity.class_hours",
            actor=context.account,
            target_type="activity",
            target_id=activity_id,
            org_unit_id=activity.branch_id if activity is not None else None,
            details={"hours": button.hours},
        )
    text = context._("Saved: {hours} class hours.").format(hours=button.hours)
    back = [[(context._("‹ Back to the activity"), ViewActivity(activity_id, button.page).data)]]
    await edit_or_answer(update, context, text, keyboard(back))


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """`/report training` (before the general /report) and the class hours buttons."""
    return [
        CommandHandler("report", report, filters=TRAINING_REPORT),
        CallbackQueryHandler(training_hours_pressed, pattern=TrainingHours.pattern),
        CallbackQueryHandler(training_hours_set, pattern=TrainingHoursSet.pattern),
        CallbackQueryHandler(lecture_hours_pressed, pattern=LectureHours.pattern),
        CallbackQueryHandler(lecture_hours_set, pattern=LectureHoursSet.pattern),
    ]
