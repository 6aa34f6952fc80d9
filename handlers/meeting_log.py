"""Logging a meeting called with /meet: its "Log this meeting" button opens the /log draft
already holding the kinds, date, topic, place, party group, attendance (expected = invited,
present = signed in) and the absent with their reasons; the secretary adds minutes or photos
if they like, and saves.

An entry point of the activity conversation (handlers.activity), so the draft is the same
crash-safe /log draft and is saved by its Save button. The meeting is loaded and checked on
the press (the sender leads its branch); a meeting already logged, by its draft or by hand for
the same kinds and day, is not logged twice.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.meetings.record import logged_as, meeting_draft
from bot.rules.meetings import sign_in_opens
from handlers.activity_flow import END, FLOW, start_draft
from handlers.activity_texts import scope_refusal
from handlers.common import Refused
from handlers.flow import State, Step
from handlers.meeting_buttons import LogMeeting
from storage import meeting_queries as mq


@FLOW.step(registered=True, entry=True)
async def log_meeting_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Open the meeting's pre-filled draft at its summary (or say where it was logged)."""
    meeting = await mq.meeting_by_id(step.session, LogMeeting.read(update).meeting_id)
    if meeting is None or not context.principal.leads_branch(meeting.branch_id):
        raise Refused(scope_refusal(context))
    if meeting.cancelled_at is not None:
        raise Refused(context._("This meeting was cancelled: there is nothing to log."))
    if context.settings.now() < sign_in_opens(meeting.starts_at):
        raise Refused(context._("A meeting can be logged once it has begun."))
    zone = context.settings.tz
    activity_id = await logged_as(step.session, meeting, zone)
    if activity_id is not None:
        step.edit(
            context._(
                "This meeting is already logged as activity #{id}: open it from /activities "
                "to correct it."
            ).format(id=activity_id)
        )
        return END
    draft = await meeting_draft(step.session, meeting, zone)
    return await start_draft(context, step, draft, [])
