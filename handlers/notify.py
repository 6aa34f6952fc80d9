"""/notify: an admin composes a notice, previews it and sends it now or later.

Managing notices once confirmed (/notices, stop, re-send, acknowledgements) is in
handlers/notices.py.
"""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as f

from bot.context import BotContext
from bot.delivery import DELIVERY_KEY, DeliveryService
from bot.enums import MediaKind, NoticeAudience, OrgKind, Role
from bot.notice_service import confirm_notice, leader_notice, may_send_from, release_notice
from bot.notices import AUDIENCE_LABELS, NoticeAction, other_locale, text_limit
from bot.rules.dates import parse_future_datetime
from handlers.cancel import conversation_fallbacks
from handlers.common import Page, Refused, answer, keyboard
from handlers.flow import Flow, Step
from handlers.language_texts import language_word
from handlers.notice_buttons import (
    AckChoice,
    AudienceChoice,
    BranchesDone,
    BranchesPage,
    ConfirmNotice,
    DropNotice,
    NotifyFrom,
    SecondLanguage,
    ToggleBranch,
    WhenChoice,
)
from handlers.notice_preview import Preview, preview_of, send_preview
from handlers.notice_view import status_keyboard
from storage import activity_queries, queries
from storage import notice_audiences as na
from storage.models import OrgUnit

ADMINS = frozenset({Role.ADMIN})
# Secretaries and deputies send to their own branch (or one of its party groups): members only.
SENDERS = frozenset({Role.ADMIN, Role.SECRETARY, Role.DEPUTY})
LEADER_TEXT_LIMIT = 1000
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
BRANCHES_PAGE = 10


def _outside_scope(context: BotContext) -> Refused:
    return Refused(context._("You can only send notices within your own scope."))


async def _draft_org(context: BotContext, step: Step) -> OrgUnit:
    """The draft's node, if the sender still administers it (checked on every step that uses
    it: a grant may have been taken away meanwhile)."""
    org = await queries.org_by_id(step.session, int(step.data.get("org_id", 0)))
    if org is None or not may_send_from(context.principal, org):
        raise _outside_scope(context)
    return org


# ---- the node and the texts ---------------------------------------------------------------------


@FLOW.step(registered=True, roles=SENDERS, entry=True)
async def start_notify(update: Update, context: BotContext, step: Step) -> str | None:
    """Start a notice: choose the node (when the sender has several: an admin's subtrees, a
    leader's branch and its party groups), then ask for the text."""
    nodes = [(g.org_id, g.org_code) for g in context.principal.admin_grants()]
    for grant in context.principal.led_branches():
        nodes.append((grant.org_id, grant.org_code))
        groups = await activity_queries.party_groups(step.session, branch_id=grant.org_id)
        nodes += [(group_id, code) for group_id, _parent, code, *_ in groups]
    if len(nodes) == 1:
        return await _choose_org(context, step, nodes[0][0])
    rows = [[(code, NotifyFrom(org_id).data)] for org_id, code in nodes[:20]]
    step.reply(context._("Send the notice from which node?"), keyboard(rows))
    return ORG


@FLOW.step(registered=True, roles=SENDERS)
async def org_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """A node was chosen."""
    return await _choose_org(context, step, NotifyFrom.read(update).org_id)


async def _choose_org(context: BotContext, step: Step, org_id: int) -> str:
    org = await queries.org_by_id(step.session, org_id)
    if org is None or not may_send_from(context.principal, org):
        raise _outside_scope(context)
    step.data.clear()
    step.data.update(org_id=org.id, primary=context.tr.locale, texts={})
    if leader_notice(context.principal, org):
        # A leader's notice goes to the members of the branch (or the party group) only.
        step.data.update(leader=True, audience=NoticeAudience.MEMBERS.value, branch_ids=[])
    step.edit(_text_question(context, context.tr.locale))
    return TEXT


def _text_question(context: BotContext, locale: str) -> str:
    return context._(
        "Write the notice in {language}. Send it as one message; it goes out exactly as you "
        "write it. You may also send a photo or a document with the text as its caption."
    ).format(language=language_word(context, locale))


def _media_of(message: Message) -> tuple[str, str] | None:
    if message.photo:
        return MediaKind.PHOTO.value, message.photo[-1].file_id
    if message.document is not None:
        return MediaKind.DOCUMENT.value, message.document.file_id
    return None


