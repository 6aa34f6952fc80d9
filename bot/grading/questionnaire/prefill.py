"""Suggested answers from the activity log, for items with a prefill rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.grading.questionnaire.model import AnswerType, Item, PrefillPer, PrefillRule, YesPartlyNo


@dataclass(frozen=True, slots=True)
class PrefillEvidence:
    """The numbers a prefill suggestion rests on, to show next to it."""

    kind: str
    total: int  # activities of `kind` in the months judged
    per_period: tuple[int, ...]  # counts per judged month or quarter; empty for total rules
    periods_met: int  # judged periods reaching the minimum; 0 for total rules
    target: int  # periods judged, or count_at_least


@dataclass(frozen=True, slots=True)
class PrefillSuggestion:
    """A suggested answer the secretary confirms or corrects."""

    answer: str | int
    met: bool
    evidence: PrefillEvidence


def evaluate_prefill(
    rule: PrefillRule, counts: Mapping[tuple[str, int], int], *, through_month: int = 12
) -> PrefillEvidence:
    """Count the activity log against a rule, judging months 1..through_month of the year.

    ``counts`` maps (kind, month 1-12) to the number of activities. For quarter rules only
    quarters that have ended by ``through_month`` are judged, or the first quarter if none has,
    so an unfinished quarter is not reported as missed.
    """
    if not 1 <= through_month <= 12:
        raise ValueError("through_month must be 1..12")
    monthly = [counts.get((rule.kind, month), 0) for month in range(1, through_month + 1)]
    total = sum(monthly)
    if rule.per is None:
        return PrefillEvidence(rule.kind, total, (), 0, rule.count_at_least or 0)
    if rule.per is PrefillPer.MONTH:
        per_period = tuple(monthly)
    else:
        quarters = max(1, through_month // 3)
        per_period = tuple(sum(monthly[q * 3 : q * 3 + 3]) for q in range(quarters))
    met = sum(1 for n in per_period if n >= rule.min_count)
    return PrefillEvidence(rule.kind, total, per_period, met, len(per_period))


def suggest_prefill(
    item: Item, counts: Mapping[tuple[str, int], int], *, through_month: int = 12
) -> PrefillSuggestion | None:
    """Suggest an answer for an item with a prefill rule, or None if it has none.

    yes/partly/no items get "yes" when the rule is met, "partly" when some activity counted
    towards it, else "no"; number items get the count (total, or periods met for per rules).
    """
    rule = item.prefill
    if rule is None:
        return None
    ev = evaluate_prefill(rule, counts, through_month=through_month)
    achieved = ev.total if rule.per is None else ev.periods_met
    met = achieved >= ev.target
    if item.type is AnswerType.NUMBER:
        return PrefillSuggestion(achieved, met, ev)
    if met:
        answer = YesPartlyNo.YES
    elif achieved > 0:
        answer = YesPartlyNo.PARTLY
    else:
        answer = YesPartlyNo.NO
    return PrefillSuggestion(answer.value, met, ev)
