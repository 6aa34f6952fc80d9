"""Grading questionnaires: data model, TOML loader with line-exact validation, prefill rules.

model.py holds what a questionnaire is; parse.py (with locator.py, checks.py and items.py)
reads a file and reports every problem on its line; registry.py collects the shipped files;
prefill.py suggests answers from the activity log.
"""

from __future__ import annotations

from pathlib import Path

from bot.grading.questionnaire.model import (
    ACTIVITY_KINDS,
    DEFAULT_QUESTIONNAIRE,
    TOTAL_POINTS,
    AnswerType,
    Indicator,
    IndicatorSource,
    Item,
    Option,
    PrefillPer,
    PrefillRule,
    Problem,
    Questionnaire,
    QuestionnaireError,
    Text,
    Threshold,
    YesPartlyNo,
)
from bot.grading.questionnaire.parse import load_default, load_questionnaire, parse_questionnaire
from bot.grading.questionnaire.prefill import (
    PrefillEvidence,
    PrefillSuggestion,
    evaluate_prefill,
    suggest_prefill,
)
from bot.grading.questionnaire.registry import Registry, load_registry, registry_of

# Every *.toml here is a questionnaire campaigns may use; tests point this elsewhere.
QUESTIONNAIRE_DIR: Path = Path(__file__).parent.parent / "questionnaires"


def shipped() -> Registry:
    """The questionnaires of QUESTIONNAIRE_DIR, validated once per directory."""
    return registry_of(QUESTIONNAIRE_DIR)


__all__ = [
    "ACTIVITY_KINDS",
    "DEFAULT_QUESTIONNAIRE",
    "QUESTIONNAIRE_DIR",
    "TOTAL_POINTS",
    "AnswerType",
    "Indicator",
    "IndicatorSource",
    "Item",
    "Option",
    "PrefillEvidence",
    "PrefillPer",
    "PrefillRule",
    "PrefillSuggestion",
    "Problem",
    "Questionnaire",
    "QuestionnaireError",
    "Registry",
    "Text",
    "Threshold",
    "YesPartlyNo",
    "evaluate_prefill",
    "load_default",
    "load_questionnaire",
    "load_registry",
    "parse_questionnaire",
    "shipped",
    "suggest_prefill",
]