@FLOW.step(registered=True, roles=SENDERS)
async def text_received(update: Update, context: BotContext, step: Step) -> str | None:
    """Take the notice's text (and optional photo or document) in the admin's language."""
    message = update.effective_message
    if message is None:
        return None
    media = _media_of(message)
    if media is not None:
        step.data["media_kind"], step.data["media_file_id"] = media
    body = ((message.caption if media else message.text) or "").strip()
    locale = str(step.data["primary"])
    if not await _take_text(context, step, body, locale):
        return None
    step.reply(*_second_question(context, other_locale(locale)))
    return SECOND


@FLOW.step(registered=True, roles=SENDERS)
async def second_text_received(update: Update, context: BotContext, step: Step) -> str | None:
    """Take the text in the other language."""
    message = update.effective_message
    body = ((message.text if message else None) or "").strip()
    if not await _take_text(context, step, body, other_locale(str(step.data["primary"]))):
        return None
    if step.data.get("leader"):
        step.reply(*_ack_question(context))
        return ACK
    step.reply(*_audience_question(context))
    return AUDIENCE


async def _take_text(context: BotContext, step: Step, body: str, locale: str) -> bool:
    """Store the text in one language, or say why not (too long, empty)."""
    org = await _draft_org(context, step)
    limit = text_limit(org, require_ack=True, with_media=bool(step.data.get("media_kind")))
    if step.data.get("leader"):
        limit = min(limit, LEADER_TEXT_LIMIT)
    if len(body) > limit:
        if step.data.get("media_kind"):
            too_long = context._(
                "That is too long: {length} characters, and a notice with a photo or "
                "document can have at most {limit}. Please shorten it and send it again."
            )
        else:
            too_long = context._(
                "That is too long: {length} characters, and a notice can have at most "
                "{limit}. Please shorten it and send it again."
            )
        step.reply(too_long.format(length=len(body), limit=limit))
        return False
    if not body:
        step.reply(
            context._("Now send the text of the notice in {language}.").format(
                language=language_word(context, locale)
            )
        )
        return False
    step.data["texts"] = {**step.data.get("texts", {}), locale: body}
    return True


def _second_question(context: BotContext, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    language = language_word(context, locale)
    text = context._(
        "Readers who use {language} will see it in this language unless you add a {language} "
        "text. Add one?"
    ).format(language=language)
    rows = [
        [
            (
                context._("Add a {language} text").format(language=language),
                SecondLanguage("add").data,
            )
        ],
        [(context._("No, one language is enough"), SecondLanguage("skip").data)],
    ]
    return text, keyboard(rows)


@FLOW.step(registered=True, roles=SENDERS)
async def second_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Ask for the second language's text, or go on to the audience."""
    if SecondLanguage.read(update).choice == "add":
        step.edit(_text_question(context, other_locale(str(step.data["primary"]))))
        return TEXT2
    if step.data.get("leader"):
        step.edit(*_ack_question(context))
        return ACK
    step.edit(*_audience_question(context))
    return AUDIENCE


# ---- the audience -------------------------------------------------------------------------------


def _audience_question(context: BotContext) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [(context._(label), AudienceChoice(audience).data)]
        for audience, label in AUDIENCE_LABELS.items()
    ]
    return context._("Who should receive it?"), keyboard(rows)


