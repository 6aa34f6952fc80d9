"""The CallbackContext our handlers receive: services, the sender's principal and translator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.access import Principal
from bot.config import Settings
from bot.errors import Refused
from bot.i18n import Translator, resolve_locale
from storage.db import SessionFactory
from storage.models import Account

if TYPE_CHECKING:
    from telegram import Update

SERVICES_KEY = "zhibu.services"


@dataclass(slots=True)
class Services:
    """What every handler and job needs, built once in the composition root."""

    settings: Settings
    db: SessionFactory


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Carries our dependencies instead of globals (see PTB's contexttypesbot example)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.account: Account | None = None
        self.principal: Principal = Principal()
        self._translator: Translator | None = None

    @property
    def services(self) -> Services:
        """The application's services."""
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services

    @property
    def db(self) -> SessionFactory:
        """The session factory: `async with context.db.begin() as session:`."""
        return self.services.db

    @property
    def settings(self) -> Settings:
        """Validated settings."""
        return self.services.settings

    @property
    def tr(self) -> Translator:
        """The sender's translator (resolved from the update if no account was loaded)."""
        if self._translator is None:
            self._translator = Translator(self.settings.default_locale, self.settings.timezone)
        return self._translator

    @property
    def actor_id(self) -> int:
        """The id of the acting account (loaded with the sender before any handler runs).

        Someone without an account (a stranger who never agreed to the privacy notice) cannot
        act on anything an account owns: the handler is refused, not crashed.
        """
        if self.account is None:
            raise Refused()
        return self.account.id

    def today(self) -> dt.date:
        """Today in the organisation's time zone, on the bot's clock (which tests move)."""
        return self.settings.now().astimezone(self.settings.tz).date()

    def use_translator(self, translator: Translator) -> None:
        """Set the translator for the rest of this update."""
        self._translator = translator

    def translator_for_update(self, update: Update | None) -> Translator:
        """A translator from Telegram's language_code alone (before any database lookup)."""
        code = update.effective_user.language_code if update and update.effective_user else None
        locale = resolve_locale(None, code, self.settings.default_locale)
        return Translator(locale, self.settings.timezone)

    def _(self, message: str) -> str:
        """Translate into the sender's language."""
        return self.tr._(message)
