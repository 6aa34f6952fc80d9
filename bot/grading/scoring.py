"""Scoring of classification and grading: pure functions of answers, surveys, weights and bands.

Decisions (all configurable through ``GradingConfig`` unless noted):

- Item points: yes = full, partly = ``partly_share`` (half), no = 0; scale 1..5 is linear
  (1 = 0, 5 = full); number: the best threshold reached; choice: the option's points; free text
  and unanswered items: 0.
- Satisfaction: the satisfaction rate (满意率) is (satisfied + fairly + basically satisfied) / all
  responses and is used only for the optional cap rule; the points use the weighted mean of the
  scale (1.0 / 0.8 / 0.6 / 0). The satisfaction indicator gets points x the mean of the members'
  and the masses' weighted means (50/50); a group without responses is left out and the other
  group counts alone.
- Self-assessment total = sum of indicator scores (0..100). Without any satisfaction response the
  satisfaction indicator is missing and the total is renormalised over the other indicators
  (sum of their scores / sum of their points x 100).
- Superior's assessment: a total 0..100, or points per indicator; a per-indicator entry may omit
  the satisfaction indicator, which then takes the measured satisfaction (or is renormalised
  away like above).
- Final = self 40 % + superior 60 %, renormalised over the components present (no superior
  score yet -> the self-assessment alone, flagged ``renormalised``).
- The final score is rounded half up to one decimal *before* banding: 89.95 -> 90.0 -> good,
  89.94 -> 89.9 -> fairly good.
- Optional cap (off by default): a masses' satisfaction rate below ``mass_rate_floor`` turns a
  barred grade (good, fairly good) into the best grade that is not barred (ordinary). Without
  mass responses the rule cannot be checked and does not cap; participation shows the gap.
- No ranks: nothing here compares branches with each other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from bot.grading.questionnaire import (
    AnswerType,
    IndicatorSource,
    Item,
    Questionnaire,
    YesPartlyNo,
)
from bot.grading.satisfaction import (
    SatisfactionCounts,
    SatisfactionScale,
    SatisfactionSummary,
    satisfaction_mean,
    satisfaction_rate,
)
from bot.i18n import N_

Answer = str | int | float


class Grade(StrEnum):
    """Default grade names (好 / 较好 / 一般 / 较差)."""

    GOOD = "good"
    FAIRLY_GOOD = "fairly_good"
    ORDINARY = "ordinary"
    WEAK = "weak"


# Marked for translation here, translated where shown (handlers, reminders).
GRADE_NAMES: dict[str, str] = {
    Grade.GOOD: N_("good"),
    Grade.FAIRLY_GOOD: N_("fairly good"),
    Grade.ORDINARY: N_("ordinary"),
    Grade.WEAK: N_("weak"),
}


class Component(StrEnum):
    """Parts of the final score that can be missing."""

    SELF = "self"
    SUPERIOR = "superior"
    SATISFACTION = "satisfaction"


@dataclass(frozen=True, slots=True)
class Band:
    """A grade given to final scores of at least ``min_score``."""

    grade: str
    min_score: float


DEFAULT_BANDS: Final = (
    Band(Grade.GOOD, 90.0),
    Band(Grade.FAIRLY_GOOD, 80.0),
    Band(Grade.ORDINARY, 60.0),
    Band(Grade.WEAK, 0.0),
)


@dataclass(frozen=True, slots=True)
class GradingConfig:
    """Local settings of a grading campaign; the defaults follow domain.md."""

    self_weight: float = 0.4
    superior_weight: float = 0.6
    scale: SatisfactionScale = field(default_factory=SatisfactionScale)
    member_weight: float = 0.5  # share of the members' satisfaction in the indicator
    mass_weight: float = 0.5
    partly_share: float = 0.5
    bands: tuple[Band, ...] = DEFAULT_BANDS
    mass_rate_floor: float | None = None  # e.g. 0.9: below it barred grades are capped
    barred_grades: frozenset[str] = frozenset({Grade.GOOD, Grade.FAIRLY_GOOD})
    member_target: float = 1.0  # share of members expected to answer the survey
    mass_target_ratio: float = 0.1  # mass responses expected, as a share of the member count

    def __post_init__(self) -> None:
        for name in ("self_weight", "superior_weight", "member_weight", "mass_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.self_weight + self.superior_weight <= 0:
            raise ValueError("self_weight + superior_weight must be > 0")
        if self.member_weight + self.mass_weight <= 0:
            raise ValueError("member_weight + mass_weight must be > 0")
        if not 0.0 <= self.partly_share <= 1.0:
            raise ValueError("partly_share must be within 0..1")
        mins = [band.min_score for band in self.bands]
        if not mins or mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("bands must be ordered best first with distinct min_score")
        if mins[-1] > 0:
            raise ValueError("the last band must start at 0 so every score has a grade")
        if self.barred_grades and all(b.grade in self.barred_grades for b in self.bands):
            raise ValueError("at least one band must not be barred")


DEFAULT_CONFIG: Final = GradingConfig()


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    """Score of one indicator; ``score`` is None when there was nothing to score it from."""

    indicator_id: str
    points: float
    score: float | None


@dataclass(frozen=True, slots=True)
class Participation:
    """Survey participation against the targets (members 100 %, masses 10 % of members)."""

    member_count: int
    member_responses: int
    members_required: int
    mass_responses: int
    masses_required: int

    @property
    def members_met(self) -> bool:
        """Return whether enough members answered."""
        return self.member_responses >= self.members_required

    @property
    def masses_met(self) -> bool:
        """Return whether enough of the masses answered."""
        return self.mass_responses >= self.masses_required


@dataclass(frozen=True, slots=True)
class GradingResult:
    """Everything a report or export shows about one branch's grading."""

    indicators: tuple[IndicatorScore, ...]
    self_total: float | None
    superior_total: float | None
    satisfaction: SatisfactionSummary
    participation: Participation | None
    final_score: float | None  # rounded to one decimal; None when no component exists yet
    grade: str | None
    uncapped_grade: str | None
    renormalised: bool
    capped_by_satisfaction: bool
    missing: frozenset[Component]


