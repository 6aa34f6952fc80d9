"""Scheduling a training: a crash-safe conversation an admin enters from /training's "New
training" button (node, title, time, place, who is invited, kind, then confirm)."""

from __future__ import annotations

import datetime as dt

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.context import BotContext
from bot.enums import Role, TrainingAudience, TrainingKind
from bot.i18n import N_
from bot.reminders.engine import tick_now
from bot.reminders.render import training_line, when
from bot.reminders.trainings import schedule_training
from bot.rules.dates import parse_datetime
from handlers.cancel import conversation_fallbacks
from handlers.common import Refused, answer, clean_text, escape, keyboard, offer_matching_nodes
from handlers.flow import Flow, Step
from handlers.training_buttons import (
    AttendancePage,
    DropTraining,
    NewTraining,
    ScheduleTraining,
    TrainingAudienceChoice,
    TrainingFor,
    TrainingKindChoice,
    TrainingPart,
)
from storage import queries
from storage.models import OrgUnit

FLOW = Flow("training")
ORG, TITLE, WHEN, PLACE, AUDIENCE, KIND, CONFIRM = (
    "org",
    "title",
    "when",
    "place",
    "audience",
    "kind",
    "confirm",
)
ADMINS = frozenset({Role.ADMIN})
PLACE_LIMIT = 300
# How far back a training that already took place can be recorded.
HELD_WITHIN = dt.timedelta(days=90)

AUDIENCE_LABELS: dict[TrainingAudience, str] = {
    TrainingAudience.SECRETARIES: N_("branch secretaries"),
    TrainingAudience.COMMITTEE: N_("branch committee members (secretaries and deputies)"),
    TrainingAudience.EVERYONE: N_("everyone in the organisation"),
}
KIND_LABELS: dict[TrainingKind, str] = {
    TrainingKind.ROTATION: N_("rotation training"),
    TrainingKind.INDUCTION: N_("induction training for new secretaries"),
}


async def _administered(context: BotContext, step: Step, org_id: int) -> OrgUnit:
    """A node of the sender's subtree; Refused otherwise (checked again on every use)."""
    org = await queries.org_by_id(step.session, org_id)
    if org is None or not context.principal.is_admin_of(org.path):
        raise Refused()
    return org


@FLOW.step(registered=True, roles=ADMINS, entry=True)
async def new_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Start scheduling: ask for the node when the admin has several, else the title."""
    org_ids = list(dict.fromkeys(g.org_id for g in context.principal.admin_grants()))
    if len(org_ids) == 1:
        step.data["org_id"] = org_ids[0]
        step.edit(context._("What is the training called?"))
        return TITLE
    rows = []
    for org_id in org_ids:
        org = await queries.org_by_id(step.session, org_id)
        if org is not None:
            rows.append([(org.display_name(context.tr.locale)[:60], TrainingFor(org.id).data)])
    step.edit(context._("For which organisation?"), keyboard(rows))
    return ORG


@FLOW.step(registered=True, roles=ADMINS)
async def org_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the node (one of the admin's own) and ask for the title."""
    org_id = TrainingFor.read(update).org_id
    if org_id not in {g.org_id for g in context.principal.admin_grants()}:
        raise Refused()
    step.data["org_id"] = org_id
    step.edit(context._("What is the training called?"))
    return TITLE


