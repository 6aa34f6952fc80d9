"""Notices once confirmed: readers acknowledge their copy; admins list (/notices), stop and
re-send the notices of their subtree.

Every press loads the copy or notice its button names and checks it against the presser in
the same transaction that acts on it: a reader only their own copy, an admin only notices sent
from their subtree. The reply goes after the commit.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.delivery import DELIVERY_KEY, DeliveryService
from bot.enums import NoticeState, Role
from bot.notice_service import (
    acknowledge_copy,
    administered_notice,
    release_round,
    resend_notice,
    stop_notice,
)
from bot.notices import status_action, status_text
from handlers.buttons import family_pattern
from handlers.common import Page, Refused, edit_or_answer, escape, keyboard, sender
from handlers.notice_buttons import (
    Acknowledge,
    Acknowledged,
    NoticesPage,
    PreviewAck,
    ResendNotice,
    StopNotice,
)
from handlers.notice_view import acked_keyboard, status_keyboard
from storage import notice_queries as nq

ADMINS = frozenset({Role.ADMIN})
# A branch's leaders stop and re-send the notices they sent to their branch.
SENDERS = frozenset({Role.ADMIN, Role.SECRETARY, Role.DEPUTY})
NOTICES_PAGE = 8
LISTED_STATES = (NoticeState.SCHEDULED, NoticeState.SENDING)


def _wake(context: BotContext) -> None:
    service: DeliveryService | None = context.application.bot_data.get(DELIVERY_KEY)
    if service is not None:
        service.wake()


@sender(registered=True)
async def acknowledge_pressed(update: Update, context: BotContext) -> None:
    """Record the reader's acknowledgement once (their own copy only) and show it on the
    button."""
    query = update.callback_query
    data = query.data if query is not None else None
    pressed = Acknowledge.parse(data) or Acknowledged.parse(data)
    if query is None or pressed is None:
        raise Refused()
    async with context.db.begin() as session:
        done = await acknowledge_copy(
            session,
            account_id=context.actor_id,
            delivery_id=pressed.delivery_id,
            now=context.settings.now(),
        )
    if done is None:
        raise Refused()
    text = (
        context._("You acknowledged this notice at {time}.")
        if done.already
        else context._("Thank you: recorded as acknowledged.")
    ).format(time=context.tr.datetime(done.at))
    await query.answer(text)
    try:
        await query.edit_message_reply_markup(
            acked_keyboard(context.tr, pressed.delivery_id, done.at)
        )
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


@sender(registered=True, roles=SENDERS)
async def stop_pressed(update: Update, context: BotContext) -> None:
    """Cancel a scheduled notice, or stop one that is going out."""
    notice_id = StopNotice.read(update).notice_id
    async with context.db.begin() as session:
        found = await administered_notice(session, context.principal, notice_id)
        if found is None:
            raise Refused()
        notice, org = found
        stopped = await stop_notice(
            session, notice=notice, org=org, actor=context.account, now=context.settings.now()
        )
        status = status_text(context.tr, notice, stopped.counts)
        markup = status_keyboard(context.tr, notice.id, status_action(notice, stopped.counts))
    if stopped.not_sent is None:
        prefix = context._("It has already gone out; nothing to cancel.")
    elif stopped.was_scheduled:
        prefix = context._("Cancelled before it went out.")
    else:
        prefix = context._("Cancelled: {count} copies will not be sent.").format(
            count=stopped.not_sent
        )
    await edit_or_answer(update, context, f"{prefix}\n\n{status}", markup)


@sender(registered=True, roles=SENDERS)
async def resend_pressed(update: Update, context: BotContext) -> None:
    """Send the notice again to everyone who got it and has not acknowledged it."""
    notice_id = ResendNotice.read(update).notice_id
    query = update.callback_query
    message = query.message if query is not None and isinstance(query.message, Message) else None
    async with context.db.begin() as session:
        found = await administered_notice(session, context.principal, notice_id)
        if found is None:
            raise Refused()
        notice, org = found
        resent = await resend_notice(
            session,
            notice=notice,
            org=org,
            actor=context.account,
            now=context.settings.now(),
            chat_id=message.chat_id if message else None,
            message_id=message.message_id if message else None,
        )
        status = status_text(context.tr, notice, resent.counts)
        markup = status_keyboard(context.tr, notice.id, status_action(notice, resent.counts))
    if resent.recipients == 0:
        raise Refused(context._("Nobody is waiting to acknowledge it."))
    text = context._("Sending it again to {count} people who have not acknowledged.").format(
        count=resent.recipients
    )
    await edit_or_answer(update, context, f"{text}\n\n{status}", markup)
    # Shown first: only now may the worker send the round and report on this message.
    async with context.db.begin() as session:
        await release_round(session, notice.id, resent.round)
    _wake(context)


@sender(registered=True, roles=ADMINS)
async def list_notices(update: Update, context: BotContext) -> None:
    """/notices: scheduled notices and those going out, each with a button to cancel it."""
    await _notices_page(update, context, 0)


@sender(registered=True, roles=ADMINS)
async def notices_page_pressed(update: Update, context: BotContext) -> None:
    """‹ Newer / Older ›: another page of /notices."""
    await _notices_page(update, context, NoticesPage.read(update).page)


async def _notices_page(update: Update, context: BotContext, page: int) -> None:
    # Only the sender's own subtrees are listed: a forged page number shows nothing else.
    paths = [g.org_path for g in context.principal.admin_grants()]
    async with context.db() as session:
        total = await nq.count_notices(session, subtree_paths=paths, states=LISTED_STATES)
        shown = Page.of(page, total, NOTICES_PAGE)
        notices = await nq.notices_of(
            session,
            subtree_paths=paths,
            states=LISTED_STATES,
            offset=shown.offset,
            limit=NOTICES_PAGE,
        )
    if not notices:
        await edit_or_answer(update, context, context._("No notices are scheduled or going out."))
        return
    title = context._("Scheduled notices and notices going out:")
    lines = [f"{title} {shown.caption(context)}".rstrip()]
    rows = []
    for notice in notices:
        excerpt = notice.text_for(context.tr.locale)[:60]
        when = context.tr.datetime(notice.send_at)
        lines.append(f"#{notice.id} · {when} · {escape(excerpt)}")
        label = context._("Cancel #{id}").format(id=notice.id)
        rows.append([(label, StopNotice(notice.id).data)])
    nav = shown.buttons(lambda n: NoticesPage(n).data, context._("‹ Newer"), context._("Older ›"))
    if nav:
        rows.append(nav)
    await edit_or_answer(update, context, "\n".join(lines), keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def preview_button_pressed(update: Update, context: BotContext) -> None:
    """The acknowledge button of a preview does nothing."""
    if update.callback_query is not None:
        await update.callback_query.answer(context._("This is only a preview."))


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """Buttons on notices and on the admin's status messages, and /notices.

    Added before every conversation: a reader in the middle of another flow must still be able
    to acknowledge a notice.
    """
    return [
        CallbackQueryHandler(
            acknowledge_pressed, pattern=family_pattern(Acknowledge, Acknowledged)
        ),
        CallbackQueryHandler(stop_pressed, pattern=StopNotice.pattern),
        CallbackQueryHandler(resend_pressed, pattern=ResendNotice.pattern),
        CallbackQueryHandler(notices_page_pressed, pattern=NoticesPage.pattern),
        CallbackQueryHandler(preview_button_pressed, pattern=PreviewAck.pattern),
        CommandHandler("notices", list_notices),
    ]
