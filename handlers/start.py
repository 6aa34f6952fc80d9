"""/start: registration by invite code, asking a newcomer's name and optional phone.

Nothing is stored about a newcomer before they agree to the privacy notice: /start with a
valid code shows the notice with buttons that carry the code; only "I agree" creates their
account (and a draft), so a stranger who walks away leaves no trace but, for a wrong code, a
keyed hash of their id in the throttling records for a few minutes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import privacy
from bot.accounts import translator_for
from bot.context import BotContext
from bot.grading.mass_codes import MASS_CODE_PREFIX
from bot.invites import (
    CODE_PATTERN,
    InvitePolicy,
    Redeem,
    RedeemResult,
    check_code,
    complete_registration,
    consume,
    namesake_branch,
    normalise,
    redeem,
)
from bot.rules.phones import InvalidPhone, PhoneProblem, parse_phone
from handlers import grading_survey
from handlers.buttons import Button, Token
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
from handlers.privacy_texts import declined_text, privacy_notice
from storage.models import Account, Invite, OrgUnit

FLOW = Flow("register")
ASK_NAME, ASK_PHONE = "name", "phone"


class SkipPhone(Button, prefix="reg:skip"):
    """Register without a phone number."""


class Agree(Button, prefix="reg:ok"):
    """Agree to the privacy notice and go on with this invite code."""

    code: Annotated[str, Token(CODE_PATTERN, "K7PXM2Q9RTAB")]


class Decline(Button, prefix="reg:no"):
    """Do not agree: nothing is stored."""


def _needs_consent(account: Account | None) -> bool:
    # Accounts from before the notice existed belong to registered people: the organisation
    # put them on its roster; they are not asked again.
    return account is None or (account.person_id is None and account.consented_at is None)


@FLOW.step(entry=True)
async def start(update: Update, context: BotContext, step: Step) -> str | int | None:
    """Greet, or take the invite code given with /start (asking consent first when needed)."""
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
    if not _needs_consent(context.account):
        return await _redeem(update, context, step, code)
    result = await _check(update, context, step, code)
    if not result.usable:
        step.reply(_refusal_text(context, result.outcome, result.retry_after))
        return ConversationHandler.END
    buttons = [
        [(context._("I agree"), Agree(normalise(code)).data)],
        [(context._("No, thanks"), Decline().data)],
    ]
    step.reply(privacy_notice(context, "register"), keyboard(buttons))
    return ConversationHandler.END


async def _check(update: Update, context: BotContext, step: Step, code: str) -> RedeemResult:
    assert update.effective_user is not None
    return await check_code(
        step.session,
        code=code,
        telegram_id=update.effective_user.id,
        account=context.account,
        now=context.settings.now(),
        policy=InvitePolicy.of(context.settings),
    )


@FLOW.step(entry=True)
async def agree_pressed(update: Update, context: BotContext, step: Step) -> str | int | None:
    """The newcomer agreed: their account starts now; go on with the invite."""
    code = Agree.read(update).code
    result = await _check(update, context, step, code)
    if not result.usable:
        step.edit(_refusal_text(context, result.outcome, result.retry_after))
        return ConversationHandler.END
    user = update.effective_user
    assert user is not None
    if _needs_consent(context.account):
        context.account = await privacy.consent(
            step.session,
            telegram_id=user.id,
            language_code=user.language_code,
            username=user.username,
            now=context.settings.now(),
        )
    step.edit(context._("Thank you. Your consent is recorded."))
    return await _redeem(update, context, step, code)


@FLOW.step(entry=True)
async def decline_pressed(update: Update, context: BotContext, step: Step) -> int:
    """The newcomer does not agree: say that nothing was stored."""
    step.edit(declined_text(context))
    return ConversationHandler.END


async def _redeem(update: Update, context: BotContext, step: Step, code: str) -> str | int:
    account = context.account
    assert account is not None
    result = await redeem(
        step.session,
        code=code,
        account=account,
        now=context.settings.now(),
        policy=InvitePolicy.of(context.settings),
    )
    invite = result.invite
    if result.outcome is Redeem.NEEDS_NAME and invite is not None:
        step.data["invite_id"] = invite.id
        step.then(ask_name)
        return ASK_NAME
    if result.outcome in (Redeem.LINKED, Redeem.ROLE_ADDED) and invite is not None:
        org = await step.session.get(OrgUnit, invite.org_unit_id)
        step.then(_sender(_welcome(context, account, invite, org)))
        return ConversationHandler.END
    step.then(_sender(_refusal_text(context, result.outcome, result.retry_after)))
    return ConversationHandler.END


def _sender(text: str) -> Callable[[Update, BotContext], Awaitable[object]]:
    """A new message (also after the pressed message was edited, whose query is answered)."""

    async def send(update: Update, context: BotContext) -> None:
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)

    return send


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
        Redeem.REVOKED: _("This invite was withdrawn. Please ask for a new one."),
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
        Redeem.ALREADY: _(
            "You are already registered with what this invite gives, so it was not used: "
            "it still works for the person it was meant for."
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
        + context._("Away from your branch, or lost contact with it? Send /relink.")
        + "\n\n"
        + context._(
            "Nothing about you is stored until you agree to the privacy notice shown when you "
            "register or make a request."
        ),
    )


async def ask_name(update: Update, context: BotContext) -> None:
    """Ask for the newcomer's name."""
    text = context._(
        "Your invite is valid. What is your full name, as it appears on the branch roster?"
    )
    if update.callback_query is not None and update.effective_chat is not None:
        # The pressed message was edited (answering the press); the question comes below it.
        await context.bot.send_message(update.effective_chat.id, text)
        return
    await answer(update, context, text)


