"""Data access for grading campaigns, assessments, surveys, mass codes and rectification.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import CampaignStatus, OrgKind, PersonStatus, RectificationStatus, Role, SurveyGroup
from storage import planner_queries
from storage.models import Account, OrgUnit, Person, RoleAssignment
from storage.models_activity import Activity
from storage.models_grading import (
    GradingAssessment,
    GradingCampaign,
    MassSurveyCode,
    RectificationItem,
    SatisfactionResponse,
    SurveyParticipant,
)
from storage.tree import subtree_of, subtrees_of

# ---- campaigns and assessments -------------------------------------------------------------


async def campaign_by_id(session: AsyncSession, campaign_id: int) -> GradingCampaign | None:
    """The campaign with this id."""
    return await session.get(GradingCampaign, campaign_id)


async def campaigns_under(session: AsyncSession, paths: Iterable[str]) -> list[GradingCampaign]:
    """Campaigns whose root lies in one of the subtrees, newest first."""
    paths = list(paths)
    if not paths:
        return []
    return list(
        await session.scalars(
            select(GradingCampaign)
            .join(OrgUnit, OrgUnit.id == GradingCampaign.org_unit_id)
            .where(subtrees_of(OrgUnit.path, paths))
            .order_by(GradingCampaign.id.desc())
        )
    )


async def campaign_of_year(
    session: AsyncSession, *, org_unit_id: int, year: int
) -> GradingCampaign | None:
    """The campaign already run for this subtree root and year, if any."""
    return await session.scalar(
        select(GradingCampaign)
        .where(GradingCampaign.org_unit_id == org_unit_id, GradingCampaign.year == year)
        .order_by(GradingCampaign.id)
        .limit(1)
    )


async def has_branches(session: AsyncSession, root: OrgUnit) -> bool:
    """Whether the subtree has a branch (the root itself when it is one)."""
    found = await session.scalar(
        select(OrgUnit.id)
        .where(subtree_of(OrgUnit.path, root.path), OrgUnit.kind == OrgKind.BRANCH)
        .limit(1)
    )
    return found is not None


async def add_assessments(session: AsyncSession, *, campaign_id: int, root: OrgUnit) -> int:
    """An empty assessment for every branch of the subtree, in one INSERT ... SELECT; how many
    branches the campaign covers."""
    branches = select(
        literal(campaign_id),
        OrgUnit.id,
        literal({}, GradingAssessment.answers.type),
        literal([], GradingAssessment.confirmed.type),
    ).where(subtree_of(OrgUnit.path, root.path), OrgUnit.kind == OrgKind.BRANCH)
    result = await session.execute(
        insert(GradingAssessment).from_select(
            ["campaign_id", "branch_id", "answers", "confirmed"], branches
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def assessment_by_id(session: AsyncSession, assessment_id: int) -> GradingAssessment | None:
    """The assessment with this id."""
    return await session.get(GradingAssessment, assessment_id)


async def assessment_for(
    session: AsyncSession, *, campaign_id: int, branch_id: int
) -> GradingAssessment | None:
    """One branch's assessment in one campaign."""
    return await session.scalar(
        select(GradingAssessment).where(
            GradingAssessment.campaign_id == campaign_id,
            GradingAssessment.branch_id == branch_id,
        )
    )


async def assessments_of_branches(
    session: AsyncSession, branch_ids: Iterable[int]
) -> list[tuple[GradingAssessment, GradingCampaign]]:
    """The branches' assessments with their campaigns, newest campaign first."""
    ids = list(branch_ids)
    if not ids:
        return []
    rows = await session.execute(
        select(GradingAssessment, GradingCampaign)
        .join(GradingCampaign, GradingCampaign.id == GradingAssessment.campaign_id)
        .where(GradingAssessment.branch_id.in_(ids))
        .order_by(GradingCampaign.id.desc(), GradingAssessment.branch_id)
    )
    return [(a, c) for a, c in rows]


