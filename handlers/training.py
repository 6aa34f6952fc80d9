"""/training: admins open their trainings, see the answers, record attendance and call one off;
invitees answer their invitation and see their yearly record.

Scheduling a training is a conversation of its own: handlers/training_schedule.py. Every press
loads the training its button names and checks it in the transaction that acts on it: an admin
only trainings of their subtree, an invitee only their own invitation. Replies follow the
commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.dues.hours import person_year
from bot.enums import Role
from bot.reminders.engine import tick_now
from bot.reminders.render import training_line, when
from bot.reminders.trainings import (
    administered_training,
    answer_invitation,
    cancel_training,
    recorded_afterwards,
    still_open,
    toggle_attendance,
)
from handlers.buttons import family_pattern
from handlers.common import Page, Refused, answer, edit_or_answer, escape, keyboard, sender
from handlers.dues_buttons import TrainingHours
from handlers.hours_texts import year_lines
from handlers.training_buttons import (
    AttendancePage,
    CancelTraining,
    CancelTrainingConfirmed,
    MarkAttended,
    NewTraining,
    OpenTraining,
    TrainingsPage,
    WillAttend,
    WontAttend,
    invitation_keyboard,
)
from storage import dues_queries as dq
from storage import training_queries as tq
from storage.models_reminders import Training

ADMINS = frozenset({Role.ADMIN})
MENU_PAGE = 8
# Open invitations shown under /training; more than this many at once is not expected.
INVITATIONS_SHOWN = 5
# Attendance lists are one button per invitee; beyond this the admin pages through names.
ATTENDANCE_PAGE = 30


async def _training_of_admin(
    context: BotContext, session: AsyncSession, training_id: int
) -> Training:
    """The training, if it belongs to the sender's subtree; Refused otherwise."""
    training = await administered_training(session, context.principal, training_id)
    if training is None:
        raise Refused()
    return training


# ---- the menu and the yearly record -----------------------------------------------------------


@sender(registered=True)
async def training_menu(update: Update, context: BotContext) -> None:
    """Admins: schedule or open a training. Everyone else: their training record this year."""
    if context.principal.admin_grants():
        await _menu_page(update, context, 0)
    else:
        await answer(update, context, await _record_text(context, context.settings.now()))
    await _open_invitations(update, context)


async def _open_invitations(update: Update, context: BotContext) -> None:
    """Each open invitation, to answer here: its message may still be waiting for the end of
    the invitee's quiet hours."""
    person_id = context.principal.person_id
    if person_id is None:
        return
    async with context.db() as session:
        invitations = await tq.open_invitations(
            session, person_id=person_id, now=context.settings.now(), limit=INVITATIONS_SHOWN
        )
    for training, rsvp in invitations:
        text = _invitation_text(context, training, rsvp)
        await answer(update, context, text, invitation_keyboard(context.tr, training.id))


def _invitation_text(context: BotContext, training: Training, rsvp: str | None) -> str:
    text = "📚 " + context._("You are invited to a training: {training}").format(
        training=training_line(context.tr, training)
    )
    if rsvp == "yes":
        status = context._("✓ You will attend. I will remind you a day and an hour before.")
    elif rsvp == "no":
        status = context._("You will not attend. The organiser can see your answer.")
    else:
        return text
    return text + "\n\n" + status


@sender(registered=True, roles=ADMINS)
async def menu_page_pressed(update: Update, context: BotContext) -> None:
    """‹ Earlier / Later ›: another page of the admin's trainings."""
    await _menu_page(update, context, TrainingsPage.read(update).page)


async def _menu_page(update: Update, context: BotContext, page: int) -> None:
    # From a month back, so attendance can still be recorded for recent ones; only the
    # sender's own subtrees, whatever page a button asks for.
    since = context.settings.now() - dt.timedelta(days=30)
    paths = [g.org_path for g in context.principal.admin_grants()]
    async with context.db() as session:
        trainings, total = await tq.trainings_in_subtrees(
            session, paths, since=since, offset=page * MENU_PAGE, limit=MENU_PAGE
        )
        shown = Page.of(page, total, MENU_PAGE)
        if shown.index != page:
            trainings, total = await tq.trainings_in_subtrees(
                session, paths, since=since, offset=shown.offset, limit=MENU_PAGE
            )
    rows: list[list[tuple[str, str]]] = [[(context._("➕ New training"), NewTraining().data)]]
    for training in trainings:
        label = f"{when(context.tr, training.starts_at)} {training.title}"
        rows.append([(label[:60], OpenTraining(training.id).data)])
    nav = shown.buttons(
        lambda n: TrainingsPage(n).data, context._("‹ Earlier"), context._("Later ›")
    )
    if nav:
        rows.append(nav)
    text = context._("Trainings: schedule a new one, or open one to see answers and attendance.")
    await edit_or_answer(
        update, context, f"{text} {shown.caption(context)}".rstrip(), keyboard(rows)
    )


