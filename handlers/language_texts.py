"""The languages' own names, as the language choices and notices show them.

NOTE for the owner of handlers/profile.py: profile.LANGUAGE_NAMES is the same table; import it
from here so it is written once (handlers stop importing other handler modules for helpers).
"""

from __future__ import annotations

from bot.context import BotContext
from bot.i18n import N_

LANGUAGE_NAMES = {"zh_Hans": "中文（简体）", "en": "English"}
# The languages named in the reader's own language, for sentences ("readers who use
# English" is 使用英文的读者 in Chinese, not 使用English的读者).
LANGUAGE_WORDS = {"zh_Hans": N_("Chinese"), "en": N_("English")}


def language_word(context: BotContext, locale: str) -> str:
    """The language's name in the reader's language, for use inside a sentence."""
    return context._(LANGUAGE_WORDS[locale])
