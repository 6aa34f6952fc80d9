"""Rectification (整改) of a branch graded weak, and the members' anonymous check of each item.

A member check opens when the leaders mark an item done and closes CHECK_DAYS later; like the
branch survey, its breakdown is shown only once it is closed and from MIN_VISIBLE_ANSWERS on.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.enums import RectificationStatus, SurveyGroup
from bot.grading.satisfaction import SATISFACTION_VALUES, SatisfactionCounts, counts_of, may_show
from bot.grading.surveys import SurveyOutcome, file_answer
from storage import grading_queries as gq
from storage import planner_queries, queries
from storage.models import Account
from storage.models_grading import GradingAssessment, RectificationItem

# How long members may judge an item once it is marked done.
CHECK_DAYS = 30


def check_subject(item_id: int) -> str:
    """SurveyParticipant.subject of an item's check."""
    return f"rect:{item_id}"


async def add_rectification(
    session: AsyncSession,
    *,
    assessment: GradingAssessment,
    problem: str,
    measures: str,
    due_on: dt.date,
    responsible: str,
    actor: Account | None,
) -> RectificationItem:
    """Record one problem of a weakly graded branch with its measures, deadline and owner."""
    item = RectificationItem(
        campaign_id=assessment.campaign_id,
        branch_id=assessment.branch_id,
        problem=problem,
        measures=measures,
        due_on=due_on,
        responsible=responsible,
        status=RectificationStatus.OPEN,
        created_by=actor.id if actor else None,
    )
    session.add(item)
    await session.flush()
    await planner_queries.mark_branches(session, [assessment.branch_id])
    await queries.audit(
        session,
        action="grading.rectification.add",
        actor=actor,
        target_type="grading_rectification",
        target_id=item.id,
        org_unit_id=assessment.branch_id,
    )
    return item


async def complete_rectification(
    session: AsyncSession, *, item: RectificationItem, actor: Account | None, now: dt.datetime
) -> bool:
    """Mark an item done (False when it already was, also when another leader marked it at the
    same moment); members may then judge it."""
    if item.status is RectificationStatus.DONE or not await gq.claim_done(session, item.id, now):
        return False
    set_committed_value(item, "status", RectificationStatus.DONE)
    set_committed_value(item, "done_at", now)
    await queries.audit(
        session,
        action="grading.rectification.done",
        actor=actor,
        target_type="grading_rectification",
        target_id=item.id,
        org_unit_id=item.branch_id,
    )
    return True


def check_closed(item: RectificationItem, now: dt.datetime) -> bool:
    """Whether the members' check of a done item is over."""
    return item.done_at is not None and now >= item.done_at + dt.timedelta(days=CHECK_DAYS)


def check_open(item: RectificationItem, now: dt.datetime) -> bool:
    """Whether members may judge the item now."""
    return item.status is RectificationStatus.DONE and not check_closed(item, now)


async def answer_rectification_check(
    session: AsyncSession,
    *,
    item: RectificationItem,
    person_id: int,
    value: str,
    now: dt.datetime,
) -> SurveyOutcome:
    """File a member's anonymous judgement of a finished rectification item."""
    if value not in SATISFACTION_VALUES:
        return SurveyOutcome.INVALID
    if not check_open(item, now):
        return SurveyOutcome.CLOSED
    subject = check_subject(item.id)
    await gq.lock_rectification_check(session, item.id)
    if await gq.has_participated(
        session, campaign_id=item.campaign_id, person_id=person_id, subject=subject
    ):
        return SurveyOutcome.ALREADY
    await gq.add_participant(
        session, campaign_id=item.campaign_id, person_id=person_id, subject=subject
    )
    await file_answer(
        session,
        campaign_id=item.campaign_id,
        branch_id=item.branch_id,
        group=SurveyGroup.RECTIFICATION,
        value=value,
        rectification_id=item.id,
    )
    return SurveyOutcome.RECORDED


async def visible_check(
    session: AsyncSession, item: RectificationItem, now: dt.datetime
) -> tuple[int, SatisfactionCounts | None]:
    """How many members judged an item, and the breakdown when it may be shown."""
    counts = counts_of(await gq.rectification_counts(session, item.id))
    shown = may_show(counts.total, closed=check_closed(item, now))
    return counts.total, counts if shown else None
