"""/notify: an admin composes a notice, previews it and sends it now or later; /notices lists
and cancels; recipients acknowledge with a button."""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.delivery import DELIVERY_KEY, DeliveryService
from bot.enums import MediaKind, NoticeAudience, NoticeState, Role
from bot.i18n import Translator
from bot.notices import (
    AUDIENCE_LABELS,
    acked_keyboard,
    audience_label,
    other_locale,
    render,
    status_keyboard,
    status_text,
    text_limit,
)
from bot.rules.dates import parse_future_datetime
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    Page,
    answer,
    edit_or_answer,
    escape,
    keyboard,
    refuse,
    sender,
)
from handlers.flow import Flow
from handlers.profile import LANGUAGE_NAMES
from storage import notice_queries as nq
from storage import queries
from storage.models import Account, OrgUnit
from storage.models_notices import Notice

ADMINS = frozenset({Role.ADMIN})
FLOW = Flow("notify")
ORG, TEXT, SECOND, TEXT2, AUDIENCE, BRANCHES, ACK, WHEN, AT, CONFIRM = (
    "org",
    "text",
    "second",
    "text2",
    "audience",
    "branches",
    "ack",
    "when",
    "at",
    "confirm",
)


def _delivery(context: BotContext) -> DeliveryService | None:
    service: DeliveryService | None = context.application.bot_data.get(DELIVERY_KEY)
    return service


async def _admin_org(context: BotContext, org_id: int) -> OrgUnit | None:
    """The node, if the sender administers it."""
    async with context.db() as session:
        org = await queries.org_by_id(session, org_id)
    if org is None or not context.principal.is_admin_of(org.path):
        return None
    return org


# ---- composing ---------------------------------------------------------------------------------


@sender(registered=True, roles=ADMINS)
async def start_notify(update: Update, context: BotContext) -> str | None:
    """Start a notice: choose the node (when the admin has several), then ask for the text."""
    grants = context.principal.admin_grants()
    if len(grants) == 1:
        return await _choose_org(update, context, grants[0].org_id)
    async with context.db.begin() as session:
        await FLOW.save(session, update, state=ORG, data={})
    rows = [[(g.org_code, f"ntf:org:{g.org_id}")] for g in grants]
    await answer(update, context, context._("Send the notice from which node?"), keyboard(rows))
    return ORG


@sender(registered=True, roles=ADMINS)
async def org_pressed(update: Update, context: BotContext) -> str | None:
    """A node was chosen."""
    assert update.callback_query is not None and update.callback_query.data is not None
    return await _choose_org(update, context, int(update.callback_query.data.rsplit(":", 1)[1]))


async def _choose_org(update: Update, context: BotContext, org_id: int) -> str | None:
    org = await _admin_org(context, org_id)
    if org is None:
        await refuse(update, context, context._("You can only send notices within your own scope."))
        return None
    async with context.db.begin() as session:
        await FLOW.save(
            session,
            update,
            state=TEXT,
            data={"org_id": org.id, "primary": context.tr.locale, "texts": {}},
        )
    await _ask_text(update, context, context.tr.locale)
    return TEXT


async def _ask_text(update: Update, context: BotContext, locale: str) -> None:
    text = context._(
        "Write the notice in {language}. Send it as one message; it goes out exactly as you "
        "write it. You may also send a photo or a document with the text as its caption."
    ).format(language=LANGUAGE_NAMES[locale])
    await edit_or_answer(update, context, text)


def _limit(org: OrgUnit, data: dict[str, object]) -> int:
    return text_limit(org, require_ack=True, with_media=bool(data.get("media_kind")))


def _media_of(message: Message) -> tuple[str, str] | None:
    if message.photo:
        return MediaKind.PHOTO.value, message.photo[-1].file_id
    if message.document is not None:
        return MediaKind.DOCUMENT.value, message.document.file_id
    return None


