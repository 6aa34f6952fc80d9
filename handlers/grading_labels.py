"""Texts shared by the grading handlers: names of grades, answers and activity kinds, the
survey questions sent to members, and the XLSX headings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.context import BotContext
from bot.grading.export import ExportLabels
from bot.grading.questionnaire import AnswerType, IndicatorSource, Item, Questionnaire
from bot.grading.satisfaction import MIN_VISIBLE_ANSWERS, Satisfaction
from bot.grading.scoring import GRADE_NAMES, Answer
from bot.grading.service import COMMENT_LIMIT
from bot.i18n import N_, Translator
from handlers.common import escape
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


def satisfaction_rows(
    tr: Translator, data: Callable[[Satisfaction], str]
) -> list[list[tuple[str, str]]]:
    """One button per answer of the satisfaction scale, best first."""
    return [[(tr._(SATISFACTION_NAMES[v.value]), data(v))] for v in Satisfaction]


def member_survey_question(tr: Translator, year: int, branch_name: str) -> str:
    """The member survey's question about their branch."""
    return tr._(
        "{title}: how satisfied are you with the work of your branch, {branch}? "
        "Your answer is anonymous: the branch sees only counts."
    ).format(
        title=tr._("Classification and grading {year}").format(year=year),
        branch=escape(branch_name),
    )


def check_question(tr: Translator, problem: str) -> str:
    """The question of a members' check of a finished rectification item."""
    return tr._(
        "The branch reports this problem as rectified: {problem}. How satisfied are you "
        "with the result? (anonymous)"
    ).format(problem=escape(problem))


def export_labels(tr: Translator) -> ExportLabels:
    """Column headings of the grading XLSX in the reader's language."""
    _ = tr._
    return ExportLabels(
        branch_code=_("Branch code"),
        branch_name=_("Branch"),
        members=_("Members"),
        member_answers=_("Member answers"),
        mass_answers=_("Mass answers"),
        codes_issued=_("Codes for the masses issued"),
        codes_used=_("Codes for the masses used"),
        member_rate=_("Member satisfaction rate"),
        mass_rate=_("Mass satisfaction rate"),
        self_total=_("Self-assessment"),
        superior_total=_("Superior's assessment"),
        final_score=_("Final score"),
        grade=_("Grade"),
        grades={g: _(name) for g, name in GRADE_NAMES.items()},
        locale=tr.locale,
        hidden_open=_("shown after the deadline"),
        hidden_few=_("fewer than {minimum} answers").format(minimum=MIN_VISIBLE_ANSWERS),
    )


def answerable(questionnaire: Questionnaire) -> list[Item]:
    """The items a secretary answers (the mass evaluation comes from the surveys)."""
    return [
        item
        for item in questionnaire.items
        if questionnaire.indicator(item.indicator).source is not IndicatorSource.SATISFACTION
    ]


def shortened(text: str, limit: int) -> str:
    """A text cut to at most `limit` characters, marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expected_answer(context: BotContext, item: Item) -> str:
    """What a refused answer should have been: the range or the choices."""
    _ = context._
    if item.type is AnswerType.NUMBER:
        if item.maximum is not None:
            return _("Please send a number from 0 to {maximum}.").format(
                maximum=score_text(item.maximum)
            )
        return _("Please send a number, 0 or more.")
    if item.type is AnswerType.SCALE_1_5:
        return _("Please send a whole number from 1 to 5.")
    if item.type is AnswerType.TEXT:
        return _("Please send a text of at most {limit} characters.").format(limit=COMMENT_LIMIT)
    if item.type is AnswerType.YES_PARTLY_NO:
        labels = [_(name) for name in YPN_NAMES.values()]
    else:
        labels = [escape(o.label.for_locale(context.tr.locale)) for o in item.options]
    return _("Please choose one of: {choices}.").format(choices=_(", ").join(labels))


def answer_label(context: BotContext, item: Item, value: Answer | None) -> str:
    """An answer to an item as shown (HTML-safe)."""
    if value is None:
        return "—"
    if item.type is AnswerType.YES_PARTLY_NO:
        return context._(YPN_NAMES.get(str(value), str(value)))
    if item.type is AnswerType.CHOICE:
        for option in item.options:
            if option.id == value:
                return escape(option.label.for_locale(context.tr.locale))
    if item.type is AnswerType.TEXT:
        return escape(shortened(str(value), 100))
    return score_text(float(value)) if isinstance(value, int | float) else escape(str(value))
