"""Satisfaction answers: the four-step scale, its rate and weighted mean, and when a figure
computed from the answers may be shown (pure: no Telegram, no database).

A figure computed from satisfaction answers (a breakdown, a rate, a mean, the satisfaction
indicator's score) is shown only once the survey is closed and rests on at least
MIN_VISIBLE_ANSWERS answers: shown while answers still arrive, comparing it before and after
one answer would give that answer away, and from fewer answers one answer weighs too much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Satisfaction(StrEnum):
    """The four answers of the satisfaction scale, best first (SatisfactionCounts fields)."""

    SATISFIED = "satisfied"
    FAIRLY_SATISFIED = "fairly_satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


# Satisfaction answers, best first, as stored.
SATISFACTION_VALUES = tuple(s.value for s in Satisfaction)
# A figure computed from satisfaction answers is shown only from this many answers on.
MIN_VISIBLE_ANSWERS = 5


@dataclass(frozen=True, slots=True)
class SatisfactionCounts:
    """Responses of one group (members or masses) on the four-step scale."""

    satisfied: int = 0
    fairly_satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0

    def __post_init__(self) -> None:
        if (
            min(self.satisfied, self.fairly_satisfied, self.basically_satisfied, self.dissatisfied)
            < 0
        ):
            raise ValueError("satisfaction counts must be >= 0")

    @property
    def total(self) -> int:
        """Return the number of responses."""
        return self.satisfied + self.fairly_satisfied + self.basically_satisfied + self.dissatisfied


@dataclass(frozen=True, slots=True)
class SatisfactionScale:
    """Value of each answer on the satisfaction scale, 0..1, best first."""

    satisfied: float = 1.0
    fairly_satisfied: float = 0.8
    basically_satisfied: float = 0.6
    dissatisfied: float = 0.0

    def __post_init__(self) -> None:
        values = (
            self.satisfied,
            self.fairly_satisfied,
            self.basically_satisfied,
            self.dissatisfied,
        )
        if not all(0.0 <= v <= 1.0 for v in values) or list(values) != sorted(values, reverse=True):
            raise ValueError("satisfaction scale values must be within 0..1, best first")


@dataclass(frozen=True, slots=True)
class SatisfactionSummary:
    """Rates (满意率) and weighted means (0..1) per group, and the mean feeding the indicator."""

    member_responses: int
    mass_responses: int
    member_rate: float | None
    mass_rate: float | None
    member_mean: float | None
    mass_mean: float | None
    mean: float | None


def satisfaction_rate(counts: SatisfactionCounts) -> float | None:
    """Return 满意率: share of satisfied, fairly and basically satisfied (None if no responses)."""
    total = counts.total
    if total == 0:
        return None
    return (total - counts.dissatisfied) / total


def satisfaction_mean(counts: SatisfactionCounts, scale: SatisfactionScale) -> float | None:
    """Return the weighted mean of the responses on the scale, 0..1 (None if no responses)."""
    total = counts.total
    if total == 0:
        return None
    weighted = (
        counts.satisfied * scale.satisfied
        + counts.fairly_satisfied * scale.fairly_satisfied
        + counts.basically_satisfied * scale.basically_satisfied
        + counts.dissatisfied * scale.dissatisfied
    )
    return min(1.0, weighted / total)


def counts_of(values: Mapping[str, int] | None) -> SatisfactionCounts:
    """SatisfactionCounts from counts per answer value."""
    values = values or {}
    return SatisfactionCounts(**{v: int(values.get(v, 0)) for v in SATISFACTION_VALUES})


def may_show(answers: int, *, closed: bool) -> bool:
    """Whether a figure computed from this many answers may be shown."""
    return closed and answers >= MIN_VISIBLE_ANSWERS


def may_show_all(*groups: int, closed: bool) -> bool:
    """Whether a figure combining several groups' answers may be shown: every group that
    contributes (has answers) must be showable on its own."""
    contributing = [n for n in groups if n > 0]
    return bool(contributing) and all(may_show(n, closed=closed) for n in contributing)
