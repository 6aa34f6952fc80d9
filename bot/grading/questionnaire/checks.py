"""Validating parsed questionnaire TOML, collecting every problem with its line."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

from bot.grading.questionnaire.locator import Locator, Path_
from bot.grading.questionnaire.model import (
    LEDGER_FACTS,
    TOTAL_POINTS,
    AnswerType,
    Indicator,
    IndicatorSource,
    Option,
    PrefillPer,
    PrefillRule,
    Problem,
    Text,
    Threshold,
)

# Ids end up in callback_data (64 bytes with the other fields), so keep them short and ASCII.
_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
EPS: Final = 1e-9


def is_number(value: object) -> TypeGuard[int | float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def quoted(value: object) -> str:
    """Quote a value from the file the way TOML writes it."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def fmt(value: float) -> str:
    return f"{value:g}"


class Checker:
    """Collects problems while building a questionnaire from parsed TOML."""

    def __init__(self, source: str, locator: Locator, activity_kinds: frozenset[str]) -> None:
        self.source = source
        self.locator = locator
        self.activity_kinds = activity_kinds
        self.problems: list[Problem] = []

    def error(self, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.source, self.locator.line_of(path), message))

    def unknown_keys(
        self, table: Mapping[str, Any], allowed: set[str], path: Path_, who: str
    ) -> None:
        for key in table:
            if key not in allowed:
                self.error((*path, key), f'{who}unknown key "{key}"')

    def text(self, table: Mapping[str, Any], path: Path_, who: str) -> Text:
        texts: dict[str, str] = {}
        for lang in ("zh", "en"):
            value = table.get(lang)
            if not isinstance(value, str) or not value.strip():
                where = (*path, lang) if lang in table else path
                self.error(where, f"{who}missing {lang} text")
                texts[lang] = ""
            else:
                texts[lang] = value.strip()
        return Text(texts["zh"], texts["en"])

    def ident(self, table: Mapping[str, Any], path: Path_, what: str) -> str | None:
        value = table.get("id")
        if value is None:
            self.error(path, f"{what} without id")
            return None
        if not isinstance(value, str) or not _ID_RE.fullmatch(value):
            self.error(
                (*path, "id"),
                f'{what} id {quoted(value)} must be 1-32 characters of a-z, 0-9, "-" or "_"',
            )
            return None
        return value

    def positive(self, table: Mapping[str, Any], key: str, path: Path_, who: str) -> float:
        value = table.get(key)
        if value is None:
            self.error(path, f"{who}{key} is required")
            return 0.0
        if not is_number(value) or value <= 0:
            self.error((*path, key), f"{who}{key} must be > 0")
            return 0.0
        return float(value)

    def tables(self, doc: Mapping[str, Any], key: str) -> list[tuple[Path_, Mapping[str, Any]]]:
        value = doc.get(key)
        if value is None:
            self.error((), f"no [[{key}]] tables")
            return []
        if not isinstance(value, list):
            self.error((key,), f"{key} must be an array of tables ([[{key}]])")
            return []
        result: list[tuple[Path_, Mapping[str, Any]]] = []
        for index, table in enumerate(value):
            if isinstance(table, dict):
                result.append(((key, index), table))
            else:
                self.error((key, index), f"{key} entry must be a table")
        if not result:
            self.error((key,), f"no [[{key}]] tables")
        return result


TOP_KEYS: Final = {"id", "version", "zh", "en", "indicators", "items"}
INDICATOR_KEYS: Final = {"id", "zh", "en", "points", "source"}
ITEM_KEYS: Final = {
    "id",
    "indicator",
    "type",
    "points",
    "zh",
    "en",
    "options",
    "thresholds",
    "prefill",
    "max",
}
OPTION_KEYS: Final = {"id", "zh", "en", "points"}
PREFILL_KEYS: Final = {"kind", "per", "min", "count_at_least", "period"}


