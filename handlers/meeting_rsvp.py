"""Can't attend, with a reason: the reason is recorded when chosen, then a few optional words
are asked for (a short conversation, crash-safe like every other).

The reason is asked with its purpose (the branch's record of excused absence) and is optional
where the caller did not require one; health reasons are sensitive, so "other reason" is
always offered. Each step loads the presser's own invitation again.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.enums import Rsvp
from bot.meetings.service import AnswerRefused, answer_meeting
from bot.meetings.texts import NOTE_LIMIT, note_question
from bot.rules.meetings import may_answer
from handlers.cancel import cancel_for
from handlers.common import Refused, clean_text, keyboard
from handlers.flow import Flow, State, Step
from handlers.meeting_buttons import MeetNoNote, MeetReason
from handlers.meeting_views import invitation_of, poke_card, show_invitation

FLOW = Flow("meeting_rsvp")
NOTE = "note"
END = ConversationHandler.END


@FLOW.step(registered=True, entry=True)
async def reason_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Record "can't attend" with the reason chosen; ask for a few optional words."""
    button = MeetReason.read(update)
    invitation = await invitation_of(context, step.session, button.meeting_id)
    try:
        await answer_meeting(
            step.session,
            invitation,
            account_id=context.actor_id,
            rsvp=Rsvp.NO,
            reason=button.reason,
            now=context.settings.now(),
        )
    except AnswerRefused:
        raise Refused(
            context._("This meeting has started or was cancelled: answers can no longer change.")
        ) from None
    step.data = {"meeting_id": invitation.meeting.id}

    async def after(update: Update, context: BotContext) -> None:
        await show_invitation(update, context, invitation)
        poke_card(context, invitation.meeting.id)
        rows = [[(context._("No note"), MeetNoNote().data)]]
        if update.effective_chat is not None:
            # The press was answered by the edit above: this is a message of its own.
            await context.bot.send_message(
                update.effective_chat.id, note_question(context.tr), reply_markup=keyboard(rows)
            )

    step.then(after)
    return NOTE


@FLOW.step(registered=True)
async def note_typed(update: Update, context: BotContext, step: Step) -> State:
    """Add the invitee's words to their reason (while the meeting can still be answered)."""
    message = update.effective_message
    note = clean_text(message.text if message else None, limit=NOTE_LIMIT)
    if note is None:
        step.reply(
            context._("Please send at most {limit} characters, or press “No note”.").format(
                limit=NOTE_LIMIT
            )
        )
        return None
    invitation = await invitation_of(context, step.session, int(step.data["meeting_id"]))
    meeting, invitee = invitation.meeting, invitation.invitee
    now = context.settings.now()
    if invitee.rsvp is not Rsvp.NO or not may_answer(
        meeting.starts_at, meeting.cancelled_at is not None, now
    ):
        step.reply(context._("Your answer has changed since; nothing was added."))
        return END
    await answer_meeting(
        step.session,
        invitation,
        account_id=context.actor_id,
        rsvp=Rsvp.NO,
        reason=invitee.reason,
        note=note,
        now=now,
    )
    step.reply(context._("Thank you: your secretary will see it with your reason."))

    async def after(update: Update, context: BotContext) -> None:
        poke_card(context, meeting.id)

    step.then(after)
    return END


@FLOW.step(registered=True)
async def no_note_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Nothing to add."""
    step.edit(context._("Thank you: your answer is recorded."))
    return END


def build() -> ConversationHandler[BotContext]:
    """The reason conversation of an invitee who can't attend."""
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(reason_pressed, pattern=MeetReason.pattern)],
        states={
            NOTE: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, note_typed),
                CallbackQueryHandler(no_note_pressed, pattern=MeetNoNote.pattern),
            ]
        },
        fallbacks=[CommandHandler("cancel", cancel_for(FLOW))],
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