# --- items ---------------------------------------------------------------------------------------

_YPN_VALUES: Final = frozenset(v.value for v in YesPartlyNo)


def check_answer(item: Item, answer: Answer) -> str | None:
    """Return why an answer is invalid for the item (a short code), or None if it is valid."""
    kind = item.type
    if kind is AnswerType.YES_PARTLY_NO:
        return None if answer in _YPN_VALUES else "not_yes_partly_no"
    if kind is AnswerType.SCALE_1_5:
        if isinstance(answer, bool) or not isinstance(answer, int):
            return "not_a_whole_number"
        return None if 1 <= answer <= 5 else "out_of_range"
    if kind is AnswerType.NUMBER:
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            return "not_a_number"
        if not math.isfinite(answer) or answer < 0:
            return "out_of_range"
        return None if item.maximum is None or answer <= item.maximum else "out_of_range"
    if kind is AnswerType.CHOICE:
        return None if any(o.id == answer for o in item.options) else "unknown_option"
    return None if isinstance(answer, str) else "not_text"


def score_item(item: Item, answer: Answer | None, *, partly_share: float = 0.5) -> float:
    """Return the points an answer earns (0..item.points); raise ValueError if it is invalid."""
    if answer is None:
        return 0.0
    problem = check_answer(item, answer)
    if problem is not None:
        raise ValueError(f'item "{item.id}": invalid answer {answer!r} ({problem})')
    kind = item.type
    if kind is AnswerType.YES_PARTLY_NO:
        if answer == YesPartlyNo.YES:
            return item.points
        return item.points * partly_share if answer == YesPartlyNo.PARTLY else 0.0
    if kind is AnswerType.SCALE_1_5:
        return item.points * (float(answer) - 1.0) / 4.0
    if kind is AnswerType.NUMBER:
        return _number_points(item, float(answer))
    if kind is AnswerType.CHOICE:
        return next((o.points for o in item.options if o.id == answer), 0.0)
    return 0.0


