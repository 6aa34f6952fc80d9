"""/start: registration by invite code, asking a newcomer's name and optional phone."""

from __future__ import annotations

import datetime as dt
import re

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.conversation import Flow
from bot.grading.service import MASS_CODE_PREFIX
from bot.invites import Redeem, complete_registration, consume, redeem
from handlers import grading_survey
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    ROLE_LABELS,
    answer,
    clean_text,
    escape,
    keyboard,
    sender,
)
from storage.models import Account, Invite, OrgUnit

FLOW = Flow("register")
ASK_NAME, ASK_PHONE = "name", "phone"
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")


@sender()
async def start(update: Update, context: BotContext) -> str | int | None:
    """Greet, or redeem the invite code given with /start."""
    code = context.args[0] if context.args else None
    if code is None:
        await greet(update, context)
        return ConversationHandler.END
    if code.lower().startswith(MASS_CODE_PREFIX):
        # A one-time code of the masses' satisfaction survey, not an invite.
        await grading_survey.start_mass_survey(update, context, code[len(MASS_CODE_PREFIX) :])
        return ConversationHandler.END
    settings = context.settings
    async with context.db.begin() as session:
        account = await session.get(Account, context.account.id) if context.account else None
        assert account is not None
        result = await redeem(
            session,
            code=code,
            account=account,
            now=settings.now(),
            max_failures=settings.invite_max_failures,
            window=dt.timedelta(minutes=settings.invite_failure_window_minutes),
        )
        invite, welcome = result.invite, None
        if result.outcome is Redeem.NEEDS_NAME and invite is not None:
            await FLOW.save(session, update, state=ASK_NAME, data={"invite_id": invite.id})
        elif result.outcome in (Redeem.LINKED, Redeem.ROLE_ADDED) and invite is not None:
            org = await session.get(OrgUnit, invite.org_unit_id)
            welcome = _welcome(context, account, invite, org)
    # Replies go out after the commit: no database lock is held across a network call.
    if welcome is not None:
        await answer(update, context, welcome)
        return ConversationHandler.END
    if result.outcome is Redeem.NEEDS_NAME:
        await ask_name(update, context)
        return ASK_NAME
    await answer(update, context, _refusal_text(context, result.outcome, result.retry_after))
    return ConversationHandler.END


def _refusal_text(context: BotContext, outcome: Redeem, retry_after: dt.timedelta | None) -> str:
    _ = context._
    if outcome is Redeem.THROTTLED:
        minutes = max(1, int((retry_after or dt.timedelta(minutes=1)).total_seconds() + 59) // 60)
        return _("Too many wrong codes. Please wait {minutes} min and try again.").format(
            minutes=minutes
        )
    texts = {
        Redeem.UNKNOWN: _("This invite code is not valid. Check it, or ask for a new invite."),
        Redeem.EXPIRED: _("This invite code has expired. Please ask for a new one."),
        Redeem.USED_UP: _("This invite code has already been used. Please ask for a new one."),
        Redeem.PERSON_TAKEN: _(
            "This invite is for someone who is already registered with another "
            "Telegram account. Please ask whoever sent it."
        ),
        Redeem.OTHER_PERSON: _(
            "You are already registered as someone else; this invite is not for you."
        ),
        Redeem.OTHER_BRANCH: _(
            "You are already on the roster of another branch. Ask your "
            "secretary to transfer you instead."
        ),
    }
    return texts[outcome]


def _welcome(context: BotContext, account: Account, invite: Invite, org: OrgUnit | None) -> str:
    name = account.person.name if account.person else ""
    org_name = org.display_name(context.tr.locale) if org else ""
    return context._(
        "Welcome, {name}! You are registered as {role} of {org}. Send /help to see what you can do."
    ).format(name=escape(name), role=context._(ROLE_LABELS[invite.role]), org=escape(org_name))


async def greet(update: Update, context: BotContext) -> None:
    """Explain what the bot is and how to get an invite."""
    account = context.account
    if account is not None and account.person is not None:
        await answer(
            update,
            context,
            context._("Welcome back, {name}. Send /help to see what you can do.").format(
                name=escape(account.person.name)
            ),
        )
        return
    await answer(
        update,
        context,
        context._(
            "Hello! I am Zhibu, the assistant for Party branch work: logging branch activities, "
            "grading, reminders and notices.\n\nTo register, open the invite link that your branch "
            "secretary or the organisation department gave you, or send /start followed by the "
            "invite code. Send /lang to change the language."
        )
        + "\n\n"
        + context._("Away from your branch, or lost contact with it? Send /relink."),
    )


async def ask_name(update: Update, context: BotContext) -> None:
    """Ask for the newcomer's name."""
    await answer(
        update,
        context,
        context._(
            "Your invite is valid. What is your full name, as it appears on the branch roster?"
        ),
    )


async def ask_phone(update: Update, context: BotContext) -> None:
    """Ask for an optional phone number."""
    await answer(
        update,
        context,
        context._("Your phone number, so the branch can reach you (optional):"),
        keyboard([[(context._("Skip"), "reg:skip")]]),
    )


@sender()
async def receive_name(update: Update, context: BotContext) -> str | None:
    """Store the name and ask for the phone."""
    message = update.effective_message
    name = clean_text(message.text if message else None, limit=50)
    if name is None:
        await answer(
            update, context, context._("Please send your name as text, at most 50 characters.")
        )
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return draft.state
        await FLOW.save(session, update, state=ASK_PHONE, data={**draft.data, "name": name})
    await ask_phone(update, context)
    return ASK_PHONE


@sender()
async def receive_phone(update: Update, context: BotContext) -> str | int | None:
    """Store the optional phone, use the invite and finish registration."""
    phone: str | None = None
    if update.callback_query is None:
        text = (update.effective_message.text or "") if update.effective_message else ""
        if not _PHONE_RE.match(text.strip()):
            await answer(
                update,
                context,
                context._(
                    "That doesn't look like a phone number. Send digits only, or press Skip."
                ),
            )
            return None
        phone = text.strip()
    now = context.settings.now()
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update) or draft.state != ASK_PHONE:
            return draft.state
        account = await session.get(Account, context.account.id) if context.account else None
        assert account is not None
        invite = await consume(session, int(draft.data["invite_id"]), now)
        await FLOW.end(session, update)
        if invite is None:
            text = context._(
                "Sorry, this invite expired or was used up while you were registering. "
                "Please ask for a new one."
            )
        else:
            await complete_registration(
                session,
                invite=invite,
                account=account,
                name=str(draft.data.get("name")),
                phone=phone,
            )
            org = await session.get(OrgUnit, invite.org_unit_id)
            text = _welcome(context, account, invite, org)
    await answer(update, context, text)
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    if draft.state == ASK_PHONE:
        await ask_phone(update, context)
    else:
        await ask_name(update, context)


def build() -> ConversationHandler[BotContext]:
    """The /start conversation."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            ASK_NAME: [MessageHandler(text, receive_name)],
            ASK_PHONE: [
                MessageHandler(text, receive_phone),
                CallbackQueryHandler(receive_phone, pattern=r"^reg:skip$"),
            ],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="reg"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
