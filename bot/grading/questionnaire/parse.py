"""Reading a questionnaire file: TOML, validated with every problem on its line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from bot.grading.questionnaire.checks import EPS, TOP_KEYS, Checker, check_indicators, fmt
from bot.grading.questionnaire.items import check_items
from bot.grading.questionnaire.locator import Locator, Path_
from bot.grading.questionnaire.model import (
    ACTIVITY_KINDS,
    DEFAULT_QUESTIONNAIRE,
    IndicatorSource,
    Problem,
    Questionnaire,
    QuestionnaireError,
)


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

    check = Checker(source, Locator(text), activity_kinds)
    check.unknown_keys(doc, TOP_KEYS, (), "")
    q_id = check.ident(doc, (), "questionnaire")
    version = doc.get("version")
    if version is None:
        check.error((), 'version is required (e.g. version = "2012.1")')
    elif not isinstance(version, str) or not version.strip():
        check.error(("version",), 'version must be a non-empty string (e.g. "2012.1")')
    title = check.text(doc, (), "questionnaire: ")
    indicators = check_indicators(check, doc)
    tally = check_items(check, doc, indicators)

    for ind in indicators:
        if ind.source is not IndicatorSource.ITEMS or ind.points <= 0 or ind.id in tally.unsure:
            continue
        total = tally.declared[ind.id]
        if abs(total - ind.points) > EPS:
            path = (*_indicator_path(doc, ind.id), "points")
            check.error(
                path,
                f'indicator "{ind.id}": item points sum to {fmt(total)}, '
                f"expected {fmt(ind.points)}",
            )

    if check.problems:
        raise QuestionnaireError(check.problems)
    assert q_id is not None and isinstance(version, str)  # guaranteed by the checks above
    return Questionnaire(
        q_id, version.strip(), title, tuple(indicators), tuple(tally.items), source
    )


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