async def _record_text(context: BotContext, now: dt.datetime) -> str:
    person_id = context.principal.person_id
    year = now.astimezone(context.tr.tz).year
    start = dt.datetime(year, 1, 1, tzinfo=context.tr.tz).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=context.tr.tz).astimezone(dt.UTC)
    study: list[str] = []
    async with context.db() as session:
        attended = (
            await tq.training_record(session, person_id=person_id, year_start=start, year_end=end)
            if person_id is not None
            else []
        )
        person = await dq.person_by_id(session, person_id) if person_id is not None else None
        if person is not None:
            study = year_lines(context, await person_year(session, context.settings, person, year))
    if not attended:
        empty = context._("You have no recorded trainings in {year} yet.").format(year=year)
        return "\n".join([*study, empty])
    lines = [
        *study,
        context._("<b>Your trainings in {year}</b>").format(year=year),
        *("• " + training_line(context.tr, training) for training in attended),
    ]
    return "\n".join(lines)


# ---- invitees answer ------------------------------------------------------------------------


@sender(registered=True)
async def rsvp_pressed(update: Update, context: BotContext) -> None:
    """An invitee pressed "I will attend" or "I can't attend" (their own invitation only)."""
    attend = WillAttend.parse(update.callback_query.data if update.callback_query else None)
    training_id = attend.training_id if attend else WontAttend.read(update).training_id
    person_id = context.principal.person_id
    async with context.db.begin() as session:
        training = (
            await answer_invitation(
                session,
                training_id=training_id,
                person_id=person_id,
                account_id=context.actor_id,
                attend=attend is not None,
                now=context.settings.now(),
            )
            if person_id is not None
            else None
        )
    if training is None:
        # Not invited, called off or started: the same words, so nothing is revealed.
        raise Refused(context._("This invitation is no longer open."))
    text = _invitation_text(context, training, "yes" if attend is not None else "no")
    await edit_or_answer(update, context, text, invitation_keyboard(context.tr, training.id))


# ---- admins: view, cancel and attendance ------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def view_pressed(update: Update, context: BotContext) -> None:
    """A training's answers, and the attendance button once it has started."""
    async with context.db() as session:
        training = await _training_of_admin(context, session, OpenTraining.read(update).training_id)
        people = await tq.invitees(session, training.id)
    yes = sum(1 for invitee, _ in people if invitee.rsvp == "yes")
    no = sum(1 for invitee, _ in people if invitee.rsvp == "no")
    came = sum(1 for invitee, _ in people if invitee.attended)
    text = "\n".join(
        [
            "📚 " + training_line(context.tr, training),
            context._(
                "Invited: {invited}. Attending: {yes}. Not attending: {no}. No answer: {open}."
            ).format(invited=len(people), yes=yes, no=no, open=len(people) - yes - no),
            context._("Attended: {came}.").format(came=came)
            if training.attendance_recorded_at
            else "",
        ]
    ).strip()
    if recorded_afterwards(training):
        text += "\n" + context._("Recorded after it took place: no invitations were sent.")
    if training.cancelled_at is not None:
        text += "\n" + context._("Cancelled on {date}.").format(
            date=when(context.tr, training.cancelled_at)
        )
    rows = []
    if training.cancelled_at is None and training.starts_at <= context.settings.now():
        rows.append([(context._("Record attendance"), AttendancePage(training.id, 0).data)])
    elif training.cancelled_at is None:
        rows.append([(context._("Cancel this training"), CancelTraining(training.id).data)])
    if training.cancelled_at is None:
        hours = training.class_hours or context.settings.training_class_hours
        label = context._("Class hours: {hours}").format(hours=hours)
        rows.append([(label, TrainingHours(training.id).data)])
    await edit_or_answer(update, context, text, keyboard(rows) if rows else None)


def _no_longer_cancellable(context: BotContext) -> Refused:
    return Refused(context._("This training can no longer be cancelled."))