@FLOW.step(registered=True, roles=ADMINS)
async def title_typed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the title and ask when it starts."""
    title = clean_text(update.effective_message.text if update.effective_message else None)
    if title is None:
        step.reply(context._("Please send a short title (up to 100 characters)."))
        return None
    step.data["title"] = title
    step.reply(_when_question(context))
    return WHEN


def _when_question(context: BotContext) -> str:
    return context._(
        "When does it start? Send the date and time in your time zone ({zone}), "
        "for example 2026-12-05 14:30 or 12-05 14:30. For a training that already took place "
        "(up to {days} days ago), send when it was: it is recorded for its attendance, without "
        "invitations."
    ).format(zone=context.tr.time_zone, days=HELD_WITHIN.days)


@FLOW.step(registered=True, roles=ADMINS)
async def when_typed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the start time (in the admin's zone) and ask where."""
    text = update.effective_message.text if update.effective_message else None
    now = context.settings.now()
    starts_at = parse_datetime(text or "", now, context.tr.tz, past=HELD_WITHIN)
    if starts_at is None:
        step.reply(
            context._("I could not read that as a date and time, from {days} days ago on.").format(
                days=HELD_WITHIN.days
            )
        )
        step.reply(_when_question(context))
        return None
    step.data["starts_at"] = starts_at.isoformat()
    # Only a time typed as past is recorded as held; a draft merely left open past its start
    # is asked for the time again.
    step.data["held"] = starts_at <= now
    step.reply(context._("Where is it? Send the place or the online link."))
    return PLACE


@FLOW.step(registered=True, roles=ADMINS)
async def place_typed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the place and ask who is invited."""
    place = clean_text(
        update.effective_message.text if update.effective_message else None, limit=PLACE_LIMIT
    )
    if place is None:
        step.reply(
            context._("That is too long (at most {limit} characters).").format(limit=PLACE_LIMIT)
        )
        return None
    step.data["place"] = place
    org = await _administered(context, step, int(step.data.get("org_id", 0)))
    _ask_audience(context, step, org)
    return AUDIENCE


def _ask_audience(context: BotContext, step: Step, org: OrgUnit) -> None:
    rows = [
        [(context._(label), TrainingAudienceChoice(audience).data)]
        for audience, label in AUDIENCE_LABELS.items()
    ]
    text = context._(
        "Who in {org} is invited? To invite only part of it, type a code or name."
    ).format(org=escape(org.display_name(context.tr.locale)))
    step.edit(text, keyboard(rows))


@FLOW.step(registered=True, roles=ADMINS)
async def part_typed(update: Update, context: BotContext, step: Step) -> str | None:
    """Search the admin's subtree for the node whose people are invited."""
    text = clean_text(update.effective_message.text if update.effective_message else None)
    if text is None:
        step.then(_reprompt)
        return None
    principal = context.principal

    async def offer(update: Update, context: BotContext) -> None:
        await offer_matching_nodes(
            update,
            context,
            text,
            usable=lambda o: principal.is_admin_of(o.path),
            data=TrainingPart.prefix + ":",
        )

    step.then(offer)
    return None


@FLOW.step(registered=True, roles=ADMINS)
async def part_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Invite only the people of the chosen node's subtree (a node the admin administers)."""
    org = await _administered(context, step, TrainingPart.read(update).org_id)
    step.data["org_id"] = org.id
    _ask_audience(context, step, org)
    return AUDIENCE


@FLOW.step(registered=True, roles=ADMINS)
async def audience_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the audience and ask which kind of training it is."""
    step.data["audience"] = TrainingAudienceChoice.read(update).audience.value
    rows = [
        [(context._(label), TrainingKindChoice(kind).data)] for kind, label in KIND_LABELS.items()
    ]
    step.edit(context._("Which kind of training?"), keyboard(rows))
    return KIND


@FLOW.step(registered=True, roles=ADMINS)
async def kind_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the kind and show the summary to confirm."""
    kind = TrainingKindChoice.read(update).kind
    data = step.data
    data["kind"] = kind.value
    org = await _administered(context, step, int(data.get("org_id", 0)))
    held = bool(data.get("held"))
    summary = context._(
        "<b>{title}</b>\n{kind}\nWhen: {time}\nWhere: {place}\nInvited: {audience} of {org}"
    ).format(
        title=escape(str(data["title"])),
        kind=context._(KIND_LABELS[kind]),
        time=when(context.tr, dt.datetime.fromisoformat(str(data["starts_at"]))),
        place=escape(str(data["place"])),
        audience=context._(AUDIENCE_LABELS[TrainingAudience(str(data["audience"]))]),
        org=escape(org.display_name(context.tr.locale)),
    )
    if held:
        question = context._(
            "It already took place: record it, to mark who attended? No invitations or "
            "reminders are sent."
        )
    else:
        question = context._("Schedule it and send the invitations?")
    label = context._("Record it") if held else context._("Schedule")
    rows = [[(label, ScheduleTraining().data), (context._("Cancel"), DropTraining().data)]]
    step.edit(f"{summary}\n\n{question}", keyboard(rows))
    return CONFIRM