async def ask_phone(update: Update, context: BotContext) -> None:
    """Ask for an optional phone number."""
    await answer(
        update,
        context,
        context._("Your phone number, so the branch can reach you (optional):"),
        keyboard([[(context._("Skip"), SkipPhone().data)]]),
    )


@FLOW.step()
async def receive_name(update: Update, context: BotContext, step: Step) -> str | int | None:
    """Store the name and ask for the phone."""
    message = update.effective_message
    name = clean_text(message.text if message else None, limit=50)
    if name is None:
        step.reply(context._("Please send your name as text, at most 50 characters."))
        return None
    invite_id = int(step.data.get("invite_id", 0))
    org = await namesake_branch(step.session, invite_id, name)
    if org is not None:
        branch = org.display_name(context.tr.locale)
        step.reply(
            context._(
                "{name} is already on the roster of {branch}, so you were not registered and "
                "the invite was not used. Please ask whoever sent it: they will tell whether "
                "you are that person."
            ).format(name=escape(name), branch=escape(branch))
        )
        await _tell_inviter(context, step, invite_id, name)
        return ConversationHandler.END
    step.data["name"] = name
    step.then(ask_phone)
    return ASK_PHONE


async def _tell_inviter(context: BotContext, step: Step, invite_id: int, name: str) -> None:
    """Let the inviter decide about a newcomer who gave a name already on the roster."""
    invite = await step.session.get(Invite, invite_id)
    inviter = await step.session.get(Account, invite.created_by) if invite else None
    org = await step.session.get(OrgUnit, invite.org_unit_id) if invite else None
    if inviter is None or org is None:
        return
    tr = translator_for(inviter, context.settings, None)
    text = tr._(
        "Someone who opened your invite to {branch} gave the name {name}, which is already on "
        "its roster. They were not registered and the invite was not used. If they are that "
        "person, send them an invite in that name; if not, tell them how their name differs."
    ).format(name=escape(name), branch=escape(org.display_name(tr.locale)))
    chat_id = inviter.telegram_id

    async def send(update: Update, context: BotContext) -> None:
        await context.bot.send_message(chat_id, text)

    step.then(send)


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
    account = context.account
    assert account is not None
    invite = await consume(step.session, int(step.data.get("invite_id", 0)), context.settings.now())
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
        entry_points=[
            CommandHandler("start", start),
            CallbackQueryHandler(agree_pressed, pattern=Agree.pattern),
            CallbackQueryHandler(decline_pressed, pattern=Decline.pattern),
        ],
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