def check_indicators(check: Checker, doc: Mapping[str, Any]) -> list[Indicator]:
    indicators: list[Indicator] = []
    first_line: dict[str, int] = {}
    for path, table in check.tables(doc, "indicators"):
        ind_id = check.ident(table, path, "indicator")
        who = f'indicator "{ind_id}": ' if ind_id else "indicator: "
        check.unknown_keys(table, INDICATOR_KEYS, path, who)
        name = check.text(table, path, who)
        points = check.positive(table, "points", path, who)
        raw_source = table.get("source", IndicatorSource.ITEMS.value)
        try:
            source = IndicatorSource(raw_source)
        except ValueError:
            allowed = ", ".join(s.value for s in IndicatorSource)
            check.error((*path, "source"), f"{who}unknown source {quoted(raw_source)} ({allowed})")
            source = IndicatorSource.ITEMS
        line = check.locator.line_of(path)
        if ind_id is None:
            continue
        if ind_id in first_line:
            check.error(
                (*path, "id"),
                f"{who}duplicate id (first defined on line {first_line[ind_id]})",
            )
            continue
        first_line[ind_id] = line
        indicators.append(Indicator(ind_id, name, points, source, line))
    satisfaction = [ind for ind in indicators if ind.source is IndicatorSource.SATISFACTION]
    for extra in satisfaction[1:]:
        check.error(
            ("indicators",),
            f'indicator "{extra.id}": only one indicator may take its points from satisfaction',
        )
    if indicators and all(ind.points > 0 for ind in indicators):
        total = sum(ind.points for ind in indicators)
        if abs(total - TOTAL_POINTS) > EPS:
            check.error(
                ("indicators", 0),
                f"indicator points sum to {fmt(total)}, expected {fmt(TOTAL_POINTS)}",
            )
    return indicators


def check_options(
    check: Checker, item: Mapping[str, Any], path: Path_, who: str, points: float
) -> tuple[Option, ...]:
    raw = item.get("options")
    if not isinstance(raw, list) or len(raw) < 2:
        check.error(
            (*path, "options") if "options" in item else path,
            f"{who}a choice item needs at least two options",
        )
        return ()
    options: list[Option] = []
    seen: set[str] = set()
    for index, table in enumerate(raw):
        opath: Path_ = (*path, "options", index)
        if not isinstance(table, dict):
            check.error(opath, f"{who}option must be a table")
            continue
        opt_id = check.ident(table, opath, "option")
        owho = f'{who}option "{opt_id}": ' if opt_id else f"{who}option: "
        check.unknown_keys(table, OPTION_KEYS, opath, owho)
        label = check.text(table, opath, owho)
        value = table.get("points")
        if not is_number(value) or not 0 <= value <= points + EPS:
            where = (*opath, "points") if "points" in table else opath
            check.error(where, f"{owho}points must be between 0 and {fmt(points)}")
            continue
        if opt_id is None:
            continue
        if opt_id in seen:
            check.error((*opath, "id"), f'{who}duplicate option id "{opt_id}"')
            continue
        seen.add(opt_id)
        options.append(Option(opt_id, label, float(value)))
    if options and len(options) == len(raw) and points > 0:
        best = max(o.points for o in options)
        if abs(best - points) > EPS:
            check.error((*path, "options"), f"{who}no option gives the full {fmt(points)} points")
    return tuple(options)


def check_thresholds(
    check: Checker, item: Mapping[str, Any], path: Path_, who: str, points: float
) -> tuple[tuple[Threshold, ...], bool]:
    raw = item.get("thresholds")
    if not isinstance(raw, list) or not raw:
        check.error(
            (*path, "thresholds") if "thresholds" in item else path,
            f"{who}a number item needs thresholds",
        )
        return (), False
    directions: set[str] = set()
    thresholds: list[Threshold] = []
    for index, table in enumerate(raw):
        found = _threshold(check, table, (*path, "thresholds", index), who, points)
        if found is not None:
            directions.add(found[0])
            thresholds.append(found[1])
    if len(directions) > 1:
        check.error((*path, "thresholds"), f"{who}mix of at_least and at_most thresholds")
        return (), False
    lower_is_better = directions == {"at_most"}
    if len(thresholds) == len(raw) and points > 0:
        _check_threshold_order(check, thresholds, lower_is_better, path, who, points)
    return tuple(thresholds), lower_is_better


