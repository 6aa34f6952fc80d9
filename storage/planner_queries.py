"""The facts the reminder planner reads (leaders, branches, grading deadlines, mobile members),
each for a scope of branches, and the marks of branches to plan again.

Functions take the session first and never commit. The grading and relink tables are read only
here: their features own them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import (
    CampaignStatus,
    OrgKind,
    PersonStatus,
    RectificationStatus,
    RequestState,
    RequestType,
    Role,
    TrainingKind,
)
from storage import bulk
from storage.models import Account, OrgUnit, Person, RoleAssignment, UTCDateTime, utcnow
from storage.models_activity import Activity
from storage.models_grading import (
    GradingAssessment,
    GradingCampaign,
    RectificationItem,
    SurveyParticipant,
)
from storage.models_meetings import Meeting
from storage.models_relink import RelinkRequest
from storage.models_reminders import BranchTerm, PlanMark, Training, TrainingInvitee
from storage.tree import EVERY_BRANCH, BranchScope, subtree_of


@dataclass(frozen=True, slots=True)
class LeaderRow:
    """A secretary (or admin) with a Telegram account, and the node of that role."""

    account_id: int
    time_zone: str | None
    person_id: int
    org_id: int
    org_path: str
    appointed_at: dt.datetime


async def in_background(session: AsyncSession) -> None:
    """Plan this transaction's statements as a planning pass needs (PostgreSQL): it reads a
    slice of a large tree by ranges and keys, and it is background work, whose queries' parallel
    workers would take the cores the users' replies need."""
    await bulk.slice_plans(session)
    await bulk.one_core(session)


async def leaders(
    session: AsyncSession, role: Role, scope: BranchScope = EVERY_BRANCH
) -> list[LeaderRow]:
    """Everyone holding `role` (at a node in the scope) who has an account."""
    rows = await session.execute(
        select(
            Account.id,
            Account.time_zone,
            RoleAssignment.person_id,
            OrgUnit.id,
            OrgUnit.path,
            RoleAssignment.created_at,
        )
        .join(Account, Account.person_id == RoleAssignment.person_id)
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .where(RoleAssignment.role == role, scope.on(RoleAssignment.org_unit_id))
    )
    return [LeaderRow(*row) for row in rows]


async def branches(
    session: AsyncSession, scope: BranchScope = EVERY_BRANCH
) -> list[tuple[int, str]]:
    """The branches in the scope: id and path."""
    rows = await session.execute(
        select(OrgUnit.id, OrgUnit.path).where(OrgUnit.kind == OrgKind.BRANCH, scope.on(OrgUnit.id))
    )
    return [(row[0], row[1]) for row in rows]


@dataclass(frozen=True, slots=True)
class BranchIds:
    """The lowest and highest branch id and how many branches there are: what slices divide."""

    low: int
    high: int
    count: int


async def branch_ids(session: AsyncSession) -> BranchIds | None:
    """The range of branch ids (None without branches)."""
    row = (
        await session.execute(
            select(func.min(OrgUnit.id), func.max(OrgUnit.id), func.count()).where(
                OrgUnit.kind == OrgKind.BRANCH
            )
        )
    ).one()
    return None if row[0] is None else BranchIds(int(row[0]), int(row[1]), int(row[2]))


async def branch_terms(
    session: AsyncSession, scope: BranchScope = EVERY_BRANCH
) -> list[BranchTerm]:
    """The branches in the scope whose term start is known."""
    return list(await session.scalars(select(BranchTerm).where(scope.on(BranchTerm.org_unit_id))))


