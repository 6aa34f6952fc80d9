"""Moving a meeting: its manager gives the new date and time and confirms; everyone the
invitation reached is told, and the reminders planned for the old time are withdrawn.

A short conversation (crash-safe like every other). The meeting is loaded and checked on every
step, and the move applies only to the version its leader saw when they began.
"""

from __future__ import annotations

import datetime as dt

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.meetings.service import managed_meeting, move_meeting
from bot.meetings.texts import moment
from bot.reminders.engine import tick_now
from bot.rules.dates import parse_future_datetime
from handlers.cancel import conversation_fallbacks
from handlers.common import Refused, answer, keyboard
from handlers.flow import Flow, State, Step
from handlers.meet_texts import when_question
from handlers.meeting_buttons import MeetCard, MeetMove, MeetMoveNo, MeetMoveYes
from handlers.meeting_views import poke_card
from storage.models_meetings import Meeting

FLOW = Flow("meeting_move")
WHEN, CONFIRM = "when", "confirm"
END = ConversationHandler.END


async def _meeting(context: BotContext, step: Step, meeting_id: int) -> Meeting:
    """The meeting, if the sender manages it and it has not started nor been called off."""
    meeting = await managed_meeting(step.session, context.principal, meeting_id)
    if meeting is None:
        raise Refused()
    if meeting.cancelled_at is not None or meeting.starts_at <= context.settings.now():
        raise Refused(context._("This meeting has started or was cancelled already."))
    return meeting


@FLOW.step(registered=True, entry=True)
async def move_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Ask the new date and time."""
    meeting = await _meeting(context, step, MeetMove.read(update).meeting_id)
    step.data = {"meeting_id": meeting.id, "version": meeting.version}
    step.reply(
        context._("Moving meeting #{id}, now on {time}.").format(
            id=meeting.id, time=moment(context.tr, meeting.starts_at)
        )
        + "\n"
        + when_question(context)
    )
    return WHEN


@FLOW.step(registered=True)
async def when_typed(update: Update, context: BotContext, step: Step) -> State:
    """The new time, in the future; then confirm."""
    meeting = await _meeting(context, step, int(step.data["meeting_id"]))
    message = update.effective_message
    text = (message.text if message is not None else None) or ""
    starts = parse_future_datetime(text[:60], context.settings.now(), context.tr.tz)
    if starts is None:
        step.reply(context._("I could not read that as a time in the future. Please try again."))
        return None
    step.data["starts_at"] = starts.isoformat()
    rows = [
        [(context._("Yes, move it"), MeetMoveYes().data)],
        [(context._("No, leave it"), MeetMoveNo().data)],
    ]
    step.reply(
        context._(
            "Move meeting #{id} from {old} to {new}? Everyone who got the invitation is told."
        ).format(
            id=meeting.id,
            old=moment(context.tr, meeting.starts_at),
            new=moment(context.tr, starts),
        ),
        keyboard(rows),
    )
    return CONFIRM


@FLOW.step(registered=True)
async def move_confirmed(update: Update, context: BotContext, step: Step) -> State:
    """Move the meeting (at the version seen when moving began)."""
    meeting = await _meeting(context, step, int(step.data["meeting_id"]))
    starts = dt.datetime.fromisoformat(str(step.data["starts_at"]))
    now = context.settings.now()
    if starts <= now:
        raise Refused(context._("That time has passed: please give another."))
    told = await move_meeting(
        step.session,
        meeting,
        starts_at=starts,
        seen_version=int(step.data["version"]),
        actor=context.account,
        now=now,
    )
    if told is None:
        step.edit(context._("The meeting was changed meanwhile, or has started: nothing was done."))
        return END
    text = context.tr.ngettext(
        "Moved to {time}; {count} person who got the invitation is told.",
        "Moved to {time}; {count} people who got the invitation are told.",
        told,
    ).format(time=moment(context.tr, starts), count=told)
    step.edit(text, keyboard([[(context._("Open the card"), MeetCard(meeting.id).data)]]))

    async def after(update: Update, context: BotContext) -> None:
        tick_now(context.job_queue)
        poke_card(context, meeting.id)

    step.then(after)
    return END


@FLOW.step(registered=True)
async def move_dropped(update: Update, context: BotContext, step: Step) -> State:
    """Leave the meeting where it is."""
    step.edit(context._("Nothing was changed."))
    return END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(update, context, when_question(context))


def build() -> ConversationHandler[BotContext]:
    """The conversation moving a meeting."""
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(move_pressed, pattern=MeetMove.pattern)],
        states={
            WHEN: [MessageHandler(filters.TEXT & ~filters.COMMAND, when_typed)],
            CONFIRM: [
                CallbackQueryHandler(move_confirmed, pattern=MeetMoveYes.pattern),
                CallbackQueryHandler(move_dropped, pattern=MeetMoveNo.pattern),
            ],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix=None),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
