"""Cell parsers of the imports: each returns the value or raises CellError with the reason."""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import TypeVar

from bot.imports.problems import CellError
from bot.rules.phones import InvalidPhone, PhoneProblem, looks_like_id_number, parse_phone

E = TypeVar("E", bound=enum.Enum)


_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATE_RES = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$"),
)
_CJK_GAP_RE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
# Nobody can have joined before the Party was founded; earlier dates are spreadsheet defaults.
PARTY_FOUNDED_YEAR = 1921


def parse_code(text: str) -> str:
    """A required node code: ASCII letters, digits, - and _, at most 64."""
    if not text:
        raise CellError("is empty")
    if not _CODE_RE.match(text):
        raise CellError(f"{text!r} is not a code (ASCII letters, digits, - and _, at most 64)")
    return text


def parse_optional_code(text: str) -> str | None:
    """A node code, or None for an empty cell."""
    return parse_code(text) if text else None


def required_text(max_length: int) -> Callable[[str], str]:
    """Parser for non-empty text of at most max_length characters."""

    def parse(text: str) -> str:
        if not text:
            raise CellError("is empty")
        if len(text) > max_length:
            raise CellError(f"is {len(text)} characters long (at most {max_length})")
        return text

    return parse


def optional_text(max_length: int) -> Callable[[str], str | None]:
    """Parser for text of at most max_length characters, None when empty."""
    parse_required = required_text(max_length)
    return lambda text: parse_required(text) if text else None


def parse_person_name(text: str) -> str:
    """A person's name, at most 50 characters; spaces padding a Chinese name are removed."""
    # Rosters often align two-character names as "张　三"; the person is still 张三.
    name = " ".join(_CJK_GAP_RE.sub("", text).split())
    if looks_like_id_number(name):
        raise CellError("looks like an ID card number, which is never collected")
    return required_text(50)(name)


def choice(
    options: Mapping[str, E], *, default: E | None = None, aliases: Mapping[str, E] | None = None
) -> Callable[[str], E | None]:
    """Parser for one of the options (case and `-`/space insensitive); default when empty."""
    accepted = {**options, **(aliases or {})}

    def parse(text: str) -> E | None:
        if not text:
            return default
        key = re.sub(r"[\s\-]+", "_", unicodedata.normalize("NFKC", text).strip().lower())
        if key not in accepted:
            raise CellError(f"{text!r} is not one of {', '.join(options)}")
        return accepted[key]

    return parse


def parse_phone_cell(text: str) -> str | None:
    """An optional phone number (see bot.rules.phones)."""
    try:
        return parse_phone(text)
    except InvalidPhone as invalid:
        if invalid.problem is PhoneProblem.ID_NUMBER:
            raise CellError("looks like an ID card number, which is never collected") from None
        raise CellError(
            f"{text!r} is not a phone number (digits, spaces, dashes, leading +; 5-20 characters)"
        ) from None


def date_parser(today: dt.date) -> Callable[[str], dt.date | None]:
    """Parser for an optional past date: 2001-07-01, 2001/7/1, 2001.07.01 or 2001年7月1日."""

    def parse(text: str) -> dt.date | None:
        if not text:
            return None
        match = next((m for r in _DATE_RES if (m := r.match(text))), None)
        if match is None:
            raise CellError(f"{text!r} is not a date like 2001-07-01 or 2001年7月1日")
        try:
            value = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise CellError(f"{text!r} is not a real date") from None
        if value > today:
            raise CellError(f"{value.isoformat()} is in the future")
        if value.year < PARTY_FOUNDED_YEAR:
            raise CellError(f"{value.isoformat()} is before the Party was founded")
        return value

    return parse
