"""/me, /help and /lang."""

from __future__ import annotations

from typing import Literal, get_args

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.commands import commands_for
from bot.context import BotContext
from bot.enums import PersonStatus, Role
from bot.i18n import Translator
from handlers.buttons import Button
from handlers.common import ROLE_LABELS, answer, edit_or_answer, escape, keyboard, sender
from handlers.language_texts import language_word
from storage import queries
from storage.models import Account

# Language names are shown in their own language, so they are not translated.
LANGUAGE_NAMES = {"zh_Hans": "中文（简体）", "en": "English"}
# bot.config.SUPPORTED_LOCALES, as button values.
Locale = Literal["zh_Hans", "en"]


class LanguageButton(Button, prefix="lang"):
    """Write to me in this language."""

    locale: Locale


@sender()
async def me(update: Update, context: BotContext) -> None:
    """Show the sender's name, branch, roles and preferences."""
    _ = context._
    account, principal = context.account, context.principal
    if account is None or account.person is None:
        await answer(
            update, context, _("You are not registered yet. Send /start to see how to register.")
        )
        return
    person = account.person
    locale = context.tr.locale
    lines = [_("<b>{name}</b>").format(name=escape(person.name))]
    if person.branch is not None:
        lines.append(
            _("Branch: {branch}").format(branch=escape(person.branch.display_name(locale)))
        )
    status = {
        PersonStatus.REGULAR: _("regular"),
        PersonStatus.MOBILE: _("mobile member"),
        PersonStatus.LOST_CONTACT: _("lost contact"),
    }[person.status]
    lines.append(_("Status: {status}").format(status=status))
    # The nodes by name, as the reader knows them (codes are the organisation's bookkeeping).
    async with context.db() as session:
        orgs = {g.org_id: await queries.org_by_id(session, g.org_id) for g in principal.grants}
    roles = []
    for grant in principal.grants:
        org = orgs[grant.org_id]
        name = org.display_name(locale) if org is not None else grant.org_code
        roles.append(_("{role} of {org}").format(role=_(ROLE_LABELS[grant.role]), org=escape(name)))
    if person.branch is not None:
        roles.append(_(ROLE_LABELS[Role.MEMBER]))
    lines.append(_("Roles: {roles}").format(roles=_(", ").join(roles)))
    lines.append(
        _("Language: {language}; time zone: {zone}").format(
            language=language_word(context, locale), zone=context.tr.time_zone
        )
    )
    await answer(update, context, "\n".join(lines))


@sender()
async def help_command(update: Update, context: BotContext) -> None:
    """List the commands the sender's roles allow."""
    _ = context._
    lines = [_("What you can do:")]
    for command in commands_for(context.principal):
        lines.append(f"/{command.name} — {_(command.description)}")
    if not context.principal.registered:
        lines.append("")
        lines.append(_("More commands appear once you have registered with an invite."))
    await answer(update, context, "\n".join(lines))


def _language_keyboard() -> list[list[tuple[str, str]]]:
    return [[(LANGUAGE_NAMES[loc], LanguageButton(loc).data) for loc in get_args(Locale)]]


@sender()
async def lang(update: Update, context: BotContext) -> None:
    """Offer the languages as buttons."""
    await answer(
        update, context, context._("Choose your language:"), keyboard(_language_keyboard())
    )


@sender()
async def set_language(update: Update, context: BotContext) -> None:
    """Store the chosen language and confirm in it (for someone with no account, nothing is
    stored: the choice holds for this answer only)."""
    locale = LanguageButton.read(update).locale
    tr = Translator(locale, context.tr.time_zone)
    context.use_translator(tr)
    if context.account is None:
        await edit_or_answer(
            update,
            context,
            tr._(
                "I keep nothing about people who have not registered, so I follow your "
                "Telegram language until you register; then /lang keeps your choice."
            ),
        )
        return
    async with context.db.begin() as session:
        account = await session.get(Account, context.actor_id)
        assert account is not None
        account.locale = locale
    # One msgid: each catalog names its own language.
    await edit_or_answer(update, context, tr._("Done. I will write to you in English from now on."))


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("me", me),
        CommandHandler("help", help_command),
        CommandHandler("lang", lang),
        CallbackQueryHandler(set_language, pattern=LanguageButton.pattern),
    ]
