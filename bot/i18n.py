"""Catalogs loaded once at start-up; a Translator is chosen per update or per recipient.

The .po files are compiled in memory when loaded, so there is no build step and no stale .mo.
No locale is ever kept in a process-global: callers hold a Translator for one reader.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import zoneinfo
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from bot.config import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

# Telegram sends IETF tags; Babel would read "zh-hans" as zh + script Hans, so map explicitly.
_CHINESE_TAGS = {"zh", "zh-hans", "zh-cn", "zh-sg", "zh_hans", "zh-hans-cn", "zh-hans-sg"}


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (import-time text)."""
    return message


def resolve_locale(stored: str | None, telegram_code: str | None, default: str) -> str:
    """Stored preference, then Telegram's language_code, then the configured default."""
    if stored in SUPPORTED_LOCALES:
        return stored
    if telegram_code:
        tag = telegram_code.strip().lower().replace("_", "-")
        if tag in _CHINESE_TAGS:
            return "zh_Hans"
        if tag == "en" or tag.startswith("en-"):
            return "en"
    return default


def _compile(po_path: Path, locale: str) -> gettext.GNUTranslations:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    # Fuzzy entries are never used: they are unreviewed guesses (the catalog check rejects them).
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def _catalog(locale: str, directory: Path = LOCALES_DIR) -> gettext.GNUTranslations:
    return _compile(directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po", locale)


def load_catalogs(directory: Path = LOCALES_DIR) -> None:
    """Compile every catalog once at start-up so a broken file fails early, not mid-chat."""
    for locale in SUPPORTED_LOCALES:
        _catalog(locale, directory)


@dataclass(frozen=True, slots=True)
class Translator:
    """Translations and Babel formatting for one reader's locale and time zone."""

    locale: str
    time_zone: str = "Asia/Shanghai"

    @property
    def _translations(self) -> gettext.GNUTranslations:
        return _catalog(self.locale)

    @property
    def babel_locale(self) -> Locale:
        """The Babel locale (zh_Hans_CN formats dates the way mainland readers expect)."""
        return Locale.parse("zh_Hans_CN" if self.locale == "zh_Hans" else self.locale)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The reader's time zone."""
        return zoneinfo.ZoneInfo(self.time_zone)

    def _(self, message: str) -> str:
        """Translate a message."""
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate a message that depends on a count."""
        return self._translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        """Translate a message with a disambiguating context."""
        return self._translations.pgettext(context, message)

    # One date format per locale (Nov 25, 2026 / 2026年11月25日): every date and moment a
    # reader sees goes through `date` or `datetime`, never isoformat() or strftime().
    def date(self, value: dt.date) -> str:
        """A date in the reader's locale: Nov 25, 2026 / 2026年11月25日."""
        return format_date(value, format="medium", locale=self.babel_locale)

    def datetime(self, value: dt.datetime) -> str:
        """A moment in the reader's time zone: its date, then the time (Nov 25, 2026 2:00 PM /
        2026年11月25日 14:00). A naive value is taken as UTC."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return f"{self.date(value.astimezone(self.tz).date())} {self.time(value)}"

    def time(self, value: dt.datetime) -> str:
        """A time of day in the reader's time zone."""
        return format_time(value, format="short", tzinfo=self.tz, locale=self.babel_locale)

    def clock(self, value: dt.time) -> str:
        """A wall-clock time already in the organisation's zone (a meeting's start): 7:30 PM /
        19:30."""
        return format_time(value, format="short", locale=self.babel_locale)

    def month(self, value: dt.date) -> str:
        """The month of a date: November 2026 / 2026年11月."""
        return format_skeleton("yMMMM", value, locale=self.babel_locale)

    def number(self, value: float) -> str:
        """A number in the reader's locale."""
        return format_decimal(value, locale=self.babel_locale)

    def percent(self, value: float) -> str:
        """A ratio (0..1) as a percentage."""
        return format_percent(value, locale=self.babel_locale)
