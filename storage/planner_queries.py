"""The facts the reminder planner reads: leaders, branches, grading deadlines, mobile members.

Functions take the session first and never commit. The grading and relink tables are read only
here: their features own them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, select
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
from storage.models import Account, OrgUnit, Person, RoleAssignment
from storage.models_grading import (
    GradingAssessment,
    GradingCampaign,
    RectificationItem,
    SurveyParticipant,
)
from storage.models_relink import RelinkRequest
from storage.models_reminders import Training, TrainingInvitee


@dataclass(frozen=True, slots=True)
class LeaderRow:
    """A secretary (or admin) with a Telegram account, and the node of that role."""

    account_id: int
    time_zone: str | None
    person_id: int
    org_id: int
    org_path: str
    appointed_at: dt.datetime


async def leaders(session: AsyncSession, role: Role) -> list[LeaderRow]:
    """Everyone holding `role` who has an account."""
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
        .where(RoleAssignment.role == role)
    )
    return [LeaderRow(*row) for row in rows]


async def branches(session: AsyncSession) -> list[tuple[int, str]]:
    """Every branch: id and path."""
    rows = await session.execute(
        select(OrgUnit.id, OrgUnit.path).where(OrgUnit.kind == OrgKind.BRANCH)
    )
    return [(row[0], row[1]) for row in rows]


async def induction_done(
    session: AsyncSession, person_ids: Iterable[int]
) -> dict[int, dt.datetime]:
    """The last induction training each of these people attended."""
    rows = await session.execute(
        select(TrainingInvitee.person_id, func.max(Training.starts_at))
        .join(Training, Training.id == TrainingInvitee.training_id)
        .where(
            Training.kind == TrainingKind.INDUCTION,
            TrainingInvitee.attended.is_(True),
            TrainingInvitee.person_id.in_(list(person_ids)),
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


async def submitted_branches(session: AsyncSession, campaign_id: int) -> set[int]:
    """Branches whose self-assessment of the campaign is submitted."""
    rows = await session.scalars(
        select(GradingAssessment.branch_id).where(
            GradingAssessment.campaign_id == campaign_id,
            GradingAssessment.submitted_at.is_not(None),
        )
    )
    return set(rows.all())


async def rectification_items(
    session: AsyncSession, *, since: dt.date
) -> list[tuple[int, int, str, dt.date, bool]]:
    """(id, branch id, problem, due date, done) of items due since `since`."""
    rows = await session.execute(
        select(
            RectificationItem.id,
            RectificationItem.branch_id,
            RectificationItem.problem,
            RectificationItem.due_on,
            RectificationItem.status == RectificationStatus.DONE,
        ).where(RectificationItem.due_on >= since)
    )
    return [(row[0], row[1], row[2], row[3], bool(row[4])) for row in rows]


async def survey_members(
    session: AsyncSession, campaign_id: int
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
        .where(Person.status != PersonStatus.LOST_CONTACT)
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
