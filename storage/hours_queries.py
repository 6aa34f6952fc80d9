"""Class hours (学时): trainings attended and Party lectures held, per person, set-based.

A subtree is a subquery on the materialised path, never a list of ids. Functions take the
session first and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import PersonStatus, Role, TrainingKind
from storage.models import OrgUnit, Person, RoleAssignment
from storage.models_activity import Activity
from storage.models_reminders import Training, TrainingInvitee

# Every role held at a branch except plain membership counts as leading it (secretary, deputy,
# committee member): their yearly target is the higher one.
_NOT_LEADING = (Role.MEMBER, Role.ADMIN)


def _in_subtree(path: str) -> Any:
    return OrgUnit.path.startswith(path, autoescape=True)


@dataclass(frozen=True, slots=True)
class PersonRow:
    """Someone on a roster of the subtree, and whether they lead their branch."""

    person_id: int
    name: str
    branch_id: int
    branch_code: str
    branch_path: str
    leader: bool


def _leads() -> Any:
    return exists().where(
        RoleAssignment.person_id == Person.id,
        RoleAssignment.org_unit_id == Person.branch_id,
        RoleAssignment.role.not_in(_NOT_LEADING),
    )


async def people_in_subtree(session: AsyncSession, path: str) -> list[PersonRow]:
    """Everyone on a roster of the subtree (lost-contact members excluded), by branch and name."""
    rows: Any = await session.execute(
        select(Person.id, Person.name, OrgUnit.id, OrgUnit.code, OrgUnit.path, _leads())
        .join(OrgUnit, OrgUnit.id == Person.branch_id)
        .where(_in_subtree(path), Person.status != PersonStatus.LOST_CONTACT)
        .order_by(OrgUnit.code, Person.name, Person.id)
    )
    return [PersonRow(a, b, c, d, e, bool(f)) for a, b, c, d, e, f in rows]


async def leads_a_branch(session: AsyncSession, person_id: int) -> bool:
    """Whether the person leads their own branch (secretary, deputy or committee member)."""
    found = await session.scalar(select(_leads()).select_from(Person).where(Person.id == person_id))
    return bool(found)


async def training_hours(
    session: AsyncSession,
    *,
    path: str,
    start: dt.datetime,
    end: dt.datetime,
    default_hours: int,
) -> dict[int, tuple[int, int]]:
    """person id -> (class hours, trainings) attended in [start, end), people of the subtree."""
    people = (
        select(Person.id).join(OrgUnit, OrgUnit.id == Person.branch_id).where(_in_subtree(path))
    )
    rows = await session.execute(
        select(
            TrainingInvitee.person_id,
            func.sum(func.coalesce(Training.class_hours, default_hours)),
            func.count(),
        )
        .join(Training, Training.id == TrainingInvitee.training_id)
        .where(
            TrainingInvitee.attended.is_(True),
            TrainingInvitee.person_id.in_(people),
            Training.cancelled_at.is_(None),
            Training.starts_at >= start,
            Training.starts_at < end,
        )
        .group_by(TrainingInvitee.person_id)
    )
    return {person: (int(hours or 0), int(count)) for person, hours, count in rows}


def _lecture() -> Any:
    return cast(Activity.kinds, Text).contains('"lecture"', autoescape=True)


@dataclass(frozen=True, slots=True)
class LectureRow:
    """A Party lecture held by a branch: its day, class hours (None: the default), absentees."""

    activity_id: int
    branch_id: int
    day: dt.date
    class_hours: int | None
    absences: list[dict[str, Any]]


async def lectures(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    path: str | None = None,
    branch_id: int | None = None,
) -> list[LectureRow]:
    """Party lectures (not voided) held start..end by the branches of a subtree, or one branch."""
    query = select(
        Activity.id, Activity.branch_id, Activity.day, Activity.class_hours, Activity.absences
    ).where(Activity.voided.is_(False), Activity.day >= start, Activity.day <= end, _lecture())
    if branch_id is not None:
        query = query.where(Activity.branch_id == branch_id)
    elif path is not None:
        query = query.where(Activity.branch_id.in_(select(OrgUnit.id).where(_in_subtree(path))))
    rows: Any = await session.execute(query.order_by(Activity.day, Activity.id))
    return [LectureRow(a, b, d, h, list(x or ())) for a, b, d, h, x in rows]


async def attended_trainings(
    session: AsyncSession, *, person_ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> list[tuple[int, Training]]:
    """(person id, training) of the trainings these few people attended in [start, end)."""
    rows = await session.execute(
        select(TrainingInvitee.person_id, Training)
        .join(Training, Training.id == TrainingInvitee.training_id)
        .where(
            TrainingInvitee.attended.is_(True),
            TrainingInvitee.person_id.in_(list(person_ids)),
            Training.cancelled_at.is_(None),
            Training.starts_at >= start,
            Training.starts_at < end,
        )
        .order_by(Training.starts_at)
    )
    return [(person, training) for person, training in rows]


@dataclass(frozen=True, slots=True)
class SecretaryRow:
    """A branch secretary of the subtree, when appointed, and the trainings they attended."""

    person_id: int
    name: str
    branch_code: str
    appointed_at: dt.datetime
    rotation_this_year: bool
    last_induction: dt.datetime | None


async def secretaries(
    session: AsyncSession, *, path: str, year_start: dt.datetime, year_end: dt.datetime
) -> list[SecretaryRow]:
    """Every branch secretary of the subtree with their rotation training this year and their
    last induction training (one query)."""
    attended = (
        select(TrainingInvitee.person_id, Training.kind, Training.starts_at)
        .join(Training, Training.id == TrainingInvitee.training_id)
        .where(TrainingInvitee.attended.is_(True), Training.cancelled_at.is_(None))
        .subquery("attended")
    )
    rotation = (
        select(attended.c.person_id)
        .where(
            attended.c.kind == TrainingKind.ROTATION,
            attended.c.starts_at >= year_start,
            attended.c.starts_at < year_end,
        )
        .distinct()
    )
    induction = (
        select(attended.c.person_id, func.max(attended.c.starts_at).label("last"))
        .where(attended.c.kind == TrainingKind.INDUCTION)
        .group_by(attended.c.person_id)
        .subquery("induction")
    )
    rows: Any = await session.execute(
        select(
            Person.id,
            Person.name,
            OrgUnit.code,
            RoleAssignment.created_at,
            RoleAssignment.person_id.in_(rotation),
            induction.c.last,
        )
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .join(Person, Person.id == RoleAssignment.person_id)
        .outerjoin(induction, induction.c.person_id == RoleAssignment.person_id)
        .where(RoleAssignment.role == Role.SECRETARY, _in_subtree(path))
        .order_by(OrgUnit.code, Person.name)
    )
    return [SecretaryRow(a, b, c, d, bool(e), f) for a, b, c, d, e, f in rows]


async def set_training_hours(session: AsyncSession, training_id: int, hours: int) -> None:
    """Set a training's class hours."""
    await session.execute(
        update(Training)
        .where(Training.id == training_id)
        .values(class_hours=hours)
        .execution_options(synchronize_session=False)
    )


async def set_lecture_hours(session: AsyncSession, activity_id: int, hours: int) -> None:
    """Set a Party lecture's class hours."""
    await session.execute(
        update(Activity)
        .where(Activity.id == activity_id)
        .values(class_hours=hours)
        .execution_options(synchronize_session=False)
    )


async def secretaries_of(session: AsyncSession, branch_id: int) -> list[int]:
    """The person ids of a branch's secretaries."""
    return list(
        await session.scalars(
            select(RoleAssignment.person_id)
            .where(RoleAssignment.org_unit_id == branch_id, RoleAssignment.role == Role.SECRETARY)
            .order_by(RoleAssignment.id)
        )
    )
