"""Validating the items of questionnaire TOML: type, points, options, thresholds, prefill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.grading.questionnaire.checks import (
    ITEM_KEYS,
    Checker,
    check_options,
    check_prefill,
    check_thresholds,
    quoted,
)
from bot.grading.questionnaire.locator import Path_
from bot.grading.questionnaire.model import (
    AnswerType,
    Indicator,
    IndicatorSource,
    Item,
    Option,
    Threshold,
)


@dataclass(slots=True)
class ItemTally:
    """The valid items, the declared points per indicator, and the indicators whose sum can't
    be known because an item's type or points are broken (so no second error is added)."""

    items: list[Item] = field(default_factory=list)
    declared: dict[str, float] = field(default_factory=dict)
    unsure: set[str] = field(default_factory=set)


def check_items(
    check: Checker, doc: Mapping[str, Any], indicators: Sequence[Indicator]
) -> ItemTally:
    """Check every [[items]] table against the indicators."""
    by_indicator = {ind.id: ind for ind in indicators}
    tally = ItemTally(declared=dict.fromkeys(by_indicator, 0.0))
    first_line: dict[str, int] = {}
    for path, table in check.tables(doc, "items"):
        item_id = check.ident(table, path, "item")
        who = f'item "{item_id}": ' if item_id else "item: "
        problems = len(check.problems)
        check.unknown_keys(table, ITEM_KEYS, path, who)
        text = check.text(table, path, who)
        indicator = _indicator(check, table, path, who, by_indicator)
        answer_type = _answer_type(check, table, path, who)
        if answer_type is None:
            if indicator is not None:
                tally.unsure.add(indicator.id)
            continue
        points = _points(check, table, path, who, answer_type, indicator, tally)
        options, thresholds, lower_is_better = _answers(
            check, table, path, who, answer_type, points
        )
        prefill = None
        if "prefill" in table:
            prefill = check_prefill(check, table["prefill"], (*path, "prefill"), who, answer_type)
        maximum = None
        if "max" in table:
            # The largest plausible number (a typo like 99999 study hours is refused).
            if answer_type is not AnswerType.NUMBER:
                check.error((*path, "max"), f"{who}max is only for number items")
            else:
                maximum = check.positive(table, "max", path, who)
        line = check.locator.line_of(path)
        if item_id is None:
            continue
        if item_id in first_line:
            check.error(
                (*path, "id"), f"{who}duplicate id (first defined on line {first_line[item_id]})"
            )
            continue
        first_line[item_id] = line
        if len(check.problems) == problems and indicator is not None:
            tally.items.append(
                Item(
                    item_id,
                    indicator.id,
                    text,
                    answer_type,
                    points,
                    options,
                    thresholds,
                    lower_is_better,
                    prefill,
                    line,
                    maximum,
                )
            )
    return tally


def _indicator(
    check: Checker,
    table: Mapping[str, Any],
    path: Path_,
    who: str,
    by_indicator: Mapping[str, Indicator],
) -> Indicator | None:
    indicator_id = table.get("indicator")
    indicator = by_indicator.get(indicator_id) if isinstance(indicator_id, str) else None
    if indicator_id is None:
        check.error(path, f"{who}indicator is required")
    elif indicator is None:
        check.error((*path, "indicator"), f"{who}unknown indicator {quoted(indicator_id)}")
    return indicator


def _answer_type(
    check: Checker, table: Mapping[str, Any], path: Path_, who: str
) -> AnswerType | None:
    raw_type = table.get("type")
    try:
        return AnswerType(str(raw_type))
    except ValueError:
        allowed = ", ".join(t.value for t in AnswerType)
        if raw_type is None:
            check.error(path, f"{who}type is required ({allowed})")
        else:
            message = f"{who}unknown answer type {quoted(raw_type)} (expected {allowed})"
            check.error((*path, "type"), message)
        return None


def _points(
    check: Checker,
    table: Mapping[str, Any],
    path: Path_,
    who: str,
    answer_type: AnswerType,
    indicator: Indicator | None,
    tally: ItemTally,
) -> float:
    if answer_type is AnswerType.TEXT:
        if table.get("points", 0) != 0:
            check.error((*path, "points"), f"{who}free-text items carry no points")
        return 0.0
    points = check.positive(table, "points", path, who)
    if indicator is None:
        return points
    tally.declared[indicator.id] += points
    if points <= 0:
        tally.unsure.add(indicator.id)
    if indicator.source is IndicatorSource.SATISFACTION:
        check.error(
            (*path, "indicator"),
            f'{who}indicator "{indicator.id}" is scored from satisfaction surveys; '
            "only free-text items may belong to it",
        )
    return points


def _answers(
    check: Checker,
    table: Mapping[str, Any],
    path: Path_,
    who: str,
    answer_type: AnswerType,
    points: float,
) -> tuple[tuple[Option, ...], tuple[Threshold, ...], bool]:
    """The options of a choice item and the thresholds of a number item."""
    options: tuple[Option, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    lower_is_better = False
    if answer_type is AnswerType.CHOICE:
        options = check_options(check, table, path, who, points)
    elif "options" in table:
        check.error((*path, "options"), f"{who}options are only for choice items")
    if answer_type is AnswerType.NUMBER:
        thresholds, lower_is_better = check_thresholds(check, table, path, who, points)
    elif "thresholds" in table:
        check.error((*path, "thresholds"), f"{who}thresholds are only for number items")
    return options, thresholds, lower_is_better
