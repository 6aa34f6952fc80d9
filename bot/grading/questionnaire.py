"""Grading questionnaires: data model, TOML loader with line-exact validation, prefill rules."""

from __future__ import annotations

import functools
import itertools
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Final, TypeGuard

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

DEFAULT_QUESTIONNAIRE: Final = "default-2012.toml"
TOTAL_POINTS: Final = 100.0

# Ids end up in callback_data (64 bytes with the other fields), so keep them short and ASCII.
_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_EPS: Final = 1e-9
_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")

Path_ = tuple[str | int, ...]


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


# --- locating keys in TOML text ------------------------------------------------------------------


class _Locator:
    """Map key paths such as ``("items", 3, "points")`` to the line that defines them.

    tomllib keeps no positions, so this re-scans text that tomllib already accepted; it only
    needs to follow valid TOML.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1
        self._aot: dict[Path_, int] = {}
        self.lines: dict[Path_, int] = {}
        self._scan()

    def line_of(self, path: Path_) -> int:
        """Return the line of the longest known prefix of ``path`` (1 if none)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def _peek(self, n: int = 1) -> str:
        return self._text[self._pos : self._pos + n]

    def _advance(self, n: int = 1) -> None:
        self._line += self._text.count("\n", self._pos, self._pos + n)
        self._pos += n

    def _at_end(self) -> bool:
        return self._pos >= len(self._text)

    def _skip(self, newlines: bool) -> None:
        while not self._at_end():
            c = self._text[self._pos]
            if c in " \t" or (newlines and c in "\r\n"):
                self._advance()
            elif c == "#":
                end = self._text.find("\n", self._pos)
                self._advance((len(self._text) if end < 0 else end) - self._pos)
            else:
                return

    def _record(self, path: Path_) -> None:
        for i in range(1, len(path)):
            self.lines.setdefault(path[:i], self._line)
        self.lines.setdefault(path, self._line)

    def _string(self) -> str:
        start = self._pos
        for quote in ('"""', "'''"):
            if self._peek(3) == quote:
                self._advance(3)
                while not self._at_end() and self._peek(3) != quote:
                    self._advance(2 if quote == '"""' and self._peek() == "\\" else 1)
                self._advance(3)
                # Up to two quotes may end the content right before the delimiter.
                for _ in range(2):
                    if self._peek() == quote[0]:
                        self._advance()
                return self._text[start + 3 : self._pos - 3]
        quote = self._peek()
        self._advance()
        while not self._at_end() and self._peek() not in (quote, "\n"):
            self._advance(2 if quote == '"' and self._peek() == "\\" else 1)
        self._advance()
        return self._text[start + 1 : self._pos - 1]

    def _key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self._skip(newlines=False)
            if self._peek() in ('"', "'"):
                parts.append(self._string())
            else:
                match = _BARE_KEY.match(self._text, self._pos)
                token = match.group() if match else ""
                parts.append(token)
                self._advance(max(len(token), 1))
            self._skip(newlines=False)
            if self._peek() != ".":
                return parts
            self._advance()

    def _value(self, path: Path_) -> None:
        c = self._peek()
        if c in ('"', "'"):
            self._string()
        elif c == "[":
            self._advance()
            index = 0
            while True:
                self._skip(newlines=True)
                if self._at_end() or self._peek() == "]":
                    self._advance()
                    return
                self._record((*path, index))
                self._value((*path, index))
                self._skip(newlines=True)
                if self._peek() == ",":
                    self._advance()
                    index += 1
        elif c == "{":
            self._advance()
            while True:
                self._skip(newlines=True)
                if self._at_end() or self._peek() == "}":
                    self._advance()
                    return
                sub = (*path, *self._key())
                self._record(sub)
                self._advance()  # "="
                self._skip(newlines=False)
                self._value(sub)
                self._skip(newlines=True)
                if self._peek() == ",":
                    self._advance()
        else:
            while not self._at_end() and self._peek() not in ",]}\r\n#":
                self._advance()

    def _resolve(self, keys: Sequence[str]) -> Path_:
        resolved: Path_ = ()
        for key in keys:
            resolved = (*resolved, key)
            if resolved in self._aot:
                resolved = (*resolved, self._aot[resolved])
        return resolved

    def _scan(self) -> None:
        table: Path_ = ()
        while True:
            self._skip(newlines=True)
            if self._at_end():
                return
            if self._peek(2) == "[[":
                self._advance(2)
                keys = self._key()
                self._advance(2)
                name = (*self._resolve(keys[:-1]), keys[-1])
                index = self._aot.get(name, -1) + 1
                self._aot[name] = index
                table = (*name, index)
                self._record(table)
            elif self._peek() == "[":
                self._advance()
                keys = self._key()
                self._advance()
                table = self._resolve(keys)
                self._record(table)
            else:
                path = (*table, *self._key())
                self._record(path)
                self._advance()  # "="
                self._skip(newlines=False)
                self._value(path)


