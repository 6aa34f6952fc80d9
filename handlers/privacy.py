"""Privacy: consent before /relink stores anything, /mydata, /forgetme and the admins' decision.

Every button that names a deletion request loads it and checks, on every press, that the
presser is an admin of the subtree the request belongs to and not the person it is about.
"""

from __future__ import annotations

import json
import logging
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, CommandHandler

from bot import privacy
from bot.accounts import translator_for
from bot.commands import ADMINS
from bot.context import BotContext
from bot.enums import DeletionState
from bot.i18n import Translator
from handlers.buttons import Button
from handlers.common import Refused, answer, edit_or_answer, escape, keyboard, sender
from handlers.privacy_texts import (
    DeletionAsk,
    DeletionCard,
    DeletionConfirm,
    DeletionDecline,
    declined_text,
    privacy_notice,
)
from storage import access_queries
from storage.models import Account, DeletionRequest, OrgUnit, Person

log = logging.getLogger(__name__)


class Consent(Button, prefix="pv:ok"):
    """Agree to the privacy notice shown before a request (only /relink asks it this way)."""

    purpose: Literal["relink"]


class NoConsent(Button, prefix="pv:no"):
    """Do not agree: nothing is stored."""


class FileDeletion(Button, prefix="pv:fg"):
    """/forgetme: file the request."""


class KeepData(Button, prefix="pv:keep"):
    """/forgetme: never mind."""


# ---- consent before /relink ------------------------------------------------------------------


@sender()
async def relink_consent_gate(update: Update, context: BotContext) -> None:
    """/relink from someone with no account: the privacy notice first, /relink itself after."""
    if context.account is not None:
        return  # on to the /relink conversation
    rows = [
        [(context._("I agree"), Consent("relink").data)],
        [(context._("No, thanks"), NoConsent().data)],
    ]
    await answer(update, context, privacy_notice(context, "relink"), keyboard(rows))
    raise ApplicationHandlerStop


@sender()
async def consent_pressed(update: Update, context: BotContext) -> None:
    """Record the consent; the person sends /relink again to make their request."""
    Consent.read(update)
    user = update.effective_user
    assert user is not None
    async with context.db.begin() as session:
        await privacy.consent(
            session,
            telegram_id=user.id,
            language_code=user.language_code,
            username=user.username,
            now=context.settings.now(),
        )
    await edit_or_answer(
        update,
        context,
        context._("Thank you. Your consent is recorded. Now send /relink to make your request."),
    )


@sender()
async def consent_refused(update: Update, context: BotContext) -> None:
    """Nothing stored."""
    await edit_or_answer(update, context, declined_text(context))


# ---- /mydata ---------------------------------------------------------------------------------


@sender()
async def my_data(update: Update, context: BotContext) -> None:
    """Send everything stored about the sender as a JSON file."""
    chat = update.effective_chat
    if context.account is None or chat is None:
        await answer(update, context, context._("Nothing about you is stored."))
        return
    now = context.settings.now()
    async with context.db.begin() as session:
        account = await session.get(Account, context.actor_id)
        assert account is not None
        document = await privacy.personal_data(session, account, now)
    data = json.dumps(document, ensure_ascii=False, indent=2).encode()
    day = now.astimezone(context.tr.tz).date().isoformat()
    await context.bot.send_document(
        chat.id,
        data,
        filename=f"zhibu-my-data-{day}.json",
        caption=context._("Everything Zhibu stores about you, as of now."),
    )


# ---- /forgetme -------------------------------------------------------------------------------


@sender(registered=True)
async def forget_me(update: Update, context: BotContext) -> None:
    """Explain what deletion means and ask to confirm the request."""
    text = context._(
        "You can ask for your personal data to be deleted. An admin of your branch confirms "
        "it; then your name, phone number and Telegram account are erased everywhere, your "
        "roles end and you leave the roster. Records Party rules require (activity "
        "attendance, requests, trainings) are kept without your name.\n\nFile the request?"
    )
    rows = [
        [(context._("File the deletion request"), FileDeletion().data)],
        [(context._("Cancel"), KeepData().data)],
    ]
    await answer(update, context, text, keyboard(rows))


@sender()
async def keep_pressed(update: Update, context: BotContext) -> None:
    """Nothing filed."""
    await edit_or_answer(update, context, context._("Nothing was filed."))


@sender(registered=True)
async def file_pressed(update: Update, context: BotContext) -> None:
    """File the request and tell the admins who decide it."""
    notices: list[tuple[int, str, InlineKeyboardMarkup]] = []
    async with context.db.begin() as session:
        account = await session.get(Account, context.actor_id)
        assert account is not None and account.person_id is not None
        person = await access_queries.person_by_id(session, account.person_id)
        assert person is not None
        filed = await privacy.request_deletion(
            session, account=account, person=person, now=context.settings.now()
        )
        if isinstance(filed, privacy.Filed) and filed.new:
            org = await session.get(OrgUnit, filed.request.org_unit_id)
            assert org is not None
            for admin in await access_queries.admin_accounts_over(session, org.path):
                if admin.id != account.id and admin.telegram_id > 0:
                    tr = translator_for(admin, context.settings, None)
                    notices.append((admin.telegram_id, *_card(tr, filed.request, person)))
    if not isinstance(filed, privacy.Filed):
        await edit_or_answer(
            update,
            context,
            context._(
                "There is no admin who could decide this for you. Please ask the organisation "
                "department."
            ),
        )
        return
    await edit_or_answer(
        update,
        context,
        context._(
            "Your request #{id} was filed. An admin of your branch decides it; I will tell you "
            "here."
        ).format(id=filed.request.id),
    )
    for chat_id, text, markup in notices:
        await _notify(context, chat_id, text, markup)


