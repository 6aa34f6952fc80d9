"""Satisfaction surveys: members' answers about their branch, the masses' answers by one-time
code, members' checks of finished rectification items, and what anyone may see of them.

Anonymity against whoever holds the database, its backups or the logs:

- *that* a member answered (SurveyParticipant) and *what* was answered (SatisfactionResponse)
  are written in separate statements and share nothing: an answer carries no person, account,
  code or time, and its key is random;
- each new answer rewrites its survey's answers in a shuffled order under fresh keys, so the
  order the rows lie in (PostgreSQL's heap, SQLite's pages) is not the order people answered,
  and a key seen in one backup is gone from the next;
- a member's choice waits in the conversation draft only until the optional comment is given
  or skipped: the draft is deleted in the transaction that files the answer, and never holds
  an answer's key.

What may be shown follows bot.grading.satisfaction.may_show: a figure computed from the answers
only once the survey is closed and rests on at least MIN_VISIBLE_ANSWERS answers.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import SurveyGroup
from bot.grading.satisfaction import (
    SATISFACTION_VALUES,
    SatisfactionCounts,
    counts_of,
    may_show,
)
from bot.grading.service import COMMENT_LIMIT, is_closed
from storage import grading_queries as gq
from storage.models_grading import GradingAssessment, GradingCampaign

# Where the shuffles and keys come from; a test replaces it with a seeded generator to show
# that the stored answers depend only on what was answered, never on who answered when.
rng: random.Random = secrets.SystemRandom()
# The member survey about the branch, as SurveyParticipant.subject.
BRANCH_SURVEY = "branch"


class SurveyOutcome(enum.StrEnum):
    """What became of a survey answer (or why it may not be given)."""

    RECORDED = "recorded"
    ALREADY = "already"
    CLOSED = "closed"
    INVALID = "invalid"
    NOT_MEMBER = "not_member"
    JOINED_LATE = "joined_late"


def _keys(count: int) -> list[int]:
    """Distinct random positive 63-bit keys."""
    keys: set[int] = set()
    while len(keys) < count:
        keys.add(rng.getrandbits(63) or 1)
    return list(keys)


async def file_answer(
    session: AsyncSession,
    *,
    campaign_id: int,
    branch_id: int,
    group: SurveyGroup,
    value: str,
    comment: str | None = None,
    rectification_id: int | None = None,
) -> None:
    """Add an answer to its survey, writing the survey's answers again shuffled under new keys.

    The caller holds the survey's lock (gq.lock_branch_surveys or gq.lock_rectification_check).
    """
    answers = await gq.survey_answers(
        session,
        campaign_id=campaign_id,
        branch_id=branch_id,
        group=group,
        rectification_id=rectification_id,
    )
    answers.append((value, comment))
    # In a canonical order before shuffling, so what is stored depends only on the answers.
    answers.sort(key=lambda answer: (answer[0], answer[1] or ""))
    rng.shuffle(answers)
    keys = _keys(len(answers))
    await gq.replace_survey_answers(
        session,
        campaign_id=campaign_id,
        branch_id=branch_id,
        group=group,
        rectification_id=rectification_id,
        answers=[(key, v, c) for key, (v, c) in zip(keys, answers, strict=True)],
    )


def clean_comment(comment: str | None) -> str | None:
    """A comment as stored: one line, at most COMMENT_LIMIT characters, None when empty."""
    if comment is None:
        return None
    text = " ".join(comment.split())[:COMMENT_LIMIT]
    return text or None


# ---- the members' survey -------------------------------------------------------------------


async def member_refusal(
    session: AsyncSession,
    *,
    campaign: GradingCampaign,
    person_id: int,
    branch_id: int,
    now: dt.datetime,
) -> tuple[SurveyOutcome | None, GradingAssessment | None]:
    """Why this member may not answer the campaign's survey about their branch (None: they
    may), with their branch's assessment."""
    if is_closed(campaign, now):
        return SurveyOutcome.CLOSED, None
    assessment = await gq.assessment_for(session, campaign_id=campaign.id, branch_id=branch_id)
    if assessment is None:
        return SurveyOutcome.NOT_MEMBER, None
    # Someone an invite naming nobody put on the roster after the campaign started could be
    # anyone the inviter chose; the roster the campaign started with answers.
    if await gq.joined_by_invite_since(session, person_id, campaign.created_at):
        return SurveyOutcome.JOINED_LATE, assessment
    if await gq.has_participated(
        session, campaign_id=campaign.id, person_id=person_id, subject=BRANCH_SURVEY
    ):
        return SurveyOutcome.ALREADY, assessment
    return None, assessment


async def answer_member_survey(
    session: AsyncSession,
    *,
    campaign: GradingCampaign,
    person_id: int,
    branch_id: int,
    value: str,
    comment: str | None,
    now: dt.datetime,
) -> SurveyOutcome:
    """File a member's anonymous answer (with the optional comment) about their branch."""
    if value not in SATISFACTION_VALUES:
        return SurveyOutcome.INVALID
    refusal, assessment = await member_refusal(
        session, campaign=campaign, person_id=person_id, branch_id=branch_id, now=now
    )
    if refusal is not None or assessment is None:
        return refusal or SurveyOutcome.NOT_MEMBER
    await gq.lock_branch_surveys(session, assessment.id)
    # Again under the lock: the same member pressing twice at once answers once.
    if await gq.has_participated(
        session, campaign_id=campaign.id, person_id=person_id, subject=BRANCH_SURVEY
    ):
        return SurveyOutcome.ALREADY
    await gq.add_participant(
        session, campaign_id=campaign.id, person_id=person_id, subject=BRANCH_SURVEY
    )
    await file_answer(
        session,
        campaign_id=campaign.id,
        branch_id=branch_id,
        group=SurveyGroup.MEMBER,
        value=value,
        comment=clean_comment(comment),
    )
    return SurveyOutcome.RECORDED


# ---- what a branch and its admins may see --------------------------------------------------


@dataclass(frozen=True, slots=True)
class VisibleCounts:
    """What may be seen of a branch's surveys: how many answered, and each group's breakdown
    only where may_show allows it (None otherwise)."""

    members: SatisfactionCounts | None
    masses: SatisfactionCounts | None
    member_total: int
    mass_total: int
    closed: bool


async def visible_counts(
    session: AsyncSession, *, campaign_id: int, branch_id: int, closed: bool
) -> VisibleCounts:
    """The branch's survey counts, with the breakdowns that may be shown."""
    counts = await gq.satisfaction_counts(session, campaign_id, branch_id=branch_id)
    members = counts_of(counts.get((branch_id, SurveyGroup.MEMBER)))
    masses = counts_of(counts.get((branch_id, SurveyGroup.MASS)))
    return VisibleCounts(
        members if may_show(members.total, closed=closed) else None,
        masses if may_show(masses.total, closed=closed) else None,
        members.total,
        masses.total,
        closed,
    )


async def visible_comments(
    session: AsyncSession, *, campaign_id: int, branch_id: int, counts: VisibleCounts
) -> list[str]:
    """The comments of every group whose breakdown may be shown, shuffled (never in the order
    they were given, and without times)."""
    found: list[str] = []
    for group, shown in ((SurveyGroup.MEMBER, counts.members), (SurveyGroup.MASS, counts.masses)):
        if shown is not None:
            found.extend(await gq.comments(session, campaign_id, branch_id, group))
    rng.shuffle(found)
    return found
