"""Invitees answer a meeting (attending, remotely, can't attend, later), sign in with "I'm
here", and see their upcoming meetings with /meetings.

Every press loads the meeting its button names and the presser's own invitation to it, in the
transaction that acts on it: someone not invited (another branch's meeting, someone else's
invitation) is refused and nothing changes. Answers are taken until the meeting starts,
sign-in only inside its window. Replies follow the commit; then the caller's card is edited.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.enums import Rsvp
from bot.meetings.service import (
    AnswerRefused,
    answer_meeting,
    manages,
    sign_in,
)
from bot.meetings.texts import kinds_text, moment, reason_question
from bot.rules.meetings import SIGN_IN_CLOSES, sign_in_closes, sign_in_opens
from handlers.common import Refused, answer, edit_or_answer, keyboard, sender
from handlers.meeting_buttons import (
    MeetAttend,
    MeetCard,
    MeetDecline,
    MeetHere,
    MeetLater,
    MeetNoReason,
    MeetRemote,
    MeetView,
    reason_keyboard,
)
from handlers.meeting_views import invitation_of, poke_card, show_invitation
from storage import meeting_queries as mq


def _closed(context: BotContext) -> Refused:
    return Refused(
        context._("This meeting has started or was cancelled: answers can no longer change.")
    )


async def _answer(update: Update, context: BotContext, meeting_id: int, rsvp: Rsvp) -> None:
    async with context.db.begin() as session:
        invitation = await invitation_of(context, session, meeting_id)
        if rsvp is Rsvp.NO and invitation.meeting.reason_required:
            raise Refused(context._("Please choose a reason."))
        try:
            await answer_meeting(
                session,
                invitation,
                account_id=context.actor_id,
                rsvp=rsvp,
                now=context.settings.now(),
            )
        except AnswerRefused as refused:
            raise (_closed(context) if refused.closed else Refused()) from None
    await show_invitation(update, context, invitation)
    poke_card(context, meeting_id)


@sender(registered=True)
async def attend_pressed(update: Update, context: BotContext) -> None:
    """The invitee will attend."""
    await _answer(update, context, MeetAttend.read(update).meeting_id, Rsvp.YES)


@sender(registered=True)
async def remote_pressed(update: Update, context: BotContext) -> None:
    """A mobile member will attend remotely."""
    await _answer(update, context, MeetRemote.read(update).meeting_id, Rsvp.REMOTE)


@sender(registered=True)
async def later_pressed(update: Update, context: BotContext) -> None:
    """The invitee will answer later."""
    await _answer(update, context, MeetLater.read(update).meeting_id, Rsvp.LATER)


@sender(registered=True)
async def no_reason_pressed(update: Update, context: BotContext) -> None:
    """Can't attend, no reason given (where none is required)."""
    await _answer(update, context, MeetNoReason.read(update).meeting_id, Rsvp.NO)


@sender(registered=True)
async def decline_pressed(update: Update, context: BotContext) -> None:
    """Can't attend: show the reasons (nothing is recorded before one is chosen)."""
    meeting_id = MeetDecline.read(update).meeting_id
    async with context.db() as session:
        invitation = await invitation_of(context, session, meeting_id)
    meeting = invitation.meeting
    if meeting.cancelled_at is not None or meeting.starts_at <= context.settings.now():
        raise _closed(context)
    markup = reason_keyboard(context.tr, meeting.id, required=meeting.reason_required)
    await edit_or_answer(update, context, reason_question(context.tr), markup)


@sender(registered=True)
async def here_pressed(update: Update, context: BotContext) -> None:
    """Sign in, inside the window only."""
    meeting_id = MeetHere.read(update).meeting_id
    now = context.settings.now()
    async with context.db.begin() as session:
        invitation = await invitation_of(context, session, meeting_id)
        signed = await sign_in(session, invitation, now=now)
    meeting = invitation.meeting
    if not signed:
        raise Refused(
            context._("Sign-in is open from {opens} to {closes} only.").format(
                opens=moment(context.tr, sign_in_opens(meeting.starts_at)),
                closes=context.tr.time(sign_in_closes(meeting.starts_at)),
            )
        )
    # The invitation now says when they signed in.
    await show_invitation(update, context, invitation)
    poke_card(context, meeting_id)


@sender(registered=True)
async def view_pressed(update: Update, context: BotContext) -> None:
    """One of the presser's meetings, with its buttons."""
    meeting_id = MeetView.read(update).meeting_id
    async with context.db() as session:
        invitation = await invitation_of(context, session, meeting_id)
    await show_invitation(update, context, invitation)


@sender(registered=True)
async def list_meetings(update: Update, context: BotContext) -> None:
    """/meetings: the sender's upcoming meetings, and those of the branches they lead."""
    now = context.settings.now()
    since = now - SIGN_IN_CLOSES
    person_id = context.principal.person_id
    led = [g.org_id for g in context.principal.led_branches()]
    async with context.db() as session:
        invited = (
            await mq.meetings_of_person(session, person_id, since=since)
            if person_id is not None
            else []
        )
        groups = [g.org_id for g in context.principal.led_groups()]
        branch_meetings = await mq.meetings_of_branches(session, led, since=since, group_ids=groups)
    tr = context.tr
    lines = [context._("<b>Your meetings</b>")]
    rows = []
    for meeting, _invitee in invited:
        mark = "❌ " if meeting.cancelled_at else ""
        lines.append(f"{mark}{moment(tr, meeting.starts_at)} · {kinds_text(tr, meeting.kinds)}")
        day = tr.date(meeting.starts_at.astimezone(tr.tz).date())
        rows.append([(context._("Open: {day}").format(day=day)[:60], MeetView(meeting.id).data)])
    managed = [m for m in branch_meetings if manages(context.principal, m)]
    if managed:
        lines += ["", context._("<b>Meetings you called or manage</b>")]
        for meeting in managed:
            lines.append(f"#{meeting.id} {moment(tr, meeting.starts_at)}")
            rows.append(
                [(context._("Card of #{id}").format(id=meeting.id), MeetCard(meeting.id).data)]
            )
    if not invited and not managed:
        lines.append(context._("No meetings coming up."))
    await answer(update, context, "\n".join(lines), keyboard(rows) if rows else None)


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The buttons under invitations and /meetings; added before every conversation so an
    invitee in the middle of another flow can still answer."""
    return [
        CallbackQueryHandler(attend_pressed, pattern=MeetAttend.pattern),
        CallbackQueryHandler(remote_pressed, pattern=MeetRemote.pattern),
        CallbackQueryHandler(later_pressed, pattern=MeetLater.pattern),
        CallbackQueryHandler(no_reason_pressed, pattern=MeetNoReason.pattern),
        CallbackQueryHandler(decline_pressed, pattern=MeetDecline.pattern),
        CallbackQueryHandler(here_pressed, pattern=MeetHere.pattern),
        CallbackQueryHandler(view_pressed, pattern=MeetView.pattern),
        CommandHandler("meetings", list_meetings),
    ]
