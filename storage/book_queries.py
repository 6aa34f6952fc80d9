"""Reads for the record book: every query takes many branches at once, so the books of a
thousand branches cost a few queries per chunk, not a few per branch.

Read only, also over tables other features own (trainings, grading, rectification). Functions
take the session first and never commit. The dues reads mirror storage.dues_queries' for many
branches at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import CampaignStatus, OrgKind, PersonStatus, Role
from storage.models import OrgUnit, Person, RoleAssignment
from storage.models_activity import Activity
from storage.models_dues import DuesAccount, DuesPayment, DuesStandard
from storage.models_grading import GradingAssessment, GradingCampaign, RectificationItem
from storage.models_meetings import Meeting
from storage.models_reminders import Training, TrainingInvitee

LEADER_ROLES = (Role.SECRETARY, Role.DEPUTY)


def _within(paths: Sequence[str]) -> ColumnElement[bool]:
    return or_(*(OrgUnit.path.startswith(path, autoescape=True) for path in paths))


async def branch_by_id(session: AsyncSession, branch_id: int) -> OrgUnit | None:
    """The branch with this id (None for another kind of node or no node)."""
    unit = await session.get(OrgUnit, branch_id)
    return unit if unit is not None and unit.kind is OrgKind.BRANCH else None


async def branches_by_ids(session: AsyncSession, branch_ids: Sequence[int]) -> list[OrgUnit]:
    """These branches, by code (ids of other kinds of node are left out)."""
    if not branch_ids:
        return []
    query = select(OrgUnit).where(OrgUnit.id.in_(list(branch_ids)), OrgUnit.kind == OrgKind.BRANCH)
    return list(await session.scalars(query.order_by(OrgUnit.code)))


def _matching(text: str) -> ColumnElement[bool]:
    pattern = f"%{text.strip()}%"
    return (
        OrgUnit.code.ilike(pattern) | OrgUnit.name.ilike(pattern) | OrgUnit.name_en.ilike(pattern)
    )


async def count_branches(
    session: AsyncSession, paths: Sequence[str], *, text: str | None = None
) -> int:
    """How many branches lie in these subtrees (whose code or name contains `text`)."""
    if not paths:
        return 0
    query = select(func.count()).where(OrgUnit.kind == OrgKind.BRANCH, _within(paths))
    if text:
        query = query.where(_matching(text))
    return int(await session.scalar(query) or 0)


async def branches_page(
    session: AsyncSession,
    paths: Sequence[str],
    *,
    offset: int = 0,
    limit: int = 8,
    text: str | None = None,
) -> list[OrgUnit]:
    """One page of the branches of these subtrees by code, optionally those whose code or
    name contains `text`."""
    if not paths:
        return []
    query = select(OrgUnit).where(OrgUnit.kind == OrgKind.BRANCH, _within(paths))
    if text:
        query = query.where(_matching(text))
    return list(await session.scalars(query.order_by(OrgUnit.code).offset(offset).limit(limit)))


async def branch_ids_in(session: AsyncSession, paths: Sequence[str]) -> list[int]:
    """The ids of every branch of these subtrees, by code."""
    if not paths:
        return []
    query = select(OrgUnit.id).where(OrgUnit.kind == OrgKind.BRANCH, _within(paths))
    return list(await session.scalars(query.order_by(OrgUnit.code)))


async def leaders(
    session: AsyncSession, branch_ids: Sequence[int]
) -> Sequence[Row[int, int, Role, str]]:
    """(branch id, person id, role, name) of the secretaries and deputies of these branches."""
    query = (
        select(RoleAssignment.org_unit_id, Person.id, RoleAssignment.role, Person.name)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(
            RoleAssignment.org_unit_id.in_(list(branch_ids)),
            RoleAssignment.role.in_(LEADER_ROLES),
        )
        .order_by(RoleAssignment.org_unit_id, RoleAssignment.role.desc(), Person.name)
    )
    return (await session.execute(query)).all()


async def rosters(
    session: AsyncSession, branch_ids: Sequence[int]
) -> Sequence[Row[int, int, str, PersonStatus, dt.datetime]]:
    """(branch id, person id, name, status, added on) of everyone on these rosters."""
    query = (
        select(Person.branch_id, Person.id, Person.name, Person.status, Person.created_at)
        .where(Person.branch_id.in_(list(branch_ids)))
        .order_by(Person.branch_id, Person.name, Person.id)
    )
    return (await session.execute(query)).all()  # type: ignore[return-value]


async def year_activities(
    session: AsyncSession, branch_ids: Sequence[int], *, start: dt.date, end: dt.date
) -> list[Activity]:
    """The activities of these branches dated start..end, void ones included, by date."""
    query = (
        select(Activity)
        .where(Activity.branch_id.in_(list(branch_ids)), Activity.day.between(start, end))
        .order_by(Activity.branch_id, Activity.day, Activity.id)
    )
    return list(await session.scalars(query))


async def party_groups(
    session: AsyncSession, branch_ids: Sequence[int]
) -> Sequence[Row[int, int, str, str | None]]:
    """(branch id, group id, name, English name) of the party groups of these branches."""
    query = (
        select(OrgUnit.parent_id, OrgUnit.id, OrgUnit.name, OrgUnit.name_en)
        .where(OrgUnit.kind == OrgKind.PARTY_GROUP, OrgUnit.parent_id.in_(list(branch_ids)))
        .order_by(OrgUnit.code)
    )
    return (await session.execute(query)).all()  # type: ignore[return-value]


async def trainings_attended(
    session: AsyncSession, branch_ids: Sequence[int], *, start: dt.datetime, end: dt.datetime
) -> Sequence[Row[int, str, str, str, dt.datetime]]:
    """(branch id, person, title, kind, starts at) of the trainings, in [start, end), that
    people on these rosters attended (cancelled trainings left out)."""
    query = (
        select(Person.branch_id, Person.name, Training.title, Training.kind, Training.starts_at)
        .join(TrainingInvitee, TrainingInvitee.person_id == Person.id)
        .join(Training, Training.id == TrainingInvitee.training_id)
        .where(
            Person.branch_id.in_(list(branch_ids)),
            TrainingInvitee.attended.is_(True),
            Training.cancelled_at.is_(None),
            Training.starts_at >= start,
            Training.starts_at < end,
        )
        .order_by(Person.branch_id, Training.starts_at, Person.name)
    )
    return (await session.execute(query)).all()  # type: ignore[return-value]


async def assessments(
    session: AsyncSession, branch_ids: Sequence[int], *, year: int
) -> Sequence[Row[int, int, bool, float | None, float | None, str | None]]:
    """(branch id, campaign id, finalised, self score, final score, grade) of these branches
    in the grading campaigns of `year`."""
    query = (
        select(
            GradingAssessment.branch_id,
            GradingCampaign.id,
            GradingCampaign.status == CampaignStatus.FINALISED,
            GradingAssessment.self_score,
            GradingAssessment.final_score,
            GradingAssessment.grade,
        )
        .join(GradingCampaign, GradingCampaign.id == GradingAssessment.campaign_id)
        .where(GradingAssessment.branch_id.in_(list(branch_ids)), GradingCampaign.year == year)
        .order_by(GradingAssessment.branch_id, GradingCampaign.id)
    )
    return (await session.execute(query)).all()


async def rectification_items(
    session: AsyncSession, branch_ids: Sequence[int], *, year: int
) -> list[RectificationItem]:
    """The rectification items of these branches in the grading campaigns of `year`."""
    query = (
        select(RectificationItem)
        .join(GradingCampaign, GradingCampaign.id == RectificationItem.campaign_id)
        .where(RectificationItem.branch_id.in_(list(branch_ids)), GradingCampaign.year == year)
        .order_by(RectificationItem.branch_id, RectificationItem.due_on, RectificationItem.id)
    )
    return list(await session.scalars(query))


async def dues_roster(session: AsyncSession, branch_ids: Sequence[int]) -> Sequence[Row[int, int]]:
    """(branch id, person id) of who pays dues to these branches (lost contact aside), the
    dues ledger's roster."""
    query = (
        select(Person.branch_id, Person.id)
        .where(Person.branch_id.in_(list(branch_ids)), Person.status != PersonStatus.LOST_CONTACT)
        .order_by(Person.branch_id, Person.id)
    )
    return (await session.execute(query)).all()  # type: ignore[return-value]