@FLOW.step(registered=True, roles=ADMINS)
async def audience_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the audience; for chosen branches, show the branch picker."""
    audience = AudienceChoice.read(update).audience
    step.data.update(audience=audience.value, branch_ids=[], branch_page=0)
    if audience is NoticeAudience.BRANCHES:
        await _show_branches(context, step)
        return BRANCHES
    step.edit(*_ack_question(context))
    return ACK


async def _show_branches(context: BotContext, step: Step) -> None:
    org = await _draft_org(context, step)
    chosen = set(step.data.get("branch_ids") or [])
    # A committee may have thousands of branches; Telegram takes at most 100 buttons.
    total = await na.count_branches(step.session, org)
    shown = Page.of(int(step.data.get("branch_page") or 0), total, BRANCHES_PAGE)
    branches = await na.branches_page(step.session, org, offset=shown.offset, limit=BRANCHES_PAGE)
    locale = context.tr.locale
    rows = [
        [
            (
                f"{'✓ ' if b.id in chosen else ''}{b.code} {b.display_name(locale)}"[:60],
                ToggleBranch(b.id).data,
            )
        ]
        for b in branches
    ]
    nav = shown.buttons(lambda n: BranchesPage(n).data)
    if nav:
        rows.append(nav)
    rows.append([(context._("Done"), BranchesDone().data)])
    text = context._("Choose the branches (press again to remove), then press Done.")
    if shown.count > 1:
        text += "\n" + shown.caption(context)
    if chosen:
        text += "\n" + context._("Chosen: {count}").format(count=len(chosen))
    step.edit(text, keyboard(rows))


@FLOW.step(registered=True, roles=ADMINS)
async def branch_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Choose or unchoose a branch: one of the draft node's branches, nothing else."""
    root = await _draft_org(context, step)
    branch = await queries.org_by_id(step.session, ToggleBranch.read(update).branch_id)
    if (
        branch is None
        or branch.kind is not OrgKind.BRANCH
        or not branch.path.startswith(root.path)
        or not context.principal.is_admin_of(branch.path)
    ):
        raise _outside_scope(context)
    chosen = list(step.data.get("branch_ids") or [])
    step.data["branch_ids"] = (
        [b for b in chosen if b != branch.id] if branch.id in chosen else [*chosen, branch.id]
    )
    await _show_branches(context, step)
    return BRANCHES


@FLOW.step(registered=True, roles=ADMINS)
async def branches_page_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Another page of the branch picker (the choices on other pages are kept)."""
    step.data["branch_page"] = BranchesPage.read(update).page
    await _show_branches(context, step)
    return BRANCHES


@FLOW.step(registered=True, roles=ADMINS)
async def branches_done(update: Update, context: BotContext, step: Step) -> str | None:
    """The branches are chosen: ask about acknowledgement (at least one branch first)."""
    if not step.data.get("branch_ids"):
        raise Refused(context._("Choose at least one branch."))
    step.edit(*_ack_question(context))
    return ACK


# ---- acknowledgement, time, preview and confirmation -------------------------------------------


def _ack_question(context: BotContext) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [(context._("Yes, ask readers to acknowledge"), AckChoice(True).data)],
        [(context._("No acknowledgement needed"), AckChoice(False).data)],
    ]
    return context._("Should readers acknowledge the notice?"), keyboard(rows)


@FLOW.step(registered=True, roles=SENDERS)
async def ack_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store whether acknowledgement is required; ask when to send."""
    step.data["ack"] = AckChoice.read(update).required
    rows = [
        [(context._("Send now"), WhenChoice("now").data)],
        [(context._("Choose a time"), WhenChoice("later").data)],
    ]
    step.edit(context._("When should it go out?"), keyboard(rows))
    return WHEN