# --- validation ----------------------------------------------------------------------------------


def _is_number(value: object) -> TypeGuard[int | float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _q(value: object) -> str:
    """Quote a value from the file the way TOML writes it."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _fmt(value: float) -> str:
    return f"{value:g}"


class _Checker:
    """Collects problems while building a questionnaire from parsed TOML."""

    def __init__(self, source: str, locator: _Locator, activity_kinds: frozenset[str]) -> None:
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
                f'{what} id {_q(value)} must be 1-32 characters of a-z, 0-9, "-" or "_"',
            )
            return None
        return value

    def positive(self, table: Mapping[str, Any], key: str, path: Path_, who: str) -> float:
        value = table.get(key)
        if value is None:
            self.error(path, f"{who}{key} is required")
            return 0.0
        if not _is_number(value) or value <= 0:
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


_TOP_KEYS: Final = {"id", "version", "zh", "en", "indicators", "items"}
_INDICATOR_KEYS: Final = {"id", "zh", "en", "points", "source"}
_ITEM_KEYS: Final = {
    "id",
    "indicator",
    "type",
    "points",
    "zh",
    "en",
    "options",
    "thresholds",
    "prefill",
}
_OPTION_KEYS: Final = {"id", "zh", "en", "points"}
_PREFILL_KEYS: Final = {"kind", "per", "min", "count_at_least", "period"}


def _check_indicators(check: _Checker, doc: Mapping[str, Any]) -> list[Indicator]:
    indicators: list[Indicator] = []
    first_line: dict[str, int] = {}
    for path, table in check.tables(doc, "indicators"):
        ind_id = check.ident(table, path, "indicator")
        who = f'indicator "{ind_id}": ' if ind_id else "indicator: "
        check.unknown_keys(table, _INDICATOR_KEYS, path, who)
        name = check.text(table, path, who)
        points = check.positive(table, "points", path, who)
        raw_source = table.get("source", IndicatorSource.ITEMS.value)
        try:
            source = IndicatorSource(raw_source)
        except ValueError:
            allowed = ", ".join(s.value for s in IndicatorSource)
            check.error((*path, "source"), f"{who}unknown source {_q(raw_source)} ({allowed})")
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
        if abs(total - TOTAL_POINTS) > _EPS:
            check.error(
                ("indicators", 0),
                f"indicator points sum to {_fmt(total)}, expected {_fmt(TOTAL_POINTS)}",
            )
    return indicators


def _check_options(
    check: _Checker, item: Mapping[str, Any], path: Path_, who: str, points: float
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
        check.unknown_keys(table, _OPTION_KEYS, opath, owho)
        label = check.text(table, opath, owho)
        value = table.get("points")
        if not _is_number(value) or not 0 <= value <= points + _EPS:
            where = (*opath, "points") if "points" in table else opath
            check.error(where, f"{owho}points must be between 0 and {_fmt(points)}")
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
        if abs(best - points) > _EPS:
            check.error((*path, "options"), f"{who}no option gives the full {_fmt(points)} points")
    return tuple(options)


def _check_thresholds(
    check: _Checker, item: Mapping[str, Any], path: Path_, who: str, points: float
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
        tpath: Path_ = (*path, "thresholds", index)
        if not isinstance(table, dict) or set(table) not in (
            {"at_least", "points"},
            {"at_most", "points"},
        ):
            check.error(
                tpath,
                f"{who}a threshold is {{ at_least = N, points = P }} "
                "or { at_most = N, points = P }",
            )
            continue
        direction = "at_least" if "at_least" in table else "at_most"
        directions.add(direction)
        bound, value = table[direction], table["points"]
        if not _is_number(bound):
            check.error((*tpath, direction), f"{who}{direction} must be a number")
            continue
        if not _is_number(value) or not 0 < value <= points + _EPS:
            check.error(
                (*tpath, "points"), f"{who}threshold points must be > 0 and at most {_fmt(points)}"
            )
            continue
        thresholds.append(Threshold(float(bound), float(value)))
    if len(directions) > 1:
        check.error((*path, "thresholds"), f"{who}mix of at_least and at_most thresholds")
        return (), False
    lower_is_better = directions == {"at_most"}
    if len(thresholds) == len(raw) and points > 0:
        ordered = sorted(thresholds, key=lambda t: t.bound, reverse=lower_is_better)
        bounds = [t.bound for t in ordered]
        if len(set(bounds)) != len(bounds):
            check.error((*path, "thresholds"), f"{who}duplicate threshold bounds")
        elif any(a.points > b.points for a, b in itertools.pairwise(ordered)):
            check.error((*path, "thresholds"), f"{who}a better number must not earn fewer points")
        elif abs(ordered[-1].points - points) > _EPS:
            check.error(
                (*path, "thresholds"), f"{who}no threshold gives the full {_fmt(points)} points"
            )
    return tuple(thresholds), lower_is_better


def _check_prefill(
    check: _Checker, raw: object, path: Path_, who: str, answer_type: AnswerType
) -> PrefillRule | None:
    if answer_type not in (AnswerType.YES_PARTLY_NO, AnswerType.NUMBER):
        check.error(path, f"{who}prefill is only for yes_partly_no and number items")
        return None
    if not isinstance(raw, dict):
        check.error(path, f"{who}prefill must be a table")
        return None
    pwho = f"{who}prefill: "
    problems = len(check.problems)
    check.unknown_keys(raw, _PREFILL_KEYS, path, pwho)
    kind = raw.get("kind")
    if kind is None:
        check.error(path, f"{pwho}kind is required")
    elif kind not in check.activity_kinds:
        known = ", ".join(sorted(check.activity_kinds))
        check.error((*path, "kind"), f"{pwho}unknown activity kind {_q(kind)} (known: {known})")
    period = raw.get("period", "year")
    if period != "year":
        check.error((*path, "period"), f'{pwho}period must be "year"')
    per, count = raw.get("per"), raw.get("count_at_least")
    if (per is None) == (count is None):
        check.error(path, f"{pwho}give either per (with min) or count_at_least")
    per_value: PrefillPer | None = None
    min_count = 1
    if per is not None:
        try:
            per_value = PrefillPer(per)
        except ValueError:
            check.error((*path, "per"), f'{pwho}per must be "month" or "quarter"')
        min_count = raw.get("min", 1)
        if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
            check.error((*path, "min"), f"{pwho}min must be a whole number >= 1")
    elif "min" in raw:
        check.error((*path, "min"), f"{pwho}min only goes with per")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        check.error((*path, "count_at_least"), f"{pwho}count_at_least must be a whole number >= 1")
    if len(check.problems) > problems:
        return None
    return PrefillRule(str(kind), per_value, int(min_count), count, period)


def _check_items(
    check: _Checker, doc: Mapping[str, Any], indicators: Sequence[Indicator]
) -> tuple[list[Item], dict[str, float], set[str]]:
    """Return the valid items, the declared points per indicator, and indicators whose sum
    can't be known because an item's type or points are broken (so no second error is added)."""
    by_indicator = {ind.id: ind for ind in indicators}
    items: list[Item] = []
    declared = dict.fromkeys(by_indicator, 0.0)
    unsure: set[str] = set()
    first_line: dict[str, int] = {}
    for path, table in check.tables(doc, "items"):
        item_id = check.ident(table, path, "item")
        who = f'item "{item_id}": ' if item_id else "item: "
        problems = len(check.problems)
        check.unknown_keys(table, _ITEM_KEYS, path, who)
        text = check.text(table, path, who)

        indicator_id = table.get("indicator")
        indicator = by_indicator.get(indicator_id) if isinstance(indicator_id, str) else None
        if indicator_id is None:
            check.error(path, f"{who}indicator is required")
        elif indicator is None:
            check.error((*path, "indicator"), f"{who}unknown indicator {_q(indicator_id)}")

        raw_type = table.get("type")
        try:
            answer_type = AnswerType(str(raw_type))
        except ValueError:
            allowed = ", ".join(t.value for t in AnswerType)
            if raw_type is None:
                check.error(path, f"{who}type is required ({allowed})")
            else:
                message = f"{who}unknown answer type {_q(raw_type)} (expected {allowed})"
                check.error((*path, "type"), message)
            if indicator is not None:
                unsure.add(indicator.id)
            continue

        if answer_type is AnswerType.TEXT:
            points = 0.0
            if table.get("points", 0) != 0:
                check.error((*path, "points"), f"{who}free-text items carry no points")
        else:
            points = check.positive(table, "points", path, who)
            if indicator is not None:
                declared[indicator.id] += points
                if points <= 0:
                    unsure.add(indicator.id)
            if indicator is not None and indicator.source is IndicatorSource.SATISFACTION:
                check.error(
                    (*path, "indicator"),
                    f'{who}indicator "{indicator.id}" is scored from satisfaction surveys; '
                    "only free-text items may belong to it",
                )

        options: tuple[Option, ...] = ()
        thresholds: tuple[Threshold, ...] = ()
        lower_is_better = False
        if answer_type is AnswerType.CHOICE:
            options = _check_options(check, table, path, who, points)
        elif "options" in table:
            check.error((*path, "options"), f"{who}options are only for choice items")
        if answer_type is AnswerType.NUMBER:
            thresholds, lower_is_better = _check_thresholds(check, table, path, who, points)
        elif "thresholds" in table:
            check.error((*path, "thresholds"), f"{who}thresholds are only for number items")
        prefill = None
        if "prefill" in table:
            prefill = _check_prefill(check, table["prefill"], (*path, "prefill"), who, answer_type)

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
            items.append(
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
                )
            )
    return items, declared, unsure


def parse_questionnaire(
    text: str, source: str, *, activity_kinds: frozenset[str] = ACTIVITY_KINDS
) -> Questionnaire:
    """Parse and validate questionnaire TOML; raise QuestionnaireError listing every problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
        line = int(match.group(1)) if match else text.count("\n") + 1
        message = message[: match.start()] if match else message
        raise QuestionnaireError([Problem(source, line, f"invalid TOML: {message}")]) from None

    check = _Checker(source, _Locator(text), activity_kinds)
    check.unknown_keys(doc, _TOP_KEYS, (), "")
    q_id = check.ident(doc, (), "questionnaire")
    version = doc.get("version")
    if version is None:
        check.error((), 'version is required (e.g. version = "2012.1")')
    elif not isinstance(version, str) or not version.strip():
        check.error(("version",), 'version must be a non-empty string (e.g. "2012.1")')
    title = check.text(doc, (), "questionnaire: ")
    indicators = _check_indicators(check, doc)
    items, declared, unsure = _check_items(check, doc, indicators)

    for ind in indicators:
        if ind.source is not IndicatorSource.ITEMS or ind.points <= 0 or ind.id in unsure:
            continue
        total = declared[ind.id]
        if abs(total - ind.points) > _EPS:
            path = (*_indicator_path(doc, ind.id), "points")
            check.error(
                path,
                f'indicator "{ind.id}": item points sum to {_fmt(total)}, '
                f"expected {_fmt(ind.points)}",
            )

    if check.problems:
        raise QuestionnaireError(check.problems)
    assert q_id is not None and isinstance(version, str)  # guaranteed by the checks above
    return Questionnaire(q_id, version.strip(), title, tuple(indicators), tuple(items), source)


def _indicator_path(doc: Mapping[str, Any], indicator_id: str) -> Path_:
    for index, table in enumerate(doc.get("indicators", [])):
        if isinstance(table, dict) and table.get("id") == indicator_id:
            return ("indicators", index)
    return ("indicators",)


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Load and validate a questionnaire file; errors name the file by its base name."""
    path = Path(path)
    return parse_questionnaire(path.read_text(encoding="utf-8"), path.name)


def load_default() -> Questionnaire:
    """Load the questionnaire shipped with the bot (2012 national template)."""
    resource = resources.files("bot.grading").joinpath("questionnaires", DEFAULT_QUESTIONNAIRE)
    return parse_questionnaire(resource.read_text(encoding="utf-8"), DEFAULT_QUESTIONNAIRE)


# --- the shipped questionnaires ------------------------------------------------------------------

# Every *.toml here is a questionnaire campaigns may use; tests point this elsewhere.
QUESTIONNAIRE_DIR: Path = Path(__file__).parent / "questionnaires"


@dataclass(frozen=True, slots=True)
class Registry:
    """The shipped questionnaires, keyed by (id, version); the default comes first."""

    questionnaires: tuple[Questionnaire, ...]

    @property
    def default(self) -> Questionnaire:
        """The questionnaire used when none is chosen."""
        return self.questionnaires[0]

    def get(self, questionnaire_id: str, version: str) -> Questionnaire | None:
        """The questionnaire with this id and version, if shipped."""
        for q in self.questionnaires:
            if (q.id, q.version) == (questionnaire_id, version):
                return q
        return None

    def resolve(self, spec: str) -> Questionnaire:
        """`ID` or `ID@VERSION`; LookupError (naming the available ones) if unknown or ambiguous."""
        q_id, _at, version = spec.strip().partition("@")
        found = [
            q for q in self.questionnaires if q.id == q_id and (not version or q.version == version)
        ]
        if len(found) == 1:
            return found[0]
        problem = "is ambiguous (add @VERSION)" if found else "is not shipped"
        raise LookupError(f"questionnaire {spec!r} {problem}; available: {self.describe()}")

    def describe(self) -> str:
        """`id@version (default), ...` for messages."""
        return ", ".join(
            f"{q.id}@{q.version}{' (default)' if i == 0 else ''}"
            for i, q in enumerate(self.questionnaires)
        )


def load_registry(directory: Path) -> Registry:
    """Validate every questionnaire file of `directory`; raise QuestionnaireError for all problems.

    Nothing is loaded unless every file is valid, the (id, version) pairs are unique and the
    default file (DEFAULT_QUESTIONNAIRE) is among them.
    """
    problems: list[Problem] = []
    loaded: dict[tuple[str, str], Questionnaire] = {}
    default: Questionnaire | None = None
    for path in sorted(directory.glob("*.toml")):
        try:
            q = load_questionnaire(path)
        except QuestionnaireError as exc:
            problems.extend(exc.problems)
            continue
        if (q.id, q.version) in loaded:
            other = loaded[(q.id, q.version)].source
            problems.append(
                Problem(path.name, 1, f"id {q.id!r} version {q.version!r} is also in {other}")
            )
            continue
        loaded[(q.id, q.version)] = q
        if path.name == DEFAULT_QUESTIONNAIRE:
            default = q
    if default is None and not problems:
        problems.append(Problem(DEFAULT_QUESTIONNAIRE, 0, f"missing from {directory}"))
    if problems:
        raise QuestionnaireError(problems)
    assert default is not None
    others = sorted(
        (q for q in loaded.values() if q is not default), key=lambda q: (q.id, q.version)
    )
    return Registry((default, *others))


@functools.cache
def _registry_of(directory: Path) -> Registry:
    return load_registry(directory)


def shipped() -> Registry:
    """The questionnaires of QUESTIONNAIRE_DIR, validated once per directory."""
    return _registry_of(QUESTIONNAIRE_DIR)


# --- prefill from the activity log ---------------------------------------------------------------


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
