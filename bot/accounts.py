"""Who sent an update: the account, its principal (roles) and the reader's translator."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import User

from bot.access import Grant, Principal
from bot.config import Settings
from bot.i18n import Translator, resolve_locale
from storage import queries
from storage.models import Account


async def load_sender(
    session: AsyncSession, user: User, settings: Settings
) -> tuple[Account | None, Principal, Translator]:
    """Load what authorisation and replies need, from the database on every update (a role
    taken away or an account unlinked counts from the sender's very next update). Someone who
    never agreed to the privacy notice has no account, and none is created here."""
    account = await queries.account_for_update(
        session, telegram_id=user.id, language_code=user.language_code, username=user.username
    )
    principal = await principal_of(session, account) if account is not None else Principal()
    return account, principal, translator_for(account, settings, user.language_code)


async def principal_of(session: AsyncSession, account: Account) -> Principal:
    """The roles of the person behind an account."""
    person = account.person
    if person is None:
        return Principal()
    grants = tuple(
        Grant(
            role=a.role,
            org_id=a.org_unit_id,
            org_path=a.org_unit.path,
            org_kind=a.org_unit.kind,
            org_code=a.org_unit.code,
        )
        for a in await queries.roles_of(session, person.id)
    )
    branch = person.branch
    return Principal(
        person_id=person.id,
        branch_id=branch.id if branch else None,
        branch_path=branch.path if branch else None,
        grants=grants,
    )


def translator_for(
    account: Account | None, settings: Settings, language_code: str | None
) -> Translator:
    """The reader's translator: stored preference, then Telegram's language, then the default."""
    return reader_translator(
        settings,
        locale=account.locale if account else None,
        telegram_language=language_code or (account.telegram_language if account else None),
        time_zone=account.time_zone if account else None,
    )


def reader_translator(
    settings: Settings,
    *,
    locale: str | None,
    telegram_language: str | None,
    time_zone: str | None,
) -> Translator:
    """translator_for from an account's columns, for callers holding rows rather than an
    Account (the delivery and reminder workers, per message)."""
    return Translator(
        resolve_locale(locale, telegram_language, settings.default_locale),
        time_zone or settings.timezone,
    )