@sender(registered=True, roles=ADMINS)
async def cancel_pressed(update: Update, context: BotContext) -> None:
    """Ask before calling a training off: its invitees will be told."""
    training_id = CancelTraining.read(update).training_id
    async with context.db() as session:
        training = await _training_of_admin(context, session, training_id)
    if not still_open(training, context.settings.now()):
        raise _no_longer_cancellable(context)
    text = context._(
        "Cancel the training {training}? Everyone who was invited and has not declined will be "
        "told it will not take place. This cannot be undone."
    ).format(training=training_line(context.tr, training))
    rows = [
        [(context._("Yes, cancel the training"), CancelTrainingConfirmed(training.id).data)],
        [(context._("No, keep it"), OpenTraining(training.id).data)],
    ]
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def cancel_confirmed(update: Update, context: BotContext) -> None:
    """Call the training off, withdraw its reminders and tell those who were invited."""
    training_id = CancelTrainingConfirmed.read(update).training_id
    async with context.db.begin() as session:
        training = await _training_of_admin(context, session, training_id)
        told = await cancel_training(
            session, training=training, actor=context.account, now=context.settings.now()
        )
    if told is None:
        raise _no_longer_cancellable(context)
    tick_now(context.job_queue)
    text = context.tr.ngettext(
        "Cancelled: {training}. {count} person will be told.",
        "Cancelled: {training}. {count} people will be told.",
        told,
    ).format(training=training_line(context.tr, training), count=told)
    await edit_or_answer(update, context, text)


async def _attendance_view(
    context: BotContext, session: AsyncSession, training: Training, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of a started training's invitees, each a button marking them present."""
    if training.starts_at > context.settings.now():
        raise Refused()
    people = await tq.invitees(session, training.id)
    shown = Page.of(page, len(people), ATTENDANCE_PAGE)
    rows = [
        [
            (
                ("✅ " if invitee.attended else "▫️ ") + name,
                MarkAttended(training.id, invitee.person_id, shown.index).data,
            )
        ]
        for invitee, name in people[shown.offset : shown.offset + ATTENDANCE_PAGE]
    ]
    navigation = shown.buttons(lambda n: AttendancePage(training.id, n).data, "◀", "▶")
    if navigation:
        rows.append(navigation)
    rows.append([(context._("Done"), OpenTraining(training.id).data)])
    text = context._("Who attended “{title}”? Press a name to mark or unmark it.").format(
        title=escape(training.title)
    )
    return text, keyboard(rows)


@sender(registered=True, roles=ADMINS)
async def attendance_pressed(update: Update, context: BotContext) -> None:
    """Show the attendance list of a training (one page)."""
    pressed = AttendancePage.read(update)
    async with context.db() as session:
        training = await _training_of_admin(context, session, pressed.training_id)
        text, markup = await _attendance_view(context, session, training, pressed.page)
    await edit_or_answer(update, context, text, markup)


@sender(registered=True, roles=ADMINS)
async def attended_pressed(update: Update, context: BotContext) -> None:
    """Mark or unmark one invitee (of this training only) as present."""
    pressed = MarkAttended.read(update)
    async with context.db.begin() as session:
        training = await _training_of_admin(context, session, pressed.training_id)
        changed = await toggle_attendance(
            session,
            training=training,
            person_id=pressed.person_id,
            actor=context.account,
            now=context.settings.now(),
        )
        if changed is None:
            raise Refused()
        text, markup = await _attendance_view(context, session, training, pressed.page)
    await edit_or_answer(update, context, text, markup)


def buttons() -> list[BaseHandler[Update, BotContext, object]]:
    """Buttons on invitations, answered whatever conversation the invitee is in."""
    return [CallbackQueryHandler(rsvp_pressed, pattern=family_pattern(WillAttend, WontAttend))]


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The /training command and the admin's view and attendance buttons."""
    return [
        CommandHandler("training", training_menu),
        CallbackQueryHandler(menu_page_pressed, pattern=TrainingsPage.pattern),
        CallbackQueryHandler(view_pressed, pattern=OpenTraining.pattern),
        CallbackQueryHandler(cancel_pressed, pattern=CancelTraining.pattern),
        CallbackQueryHandler(cancel_confirmed, pattern=CancelTrainingConfirmed.pattern),
        CallbackQueryHandler(attendance_pressed, pattern=AttendancePage.pattern),
        CallbackQueryHandler(attended_pressed, pattern=MarkAttended.pattern),
    ]
