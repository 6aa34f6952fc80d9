"""Study hours (学时) and training coverage.

A person's class hours for a year are those of the trainings they attended (a training's own,
else ZHIBU_TRAINING_CLASS_HOURS, one full day) and of the Party lectures their branch logged
while they were not named absent (a lecture's own, else ZHIBU_LECTURE_CLASS_HOURS). The yearly
target is 56 for those who lead their branch (secretary, deputy, committee member) and 32 for
members, unless their subtree set its own.

For admins: the secretaries of their subtree with no rotation training this year, the new
secretaries whose induction deadline is near or past, and everyone's hours against target.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.dues.local import Targets, local_book
from bot.reminders.planner import add_months
from storage import hours_queries as hq
from storage import queries
from storage.models import OrgUnit, Person
from storage.models_reminders import Training

# An induction deadline this close is "near"; one passed this long ago is no longer "new".
INDUCTION_NEAR = dt.timedelta(days=30)
INDUCTION_PAST = dt.timedelta(days=183)


def year_span(year: int, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants a local calendar year begins and ends (for stored UTC times)."""
    start = dt.datetime(year, 1, 1, tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=tz).astimezone(dt.UTC)
    return start, end


def present(absences: list[dict[str, Any]], person_id: int) -> bool:
    """Whether a lecture's absentees leave this person out (an excused absentee was not
    there either: excused from the meeting, not given its hours)."""
    return all(absence.get("person_id") != person_id for absence in absences)


def target_for(targets: Targets, leader: bool) -> int:
    """The yearly target of a leader or a member."""
    return targets.leader if leader else targets.member


@dataclass(frozen=True, slots=True)
class PersonYear:
    """One person's study year."""

    year: int
    trainings: list[tuple[Training, int]]
    lectures: list[tuple[dt.date, int]]
    target: int
    leader: bool

    @property
    def hours(self) -> int:
        """Class hours so far."""
        return sum(h for _, h in self.trainings) + sum(h for _, h in self.lectures)


async def person_year(
    session: AsyncSession, settings: Settings, person: Person, year: int
) -> PersonYear:
    """A person's trainings and lectures of a year, with their class hours and target."""
    start, end = year_span(year, settings.tz)
    attended = await hq.attended_trainings(session, person_ids=[person.id], start=start, end=end)
    trainings = [(t, t.class_hours or settings.training_class_hours) for _, t in attended]
    lectures: list[tuple[dt.date, int]] = []
    path = "/"
    if person.branch_id is not None:
        for lecture in await hq.lectures(
            session,
            start=dt.date(year, 1, 1),
            end=dt.date(year, 12, 31),
            branch_id=person.branch_id,
        ):
            if present(lecture.absences, person.id):
                lectures.append((lecture.day, lecture.class_hours or settings.lecture_class_hours))
        branch = await queries.org_by_id(session, person.branch_id)
        path = branch.path if branch is not None else path
    leader = await hq.leads_a_branch(session, person.id)
    targets = (await local_book(session, settings, path)).targets(path)
    return PersonYear(year, trainings, lectures, target_for(targets, leader), leader)


@dataclass(frozen=True, slots=True)
class HoursRow:
    """One person's hours of the year against their target."""

    person_id: int
    name: str
    branch_code: str
    leader: bool
    hours: int
    target: int
    trainings: int

    @property
    def reached(self) -> bool:
        """Whether the target is met."""
        return self.hours >= self.target


async def subtree_hours(
    session: AsyncSession, settings: Settings, roots: Sequence[OrgUnit], year: int
) -> list[HoursRow]:
    """Everyone on a roster of the subtrees with their hours of the year, by branch and name."""
    start, end = year_span(year, settings.tz)
    book = await local_book(session, settings)
    found: list[HoursRow] = []
    for root in roots:
        trained = await hq.training_hours(
            session,
            path=root.path,
            start=start,
            end=end,
            default_hours=settings.training_class_hours,
        )
        held: dict[int, list[hq.LectureRow]] = defaultdict(list)
        for lecture in await hq.lectures(
            session, start=dt.date(year, 1, 1), end=dt.date(year, 12, 31), path=root.path
        ):
            held[lecture.branch_id].append(lecture)
        for person in await hq.people_in_subtree(session, root.path):
            hours, count = trained.get(person.person_id, (0, 0))
            hours += sum(
                lecture.class_hours or settings.lecture_class_hours
                for lecture in held.get(person.branch_id, ())
                if present(lecture.absences, person.person_id)
            )
            target = target_for(book.targets(person.branch_path), person.leader)
            found.append(
                HoursRow(
                    person.person_id,
                    person.name,
                    person.branch_code,
                    person.leader,
                    hours,
                    target,
                    count,
                )
            )
    return found


@dataclass(frozen=True, slots=True)
class Induction:
    """A new secretary without induction training, and their deadline."""

    secretary: hq.SecretaryRow
    deadline: dt.date
    past: bool


@dataclass(frozen=True, slots=True)
class Coverage:
    """Secretaries without rotation training this year, and inductions near or past due."""

    without_rotation: list[hq.SecretaryRow]
    inductions: list[Induction]


async def coverage(
    session: AsyncSession, settings: Settings, roots: Sequence[OrgUnit], today: dt.date
) -> Coverage:
    """The training coverage of the secretaries of the subtrees."""
    start, end = year_span(today.year, settings.tz)
    without: list[hq.SecretaryRow] = []
    inductions: list[Induction] = []
    for root in roots:
        for row in await hq.secretaries(session, path=root.path, year_start=start, year_end=end):
            if not row.rotation_this_year:
                without.append(row)
            appointed = row.appointed_at.astimezone(settings.tz).date()
            deadline = add_months(appointed, settings.induction_months) - dt.timedelta(days=1)
            done = row.last_induction is not None and row.last_induction >= (
                row.appointed_at - dt.timedelta(days=30)
            )
            if not done and today - INDUCTION_PAST <= deadline <= today + INDUCTION_NEAR:
                inductions.append(Induction(row, deadline, deadline < today))
    return Coverage(without, inductions)