async def campaign_assessments(
    session: AsyncSession, campaign_id: int
) -> list[tuple[GradingAssessment, OrgUnit]]:
    """Every assessment of a campaign with its branch, by branch code."""
    rows = await session.execute(
        select(GradingAssessment, OrgUnit)
        .join(OrgUnit, OrgUnit.id == GradingAssessment.branch_id)
        .where(GradingAssessment.campaign_id == campaign_id)
        .order_by(OrgUnit.code)
    )
    return [(a, o) for a, o in rows]


async def member_counts(session: AsyncSession, root: OrgUnit) -> dict[int, int]:
    """Roster size per branch of a subtree (lost-contact members excluded)."""
    rows = await session.execute(
        select(Person.branch_id, func.count())
        .join(OrgUnit, OrgUnit.id == Person.branch_id)
        .where(
            subtree_of(OrgUnit.path, root.path),
            Person.status != PersonStatus.LOST_CONTACT,
        )
        .group_by(Person.branch_id)
    )
    return {int(branch_id): int(n) for branch_id, n in rows if branch_id is not None}


async def claim_finalisation(session: AsyncSession, campaign_id: int, now: dt.datetime) -> bool:
    """Mark an open campaign finalised, atomically: False when another transaction did it
    first (two admins pressing at once decide once)."""
    result = await session.execute(
        update(GradingCampaign)
        .where(GradingCampaign.id == campaign_id, GradingCampaign.status == CampaignStatus.OPEN)
        .values(status=CampaignStatus.FINALISED, finalised_at=now)
        .returning(GradingCampaign.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none() is not None


# ---- satisfaction --------------------------------------------------------------------------


async def satisfaction_counts(
    session: AsyncSession, campaign_id: int, *, branch_id: int | None = None
) -> dict[tuple[int, SurveyGroup], dict[str, int]]:
    """Counts per (branch, group) and answer value of a campaign's branch surveys."""
    query = (
        select(
            SatisfactionResponse.branch_id,
            SatisfactionResponse.group,
            SatisfactionResponse.value,
            func.count(),
        )
        .where(
            SatisfactionResponse.campaign_id == campaign_id,
            SatisfactionResponse.rectification_id.is_(None),
        )
        .group_by(
            SatisfactionResponse.branch_id, SatisfactionResponse.group, SatisfactionResponse.value
        )
    )
    if branch_id is not None:
        query = query.where(SatisfactionResponse.branch_id == branch_id)
    result: dict[tuple[int, SurveyGroup], dict[str, int]] = defaultdict(dict)
    for branch, group, value, n in await session.execute(query):
        result[(int(branch), SurveyGroup(group))][str(value)] = int(n)
    return dict(result)


async def rectification_counts(session: AsyncSession, item_id: int) -> dict[str, int]:
    """Counts per answer value of the members' check of one rectification item."""
    rows = await session.execute(
        select(SatisfactionResponse.value, func.count())
        .where(SatisfactionResponse.rectification_id == item_id)
        .group_by(SatisfactionResponse.value)
    )
    return {str(v): int(n) for v, n in rows}


async def comments(
    session: AsyncSession, campaign_id: int, branch_id: int, group: SurveyGroup
) -> list[str]:
    """The comments of one group's survey about a branch (in no meaningful order)."""
    return [
        str(c)
        for c in await session.scalars(
            select(SatisfactionResponse.comment).where(
                SatisfactionResponse.campaign_id == campaign_id,
                SatisfactionResponse.branch_id == branch_id,
                SatisfactionResponse.group == group,
                SatisfactionResponse.rectification_id.is_(None),
                SatisfactionResponse.comment.is_not(None),
            )
        )
    ]


async def has_participated(
    session: AsyncSession, *, campaign_id: int, person_id: int, subject: str
) -> bool:
    """Whether the member already answered this survey."""
    found = await session.scalar(
        select(SurveyParticipant.id).where(
            SurveyParticipant.campaign_id == campaign_id,
            SurveyParticipant.person_id == person_id,
            SurveyParticipant.subject == subject,
        )
    )
    return found is not None


async def lock_branch_surveys(session: AsyncSession, assessment_id: int) -> None:
    """Take the write lock of one branch's surveys in a campaign (its assessment row) until
    the transaction ends, so answers given at the same moment are filed one after the other."""
    await session.execute(
        update(GradingAssessment)
        .where(GradingAssessment.id == assessment_id)
        .values(id=GradingAssessment.id)
        .execution_options(synchronize_session=False)
    )


async def lock_rectification_check(session: AsyncSession, item_id: int) -> None:
    """Take the write lock of one rectification item's check until the transaction ends."""
    await session.execute(
        update(RectificationItem)
        .where(RectificationItem.id == item_id)
        .values(id=RectificationItem.id)
        .execution_options(synchronize_session=False)
    )


async def add_participant(
    session: AsyncSession, *, campaign_id: int, person_id: int, subject: str
) -> None:
    """Record that a member answered a survey (never what), in a statement of its own."""
    session.add(SurveyParticipant(campaign_id=campaign_id, person_id=person_id, subject=subject))
    await session.flush()


def _survey(
    campaign_id: int, branch_id: int, group: SurveyGroup, rectification_id: int | None
) -> list[ColumnElement[bool]]:
    return [
        SatisfactionResponse.campaign_id == campaign_id,
        SatisfactionResponse.branch_id == branch_id,
        SatisfactionResponse.group == group,
        SatisfactionResponse.rectification_id.is_(None)
        if rectification_id is None
        else SatisfactionResponse.rectification_id == rectification_id,
    ]


async def survey_answers(
    session: AsyncSession,
    *,
    campaign_id: int,
    branch_id: int,
    group: SurveyGroup,
    rectification_id: int | None = None,
) -> list[tuple[str, str | None]]:
    """(value, comment) of every answer of one survey."""
    rows = await session.execute(
        select(SatisfactionResponse.value, SatisfactionResponse.comment).where(
            *_survey(campaign_id, branch_id, group, rectification_id)
        )
    )
    return [(str(value), comment) for value, comment in rows]


async def replace_survey_answers(
    session: AsyncSession,
    *,
    campaign_id: int,
    branch_id: int,
    group: SurveyGroup,
    rectification_id: int | None,
    answers: Sequence[tuple[int, str, str | None]],
) -> None:
    """Write one survey's answers again, as (key, value, comment) in the order given: the
    order rows are inserted in is the order they lie in the database's files."""
    await session.execute(
        delete(SatisfactionResponse)
        .where(*_survey(campaign_id, branch_id, group, rectification_id))
        .execution_options(synchronize_session=False)
    )
    if answers:
        await session.execute(
            insert(SatisfactionResponse),
            [
                {
                    "id": key,
                    "campaign_id": campaign_id,
                    "branch_id": branch_id,
                    "group": group,
                    "rectification_id": rectification_id,
                    "value": value,
                    "comment": comment,
                }
                for key, value, comment in answers
            ],
        )


# ---- mass codes ----------------------------------------------------------------------------


async def add_mass_codes(
    session: AsyncSession,
    *,
    campaign_id: int,
    branch_id: int,
    hashes: Iterable[str],
    created_by: int | None,
) -> None:
    """Store the hashes of new one-time codes."""
    session.add_all(
        MassSurveyCode(
            campaign_id=campaign_id, branch_id=branch_id, code_hash=h, created_by=created_by
        )
        for h in hashes
    )
    await session.flush()


async def mass_code_by_hash(session: AsyncSession, code_hash: str) -> MassSurveyCode | None:
    """The code with this hash."""
    return await session.scalar(select(MassSurveyCode).where(MassSurveyCode.code_hash == code_hash))


async def use_mass_code(session: AsyncSession, code_id: int, now: dt.datetime) -> bool:
    """Mark a code used, atomically; False when it had been used meanwhile."""
    result = await session.execute(
        update(MassSurveyCode)
        .where(MassSurveyCode.id == code_id, MassSurveyCode.used_at.is_(None))
        .values(used_at=now)
        .returning(MassSurveyCode.id)
    )
    return result.scalar_one_or_none() is not None


async def mass_code_counts(
    session: AsyncSession, *, campaign_id: int, branch_id: int
) -> tuple[int, int]:
    """(codes handed out, codes used) for one branch."""
    row = (
        await session.execute(
            select(func.count(), func.count(MassSurveyCode.used_at)).where(
                MassSurveyCode.campaign_id == campaign_id, MassSurveyCode.branch_id == branch_id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def mass_code_totals(session: AsyncSession, campaign_id: int) -> dict[int, tuple[int, int]]:
    """(codes handed out, codes used) per branch of a campaign."""
    rows = await session.execute(
        select(MassSurveyCode.branch_id, func.count(), func.count(MassSurveyCode.used_at))
        .where(MassSurveyCode.campaign_id == campaign_id)
        .group_by(MassSurveyCode.branch_id)
    )
    return {int(branch): (int(issued), int(used)) for branch, issued, used in rows}


# ---- rectification -------------------------------------------------------------------------


async def rectification_items(
    session: AsyncSession, *, campaign_id: int, branch_id: int | None = None
) -> list[RectificationItem]:
    """Rectification items of a campaign (optionally of one branch), by due date."""
    query = select(RectificationItem).where(RectificationItem.campaign_id == campaign_id)
    if branch_id is not None:
        query = query.where(RectificationItem.branch_id == branch_id)
    return list(
        await session.scalars(
            query.order_by(
                RectificationItem.branch_id, RectificationItem.due_on, RectificationItem.id
            )
        )
    )


async def rectification_by_id(session: AsyncSession, item_id: int) -> RectificationItem | None:
    """The rectification item with this id."""
    return await session.get(RectificationItem, item_id)


async def claim_done(session: AsyncSession, item_id: int, now: dt.datetime) -> bool:
    """Mark an open rectification item done, atomically: False when another transaction did
    it first (two leaders pressing at once decide once)."""
    result = await session.execute(
        update(RectificationItem)
        .where(
            RectificationItem.id == item_id, RectificationItem.status == RectificationStatus.OPEN
        )
        .values(status=RectificationStatus.DONE, done_at=now)
        .returning(RectificationItem.branch_id)
        .execution_options(synchronize_session=False)
    )
    branch_id = result.scalar_one_or_none()
    if branch_id is None:
        return False
    await planner_queries.mark_branches(session, [branch_id])
    return True


# ---- recipients ----------------------------------------------------------------------------


async def member_accounts(session: AsyncSession, branch_id: int) -> list[Account]:
    """Linked accounts of the people on a branch roster (lost-contact members excluded)."""
    return list(
        await session.scalars(
            select(Account)
            .join(Person, Person.id == Account.person_id)
            .where(Person.branch_id == branch_id, Person.status != PersonStatus.LOST_CONTACT)
            .order_by(Account.id)
        )
    )


# ---- the activity log, for pre-filling -----------------------------------------------------


async def activity_counts(
    session: AsyncSession, *, branch_id: int, year: int
) -> dict[tuple[str, int], int]:
    """Activities of a branch per (kind, month) in a year; voided ones don't count."""
    rows = await session.execute(
        select(Activity.kinds, Activity.day).where(
            Activity.branch_id == branch_id,
            Activity.voided.is_(False),
            Activity.day >= dt.date(year, 1, 1),
            Activity.day <= dt.date(year, 12, 31),
        )
    )
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for kinds, day in rows:
        # One meeting can count for several kinds (a general meeting with a lecture).
        for kind in set(kinds or ()):
            counts[(str(kind), day.month)] += 1
    return dict(counts)


async def admin_accounts_over(session: AsyncSession, unit: OrgUnit) -> list[Account]:
    """Linked accounts of the admins of any node above or at this one."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    if not ids:
        return []
    return list(
        await session.scalars(
            select(Account)
            .join(RoleAssignment, RoleAssignment.person_id == Account.person_id)
            .where(RoleAssignment.org_unit_id.in_(ids), RoleAssignment.role == Role.ADMIN)
            .distinct()
            .order_by(Account.id)
        )
    )


async def joined_by_invite_since(
    session: AsyncSession, person_id: int, moment: dt.datetime
) -> bool:
    """Whether the person came onto the roster through an invite naming nobody after moment."""
    found = await session.scalar(
        select(Person.id).where(
            Person.id == person_id,
            Person.added_by_invite.is_(True),
            Person.created_at > moment,
        )
    )
    return found is not None
