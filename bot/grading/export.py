"""Grading spreadsheets: the campaign's results for admins, and the superior's scores uploaded.

A figure computed from satisfaction answers (a group's rate, the satisfaction indicator's
score) is written only where bot.grading.satisfaction allows it to be shown; otherwise its
cell says why it is not shown. The scores that depend on it are written as computed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.grading.questionnaire import IndicatorSource, Questionnaire
from bot.grading.results import BranchResult, check_superior
from bot.grading.satisfaction import may_show_all


@dataclass(frozen=True, slots=True)
class ExportLabels:
    """Localized column headings, grade names and the reasons a figure is not shown."""

    branch_code: str
    branch_name: str
    members: str
    member_answers: str
    mass_answers: str
    codes_issued: str
    codes_used: str
    member_rate: str
    mass_rate: str
    self_total: str
    superior_total: str
    final_score: str
    grade: str
    grades: Mapping[str, str]
    locale: str
    # In place of a satisfaction figure: the survey is still open / it has too few answers.
    hidden_open: str
    hidden_few: str


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def export_xlsx(
    questionnaire: Questionnaire,
    results: Sequence[BranchResult],
    labels: ExportLabels,
    *,
    closed: bool,
    codes: Mapping[int, tuple[int, int]] | None = None,
) -> bytes:
    """One row per branch: scores per indicator, the components and the grade (no rank).

    `closed`: whether the campaign takes no more answers; `codes`: (issued, used) mass codes
    per branch id.
    """
    from bot.xlsx import sheet_bytes

    header = [
        labels.branch_code,
        labels.branch_name,
        labels.members,
        labels.member_answers,
        labels.mass_answers,
        labels.codes_issued,
        labels.codes_used,
        labels.member_rate,
        labels.mass_rate,
        *(ind.name.for_locale(labels.locale) for ind in questionnaire.indicators),
        labels.self_total,
        labels.superior_total,
        labels.final_score,
        labels.grade,
    ]

    def rows() -> Iterator[list[object]]:
        for row in results:
            yield _row(questionnaire, row, labels, closed, (codes or {}).get(row.branch.id))

    return sheet_bytes("grading", header, rows())


def _row(
    questionnaire: Questionnaire,
    row: BranchResult,
    labels: ExportLabels,
    closed: bool,
    codes: tuple[int, int] | None,
) -> list[object]:
    result = row.result
    scores = {s.indicator_id: s.score for s in result.indicators}
    part = result.participation
    summary = result.satisfaction

    def figure(value: float | None, *answers: int) -> object:
        if may_show_all(*answers, closed=closed):
            return value
        if not any(answers):
            return None
        return labels.hidden_open if not closed else labels.hidden_few

    def rate(value: float | None, answers: int) -> object:
        return figure(None if value is None else round(value, 3), answers)

    answers = (summary.member_responses, summary.mass_responses)
    indicator_cells = [
        figure(_num(scores.get(ind.id)), *answers)
        if ind.source is IndicatorSource.SATISFACTION
        else _num(scores.get(ind.id))
        for ind in questionnaire.indicators
    ]
    issued, used = codes or (0, 0)
    return [
        row.branch.code,
        row.branch.display_name(labels.locale),
        part.member_count if part else None,
        summary.member_responses,
        summary.mass_responses,
        issued,
        used,
        rate(summary.member_rate, summary.member_responses),
        rate(summary.mass_rate, summary.mass_responses),
        *indicator_cells,
        _num(result.self_total),
        _num(result.superior_total),
        result.final_score,
        labels.grades.get(result.grade or "", "") if result.grade else "",
    ]


# ---- the superior's scores, uploaded -------------------------------------------------------

Superior = float | dict[str, float]


def superior_from_rows(
    questionnaire: Questionnaire, rows: Sequence[Sequence[Any]]
) -> tuple[dict[str, Superior], list[str]]:
    """Superior scores per branch code from a sheet's rows: a `total` column or one column
    per indicator; the problems, by row."""
    if not rows:
        return {}, ["the sheet is empty"]
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    if "code" not in header:
        return {}, ["row 1: a column named code is required"]
    indicator_ids = {ind.id for ind in questionnaire.indicators}
    columns = {h: i for i, h in enumerate(header) if h == "total" or h in indicator_ids}
    if not columns:
        return {}, ["row 1: give a total column or one column per indicator"]
    code_column = header.index("code")
    result: dict[str, Superior] = {}
    problems: list[str] = []
    for number, values in enumerate(rows[1:], start=2):
        code = values[code_column] if code_column < len(values) else None
        if code is None or str(code).strip() == "":
            continue
        value, problem = _superior_of_row(questionnaire, values, columns)
        if problem is not None:
            problems.append(f"row {number}: {problem}")
            continue
        assert value is not None
        result[str(code).strip()] = value
    return result, problems


def _superior_of_row(
    questionnaire: Questionnaire, values: Sequence[Any], columns: Mapping[str, int]
) -> tuple[Superior | None, str | None]:
    try:
        numbers = {
            h: float(values[i])
            for h, i in columns.items()
            if i < len(values) and values[i] not in (None, "")
        }
    except (TypeError, ValueError):
        return None, "scores must be numbers"
    if not numbers:
        return None, "no scores"
    value: Superior = numbers["total"] if "total" in numbers else dict(numbers)
    problem = check_superior(questionnaire, value)
    return (None, problem) if problem is not None else (value, None)
