"""How reminders about a branch's own calendar dates read: the organisational life meeting's
preparation steps and the themed Party day on the day the branch chose."""

from __future__ import annotations

from bot.enums import PreparationStep
from bot.i18n import N_, Translator
from bot.reminders.payloads import PreparationPayload, ThemedDayPayload

PREPARATION_STEPS: dict[PreparationStep, str] = {
    PreparationStep.STUDY: N_("study"),
    PreparationStep.TALKS: N_("heart-to-heart talks"),
    PreparationStep.OPINIONS: N_("soliciting opinions"),
    PreparationStep.MEETING: N_("holding the meeting"),
}


def branch_date_line(
    tr: Translator, payload: PreparationPayload | ThemedDayPayload, branch: str
) -> str:
    """One reminder about a preparation step or the themed Party day, as one line."""
    if isinstance(payload, ThemedDayPayload):
        return tr._("{branch}: the themed Party day is on {date}.").format(
            branch=branch, date=tr.date(payload.day)
        )
    return tr._(
        "{branch}: preparing the organisational life meeting {year}, next step: {step}. Mark "
        "it done in /due."
    ).format(branch=branch, year=payload.year, step=tr._(PREPARATION_STEPS[payload.step]))