def _number_points(item: Item, value: float) -> float:
    """The points of the best threshold a number reaches."""
    reached = [
        t.points
        for t in item.thresholds
        if (value <= t.bound if item.lower_is_better else value >= t.bound)
    ]
    return max([0.0, *reached])


# --- satisfaction --------------------------------------------------------------------------------


def summarise_satisfaction(
    members: SatisfactionCounts | None,
    masses: SatisfactionCounts | None,
    config: GradingConfig = DEFAULT_CONFIG,
) -> SatisfactionSummary:
    """Summarise both groups and combine their means, leaving out a group without responses."""
    members = members or _NO_RESPONSES
    masses = masses or _NO_RESPONSES
    member_mean = satisfaction_mean(members, config.scale)
    mass_mean = satisfaction_mean(masses, config.scale)
    parts = [
        (m, w)
        for m, w in ((member_mean, config.member_weight), (mass_mean, config.mass_weight))
        if m is not None and w > 0
    ]
    weight = sum(w for _, w in parts)
    mean = sum(m * w for m, w in parts) / weight if weight > 0 else None
    return SatisfactionSummary(
        members.total,
        masses.total,
        satisfaction_rate(members),
        satisfaction_rate(masses),
        member_mean,
        mass_mean,
        mean,
    )


_NO_RESPONSES: Final = SatisfactionCounts()


def participation(
    member_count: int,
    member_responses: int,
    mass_responses: int,
    config: GradingConfig = DEFAULT_CONFIG,
) -> Participation:
    """Compare survey responses with the participation targets."""
    if member_count < 0 or member_responses < 0 or mass_responses < 0:
        raise ValueError("counts must be >= 0")
    # 1e-9 keeps 100 % x 30 members at 30 despite float error, never rounding a real 30.5 down.
    members_required = math.ceil(member_count * config.member_target - 1e-9)
    masses_required = math.ceil(member_count * config.mass_target_ratio - 1e-9)
    return Participation(
        member_count, member_responses, members_required, mass_responses, masses_required
    )


# --- totals, bands, final ------------------------------------------------------------------------


def round_score(score: float) -> float:
    """Round half up to one decimal, as done before banding (89.95 -> 90.0)."""
    # The epsilon absorbs binary error such as 89.95 * 10 == 899.4999999999999.
    return math.floor(score * 10.0 + 0.5 + 1e-9) / 10.0


def grade_for(score: float, bands: tuple[Band, ...] = DEFAULT_BANDS) -> str:
    """Return the grade of an already rounded score."""
    for band in bands:
        if score >= band.min_score:
            return band.grade
    return bands[-1].grade


def _cap(grade: str, config: GradingConfig) -> str:
    """Return the best grade at or below ``grade`` that is not barred."""
    names = [band.grade for band in config.bands]
    below = names[names.index(grade) :]
    return next((name for name in below if name not in config.barred_grades), names[-1])


def indicator_scores(
    questionnaire: Questionnaire,
    answers: Mapping[str, Answer],
    satisfaction: float | None,
    *,
    partly_share: float = 0.5,
) -> tuple[IndicatorScore, ...]:
    """Score each indicator from answers, and the satisfaction indicator from the mean (0..1)."""
    for item_id in answers:
        questionnaire.item(item_id)  # KeyError names an answer to an item of another version
    sums: dict[str, float] = {ind.id: 0.0 for ind in questionnaire.indicators}
    for item in questionnaire.items:
        answer = answers.get(item.id)
        if answer is not None:
            sums[item.indicator] += score_item(item, answer, partly_share=partly_share)
    result = []
    for ind in questionnaire.indicators:
        score: float | None
        if ind.source is IndicatorSource.SATISFACTION:
            score = None if satisfaction is None else ind.points * satisfaction
        else:
            score = min(sums[ind.id], ind.points)
        result.append(IndicatorScore(ind.id, ind.points, score))
    return tuple(result)


