"""The questionnaire's data model: indicators, items, answer types, prefill rules, problems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

# Kinds of the activity log (the values of bot.rules.kinds.ActivityKind, less "other"); prefill
# rules may only name these. Mirrored rather than imported so questionnaire files validate on
# their own; a test keeps the two in step.
ACTIVITY_KINDS: Final = frozenset(
    {
        "general_meeting",  # 支部党员大会
        "committee_meeting",  # 支部委员会会议
        "group_meeting",  # 党小组会
        "lecture",  # 党课
        "themed_day",  # 主题党日
        "life_meeting",  # 组织生活会
        "appraisal",  # 民主评议党员
        "talk",  # 谈心谈话
    }
)

# Facts of the dues ledger and the training record (bot.dues.prefill) that prefill rules may name
# besides activity kinds, counted per month of the year like activities (the arrears fact is
# counted in the last judged month only, so a total rule reads it as it stands).
LEDGER_FACTS: Final = frozenset(
    {
        "dues_in_full",  # 1 in a month every member owing dues for it paid them
        "dues_account_published",  # 1 in the month the year's account was published
        "dues_arrears_over_6_months",  # members owing dues for more than six months
        "secretary_training",  # rotation or induction trainings the secretary attended
        "secretary_class_hours",  # the secretary's class hours (trainings and lectures)
    }
)

DEFAULT_QUESTIONNAIRE: Final = "default-2012.toml"
TOTAL_POINTS: Final = 100.0


class AnswerType(StrEnum):
    """How an item is answered and scored."""

    YES_PARTLY_NO = "yes_partly_no"
    SCALE_1_5 = "scale_1_5"
    NUMBER = "number"
    CHOICE = "choice"
    TEXT = "text"


class IndicatorSource(StrEnum):
    """Where an indicator's points come from."""

    ITEMS = "items"
    SATISFACTION = "satisfaction"


class YesPartlyNo(StrEnum):
    """Answers of a yes/partly/no item."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class PrefillPer(StrEnum):
    """Sub-period that must each reach a minimum count."""

    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True, slots=True)
class Text:
    """A text in both languages of the bot."""

    zh: str
    en: str

    def for_locale(self, locale: str) -> str:
        """Return the text for a locale such as ``zh_Hans`` or ``en``."""
        return self.zh if locale.lower().startswith("zh") else self.en


@dataclass(frozen=True, slots=True)
class Indicator:
    """One of the grading indicators, worth ``points`` of the 100."""

    id: str
    name: Text
    points: float
    source: IndicatorSource = IndicatorSource.ITEMS
    line: int = 0


@dataclass(frozen=True, slots=True)
class Option:
    """One option of a single-choice item."""

    id: str
    label: Text
    points: float


@dataclass(frozen=True, slots=True)
class Threshold:
    """A number answer at or past ``bound`` earns ``points``."""

    bound: float
    points: float


@dataclass(frozen=True, slots=True)
class PrefillRule:
    """Declarative rule that suggests an answer from the activity log of one year.

    Either every ``per`` sub-period (month or quarter) needs at least ``min_count`` activities of
    ``kind``, or the year needs ``count_at_least`` of them in total.
    """

    kind: str
    per: PrefillPer | None = None
    min_count: int = 1
    count_at_least: int | None = None
    period: str = "year"


@dataclass(frozen=True, slots=True)
class Item:
    """One question of the questionnaire."""

    id: str
    indicator: str
    text: Text
    type: AnswerType
    points: float
    options: tuple[Option, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    lower_is_better: bool = False
    prefill: PrefillRule | None = None
    line: int = 0
    maximum: float | None = None  # number items: the largest plausible answer


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """A validated, versioned questionnaire."""

    id: str
    version: str
    title: Text
    indicators: tuple[Indicator, ...]
    items: tuple[Item, ...]
    source: str = ""
    _by_id: dict[str, Item] = field(init=False, repr=False, compare=False)
    _indicator_by_id: dict[str, Indicator] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {item.id: item for item in self.items})
        object.__setattr__(self, "_indicator_by_id", {ind.id: ind for ind in self.indicators})

    def item(self, item_id: str) -> Item:
        """Return the item with this id (KeyError if unknown)."""
        return self._by_id[item_id]

    def indicator(self, indicator_id: str) -> Indicator:
        """Return the indicator with this id (KeyError if unknown)."""
        return self._indicator_by_id[indicator_id]

    def items_of(self, indicator_id: str) -> tuple[Item, ...]:
        """Return the items of one indicator in file order."""
        return tuple(item for item in self.items if item.indicator == indicator_id)

    @property
    def satisfaction_indicator(self) -> Indicator | None:
        """Return the indicator scored from satisfaction surveys, if any."""
        for ind in self.indicators:
            if ind.source is IndicatorSource.SATISFACTION:
                return ind
        return None


# --- errors --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem, printed as ``file:line: message``."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class QuestionnaireError(Exception):
    """A questionnaire file is invalid; ``problems`` lists every problem found, by line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.line))
        super().__init__("\n".join(str(p) for p in self.problems))
