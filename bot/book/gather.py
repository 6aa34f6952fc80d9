"""The facts of many branches' record books, read in a few batched queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.book.model import (
    Absence,
    ActivityRecord,
    Attachment,
    BookFacts,
    ComplianceRow,
    DuesSummary,
    GradingRecord,
    RectificationRecord,
    RosterEntry,
    TrainingRecord,
)
from bot.book.yearly import dues_summary, facts_of, year_compliance_many
from bot.compliance import rule_book
from bot.enums import PersonStatus, Role
from bot.rules.dues import MemberLedger, Month, Standard, month_of, year_months
from storage import book_queries
from storage.models import OrgUnit
from storage.models_activity import Activity

# A secretary who is also a deputy somewhere is shown by the higher role.
_ROLE_ORDER = {Role.SECRETARY: 0, Role.DEPUTY: 1, Role.MEMBER: 2}


def _year_bounds_utc(year: int, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    return start, dt.datetime(year + 1, 1, 1, tzinfo=zone).astimezone(dt.UTC)


def _attachments(raw: list[dict[str, Any]] | None) -> tuple[Attachment, ...]:
    found = []
    for item in raw or []:
        file_id = item.get("file_id")
        if isinstance(file_id, str) and file_id:
            kind = "photo" if item.get("type") == "photo" else "document"
            found.append(Attachment(kind, file_id, item.get("name")))
    return tuple(found)


def _present_names(
    activity: Activity, roster: Sequence[tuple[int, str, PersonStatus, dt.date]]
) -> tuple[str, ...] | None:
    """Who was there, when the facts say so: the roster of the day (people added by then,
    lost-contact members aside) less the absentees, if that leaves exactly `present` people.
    Anything else would be a guess, and the book never invents content."""
    absent = {int(a["person_id"]) for a in activity.absences or [] if a.get("person_id")}
    names = tuple(
        name
        for person_id, name, status, added in roster
        if added <= activity.day
        and status is not PersonStatus.LOST_CONTACT
        and person_id not in absent
    )
    return names if len(names) == activity.present else None


def _record(
    activity: Activity,
    roster: Sequence[tuple[int, str, PersonStatus, dt.date]],
    group_names: dict[int, str],
    time: dt.time | None = None,
) -> ActivityRecord:
    return ActivityRecord(
        id=activity.id,
        day=activity.day,
        kinds=tuple(activity.kinds or ()),
        topic=activity.topic,
        present=activity.present,
        expected=activity.expected,
        place=activity.place,
        time=time,
        minutes=activity.minutes,
        party_group=group_names.get(activity.party_group_id or 0),
        absences=tuple(
            Absence(str(a.get("name") or ""), a.get("reason")) for a in activity.absences or []
        ),
        present_names=_present_names(activity, roster),
        attachments=_attachments(activity.attachments),
        late=bool(activity.late),
        voided=bool(activity.voided),
        void_reason=activity.void_reason,
    )


Roster = dict[int, list[tuple[int, str, PersonStatus, dt.date]]]


async def _people(
    session: AsyncSession, ids: list[int], zone: dt.tzinfo
) -> tuple[dict[int, list[RosterEntry]], dict[int, list[RosterEntry]], Roster]:
    """Per branch: its leaders, its roster as shown, and its roster as (id, name, status,
    added on) for attendance."""
    roles: dict[tuple[int, int], Role] = {}
    found = await book_queries.leaders(session, ids)
    for branch_id, person_id, role, _name in found:
        held = roles.get((branch_id, person_id))
        if held is None or _ROLE_ORDER[role] < _ROLE_ORDER[held]:
            roles[(branch_id, person_id)] = role
    leaders: dict[int, list[RosterEntry]] = defaultdict(list)
    for branch_id, person_id, role, name in found:
        if roles[(branch_id, person_id)] is role:
            leaders[branch_id].append(RosterEntry(name, PersonStatus.REGULAR, role))
    shown: dict[int, list[RosterEntry]] = defaultdict(list)
    roster: Roster = defaultdict(list)
    for branch_id, person_id, name, status, added in await book_queries.rosters(session, ids):
        roster[branch_id].append((person_id, name, status, added.astimezone(zone).date()))
        shown[branch_id].append(
            RosterEntry(name, status, roles.get((branch_id, person_id), Role.MEMBER))
        )
    return leaders, shown, roster


async def _groups(
    session: AsyncSession, ids: list[int], locale: str
) -> tuple[dict[int, list[int]], dict[int, str]]:
    groups: dict[int, list[int]] = defaultdict(list)
    names: dict[int, str] = {}
    for branch_id, group_id, name, name_en in await book_queries.party_groups(session, ids):
        groups[branch_id].append(group_id)
        names[group_id] = name_en if locale == "en" and name_en else name
    return groups, names


async def _compliance(
    session: AsyncSession,
    branches: Sequence[OrgUnit],
    activities: dict[int, list[Activity]],
    groups: dict[int, list[int]],
    *,
    year: int,
    today: dt.date,
) -> dict[int, tuple[ComplianceRow, ...]]:
    book = await rule_book(session)
    rules = {branch.id: book.rules_for(branch.path) for branch in branches}
    facts = {
        branch_id: facts_of(
            (a.id, a.day, a.kinds or (), a.party_group_id, bool(a.voided)) for a in rows
        )
        for branch_id, rows in activities.items()
    }
    return year_compliance_many(rules, facts, groups, year, min(today, dt.date(year, 12, 31)))


async def _trainings(
    session: AsyncSession, ids: list[int], year: int, zone: dt.tzinfo
) -> dict[int, list[TrainingRecord]]:
    first, after = _year_bounds_utc(year, zone)
    found: dict[int, list[TrainingRecord]] = defaultdict(list)
    for branch_id, person, title, kind, starts_at in await book_queries.trainings_attended(
        session, ids, start=first, end=after
    ):
        day = starts_at.astimezone(zone).date()
        found[branch_id].append(TrainingRecord(person, title, str(kind), day))
    return found


async def _grading(
    session: AsyncSession, ids: list[int], year: int, zone: dt.tzinfo
) -> tuple[dict[int, list[GradingRecord]], dict[int, list[RectificationRecord]]]:
    grading: dict[int, list[GradingRecord]] = defaultdict(list)
    for branch_id, campaign_id, finalised, own, final, grade in await book_queries.assessments(
        session, ids, year=year
    ):
        # Scores and grades are the higher committee's decision only once it is final.
        grading[branch_id].append(
            GradingRecord(
                campaign_id,
                bool(finalised),
                own,
                final if finalised else None,
                grade if finalised else None,
            )
        )
    rectification: dict[int, list[RectificationRecord]] = defaultdict(list)
    for item in await book_queries.rectification_items(session, ids, year=year):
        rectification[item.branch_id].append(
            RectificationRecord(
                problem=item.problem,
                measures=item.measures,
                due_on=item.due_on,
                responsible=item.responsible,
                done=item.done_at is not None,
                done_on=item.done_at.astimezone(zone).date() if item.done_at else None,
            )
        )
    return grading, rectification


async def _dues(
    session: AsyncSession, ids: list[int], year: int, today: dt.date, zone: dt.tzinfo
) -> dict[int, DuesSummary | None]:
    """Each branch's dues of the year from its ledger, judged in today's month."""
    months = year_months(year)
    standards: dict[int, list[Standard]] = defaultdict(list)
    for person_id, from_month, fen in await book_queries.dues_standards(
        session, ids, last=months[-1]
    ):
        standards[person_id].append(Standard(from_month, fen))
    paid: dict[int, dict[Month, int]] = defaultdict(dict)
    for person_id, month, fen in await book_queries.dues_payments(
        session, ids, first=months[0], last=months[-1]
    ):
        paid[person_id][month] = fen
    current = month_of(today)
    ledgers: dict[int, list[MemberLedger]] = defaultdict(list)
    for branch_id, person_id in await book_queries.dues_roster(session, ids):
        ledgers[branch_id].append(
            MemberLedger(tuple(standards[person_id]), paid[person_id], current)
        )
    published = {
        branch_id: at.astimezone(zone).date()
        for branch_id, at in await book_queries.dues_accounts(session, ids, year=year)
    }
    return {
        branch_id: dues_summary(ledgers[branch_id], year, published.get(branch_id))
        for branch_id in ids
    }


async def _meeting_times(
    session: AsyncSession, ids: list[int], zone: dt.tzinfo
) -> dict[int, dt.time]:
    """The local time of day of each activity that records a meeting called with /meet."""
    return {
        activity_id: starts_at.astimezone(zone).time().replace(second=0, microsecond=0)
        for activity_id, starts_at in await book_queries.meeting_times(session, ids)
    }


async def gather(
    session: AsyncSession,
    branches: Sequence[OrgUnit],
    *,
    year: int,
    today: dt.date,
    zone: dt.tzinfo,
    locale: str = "zh_Hans",
) -> list[BookFacts]:
    """The record book facts of each branch for `year`, as of `today`, in the order given."""
    if not branches:
        return []
    ids = [branch.id for branch in branches]
    leaders, shown, roster = await _people(session, ids, zone)
    groups, group_names = await _groups(session, ids, locale)
    activities: dict[int, list[Activity]] = defaultdict(list)
    for activity in await book_queries.year_activities(
        session, ids, start=dt.date(year, 1, 1), end=dt.date(year, 12, 31)
    ):
        activities[activity.branch_id].append(activity)
    yearly = await _compliance(session, branches, activities, groups, year=year, today=today)
    trainings = await _trainings(session, ids, year, zone)
    grading, rectification = await _grading(session, ids, year, zone)
    dues = await _dues(session, ids, year, today, zone)
    times = await _meeting_times(session, ids, zone)
    return [
        BookFacts(
            branch_id=branch.id,
            branch_code=branch.code,
            branch_name=branch.name,
            branch_name_en=branch.name_en,
            year=year,
            today=today,
            leaders=tuple(leaders[branch.id]),
            roster=tuple(shown[branch.id]),
            activities=tuple(
                _record(activity, roster[branch.id], group_names, times.get(activity.id))
                for activity in activities[branch.id]
            ),
            compliance=yearly[branch.id],
            trainings=tuple(trainings[branch.id]),
            grading=tuple(grading[branch.id]),
            rectification=tuple(rectification[branch.id]),
            dues=dues[branch.id],
        )
        for branch in branches
    ]