async def _notify(
    context: BotContext, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    try:
        await context.bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramError as exc:
        log.warning("privacy notice to chat %s failed: %s", chat_id, exc)


def _card(
    tr: Translator, request: DeletionRequest, person: Person
) -> tuple[str, InlineKeyboardMarkup]:
    text = tr._(
        "<b>Deletion request #{id}</b> from {name}: they ask for their personal data to be "
        "deleted. Confirmed, their name, phone and Telegram account are erased; the records "
        "Party rules require are kept without their name."
    ).format(id=request.id, name=escape(person.name))
    markup = keyboard(
        [
            [(tr._("Delete their data"), DeletionAsk(request.id).data)],
            [(tr._("Decline"), DeletionDecline(request.id).data)],
        ]
    )
    return text, markup


# ---- the admin's decision ----------------------------------------------------------------------


async def _checked_request(
    context: BotContext, session: AsyncSession, request_id: int
) -> tuple[DeletionRequest, Person]:
    """The open request, if the presser is an admin over it and not its subject."""
    request = await access_queries.deletion_request_by_id(session, request_id)
    if request is None or not context.principal.is_admin_of(request.org_unit.path):
        raise Refused()
    if request.person_id == context.principal.person_id:
        raise Refused()
    if request.state is not DeletionState.OPEN:
        raise Refused(context._("This request was already decided."))
    person = await access_queries.person_by_id(session, request.person_id)
    assert person is not None  # FK guarantees it
    return request, person


@sender(registered=True, roles=ADMINS)
async def card_pressed(update: Update, context: BotContext) -> None:
    """Show a deletion request with its buttons."""
    request_id = DeletionCard.read(update).request_id
    async with context.db() as session:
        request, person = await _checked_request(context, session, request_id)
    await edit_or_answer(update, context, *_card(context.tr, request, person))


@sender(registered=True, roles=ADMINS)
async def delete_asked(update: Update, context: BotContext) -> None:
    """Ask the admin to confirm the deletion, naming what will happen."""
    request_id = DeletionAsk.read(update).request_id
    async with context.db() as session:
        _request, person = await _checked_request(context, session, request_id)
    text = context._(
        "Delete the personal data of {name} now? Their name, phone number and Telegram account "
        "are erased, their roles end and they leave the roster. This cannot be undone."
    ).format(name=escape(person.name))
    rows = [
        [(context._("Yes, delete"), DeletionConfirm(request_id).data)],
        [(context._("Back"), DeletionCard(request_id).data)],
    ]
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def delete_confirmed(update: Update, context: BotContext) -> None:
    """Erase the person's data and tell them (before their account forgets them)."""
    await _decide(update, context, DeletionConfirm.read(update).request_id, confirm=True)


@sender(registered=True, roles=ADMINS)
async def decline_pressed(update: Update, context: BotContext) -> None:
    """Decline the request and tell the person."""
    await _decide(update, context, DeletionDecline.read(update).request_id, confirm=False)


async def _decide(update: Update, context: BotContext, request_id: int, *, confirm: bool) -> None:
    async with context.db.begin() as session:
        request, person = await _checked_request(context, session, request_id)
        name = person.name
        subject = await access_queries.account_of_person(session, person.id)
        reader = (
            (subject.telegram_id, translator_for(subject, context.settings, None))
            if subject is not None
            else None
        )
        actor = await session.get(Account, context.actor_id)
        await privacy.decide_deletion(
            session, request=request, confirm=confirm, actor=actor, now=context.settings.now()
        )
    if confirm:
        done = context._("The personal data of {name} was deleted (request #{id}).")
    else:
        done = context._("Request #{id} of {name} was declined.")
    await edit_or_answer(update, context, done.format(name=escape(name), id=request_id))
    if reader is not None:
        chat_id, tr = reader
        if confirm:
            told = tr._("As you asked, your personal data was deleted (request #{id}). Goodbye.")
        else:
            told = tr._(
                "Your deletion request #{id} was declined. Please ask your branch's admin why."
            )
        await _notify(context, chat_id, told.format(id=request_id))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """The handlers of this module (the /relink gate goes in its own group: see bot.app)."""
    return [
        CommandHandler("mydata", my_data),
        CommandHandler("forgetme", forget_me),
        CallbackQueryHandler(consent_pressed, pattern=Consent.pattern),
        CallbackQueryHandler(consent_refused, pattern=NoConsent.pattern),
        CallbackQueryHandler(file_pressed, pattern=FileDeletion.pattern),
        CallbackQueryHandler(keep_pressed, pattern=KeepData.pattern),
        CallbackQueryHandler(card_pressed, pattern=DeletionCard.pattern),
        CallbackQueryHandler(delete_asked, pattern=DeletionAsk.pattern),
        CallbackQueryHandler(delete_confirmed, pattern=DeletionConfirm.pattern),
        CallbackQueryHandler(decline_pressed, pattern=DeletionDecline.pattern),
    ]


def relink_gate() -> CommandHandler[BotContext, None]:
    """/relink from someone with no account is answered with the privacy notice first."""
    return CommandHandler("relink", relink_consent_gate)
