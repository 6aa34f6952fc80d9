"""The admins' relink report: requests by state and age, overdue transfers, re-linked this year.

Built from storage for the admin's subtrees only, then rendered without Telegram: a PNG bar
chart (bot.charts: the CJK font, labels the caller passes in the reader's language) and an
XLSX workbook whose headers the caller passes in the reader's language. Phone numbers
are masked in the workbook (138****0000).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Principal
from bot.charts import Bar, bar_chart
from bot.enums import FINAL_STATES, RequestState, RequestType
from bot.relink.counting import mask_phone, year_bounds
from bot.xlsx import BarChart, Sheet, book_bytes
from storage import relink_queries
from storage.models_relink import RelinkRequest

# Open requests are counted in these age bands (days since submission).
AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 7), (8, 30), (31, 90), (91, None))
OPEN_STATES: tuple[RequestState, ...] = tuple(s for s in RequestState if s not in FINAL_STATES)


def band_label(band: tuple[int, int | None]) -> str:
    """`0-7`, `91+`: the same in every language."""
    low, high = band
    return f"{low}+" if high is None else f"{low}-{high}"


def age_band(days: int) -> tuple[int, int | None]:
    """The band a request of this age falls in."""
    for band in AGE_BANDS:
        low, high = band
        if days >= low and (high is None or days <= high):
            return band
    return AGE_BANDS[-1]


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One request as the report shows it."""

    id: int
    type: RequestType
    state: RequestState
    name: str
    phone_masked: str
    home: str
    other: str
    submitted_at: dt.datetime
    age_days: int
    letter_number: str = ""
    letter_expires_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None


@dataclass(slots=True)
class RelinkReport:
    """Everything /report relink shows for one admin."""

    year: int
    rows: list[ReportRow] = field(default_factory=list)
    overdue: list[ReportRow] = field(default_factory=list)
    relinked: list[ReportRow] = field(default_factory=list)

    @property
    def open_rows(self) -> list[ReportRow]:
        """Requests still in progress."""
        return [r for r in self.rows if r.state not in FINAL_STATES]

    def by_state_and_age(self) -> dict[RequestState, Counter[tuple[int, int | None]]]:
        """Open requests counted by state, then by age band."""
        table: dict[RequestState, Counter[tuple[int, int | None]]] = {
            s: Counter() for s in OPEN_STATES
        }
        for row in self.open_rows:
            table[row.state][age_band(row.age_days)] += 1
        return table


async def build_report(
    session: AsyncSession, principal: Principal, *, now: dt.datetime, time_zone: str
) -> RelinkReport:
    """The report over every subtree the principal administers."""
    paths = [g.org_path for g in principal.admin_grants()]
    start, end = year_bounds(now, time_zone)
    report = RelinkReport(year=now.astimezone(ZoneInfo(time_zone)).year)
    requests = await relink_queries.requests_touching(session, subtree_paths=paths, open_only=False)
    for request in requests:
        row = await _row(session, request, now)
        report.rows.append(row)
        expired = row.state is RequestState.LETTER_EXPIRED or (
            row.state is RequestState.LETTER_ISSUED
            and row.letter_expires_at is not None
            and row.letter_expires_at <= now
        )
        if expired:
            report.overdue.append(row)
        if (
            request.type is RequestType.RECONNECT
            and request.state is RequestState.COMPLETED
            and request.completed_at is not None
            and start <= request.completed_at < end
        ):
            report.relinked.append(row)
    return report


async def _row(session: AsyncSession, request: RelinkRequest, now: dt.datetime) -> ReportRow:
    letter = await relink_queries.current_letter(session, request.id)
    other = request.receiving_branch.code if request.receiving_branch else ""
    return ReportRow(
        id=request.id,
        type=request.type,
        state=request.state,
        name=request.name,
        phone_masked=mask_phone(request.phone),
        home=request.home_branch.code,
        other=other,
        submitted_at=request.submitted_at,
        age_days=max(0, (now - request.submitted_at).days),
        letter_number=letter.number if letter else "",
        letter_expires_at=letter.expires_at if letter else None,
        completed_at=request.completed_at,
    )


# ---- rendering -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Labels:
    """Sheet titles, column headers and value names in the reader's language."""

    sheets: Sequence[str]  # requests, by state and age, overdue transfers, re-linked
    request_header: Sequence[str]
    state_header: str
    total_header: str
    types: Mapping[RequestType, str]
    states: Mapping[RequestState, str]


def _local(value: dt.datetime | None, time_zone: str) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")


def report_xlsx(report: RelinkReport, labels: Labels, time_zone: str) -> bytes:
    """The workbook: every request, the state x age table with a chart, overdue, re-linked."""

    def table(title: str, rows: Sequence[ReportRow]) -> Sheet:
        return Sheet(
            title,
            labels.request_header,
            [
                [
                    row.id,
                    labels.types[row.type],
                    labels.states[row.state],
                    row.name,
                    row.phone_masked,
                    row.home,
                    row.other,
                    _local(row.submitted_at, time_zone),
                    row.age_days,
                    row.letter_number,
                    _local(row.letter_expires_at, time_zone),
                    _local(row.completed_at, time_zone),
                ]
                for row in rows
            ],
        )

    counts = report.by_state_and_age()
    ages = []
    for state in OPEN_STATES:
        per_band = [counts[state][b] for b in AGE_BANDS]
        ages.append([labels.states[state], *per_band, sum(per_band)])
    chart = BarChart(
        labels.sheets[1],
        first_row=1,
        last_row=1 + len(OPEN_STATES),
        first_column=1,
        last_column=1 + len(AGE_BANDS),
        horizontal=True,
        stacked=True,
    )
    return book_bytes(
        [
            table(labels.sheets[0], report.rows),
            Sheet(
                labels.sheets[1],
                [labels.state_header, *(band_label(b) for b in AGE_BANDS), labels.total_header],
                ages,
                freeze_header=False,
                chart=chart,
            ),
            table(labels.sheets[2], report.overdue),
            table(labels.sheets[3], report.relinked),
        ]
    )


BAND_COLOURS = ((46, 139, 87), (240, 170, 30), (230, 110, 30), (200, 40, 40))
RELINKED_COLOUR = (40, 90, 180)


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """The chart's words in the reader's language."""

    title: str
    states: Mapping[RequestState, str]
    # "{band} days", the band being 0-7, 91+...
    days: str
    relinked: str


def report_chart(report: RelinkReport, labels: ChartLabels) -> bytes:
    """A PNG: open requests per state stacked by age band, then members re-linked this year."""
    counts = report.by_state_and_age()
    bars = []
    for state in OPEN_STATES:
        parts = [(counts[state][b], c) for b, c in zip(AGE_BANDS, BAND_COLOURS, strict=True)]
        bars.append(Bar(labels.states[state], parts, str(sum(counts[state].values()))))
    bars.append(
        Bar(labels.relinked, [(len(report.relinked), RELINKED_COLOUR)], str(len(report.relinked)))
    )
    legend = [
        (labels.days.format(band=band_label(band)), colour)
        for band, colour in zip(AGE_BANDS, BAND_COLOURS, strict=True)
    ]
    return bar_chart(labels.title, bars, legend)
