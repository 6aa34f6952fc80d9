"""/report compliance's heavy part, built in a worker process: reading a subtree's activities,
judging every branch, drawing the charts and writing the workbook.

A city's report decodes hundreds of thousands of rows, draws its charts and writes 20,000
spreadsheet rows: seconds of CPU that, in the bot's process, would hold the GIL and make every
other user wait (threads do not help). The bot's process hands over ids, dates and the words
already in the admin's language, and gets back the counts for its summary and the bytes to send.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.charts import ChartSet, ChartWords, compliance_charts
from bot.compliance import RULE_KEYS, BranchRow, subtree_compliance
from bot.rules.calendar import ObligationState, ObligationStatus, Period
from bot.workers import SharedWorker, database_url, reading
from bot.xlsx import workbook_bytes
from storage import queries
from storage.db import SessionFactory

# Its own worker: a city's report must not hold up a secretary's single record book.
WORKER = SharedWorker()


@dataclass(frozen=True, slots=True)
class ReportWords:
    """What the charts and the workbook write, already in the admin's language."""

    chart: ChartWords
    # A grid page's caption, "…, {page}", and its page number, "… {page} … {pages}".
    grid_caption: str
    page: str
    sheet: str
    # The workbook's first row; a column of state names and one of dates per obligation.
    header: Sequence[str]
    states: Mapping[ObligationState, str]


@dataclass(frozen=True, slots=True)
class ReportJob:
    """Whose report, for which periods, in which language (for the branches' names)."""

    root_ids: tuple[int, ...]
    on: dt.date
    today: dt.date
    locale: str


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """The counts the summary tells, and the files to send (none without branches)."""

    branches: int
    # Per obligation (rule key): how many branches stand in each state.
    counts: Mapping[str, Counter[ObligationState]]
    # Per obligation: the period it is judged in (obligations that apply somewhere only).
    periods: Mapping[str, Period]
    charts: ChartSet
    workbook: bytes | None


async def build_report(db: SessionFactory, job: ReportJob, words: ReportWords) -> ComplianceReport:
    """The report, built in the report worker process from the bot's database."""
    return await WORKER.run(build_in_worker, database_url(db), job, words)


def build_in_worker(url: str, job: ReportJob, words: ReportWords) -> ComplianceReport:
    """In the worker: read and judge the subtrees, then draw and write the files."""
    return assemble(asyncio.run(_judged(url, job)), job.locale, words)


async def _judged(url: str, job: ReportJob) -> list[BranchRow]:
    rows: list[BranchRow] = []
    async with reading(url) as db, db() as session:
        for root_id in job.root_ids:
            root = await queries.org_by_id(session, root_id)
            if root is not None:
                rows.extend(await subtree_compliance(session, root, on=job.on, today=job.today))
    return rows


def assemble(rows: Sequence[BranchRow], locale: str, words: ReportWords) -> ComplianceReport:
    """The counts, charts and workbook of judged branches."""
    by_key = [_by_key(row) for row in rows]
    counts = {key: Counter(_state(statuses, key) for statuses in by_key) for key in RULE_KEYS}
    periods: dict[str, Period] = {}
    for row in rows:
        for status in row.statuses:
            periods.setdefault(status.rule.key, status.period)
    if not rows:
        return ComplianceReport(0, counts, periods, ChartSet([], 0), None)
    names = [row.branch.display_name(locale) for row in rows]
    table = [
        (name, [_state(statuses, key) for key in RULE_KEYS])
        for name, statuses in zip(names, by_key, strict=True)
    ]
    caption = functools.partial(_grid_caption, words.grid_caption, words.page)
    charts = compliance_charts(table, words.chart, caption)
    sheet = [
        _sheet_row(row, name, statuses, words.states)
        for row, name, statuses in zip(rows, names, by_key, strict=True)
    ]
    workbook = workbook_bytes(words.sheet, words.header, sheet)
    return ComplianceReport(len(rows), counts, periods, charts, workbook)


def _by_key(row: BranchRow) -> dict[str, ObligationStatus]:
    return {status.rule.key: status for status in row.statuses}


def _state(statuses: Mapping[str, ObligationStatus], key: str) -> ObligationState:
    status = statuses.get(key)
    return status.state if status else ObligationState.NOT_APPLICABLE


def _grid_caption(caption: str, page_words: str, page: int, pages: int) -> str:
    return caption.format(page=page_words.format(page=page, pages=pages))


def _sheet_row(
    row: BranchRow,
    name: str,
    statuses: Mapping[str, ObligationStatus],
    states: Mapping[ObligationState, str],
) -> list[object]:
    cells: list[object] = [row.branch.code, name]
    for key in RULE_KEYS:
        found = statuses.get(key)
        cells.append(states[found.state if found else ObligationState.NOT_APPLICABLE])
        cells.append(", ".join(d.isoformat() for d in found.done_dates) if found else "")
    return cells