@FLOW.step(registered=True, roles=SENDERS)
async def when_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Send now (to the preview), or ask for a time."""
    step.data["send_at"] = None
    if WhenChoice.read(update).when == "later":
        step.edit(_time_question(context))
        return AT
    await _preview(context, step)
    return CONFIRM


def _time_question(context: BotContext) -> str:
    now = context.settings.now()
    tomorrow = (now + dt.timedelta(days=1)).astimezone(context.tr.tz)
    return context._(
        "Send the time as YYYY-MM-DD HH:MM, MM-DD HH:MM or HH:MM ({zone} time). It is now {now}; "
        "for example: {example}"
    ).format(
        zone=context.tr.time_zone,
        now=context.tr.datetime(now),
        example=tomorrow.strftime("%Y-%m-%d 09:00"),
    )


@FLOW.step(registered=True, roles=SENDERS)
async def time_typed(update: Update, context: BotContext, step: Step) -> str | None:
    """Parse the chosen time; it must be in the future."""
    message = update.effective_message
    now = context.settings.now()
    moment = parse_future_datetime((message.text or "") if message else "", now, context.tr.tz)
    if moment is None:
        step.reply(context._("I could not read that as a time in the future. Please try again."))
        step.reply(_time_question(context))
        return None
    step.data["send_at"] = moment.isoformat()
    await _preview(context, step)
    return CONFIRM


async def _preview(context: BotContext, step: Step) -> None:
    """Queue each language version exactly as readers will get it, then the summary."""
    org = await _draft_org(context, step)
    preview: Preview = await preview_of(context, step.session, org, step.data)

    async def send(update: Update, context: BotContext) -> None:
        await send_preview(update, context, preview)

    step.then(send)


@FLOW.step(registered=True, roles=SENDERS)
async def confirm_pressed(update: Update, context: BotContext, step: Step) -> int:
    """Store the notice (the worker sends it) and turn the summary into its status."""
    org = await _draft_org(context, step)
    query = update.callback_query
    message = query.message if query is not None and isinstance(query.message, Message) else None
    data = step.data
    now = context.settings.now()
    confirmed = await confirm_notice(
        step.session,
        org=org,
        actor=context.account,
        audience=NoticeAudience(data["audience"]),
        branch_ids=[int(b) for b in data.get("branch_ids") or []],
        texts=dict(data["texts"]),
        primary_locale=str(data["primary"]),
        require_ack=bool(data.get("ack")),
        media_kind=data.get("media_kind"),
        media_file_id=data.get("media_file_id"),
        send_at=dt.datetime.fromisoformat(data["send_at"]) if data.get("send_at") else None,
        now=now,
        chat_id=message.chat_id if message else None,
        message_id=message.message_id if message else None,
    )
    notice = confirmed.notice
    if confirmed.goes_at <= now:
        text = context._("Notice #{id} is going out.").format(id=notice.id)
    else:
        text = context._("Notice #{id} is scheduled for {time}.").format(
            id=notice.id, time=context.tr.datetime(confirmed.goes_at)
        )
    # Stored as scheduled (held, or for later): it can be stopped.
    step.edit(text, status_keyboard(context.tr, notice.id, NoticeAction.STOP))

    async def release(update: Update, context: BotContext) -> None:
        # Shown first: only now may the worker report progress on this message.
        if confirmed.held:
            async with context.db.begin() as session:
                await release_notice(session, notice.id, confirmed.goes_at)
        service: DeliveryService | None = context.application.bot_data.get(DELIVERY_KEY)
        if service is not None:
            service.wake()

    step.then(release)
    return ConversationHandler.END


@FLOW.step(registered=True, roles=SENDERS)
async def drop_pressed(update: Update, context: BotContext, step: Step) -> int:
    """Drop the previewed notice."""
    step.edit(context._("Cancelled. Nothing was sent."))
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    if draft.state in (TEXT, TEXT2):
        primary = str(draft.data.get("primary", context.tr.locale))
        locale = other_locale(primary) if draft.state == TEXT2 else primary
        await answer(update, context, _text_question(context, locale))
    elif draft.state == AT:
        await answer(update, context, _time_question(context))
    else:
        await answer(
            update, context, context._("Please use the buttons above, or send /cancel to stop.")
        )


def build() -> ConversationHandler[BotContext]:
    """The /notify conversation."""
    text = f.TEXT & ~f.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("notify", start_notify)],
        states={
            ORG: [CallbackQueryHandler(org_pressed, pattern=NotifyFrom.pattern)],
            TEXT: [MessageHandler((f.TEXT | f.PHOTO | f.Document.ALL) & ~f.COMMAND, text_received)],
            SECOND: [CallbackQueryHandler(second_pressed, pattern=SecondLanguage.pattern)],
            TEXT2: [MessageHandler(text, second_text_received)],
            AUDIENCE: [CallbackQueryHandler(audience_pressed, pattern=AudienceChoice.pattern)],
            BRANCHES: [
                CallbackQueryHandler(branch_pressed, pattern=ToggleBranch.pattern),
                CallbackQueryHandler(branches_page_pressed, pattern=BranchesPage.pattern),
                CallbackQueryHandler(branches_done, pattern=BranchesDone.pattern),
            ],
            ACK: [CallbackQueryHandler(ack_pressed, pattern=AckChoice.pattern)],
            WHEN: [CallbackQueryHandler(when_pressed, pattern=WhenChoice.pattern)],
            AT: [MessageHandler(text, time_typed)],
            CONFIRM: [
                CallbackQueryHandler(confirm_pressed, pattern=ConfirmNotice.pattern),
                CallbackQueryHandler(drop_pressed, pattern=DropNotice.pattern),
            ],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="ntf"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