@FLOW.step(registered=True, roles=ADMINS)
async def confirm_pressed(update: Update, context: BotContext, step: Step) -> str | int:
    """Schedule the training, invite its audience and wake the reminder tick."""
    data = step.data
    org = await _administered(context, step, int(data.get("org_id", 0)))
    if "starts_at" not in data:
        raise Refused()
    starts_at = dt.datetime.fromisoformat(str(data["starts_at"]))
    now = context.settings.now()
    held = bool(data.get("held"))
    if starts_at <= now and not held:
        # A draft left open past its own start time: ask for the time again.
        text = context._("I could not read that as a future date and time.")
        step.edit(text + "\n\n" + _when_question(context))
        return WHEN
    training, invited = await schedule_training(
        step.session,
        org=org,
        kind=TrainingKind(str(data["kind"])),
        audience=TrainingAudience(str(data["audience"])),
        title=str(data["title"]),
        place=str(data["place"]),
        starts_at=starts_at,
        actor=context.account,
        now=now,
    )
    if held:
        text = context.tr.ngettext(
            "Recorded as already held: {training}. {count} person can be marked as attended.",
            "Recorded as already held: {training}. {count} people can be marked as attended.",
            invited,
        ).format(training=training_line(context.tr, training), count=invited)
        record = context._("Record attendance")
        step.edit(text, keyboard([[(record, AttendancePage(training.id, 0).data)]]))
        return ConversationHandler.END
    text = context.tr.ngettext(
        "Scheduled: {training}. {count} person invited.",
        "Scheduled: {training}. {count} people invited.",
        invited,
    ).format(training=training_line(context.tr, training), count=invited)
    step.edit(text)

    async def invite(update: Update, context: BotContext) -> None:
        tick_now(context.job_queue)

    step.then(invite)
    return ConversationHandler.END


@FLOW.step(registered=True, roles=ADMINS)
async def drop_pressed(update: Update, context: BotContext, step: Step) -> int:
    """Drop the summarised training."""
    step.edit(context._("Cancelled. Nothing was saved."))
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(
        update,
        context,
        context._("Please answer the question above, or send /cancel to stop."),
    )


def build() -> ConversationHandler[BotContext]:
    """The scheduling conversation, entered by the menu's "New training" button."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(new_pressed, pattern=NewTraining.pattern)],
        states={
            ORG: [CallbackQueryHandler(org_pressed, pattern=TrainingFor.pattern)],
            TITLE: [MessageHandler(text, title_typed)],
            WHEN: [MessageHandler(text, when_typed)],
            PLACE: [MessageHandler(text, place_typed)],
            AUDIENCE: [
                CallbackQueryHandler(audience_pressed, pattern=TrainingAudienceChoice.pattern),
                CallbackQueryHandler(part_pressed, pattern=TrainingPart.pattern),
                MessageHandler(text, part_typed),
            ],
            KIND: [CallbackQueryHandler(kind_pressed, pattern=TrainingKindChoice.pattern)],
            CONFIRM: [
                CallbackQueryHandler(confirm_pressed, pattern=ScheduleTraining.pattern),
                CallbackQueryHandler(drop_pressed, pattern=DropTraining.pattern),
            ],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="trn"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
