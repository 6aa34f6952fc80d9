"""/start: registration by invite code, asking a newcomer's name and optional phone."""

from __future__ import annotations

import datetime as dt

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.grading.mass_codes import MASS_CODE_PREFIX
from bot.invites import Redeem, complete_registration, consume, redeem
from bot.rules.phones import InvalidPhone, PhoneProblem, parse_phone
from handlers import grading_survey
from handlers.buttons import Button
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    ROLE_LABELS,
    answer,
    clean_text,
    escape,
    keyboard,
    phone_problem_text,
)
from handlers.flow import Flow, Step
from storage.models import Account, Invite, OrgUnit

FLOW = Flow("register")
ASK_NAME, ASK_PHONE = "name", "phone"


class SkipPhone(Button, prefix="reg:skip"):
    """Register without a phone number."""


@FLOW.step(entry=True)
async def start(update: Update, context: BotContext, step: Step) -> str | int | None:
    """Greet, or redeem the invite code given with /start."""
    code = context.args[0] if context.args else None
    if code is None:
        step.then(greet)
        return ConversationHandler.END
    if code.lower().startswith(MASS_CODE_PREFIX):
        # A one-time code of the masses' satisfaction survey, not an invite.
        survey_code = code[len(MASS_CODE_PREFIX) :]

        async def open_survey(update: Update, context: BotContext) -> None:
            await grading_survey.start_mass_survey(update, context, survey_code)

        step.then(open_survey)
        return ConversationHandler.END
    settings = context.settings
    account = await step.session.get(Account, context.actor_id)
    assert account is not None
    result = await redeem(
        step.session,
        code=code,
        account=account,
        now=settings.now(),
        max_failures=settings.invite_max_failures,
        window=dt.timedelta(minutes=settings.invite_failure_window_minutes),
    )
    invite = result.invite
    if result.outcome is Redeem.NEEDS_NAME and invite is not None:
        step.data["invite_id"] = invite.id
        step.then(ask_name)
        return ASK_NAME
    if result.outcome in (Redeem.LINKED, Redeem.ROLE_ADDED) and invite is not None:
        org = await step.session.get(OrgUnit, invite.org_unit_id)
        step.reply(_welcome(context, account, invite, org))
        return ConversationHandler.END
    step.reply(_refusal_text(context, result.outcome, result.retry_after))
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
        keyboard([[(context._("Skip"), SkipPhone().data)]]),
    )


@FLOW.step()
async def receive_name(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the name and ask for the phone."""
    message = update.effective_message
    name = clean_text(message.text if message else None, limit=50)
    if name is None:
        step.reply(context._("Please send your name as text, at most 50 characters."))
        return None
    step.data["name"] = name
    step.then(ask_phone)
    return ASK_PHONE


@FLOW.step()
async def receive_phone(update: Update, context: BotContext, step: Step) -> str | int | None:
    """Store the optional phone, use the invite and finish registration."""
    if step.state != ASK_PHONE:
        return None
    phone: str | None = None
    if update.callback_query is None:
        text = (update.effective_message.text or "") if update.effective_message else ""
        try:
            phone = parse_phone(text)
        except InvalidPhone as invalid:
            step.reply(phone_problem_text(context, invalid.problem))
            return None
        if phone is None:
            step.reply(phone_problem_text(context, PhoneProblem.NOT_A_PHONE))
            return None
    account = await step.session.get(Account, context.actor_id)
    assert account is not None
    invite = await consume(step.session, int(step.data["invite_id"]), context.settings.now())
    if invite is None:
        step.reply(
            context._(
                "Sorry, this invite expired or was used up while you were registering. "
                "Please ask for a new one."
            )
        )
        return ConversationHandler.END
    await complete_registration(
        step.session,
        invite=invite,
        account=account,
        name=str(step.data.get("name")),
        phone=phone,
    )
    org = await step.session.get(OrgUnit, invite.org_unit_id)
    step.reply(_welcome(context, account, invite, org))
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
                CallbackQueryHandler(receive_phone, pattern=SkipPhone.pattern),
            ],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="reg"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