@sender(registered=True, roles=ADMINS)
async def receive_text(update: Update, context: BotContext) -> str | None:
    """Take the notice's text (and optional photo or document) in the admin's language."""
    message = update.effective_message
    assert message is not None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update) or draft.state not in (TEXT, TEXT2):
            return draft.state
        data = dict(draft.data)
        org = await queries.org_by_id(session, int(data["org_id"]))
        assert org is not None
        second = draft.state == TEXT2
        media = None if second else _media_of(message)
        if media is not None:
            data["media_kind"], data["media_file_id"] = media
        body = (message.caption if media else message.text) or ""
        if second and not message.text:
            body = ""
        body = body.strip()
        limit = _limit(org, data)
        if body and len(body) > limit:
            await FLOW.save(session, update, state=draft.state, data=data)
            if data.get("media_kind"):
                too_long = context._(
                    "That is too long: {length} characters, and a notice with a photo or "
                    "document can have at most {limit}. Please shorten it and send it again."
                )
            else:
                too_long = context._(
                    "That is too long: {length} characters, and a notice can have at most "
                    "{limit}. Please shorten it and send it again."
                )
            too_long = too_long.format(length=len(body), limit=limit)
            await answer(update, context, too_long)
            return None
        if not body:
            await FLOW.save(session, update, state=draft.state, data=data)
            locale = other_locale(str(data["primary"])) if second else str(data["primary"])
            await answer(
                update,
                context,
                context._("Now send the text of the notice in {language}.").format(
                    language=LANGUAGE_NAMES[locale]
                ),
            )
            return None
        texts = dict(data.get("texts") or {})
        locale = other_locale(str(data["primary"])) if second else str(data["primary"])
        texts[locale] = body
        data["texts"] = texts
        next_state = AUDIENCE if second else SECOND
        await FLOW.save(session, update, state=next_state, data=data)
    if second:
        await _ask_audience(update, context)
        return AUDIENCE
    await _ask_second(update, context, other_locale(str(data["primary"])))
    return SECOND


async def _ask_second(update: Update, context: BotContext, locale: str) -> None:
    language = LANGUAGE_NAMES[locale]
    text = context._(
        "Readers who use {language} will see it in this language unless you add a {language} "
        "text. Add one?"
    ).format(language=language)
    rows = [
        [(context._("Add a {language} text").format(language=language), "ntf:second:add")],
        [(context._("No, one language is enough"), "ntf:second:skip")],
    ]
    await answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def second_pressed(update: Update, context: BotContext) -> str | None:
    """Ask for the second language's text, or go on to the audience."""
    assert update.callback_query is not None and update.callback_query.data is not None
    choice = update.callback_query.data.rsplit(":", 1)[1]
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.state != SECOND:
            return draft.state
        state = TEXT2 if choice == "add" else AUDIENCE
        await FLOW.save(session, update, state=state, data=draft.data)
    if state == TEXT2:
        await _ask_text(update, context, other_locale(str(draft.data["primary"])))
        return TEXT2
    await _ask_audience(update, context)
    return AUDIENCE