async def dues_standards(
    session: AsyncSession, branch_ids: Sequence[int], *, last: int
) -> Sequence[Row[int, int, int]]:
    """(person id, from month, fen) of the standards in force from month `last` or before of
    everyone on these rosters."""
    on_rosters = select(Person.id).where(Person.branch_id.in_(list(branch_ids)))
    query = (
        select(DuesStandard.person_id, DuesStandard.from_month, DuesStandard.amount_fen)
        .where(
            DuesStandard.person_id.in_(on_rosters),
            DuesStandard.voided_at.is_(None),
            DuesStandard.from_month <= last,
        )
        .order_by(DuesStandard.person_id, DuesStandard.from_month)
    )
    return (await session.execute(query)).all()


async def dues_payments(
    session: AsyncSession, branch_ids: Sequence[int], *, first: int, last: int
) -> Sequence[Row[int, int, int]]:
    """(person id, month, fen) of the payments in force for months first..last of everyone
    on these rosters."""
    on_rosters = select(Person.id).where(Person.branch_id.in_(list(branch_ids)))
    query = select(DuesPayment.person_id, DuesPayment.month, DuesPayment.amount_fen).where(
        DuesPayment.person_id.in_(on_rosters),
        DuesPayment.voided_at.is_(None),
        DuesPayment.month.between(first, last),
    )
    return (await session.execute(query)).all()


async def dues_accounts(
    session: AsyncSession, branch_ids: Sequence[int], *, year: int
) -> Sequence[Row[int, dt.datetime]]:
    """(branch id, published at) of these branches' yearly dues accounts of `year`."""
    query = select(DuesAccount.branch_id, DuesAccount.published_at).where(
        DuesAccount.branch_id.in_(list(branch_ids)), DuesAccount.year == year
    )
    return (await session.execute(query)).all()


async def meeting_times(
    session: AsyncSession, branch_ids: Sequence[int]
) -> Sequence[Row[int, dt.datetime]]:
    """(activity id, starts at) of the meetings called with /meet in these branches that were
    logged as an activity."""
    query = select(Meeting.activity_id, Meeting.starts_at).where(
        Meeting.branch_id.in_(list(branch_ids)), Meeting.activity_id.is_not(None)
    )
    return (await session.execute(query)).all()  # type: ignore[return-value]
