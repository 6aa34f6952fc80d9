"""What meeting handlers share: the presser's own invitation (or a refusal), the invitation
message as it stands, and asking for the caller's card to be edited."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.meetings.card import CARDS_KEY, MeetingCards
from bot.meetings.messages import offer_for
from bot.meetings.service import Invitation, own_invitation
from bot.meetings.texts import invitation_text
from handlers.common import Refused, edit_or_answer
from handlers.meeting_buttons import meeting_keyboard


def poke_card(context: BotContext, meeting_id: int) -> None:
    """Ask for the caller's card to be edited (soon, not at once: see bot.meetings.card)."""
    cards: MeetingCards | None = context.application.bot_data.get(CARDS_KEY)
    if cards is not None:
        cards.poke(meeting_id)


async def invitation_of(context: BotContext, session: AsyncSession, meeting_id: int) -> Invitation:
    """The presser's own invitation to the meeting; Refused for anyone not invited."""
    found = await own_invitation(session, meeting_id, context.principal.person_id)
    if found is None:
        raise Refused()
    return found


async def show_invitation(update: Update, context: BotContext, invitation: Invitation) -> None:
    """Edit the pressed message to the invitation as it stands, with its buttons."""
    meeting, invitee = invitation.meeting, invitation.invitee
    branch = meeting.branch.display_name(context.tr.locale)
    text = invitation_text(context.tr, meeting, branch, invitee)
    offer = offer_for(meeting, invitee)
    markup = meeting_keyboard(context.tr, offer) if offer is not None else None
    await edit_or_answer(update, context, text, markup)