async def _ask_audience(update: Update, context: BotContext) -> None:
    rows = [[(context._(label), f"ntf:aud:{aud.value}")] for aud, label in AUDIENCE_LABELS.items()]
    await edit_or_answer(update, context, context._("Who should receive it?"), keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def audience_pressed(update: Update, context: BotContext) -> str | None:
    """Store the audience; for chosen branches, show the branch picker."""
    assert update.callback_query is not None and update.callback_query.data is not None
    try:
        audience = NoticeAudience(update.callback_query.data.rsplit(":", 1)[1])
    except ValueError:
        await refuse(update, context)
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.state != AUDIENCE:
            return draft.state
        data = {**draft.data, "audience": audience.value, "branch_ids": []}
        state = BRANCHES if audience is NoticeAudience.BRANCHES else ACK
        await FLOW.save(session, update, state=state, data=data)
    if state == BRANCHES:
        await _show_branches(update, context, data)
        return BRANCHES
    await _ask_ack(update, context)
    return ACK


BRANCHES_PAGE = 10


async def _show_branches(update: Update, context: BotContext, data: dict[str, object]) -> None:
    chosen = set(data.get("branch_ids") or [])  # type: ignore[call-overload]
    async with context.db() as session:
        org = await queries.org_by_id(session, int(data["org_id"]))  # type: ignore[call-overload]
        assert org is not None
        branches = await nq.branches_in(session, org)
    # A committee may have hundreds of branches; Telegram takes at most 100 buttons.
    requested = int(data.get("branch_page") or 0)  # type: ignore[call-overload]
    shown = Page.of(requested, len(branches), BRANCHES_PAGE)
    locale = context.tr.locale
    rows = [
        [
            (
                f"{'✓ ' if b.id in chosen else ''}{b.code} {b.display_name(locale)}"[:60],
                f"ntf:br:{b.id}",
            )
        ]
        for b in branches[shown.offset : shown.offset + BRANCHES_PAGE]
    ]
    nav = shown.buttons("ntf:br:p{}")
    if nav:
        rows.append(nav)
    rows.append([(context._("Done"), "ntf:br:done")])
    text = context._("Choose the branches (press again to remove), then press Done.")
    if shown.count > 1:
        text += "\n" + shown.caption(context)
    if chosen:
        text += "\n" + context._("Chosen: {count}").format(count=len(chosen))
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def branch_pressed(update: Update, context: BotContext) -> str | None:
    """Toggle a branch, or finish choosing."""
    assert update.callback_query is not None and update.callback_query.data is not None
    value = update.callback_query.data.rsplit(":", 1)[1]
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.state != BRANCHES:
            return draft.state
        data = dict(draft.data)
        chosen = list(data.get("branch_ids") or [])
        if value == "done":
            if not chosen:
                await update.callback_query.answer(
                    context._("Choose at least one branch."), show_alert=True
                )
                return None
            await FLOW.save(session, update, state=ACK, data=data)
        elif value.startswith("p"):
            data["branch_page"] = int(value[1:])
            await FLOW.save(session, update, state=BRANCHES, data=data)
        else:
            org = await queries.org_by_id(session, int(value))
            root = await queries.org_by_id(session, int(data["org_id"]))
            if org is None or root is None or not org.path.startswith(root.path):
                await refuse(update, context)
                return None
            chosen = [b for b in chosen if b != org.id] if org.id in chosen else [*chosen, org.id]
            data["branch_ids"] = chosen
            await FLOW.save(session, update, state=BRANCHES, data=data)
    if value == "done":
        await _ask_ack(update, context)
        return ACK
    await _show_branches(update, context, data)
    return BRANCHES


async def _ask_ack(update: Update, context: BotContext) -> None:
    rows = [
        [(context._("Yes, ask readers to acknowledge"), "ntf:ack:1")],
        [(context._("No acknowledgement needed"), "ntf:ack:0")],
    ]
    await edit_or_answer(
        update, context, context._("Should readers acknowledge the notice?"), keyboard(rows)
    )


@sender(registered=True, roles=ADMINS)
async def ack_pressed(update: Update, context: BotContext) -> str | None:
    """Store whether acknowledgement is required; ask when to send."""
    assert update.callback_query is not None and update.callback_query.data is not None
    required = update.callback_query.data.endswith(":1")
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.state != ACK:
            return draft.state
        await FLOW.save(session, update, state=WHEN, data={**draft.data, "ack": required})
    rows = [
        [(context._("Send now"), "ntf:when:now")],
        [(context._("Choose a time"), "ntf:when:later")],
    ]
    await edit_or_answer(update, context, context._("When should it go out?"), keyboard(rows))
    return WHEN


@sender(registered=True, roles=ADMINS)
async def when_pressed(update: Update, context: BotContext) -> str | None:
    """Send now (to the preview), or ask for a time."""
    assert update.callback_query is not None and update.callback_query.data is not None
    later = update.callback_query.data.endswith(":later")
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.state != WHEN:
            return draft.state
        data = {**draft.data, "send_at": None}
        await FLOW.save(session, update, state=AT if later else CONFIRM, data=data)
    if later:
        await _ask_time(update, context)
        return AT
    await _preview(update, context, data)
    return CONFIRM


async def _ask_time(update: Update, context: BotContext) -> None:
    now = context.settings.now()
    tomorrow = (now + dt.timedelta(days=1)).astimezone(context.tr.tz)
    text = context._(
        "Send the time as YYYY-MM-DD HH:MM, MM-DD HH:MM or HH:MM ({zone} time). It is now {now}; "
        "for example: {example}"
    ).format(
        zone=context.tr.time_zone,
        now=context.tr.datetime(now, "short"),
        example=tomorrow.strftime("%Y-%m-%d 09:00"),
    )
    await edit_or_answer(update, context, text)


@sender(registered=True, roles=ADMINS)
async def receive_time(update: Update, context: BotContext) -> str | None:
    """Parse the chosen time; it must be in the future."""
    message = update.effective_message
    now = context.settings.now()
    moment = parse_future_datetime((message.text or "") if message else "", now, context.tr.tz)
    if moment is None:
        await answer(
            update,
            context,
            context._("I could not read that as a time in the future. Please try again."),
        )
        await _ask_time(update, context)
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update) or draft.state != AT:
            return draft.state
        data = {**draft.data, "send_at": moment.isoformat()}
        await FLOW.save(session, update, state=CONFIRM, data=data)
    await _preview(update, context, data)
    return CONFIRM