async def induction_done(
    session: AsyncSession, scope: BranchScope = EVERY_BRANCH
) -> dict[int, dt.datetime]:
    """The last induction training each secretary of a branch in the scope attended."""
    secretaries = select(RoleAssignment.person_id).where(
        RoleAssignment.role == Role.SECRETARY, scope.on(RoleAssignment.org_unit_id)
    )
    rows = await session.execute(
        select(TrainingInvitee.person_id, func.max(Training.starts_at))
        .join(Training, Training.id == TrainingInvitee.training_id)
        .where(
            Training.kind == TrainingKind.INDUCTION,
            TrainingInvitee.attended.is_(True),
            TrainingInvitee.person_id.in_(secretaries),
        )
        .group_by(TrainingInvitee.person_id)
    )
    return {row[0]: row[1] for row in rows}


# ---- grading (read only: the grading feature owns these tables) -------------------------------


async def open_campaigns(
    session: AsyncSession, *, since: dt.datetime
) -> list[tuple[int, int, str, dt.datetime]]:
    """(campaign id, year, subtree path, deadline) of open campaigns with a recent deadline."""
    rows = await session.execute(
        select(GradingCampaign.id, GradingCampaign.year, OrgUnit.path, GradingCampaign.deadline)
        .join(OrgUnit, OrgUnit.id == GradingCampaign.org_unit_id)
        .where(GradingCampaign.status == CampaignStatus.OPEN, GradingCampaign.deadline >= since)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def submitted_branches(
    session: AsyncSession, campaign_id: int, scope: BranchScope = EVERY_BRANCH
) -> set[int]:
    """Branches in the scope whose self-assessment of the campaign is submitted."""
    rows = await session.scalars(
        select(GradingAssessment.branch_id).where(
            GradingAssessment.campaign_id == campaign_id,
            GradingAssessment.submitted_at.is_not(None),
            scope.on(GradingAssessment.branch_id),
        )
    )
    return set(rows.all())


async def rectification_items(
    session: AsyncSession, *, since: dt.date, scope: BranchScope = EVERY_BRANCH
) -> list[tuple[int, int, str, dt.date, bool]]:
    """(id, branch id, problem, due date, done) of items of branches in the scope due since
    `since`."""
    rows = await session.execute(
        select(
            RectificationItem.id,
            RectificationItem.branch_id,
            RectificationItem.problem,
            RectificationItem.due_on,
            RectificationItem.status == RectificationStatus.DONE,
        ).where(RectificationItem.due_on >= since, scope.on(RectificationItem.branch_id))
    )
    return [(row[0], row[1], row[2], row[3], bool(row[4])) for row in rows]


async def survey_members(
    session: AsyncSession, campaign_id: int, scope: BranchScope = EVERY_BRANCH
) -> list[tuple[int, str | None, int | None, bool]]:
    """(account id, time zone, branch id, answered) of the members who can answer the branch
    survey of a campaign (their branch takes part; lost-contact members excluded)."""
    answered = select(SurveyParticipant.person_id).where(
        SurveyParticipant.campaign_id == campaign_id, SurveyParticipant.subject == "branch"
    )
    rows = await session.execute(
        select(
            Account.id,
            Account.time_zone,
            Person.branch_id,
            Person.id.in_(answered),
        )
        .join(Person, Person.id == Account.person_id)
        .join(
            GradingAssessment,
            and_(
                GradingAssessment.branch_id == Person.branch_id,
                GradingAssessment.campaign_id == campaign_id,
            ),
        )
        .where(Person.status != PersonStatus.LOST_CONTACT, scope.on(GradingAssessment.branch_id))
    )
    return [(row[0], row[1], row[2], bool(row[3])) for row in rows]


@dataclass(frozen=True, slots=True)
class MobileMember:
    """An active mobile member's request: who reports, and since when the year counts."""

    request_id: int
    account_id: int
    time_zone: str | None
    last_report_at: dt.datetime | None
    updated_at: dt.datetime


async def active_mobile_members(session: AsyncSession) -> list[MobileMember]:
    """Requests of active mobile members, who report to the home branch once a year."""
    rows = await session.execute(
        select(
            RelinkRequest.id,
            RelinkRequest.requester_account_id,
            Account.time_zone,
            RelinkRequest.last_report_at,
            RelinkRequest.updated_at,
        )
        .join(Account, Account.id == RelinkRequest.requester_account_id)
        .where(RelinkRequest.type == RequestType.MOBILE, RelinkRequest.state == RequestState.ACTIVE)
    )
    return [MobileMember(*row) for row in rows]


# ---- marks: branches to plan again ------------------------------------------------------------


async def mark_branches(session: AsyncSession, branch_ids: Iterable[int]) -> None:
    """Plan these branches again soon (a few, named by the change that affects them)."""
    rows = [{"branch_id": branch_id} for branch_id in sorted(set(branch_ids))]
    if rows:
        await session.execute(insert(PlanMark), rows)


async def _mark_from(session: AsyncSession, branches: Any) -> None:
    marks = select(branches.c.branch_id, literal(utcnow(), UTCDateTime))
    await session.execute(insert(PlanMark).from_select(["branch_id", "marked_at"], marks))


async def mark_activity(session: AsyncSession, activity_id: int) -> None:
    """Plan again the branch of an activity (it was corrected or voided)."""
    await _mark_from(
        session, select(Activity.branch_id).where(Activity.id == activity_id).subquery()
    )


async def mark_meeting(session: AsyncSession, meeting_id: int) -> None:
    """Plan again the branch of a meeting (it was moved, cancelled, answered or logged)."""
    await _mark_from(session, select(Meeting.branch_id).where(Meeting.id == meeting_id).subquery())


async def mark_subtree(session: AsyncSession, path: str) -> None:
    """Plan every branch of a subtree again (a calendar rule changed there)."""
    await _mark_from(
        session,
        select(OrgUnit.id.label("branch_id"))
        .where(subtree_of(OrgUnit.path, path), OrgUnit.kind == OrgKind.BRANCH)
        .subquery(),
    )


async def mark_person(session: AsyncSession, person_id: int) -> None:
    """Plan again the branches a person belongs to or holds a role at (their reminders were
    dropped, or they joined)."""
    member = select(Person.branch_id.label("branch_id")).where(
        Person.id == person_id, Person.branch_id.is_not(None)
    )
    roles = (
        select(RoleAssignment.org_unit_id.label("branch_id"))
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .where(RoleAssignment.person_id == person_id, OrgUnit.kind == OrgKind.BRANCH)
    )
    await _mark_from(session, union(member, roles).subquery())


async def mark_campaign(session: AsyncSession, campaign_id: int) -> None:
    """Plan again every branch of a campaign (it started)."""
    await _mark_from(
        session,
        select(GradingAssessment.branch_id)
        .where(GradingAssessment.campaign_id == campaign_id)
        .subquery(),
    )


async def claim_marks(session: AsyncSession, *, limit: int) -> list[int]:
    """The longest-marked branches (at most `limit`), their marks deleted in the caller's
    transaction: planning them and forgetting the marks commit together. A mark made while
    they are planned stays, so that branch is planned once more."""
    rows = (
        await session.execute(
            select(PlanMark.branch_id, func.max(PlanMark.id))
            .group_by(PlanMark.branch_id)
            .order_by(func.min(PlanMark.id))
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    claimed = [int(row[0]) for row in rows]
    await session.execute(
        delete(PlanMark).where(
            PlanMark.branch_id.in_(claimed), PlanMark.id <= max(int(row[1]) for row in rows)
        )
    )
    return claimed


async def last_mark(session: AsyncSession) -> int:
    """The newest mark's id (0 when none): a full pass forgets the marks up to it."""
    return int(await session.scalar(select(func.max(PlanMark.id))) or 0)


async def forget_marks(session: AsyncSession, *, through: int) -> None:
    """Delete the marks up to an id (a full pass planned every branch after they were made)."""
    await session.execute(delete(PlanMark).where(PlanMark.id <= through))
