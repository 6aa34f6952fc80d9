"""The grading questionnaire's dues and training items, suggested from the ledger and the
training record: counts per (fact, month) like the activity log's (see LEDGER_FACTS in
bot.grading.questionnaire.model), merged with them by the questionnaire's caller."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.dues.hours import present, year_span
from bot.dues.ledger import branch_dues
from bot.enums import TrainingKind
from bot.rules.dues import month_index
from storage import dues_queries as dq
from storage import hours_queries as hq
from storage import queries

# "In arrears for more than six months": the oldest unpaid month is at least this far back.
LONG_ARREARS_MONTHS = 7
SECRETARY_TRAININGS = (TrainingKind.ROTATION, TrainingKind.INDUCTION)


async def ledger_counts(
    session: AsyncSession, settings: Settings, *, branch_id: int, year: int, through_month: int
) -> dict[tuple[str, int], int]:
    """(fact, month 1-12) -> count for one branch's year, judged through `through_month`."""
    branch = await queries.org_by_id(session, branch_id)
    if branch is None:
        return {}
    counts: dict[tuple[str, int], int] = {}
    current = month_index(year, through_month)
    roster = await branch_dues(session, branch, current)
    for number in range(1, 13):
        month = month_index(year, number)
        owing = [d for d in roster if d.ledger.due_fen(month) is not None]
        if owing and all(month in d.ledger.paid for d in owing):
            counts[("dues_in_full", number)] = 1
    long_arrears = sum(
        1
        for d in roster
        if (arrears := d.ledger.arrears()) and arrears[0].month <= current - LONG_ARREARS_MONTHS
    )
    counts[("dues_arrears_over_6_months", through_month)] = long_arrears
    account = await dq.published_account(session, branch_id, year)
    if account is not None:
        published = account.published_at.astimezone(settings.tz).date()
        counts[("dues_account_published", published.month if published.year == year else 12)] = 1
    await _secretary(session, settings, counts, branch_id=branch_id, year=year)
    return counts


async def _secretary(
    session: AsyncSession,
    settings: Settings,
    counts: dict[tuple[str, int], int],
    *,
    branch_id: int,
    year: int,
) -> None:
    """The branch secretary's trainings and class hours per month."""
    secretaries = await hq.secretaries_of(session, branch_id)
    if not secretaries:
        return
    start, end = year_span(year, settings.tz)
    hours_key, training_key = "secretary_class_hours", "secretary_training"
    for _person, training in await hq.attended_trainings(
        session, person_ids=secretaries[:1], start=start, end=end
    ):
        month = training.starts_at.astimezone(settings.tz).month
        hours = training.class_hours or settings.training_class_hours
        counts[(hours_key, month)] = counts.get((hours_key, month), 0) + hours
        if training.kind in SECRETARY_TRAININGS:
            counts[(training_key, month)] = counts.get((training_key, month), 0) + 1
    for lecture in await hq.lectures(
        session, start=dt.date(year, 1, 1), end=dt.date(year, 12, 31), branch_id=branch_id
    ):
        if present(lecture.absences, secretaries[0]):
            hours = lecture.class_hours or settings.lecture_class_hours
            key = (hours_key, lecture.day.month)
            counts[key] = counts.get(key, 0) + hours