async def _preview(update: Update, context: BotContext, data: dict[str, object]) -> None:
    """Show each language version exactly as readers will get it, then the summary to confirm."""
    async with context.db() as session:
        org = await queries.org_by_id(session, int(data["org_id"]))  # type: ignore[call-overload]
        assert org is not None
        audience = NoticeAudience(str(data["audience"]))
        branch_ids = [int(b) for b in data.get("branch_ids") or []]  # type: ignore[attr-defined]
        recipients = await nq.audience_recipients(
            session, root=org, audience=audience, branch_ids=branch_ids
        )
        branches = [b for b in await nq.branches_in(session, org) if b.id in branch_ids]
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    assert chat is not None
    texts: dict[str, str] = dict(data.get("texts") or {})  # type: ignore[call-overload]
    for locale, body in texts.items():
        tr = Translator(locale, context.tr.time_zone)
        copy = render(
            tr,
            org_name=org.display_name(locale),
            body=body,
            require_ack=bool(data.get("ack")),
            media_kind=str(data["media_kind"]) if data.get("media_kind") else None,
            media_file_id=str(data["media_file_id"]) if data.get("media_file_id") else None,
            ack_data="ntf:noop",
        )
        await context.bot.send_message(
            chat.id,
            context._("Preview ({language}):").format(language=LANGUAGE_NAMES[locale]),
        )
        if copy.media_kind == MediaKind.PHOTO.value:
            await context.bot.send_photo(
                chat.id, str(copy.media_file_id), caption=copy.text, reply_markup=copy.keyboard
            )
        elif copy.media_kind == MediaKind.DOCUMENT.value:
            await context.bot.send_document(
                chat.id, str(copy.media_file_id), caption=copy.text, reply_markup=copy.keyboard
            )
        else:
            await context.bot.send_message(chat.id, copy.text, reply_markup=copy.keyboard)
    unreachable = sum(1 for r in recipients if r.unreachable)
    send_at = data.get("send_at")
    when = (
        context._("at {time}").format(
            time=context.tr.datetime(dt.datetime.fromisoformat(str(send_at)), "short")
        )
        if send_at
        else context._("now")
    )
    lines = [
        context._("Recipients: {count}").format(count=len(recipients) - unreachable),
        context._("Audience: {audience}").format(
            audience=escape(audience_label(context.tr, audience, branches))
        ),
        context._("Acknowledgement: {required}").format(
            required=context._("required") if data.get("ack") else context._("not required")
        ),
        context._("Sending: {when}").format(when=when),
    ]
    if unreachable:
        lines.append(
            context._("{count} more have blocked the bot and will be skipped.").format(
                count=unreachable
            )
        )
    lines.append(context._("Send this notice?"))
    rows = [[(context._("Confirm and send"), "ntf:confirm"), (context._("Cancel"), "ntf:cancel")]]
    await context.bot.send_message(chat.id, "\n".join(lines), reply_markup=keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def confirm_pressed(update: Update, context: BotContext) -> int | str | None:
    """Store the notice (the worker sends it) and turn the summary into the progress message."""
    query = update.callback_query
    assert query is not None and query.data is not None
    message = query.message if isinstance(query.message, Message) else None
    if query.data == "ntf:cancel":
        async with context.db.begin() as session:
            await FLOW.end(session, update)
        await edit_or_answer(update, context, context._("Cancelled. Nothing was sent."))
        return ConversationHandler.END
    now = context.settings.now()
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.state != CONFIRM:
            return draft.state
        data = draft.data
        org = await queries.org_by_id(session, int(data["org_id"]))
        if org is None or not context.principal.is_admin_of(org.path):
            await refuse(update, context)
            return None
        account = await session.get(Account, context.account.id) if context.account else None
        send_at = dt.datetime.fromisoformat(data["send_at"]) if data.get("send_at") else now
        notice = await nq.create_notice(
            session,
            org=org,
            created_by=account,
            audience=NoticeAudience(data["audience"]),
            branch_ids=[int(b) for b in data.get("branch_ids") or []],
            texts=dict(data["texts"]),
            primary_locale=str(data["primary"]),
            require_ack=bool(data.get("ack")),
            media_kind=data.get("media_kind"),
            media_file_id=data.get("media_file_id"),
            send_at=send_at,
            admin_chat_id=message.chat_id if message else None,
            progress_message_id=message.message_id if message else None,
        )
        await queries.audit(
            session,
            action="notice.create",
            actor=account,
            target_type="notice",
            target_id=notice.id,
            org_unit_id=org.id,
            details={"audience": notice.audience.value, "send_at": send_at.isoformat()},
        )
        await FLOW.end(session, update)
        counts = nq.NoticeCounts(0, 0, 0, 0, 0, 0, 0)
        text = status_text(context.tr, notice, counts)
        if notice.send_at <= now:
            text = context._("Notice #{id} is going out.").format(id=notice.id)
        # Edited before the commit: once committed, the worker may report progress on this
        # message, and this edit must not land after (and over) its summary.
        await edit_or_answer(update, context, text, status_keyboard(context.tr, notice, counts))
    service = _delivery(context)
    if service is not None:
        service.wake()
    return ConversationHandler.END


@sender(registered=True, roles=ADMINS)
async def ignore_preview_button(update: Update, context: BotContext) -> None:
    """The acknowledge button of a preview does nothing."""
    if update.callback_query is not None:
        await update.callback_query.answer(context._("This is only a preview."))


async def _reprompt(update: Update, context: BotContext) -> None:
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    if draft.state in (TEXT, TEXT2):
        primary = str(draft.data.get("primary", context.tr.locale))
        locale = other_locale(primary) if draft.state == TEXT2 else primary
        await _ask_text(update, context, locale)
    elif draft.state == AT:
        await _ask_time(update, context)
    else:
        await answer(
            update, context, context._("Please use the buttons above, or send /cancel to stop.")
        )


# ---- after sending: acknowledgements, cancelling, listing, re-sending --------------------------


@sender(registered=True)
async def acknowledge_pressed(update: Update, context: BotContext) -> None:
    """Record the reader's acknowledgement once and show it on the button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    delivery_id = int(query.data.rsplit(":", 1)[1])
    async with context.db.begin() as session:
        delivery = await nq.delivery_by_id(session, delivery_id)
        if delivery is None or context.account is None or delivery.account_id != context.account.id:
            await refuse(update, context)
            return
        already = delivery.acknowledged_at is not None
        at = await nq.acknowledge(session, delivery=delivery, now=context.settings.now())
    text = (
        context._("You acknowledged this notice at {time}.")
        if already
        else context._("Thank you: recorded as acknowledged.")
    ).format(time=context.tr.datetime(at, "short"))
    await query.answer(text)
    try:
        await query.edit_message_reply_markup(acked_keyboard(context.tr, delivery_id, at))
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def _notice_for_admin(
    update: Update, context: BotContext, notice_id: int
) -> tuple[Notice, OrgUnit] | None:
    async with context.db() as session:
        notice = await nq.notice_by_id(session, notice_id)
        org = await queries.org_by_id(session, notice.org_unit_id) if notice else None
    if notice is None or org is None or not context.principal.is_admin_of(org.path):
        await refuse(update, context)
        return None
    return notice, org


async def _show_status(
    update: Update, context: BotContext, notice_id: int, prefix: str | None = None
) -> None:
    async with context.db() as session:
        notice = await nq.notice_by_id(session, notice_id)
        assert notice is not None
        counts = await nq.notice_counts(session, notice_id)
    text = status_text(context.tr, notice, counts)
    markup: InlineKeyboardMarkup | None = status_keyboard(context.tr, notice, counts)
    await edit_or_answer(update, context, f"{prefix}\n\n{text}" if prefix else text, markup)


@sender(registered=True, roles=ADMINS)
async def stop_pressed(update: Update, context: BotContext) -> None:
    """Cancel a scheduled notice, or stop one that is going out."""
    assert update.callback_query is not None and update.callback_query.data is not None
    found = await _notice_for_admin(update, context, int(update.callback_query.data.split(":")[2]))
    if found is None:
        return
    notice, org = found
    now = context.settings.now()
    async with context.db.begin() as session:
        notice_row = await nq.notice_by_id(session, notice.id)
        assert notice_row is not None
        was_scheduled = notice_row.state is NoticeState.SCHEDULED
        if notice_row.state not in (NoticeState.SCHEDULED, NoticeState.SENDING):
            stopped = None
        else:
            stopped = await nq.cancel_notice(session, notice_row, now)
            account = await session.get(Account, context.account.id) if context.account else None
            await queries.audit(
                session,
                action="notice.cancel",
                actor=account,
                target_type="notice",
                target_id=notice.id,
                org_unit_id=org.id,
                details={"not_sent": stopped},
            )
    if stopped is None:
        prefix = context._("It has already gone out; nothing to cancel.")
    elif was_scheduled:
        prefix = context._("Cancelled before it went out.")
    else:
        prefix = context._("Cancelled: {count} copies will not be sent.").format(count=stopped)
    await _show_status(update, context, notice.id, prefix)


@sender(registered=True, roles=ADMINS)
async def resend_pressed(update: Update, context: BotContext) -> None:
    """Send the notice again to everyone who got it and has not acknowledged it."""
    assert update.callback_query is not None and update.callback_query.data is not None
    found = await _notice_for_admin(update, context, int(update.callback_query.data.split(":")[2]))
    if found is None:
        return
    notice, org = found
    now = context.settings.now()
    query = update.callback_query
    message = query.message if isinstance(query.message, Message) else None
    async with context.db.begin() as session:
        notice_row = await nq.notice_by_id(session, notice.id)
        assert notice_row is not None
        if notice_row.state is not NoticeState.DONE or not notice_row.require_ack:
            count = 0
        else:
            count = await nq.resend_to_unacknowledged(session, notice_row, now)
            if count and message is not None:
                notice_row.admin_chat_id = message.chat_id
                notice_row.progress_message_id = message.message_id
                # As when confirming: shown before the worker can see the new round.
                counts = await nq.notice_counts(session, notice_row.id)
                text = context._(
                    "Sending it again to {count} people who have not acknowledged."
                ).format(count=count)
                text += "\n\n" + status_text(context.tr, notice_row, counts)
                await edit_or_answer(
                    update, context, text, status_keyboard(context.tr, notice_row, counts)
                )
            account = await session.get(Account, context.account.id) if context.account else None
            await queries.audit(
                session,
                action="notice.resend",
                actor=account,
                target_type="notice",
                target_id=notice.id,
                org_unit_id=org.id,
                details={"recipients": count},
            )
    if count == 0:
        await query.answer(context._("Nobody is waiting to acknowledge it."), show_alert=True)
        return
    service = _delivery(context)
    if service is not None:
        service.wake()


NOTICES_PAGE = 8
LISTED_STATES = (NoticeState.SCHEDULED, NoticeState.SENDING)


@sender(registered=True, roles=ADMINS)
async def list_notices(update: Update, context: BotContext) -> None:
    """/notices: scheduled notices and those going out, each with a button to cancel it."""
    await _notices_page(update, context, 0)


@sender(registered=True, roles=ADMINS)
async def notices_page_pressed(update: Update, context: BotContext) -> None:
    """‹ Newer / Older ›: another page of /notices."""
    assert update.callback_query is not None and update.callback_query.data is not None
    await _notices_page(update, context, int(update.callback_query.data.split(":")[2]))


async def _notices_page(update: Update, context: BotContext, page: int) -> None:
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
        when = context.tr.datetime(notice.send_at, "short")
        lines.append(f"#{notice.id} · {when} · {escape(excerpt)}")
        label = context._("Cancel #{id}").format(id=notice.id)
        rows.append([(label, f"ntc:stop:{notice.id}")])
    nav = shown.buttons("ntc:list:{}", context._("‹ Newer"), context._("Older ›"))
    if nav:
        rows.append(nav)
    await edit_or_answer(update, context, "\n".join(lines), keyboard(rows))


def build() -> ConversationHandler[BotContext]:
    """The /notify conversation."""
    text_or_media = (filters.TEXT | filters.PHOTO | filters.Document.ALL) & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("notify", start_notify)],
        states={
            ORG: [CallbackQueryHandler(org_pressed, pattern=r"^ntf:org:\d{1,12}$")],
            TEXT: [MessageHandler(text_or_media, receive_text)],
            SECOND: [CallbackQueryHandler(second_pressed, pattern=r"^ntf:second:(add|skip)$")],
            TEXT2: [MessageHandler(filters.TEXT & ~filters.COMMAND, receive_text)],
            AUDIENCE: [CallbackQueryHandler(audience_pressed, pattern=r"^ntf:aud:[a-z]{1,16}$")],
            BRANCHES: [
                CallbackQueryHandler(branch_pressed, pattern=r"^ntf:br:(\d{1,12}|done|p\d{1,4})$")
            ],
            ACK: [CallbackQueryHandler(ack_pressed, pattern=r"^ntf:ack:[01]$")],
            WHEN: [CallbackQueryHandler(when_pressed, pattern=r"^ntf:when:(now|later)$")],
            AT: [MessageHandler(filters.TEXT & ~filters.COMMAND, receive_time)],
            CONFIRM: [CallbackQueryHandler(confirm_pressed, pattern=r"^ntf:(confirm|cancel)$")],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="ntf"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """Buttons on notices and on the admin's status messages, and /notices.

    Added before every conversation: a reader in the middle of another flow must still be able
    to acknowledge a notice.
    """
    return [
        CallbackQueryHandler(acknowledge_pressed, pattern=r"^ntc:ack(ed)?:\d{1,12}$"),
        CallbackQueryHandler(stop_pressed, pattern=r"^ntc:stop:\d{1,12}$"),
        CallbackQueryHandler(resend_pressed, pattern=r"^ntc:again:\d{1,12}$"),
        CallbackQueryHandler(notices_page_pressed, pattern=r"^ntc:list:\d{1,4}$"),
        CallbackQueryHandler(ignore_preview_button, pattern=r"^ntf:noop$"),
        CommandHandler("notices", list_notices),
    ]