def total_of(scores: tuple[IndicatorScore, ...]) -> float | None:
    """Sum indicator scores to 0..100, renormalising over the indicators that have a score."""
    got = [s for s in scores if s.score is not None]
    points = sum(s.points for s in got)
    if points <= 0:
        return None
    total = sum(s.score for s in got if s.score is not None)
    full = sum(s.points for s in scores)
    return total if abs(points - full) < 1e-9 else total / points * full


def superior_total(
    questionnaire: Questionnaire,
    superior: float | Mapping[str, float],
    satisfaction: float | None,
) -> float:
    """Return the superior's total 0..100 from a total or from points per indicator."""
    if not isinstance(superior, Mapping):
        if not 0.0 <= superior <= 100.0:
            raise ValueError("the superior's total must be within 0..100")
        return float(superior)
    scores = []
    for ind in questionnaire.indicators:
        value = superior.get(ind.id)
        if value is None:
            if ind.source is not IndicatorSource.SATISFACTION:
                raise ValueError(f'the superior\'s assessment lacks indicator "{ind.id}"')
            value = None if satisfaction is None else ind.points * satisfaction
        elif not 0.0 <= value <= ind.points:
            raise ValueError(f'superior\'s points for "{ind.id}" must be within 0..{ind.points:g}')
        scores.append(IndicatorScore(ind.id, ind.points, value))
    unknown = set(superior) - {ind.id for ind in questionnaire.indicators}
    if unknown:
        raise ValueError(f"unknown indicators in the superior's assessment: {sorted(unknown)}")
    total = total_of(tuple(scores))
    return 0.0 if total is None else total


def grade_branch(
    questionnaire: Questionnaire,
    *,
    answers: Mapping[str, Answer] | None,
    superior: float | Mapping[str, float] | None = None,
    members: SatisfactionCounts | None = None,
    masses: SatisfactionCounts | None = None,
    member_count: int | None = None,
    config: GradingConfig = DEFAULT_CONFIG,
) -> GradingResult:
    """Grade one branch.

    ``answers`` is None until the self-assessment is submitted (an empty mapping is a submitted
    questionnaire with nothing answered, worth 0). Invalid answers, answers to unknown items and
    out-of-range superior points raise ValueError: callers validate input with ``check_answer``.
    """
    summary = summarise_satisfaction(members, masses, config)
    missing: set[Component] = set()
    if summary.mean is None:
        missing.add(Component.SATISFACTION)

    if answers is None:
        missing.add(Component.SELF)
        scores: tuple[IndicatorScore, ...] = ()
        self_total = None
    else:
        scores = indicator_scores(
            questionnaire, answers, summary.mean, partly_share=config.partly_share
        )
        self_total = total_of(scores)

    sup_total = None
    if superior is None:
        missing.add(Component.SUPERIOR)
    else:
        sup_total = superior_total(questionnaire, superior, summary.mean)

    parts = [
        (total, weight)
        for total, weight in ((self_total, config.self_weight), (sup_total, config.superior_weight))
        if total is not None and weight > 0
    ]
    weight = sum(w for _, w in parts)
    final = round_score(sum(t * w for t, w in parts) / weight) if weight > 0 else None
    satisfaction_renormalised = (
        Component.SATISFACTION in missing
        and questionnaire.satisfaction_indicator is not None
        and (self_total is not None or isinstance(superior, Mapping))
    )
    renormalised = final is not None and (len(parts) < 2 or satisfaction_renormalised)

    grade = uncapped = None
    capped = False
    if final is not None:
        grade = uncapped = grade_for(final, config.bands)
        rate = summary.mass_rate
        if (
            config.mass_rate_floor is not None
            and rate is not None
            and rate < config.mass_rate_floor
            and grade in config.barred_grades
        ):
            grade = _cap(grade, config)
            capped = True

    part = None
    if member_count is not None:
        part = participation(member_count, summary.member_responses, summary.mass_responses, config)
    return GradingResult(
        scores,
        self_total,
        sup_total,
        summary,
        part,
        final,
        grade,
        uncapped,
        renormalised,
        capped,
        frozenset(missing),
    )
