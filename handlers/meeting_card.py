"""The caller's card of a meeting: its answers and sign-ins, the sign-in checklist (for members
without Telegram, or who forgot), and calling the meeting off.

Every press loads the meeting its button names and checks, in the transaction that acts on
it, that the presser manages it (leads its branch, or its party group): a forged button of
another branch's meeting is refused and changes nothing. Calling off applies only to the
version the leader saw.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.meetings.card import card_view
from bot.meetings.service import cancel_meeting, managed_meeting, toggle_sign_in
from bot.reminders.engine import tick_now
from bot.rules.meetings import sign_in_closes, sign_in_open, sign_in_opens
from handlers.common import (
    Page,
    Refused,
    answer,
    edit_or_answer,
    escape,
    in_rows,
    keyboard,
    sender,
)
from handlers.meeting_buttons import (
    MeetCancel,
    MeetCancelYes,
    MeetCard,
    MeetChecklist,
    MeetTick,
    card_keyboard,
)
from handlers.meeting_views import poke_card
from storage import meeting_queries as mq
from storage.models_meetings import Meeting

CHECKLIST_PAGE = 24


async def _managed(context: BotContext, session: AsyncSession, meeting_id: int) -> Meeting:
    meeting = await managed_meeting(session, context.principal, meeting_id)
    if meeting is None:
        raise Refused()
    return meeting


async def _show_card(
    update: Update, context: BotContext, meeting_id: int, prefix: str = ""
) -> None:
    """Edit the pressed message into the card; it becomes the card that follows the answers."""
    query = update.callback_query
    message = query.message if query is not None and isinstance(query.message, Message) else None
    now = context.settings.now()
    async with context.db.begin() as session:
        meeting = await _managed(context, session, meeting_id)
        if message is not None:
            meeting.card_chat_id, meeting.card_message_id = message.chat_id, message.message_id
        text = await card_view(session, meeting, context.tr, now)
        markup = card_keyboard(context.tr, meeting, now)
    await edit_or_answer(update, context, prefix + text, markup)


@sender(registered=True)
async def card_pressed(update: Update, context: BotContext) -> None:
    """The card of a meeting the presser manages."""
    await _show_card(update, context, MeetCard.read(update).meeting_id)


async def _checklist(update: Update, context: BotContext, meeting: Meeting, page: int) -> None:
    async with context.db() as session:
        rows = await mq.invitees(session, meeting.id)
    shown = Page.of(page, len(rows), CHECKLIST_PAGE)
    buttons = [
        (
            ("✅ " if row.invitee.signed_in_at else "▫️ ") + row.name[:24],
            MeetTick(meeting.id, row.invitee.person_id, shown.index).data,
        )
        for row in rows[shown.offset : shown.offset + CHECKLIST_PAGE]
    ]
    grid = in_rows(buttons, 2)
    nav = shown.buttons(lambda n: MeetChecklist(meeting.id, n).data)
    if nav:
        grid.append(nav)
    grid.append([(context._("‹ Back to the card"), MeetCard(meeting.id).data)])
    signed = sum(1 for row in rows if row.invitee.signed_in_at)
    text = context._(
        "<b>Sign-in checklist</b>, meeting #{id}: tick those present ({signed} of {count} so "
        "far). Open from {opens} to {closes}."
    ).format(
        id=meeting.id,
        signed=signed,
        count=len(rows),
        opens=context.tr.time(sign_in_opens(meeting.starts_at)),
        closes=context.tr.time(sign_in_closes(meeting.starts_at)),
    )
    text = f"{text} {shown.caption(context)}".rstrip()
    if _on_card(update, meeting):
        # The card is edited as answers come in: the checklist is a message of its own.
        await answer(update, context, text, keyboard(grid))
    else:
        await edit_or_answer(update, context, text, keyboard(grid))


def _on_card(update: Update, meeting: Meeting) -> bool:
    """Whether the button pressed is on the meeting's live card."""
    query = update.callback_query
    message = query.message if query is not None and isinstance(query.message, Message) else None
    return message is not None and message.message_id == meeting.card_message_id


def _window_closed(context: BotContext, meeting: Meeting) -> Refused:
    return Refused(
        context._("Sign-in is open from {opens} to {closes} only.").format(
            opens=context.tr.time(sign_in_opens(meeting.starts_at)),
            closes=context.tr.time(sign_in_closes(meeting.starts_at)),
        )
    )


@sender(registered=True)
async def checklist_pressed(update: Update, context: BotContext) -> None:
    """A page of the checklist (inside the sign-in window)."""
    button = MeetChecklist.read(update)
    async with context.db() as session:
        meeting = await _managed(context, session, button.meeting_id)
    now = context.settings.now()
    if not sign_in_open(meeting.starts_at, meeting.cancelled_at is not None, now):
        raise _window_closed(context, meeting)
    await _checklist(update, context, meeting, button.page)


@sender(registered=True)
async def tick_pressed(update: Update, context: BotContext) -> None:
    """Tick or untick an invitee of the meeting (inside the sign-in window)."""
    button = MeetTick.read(update)
    async with context.db.begin() as session:
        meeting = await _managed(context, session, button.meeting_id)
        signed = await toggle_sign_in(
            session, meeting, button.person_id, actor=context.account, now=context.settings.now()
        )
        if signed is None:
            raise _window_closed(context, meeting)
    await _checklist(update, context, meeting, button.page)
    poke_card(context, meeting.id)


@sender(registered=True)
async def cancel_pressed(update: Update, context: BotContext) -> None:
    """Ask before calling the meeting off."""
    meeting_id = MeetCancel.read(update).meeting_id
    async with context.db() as session:
        meeting = await _managed(context, session, meeting_id)
    if meeting.cancelled_at is not None or meeting.starts_at <= context.settings.now():
        raise Refused(context._("This meeting has started or was cancelled already."))
    rows = [
        [(context._("Yes, call it off"), MeetCancelYes(meeting.id, meeting.version).data)],
        [(context._("Keep it"), MeetCard(meeting.id).data)],
    ]
    text = context._(
        "Call off meeting #{id} ({agenda})? Everyone who got the invitation is told, and the "
        "reminders about it are withdrawn."
    ).format(id=meeting.id, agenda=escape(meeting.agenda))
    if _on_card(update, meeting):
        await answer(update, context, text, keyboard(rows))
    else:
        await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def cancel_confirmed(update: Update, context: BotContext) -> None:
    """Call the meeting off, at the version the leader saw."""
    button = MeetCancelYes.read(update)
    async with context.db.begin() as session:
        meeting = await _managed(context, session, button.meeting_id)
        told = await cancel_meeting(
            session,
            meeting,
            seen_version=button.version,
            actor=context.account,
            now=context.settings.now(),
        )
    if told is None:
        raise Refused(
            context._("The meeting was changed meanwhile, or has started: nothing was done.")
        )
    tick_now(context.job_queue)
    prefix = context.tr.ngettext(
        "Cancelled; {count} person who got the invitation is told.",
        "Cancelled; {count} people who got the invitation are told.",
        told,
    ).format(count=told)
    await _show_card(update, context, meeting.id, prefix + "\n\n")


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The buttons of the caller's card."""
    return [
        CallbackQueryHandler(card_pressed, pattern=MeetCard.pattern),
        CallbackQueryHandler(checklist_pressed, pattern=MeetChecklist.pattern),
        CallbackQueryHandler(tick_pressed, pattern=MeetTick.pattern),
        CallbackQueryHandler(cancel_pressed, pattern=MeetCancel.pattern),
        CallbackQueryHandler(cancel_confirmed, pattern=MeetCancelYes.pattern),
    ]