def _threshold(
    check: Checker, table: object, tpath: Path_, who: str, points: float
) -> tuple[str, Threshold] | None:
    """One threshold with its direction (at_least or at_most), or None when invalid."""
    if not isinstance(table, dict) or set(table) not in (
        {"at_least", "points"},
        {"at_most", "points"},
    ):
        check.error(
            tpath,
            f"{who}a threshold is {{ at_least = N, points = P }} or {{ at_most = N, points = P }}",
        )
        return None
    direction = "at_least" if "at_least" in table else "at_most"
    bound, value = table[direction], table["points"]
    if not is_number(bound):
        check.error((*tpath, direction), f"{who}{direction} must be a number")
        return None
    if not is_number(value) or not 0 < value <= points + EPS:
        check.error(
            (*tpath, "points"), f"{who}threshold points must be > 0 and at most {fmt(points)}"
        )
        return None
    return direction, Threshold(float(bound), float(value))


def _check_threshold_order(
    check: Checker,
    thresholds: list[Threshold],
    lower_is_better: bool,
    path: Path_,
    who: str,
    points: float,
) -> None:
    ordered = sorted(thresholds, key=lambda t: t.bound, reverse=lower_is_better)
    bounds = [t.bound for t in ordered]
    if len(set(bounds)) != len(bounds):
        check.error((*path, "thresholds"), f"{who}duplicate threshold bounds")
    elif any(a.points > b.points for a, b in itertools.pairwise(ordered)):
        check.error((*path, "thresholds"), f"{who}a better number must not earn fewer points")
    elif abs(ordered[-1].points - points) > EPS:
        check.error((*path, "thresholds"), f"{who}no threshold gives the full {fmt(points)} points")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_prefill(
    check: Checker, raw: object, path: Path_, who: str, answer_type: AnswerType
) -> PrefillRule | None:
    if answer_type not in (AnswerType.YES_PARTLY_NO, AnswerType.NUMBER):
        check.error(path, f"{who}prefill is only for yes_partly_no and number items")
        return None
    if not isinstance(raw, dict):
        check.error(path, f"{who}prefill must be a table")
        return None
    pwho = f"{who}prefill: "
    problems = len(check.problems)
    check.unknown_keys(raw, PREFILL_KEYS, path, pwho)
    kind = raw.get("kind")
    if kind is None:
        check.error(path, f"{pwho}kind is required")
    elif kind not in check.activity_kinds and kind not in LEDGER_FACTS:
        known = ", ".join(sorted(check.activity_kinds))
        check.error((*path, "kind"), f"{pwho}unknown activity kind {quoted(kind)} (known: {known})")
    period = raw.get("period", "year")
    if period != "year":
        check.error((*path, "period"), f'{pwho}period must be "year"')
    per, count = raw.get("per"), raw.get("count_at_least")
    if (per is None) == (count is None):
        check.error(path, f"{pwho}give either per (with min) or count_at_least")
    per_value, min_count = _prefill_per(check, raw, path, pwho)
    if count is not None and not _whole(count):
        check.error((*path, "count_at_least"), f"{pwho}count_at_least must be a whole number >= 1")
    if len(check.problems) > problems:
        return None
    return PrefillRule(str(kind), per_value, int(min_count), count, period)


def _prefill_per(
    check: Checker, raw: Mapping[str, Any], path: Path_, pwho: str
) -> tuple[PrefillPer | None, Any]:
    """The sub-period and its minimum count of a per rule (None, 1 for a total rule)."""
    per = raw.get("per")
    if per is None:
        if "min" in raw:
            check.error((*path, "min"), f"{pwho}min only goes with per")
        return None, 1
    per_value = None
    try:
        per_value = PrefillPer(per)
    except ValueError:
        check.error((*path, "per"), f'{pwho}per must be "month" or "quarter"')
    min_count = raw.get("min", 1)
    if not _whole(min_count):
        check.error((*path, "min"), f"{pwho}min must be a whole number >= 1")
    return per_value, min_count
