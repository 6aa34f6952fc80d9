"""Phone numbers people type or import, and the ID card numbers that must never be stored.

One parser for every place a phone is taken (registration, relink requests, roster imports):
digits, spaces, dashes and a leading +, 5 to 20 characters, and never something shaped like a
mainland ID card number, which Zhibu does not collect anywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

_PHONE_RE = re.compile(r"^\+?[0-9](?:[0-9 -]*[0-9])?$")
PHONE_MIN, PHONE_MAX = 5, 20


class PhoneProblem(StrEnum):
    """Why a text is not taken as a phone number."""

    NOT_A_PHONE = "not_a_phone"
    ID_NUMBER = "id_number"


class InvalidPhone(ValueError):
    """The text is not a phone number we store."""

    def __init__(self, problem: PhoneProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def looks_like_id_number(text: str) -> bool:
    """True for a mainland ID card number: 18 characters, or the old 15-digit form."""
    compact = re.sub(r"[\s-]", "", text)
    if re.fullmatch(r"\d{17}[\dXx]", compact):
        return True
    # A first-generation card: 6-digit area, YYMMDD birth date, 3-digit sequence.
    if re.fullmatch(r"\d{15}", compact):
        try:
            dt.datetime.strptime(compact[6:12], "%y%m%d")
        except ValueError:
            return False
        return True
    return False


def parse_phone(text: str) -> str | None:
    """The phone number in text (trimmed), None for empty text; `InvalidPhone` otherwise."""
    value = text.strip()
    if not value:
        return None
    if looks_like_id_number(value):
        raise InvalidPhone(PhoneProblem.ID_NUMBER)
    if not PHONE_MIN <= len(value) <= PHONE_MAX or not _PHONE_RE.match(value):
        raise InvalidPhone(PhoneProblem.NOT_A_PHONE)
    return value
