"""Names of grades, answers and activity kinds, shared by the grading handlers."""

from __future__ import annotations

import datetime as dt

from bot.context import BotContext
from bot.grading.scoring import GRADE_NAMES
from bot.i18n import N_
from storage.models_grading import GradingCampaign

# An open grading conversation takes the user's typed text before other flows see it, so one
# left idle ends by itself: nothing is lost (questionnaire answers are saved item by item) and
# text typed later for something else is not taken as an answer.
IDLE_TIMEOUT = dt.timedelta(minutes=30)

SATISFACTION_NAMES: dict[str, str] = {
    "satisfied": N_("satisfied"),
    "fairly_satisfied": N_("fairly satisfied"),
    "basically_satisfied": N_("basically satisfied"),
    "dissatisfied": N_("dissatisfied"),
}
YPN_NAMES: dict[str, str] = {"yes": N_("Yes"), "partly": N_("Partly"), "no": N_("No")}
KIND_NAMES: dict[str, str] = {
    "general_meeting": N_("branch general meeting"),
    "committee_meeting": N_("branch committee meeting"),
    "group_meeting": N_("party group meeting"),
    "lecture": N_("Party lecture"),
    "themed_day": N_("themed Party day"),
    "life_meeting": N_("organisational life meeting"),
    "appraisal": N_("democratic appraisal of members"),
    "talk": N_("heart-to-heart talk"),
}


def grade_name(context: BotContext, grade: str | None) -> str:
    """A grade in the reader's language."""
    return context._(GRADE_NAMES[grade]) if grade in GRADE_NAMES else (grade or "—")


def score_text(value: float | None) -> str:
    """A score with one decimal, or a dash."""
    return "—" if value is None else f"{value:.1f}".removesuffix(".0")


def campaign_title(context: BotContext, campaign: GradingCampaign) -> str:
    """The campaign's name as shown in menus."""
    return context._("Classification and grading {year}").format(year=campaign.year)
