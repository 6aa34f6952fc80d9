"""Names the book shows for stored values, marked for translation (translated when written)."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_skeleton

from bot.enums import PersonStatus, Role, TrainingKind
from bot.i18n import N_, Translator
from bot.rules.calendar import PeriodKind

ROLE_NAMES: dict[Role, str] = {
    Role.SECRETARY: N_("branch secretary"),
    Role.DEPUTY: N_("deputy secretary"),
    Role.MEMBER: N_("member"),
    Role.ADMIN: N_("admin"),
}
STATUS_NAMES: dict[PersonStatus, str] = {
    PersonStatus.REGULAR: N_("regular"),
    PersonStatus.MOBILE: N_("mobile member"),
    PersonStatus.LOST_CONTACT: N_("lost contact"),
}
TRAINING_KINDS: dict[str, str] = {
    TrainingKind.ROTATION.value: N_("rotation training"),
    TrainingKind.INDUCTION.value: N_("induction training for new secretaries"),
}
PERIOD_WORDS: dict[str, str] = {
    PeriodKind.MONTH.value: N_("month"),
    PeriodKind.QUARTER.value: N_("quarter"),
    PeriodKind.HALF.value: N_("half year"),
    PeriodKind.YEAR.value: N_("year"),
}


def short_period(tr: Translator, kind: str, start: dt.date) -> str:
    """A period within its year: Jan / 1月, Q1, first half, the year."""
    if kind == PeriodKind.MONTH.value:
        return format_skeleton("MMM", start, locale=tr.babel_locale)
    if kind == PeriodKind.QUARTER.value:
        return tr._("Q{quarter}").format(quarter=(start.month + 2) // 3)
    if kind == PeriodKind.HALF.value:
        return tr._("first half") if start.month == 1 else tr._("second half")
    return tr._("the year")


def short_date(tr: Translator, day: dt.date) -> str:
    """A date in a table cell: the one format of the reader's locale."""
    return tr.date(day)
