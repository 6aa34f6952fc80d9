"""The superior's assessment, every branch's result, and finalising a campaign."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.enums import CampaignStatus, SurveyGroup
from bot.grading.questionnaire import Indicator, IndicatorSource, Questionnaire
from bot.grading.satisfaction import counts_of
from bot.grading.scoring import GradingConfig, GradingResult, grade_branch, superior_total
from bot.grading.service import CampaignError, config_from_json, questionnaire_for
from storage import grading_queries as gq
from storage import queries
from storage.models import Account, OrgUnit
from storage.models_grading import GradingAssessment, GradingCampaign


def superior_value(stored: Mapping[str, float] | None) -> float | dict[str, float] | None:
    """The superior's assessment as grade_branch takes it."""
    if stored is None:
        return None
    if "total" in stored:
        return float(stored["total"])
    return {k: float(v) for k, v in stored.items()}


def item_indicators(questionnaire: Questionnaire) -> list[Indicator]:
    """The indicators scored from items (the superior gives points for these)."""
    return [i for i in questionnaire.indicators if i.source is not IndicatorSource.SATISFACTION]


def parse_superior(questionnaire: Questionnaire, text: str) -> float | dict[str, float] | None:
    """A typed total ("85") or points per item indicator in order ("15 8 9 10 7 18")."""
    parts = [p for p in re.split(r"[\s,，、;；/]+", text.strip()) if p]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    indicators = item_indicators(questionnaire)
    value: float | dict[str, float]
    if len(numbers) == 1:
        value = numbers[0]
    elif len(numbers) == len(indicators):
        value = {ind.id: n for ind, n in zip(indicators, numbers, strict=True)}
    else:
        return None
    return value if check_superior(questionnaire, value) is None else None


def superior_points(questionnaire: Questionnaire, value: float | Mapping[str, float]) -> float:
    """The superior's total 0..100 (points per indicator are scaled up to 100)."""
    return superior_total(questionnaire, value, None)


def check_superior(questionnaire: Questionnaire, value: float | Mapping[str, float]) -> str | None:
    """Why a superior's assessment is invalid, or None."""
    try:
        superior_total(questionnaire, value, None)
    except ValueError as exc:
        return str(exc)
    return None


async def set_superior(
    session: AsyncSession,
    *,
    campaign: GradingCampaign,
    assessment: GradingAssessment,
    value: float | Mapping[str, float],
    actor: Account | None,
) -> str | None:
    """Record the superior's total or points per indicator; returns a problem or None."""
    if campaign.status is CampaignStatus.FINALISED:
        return "the campaign is finalised"
    problem = check_superior(questionnaire_for(campaign), value)
    if problem is not None:
        return problem
    stored = {"total": float(value)} if isinstance(value, int | float) else dict(value)
    assessment.superior = stored
    await queries.audit(
        session,
        action="grading.superior",
        actor=actor,
        actor_label="cli",
        target_type="grading_assessment",
        target_id=assessment.id,
        org_unit_id=assessment.branch_id,
        details=stored,
    )
    return None


@dataclass(frozen=True, slots=True)
class BranchResult:
    """One branch's grading in a campaign."""

    branch: OrgUnit
    assessment: GradingAssessment
    result: GradingResult


async def campaign_results(session: AsyncSession, campaign: GradingCampaign) -> list[BranchResult]:
    """Score every branch of a campaign from the stored answers, surveys and superior scores."""
    questionnaire = questionnaire_for(campaign)
    config = config_from_json(campaign.config)
    root = await queries.org_by_id(session, campaign.org_unit_id)
    assert root is not None
    members = await gq.member_counts(session, root)
    counts = await gq.satisfaction_counts(session, campaign.id)
    results = []
    for assessment, branch in await gq.campaign_assessments(session, campaign.id):
        answers = assessment.answers if assessment.submitted_at is not None else None
        result = grade_branch(
            questionnaire,
            answers=answers,
            superior=superior_value(assessment.superior),
            members=counts_of(counts.get((branch.id, SurveyGroup.MEMBER))),
            masses=counts_of(counts.get((branch.id, SurveyGroup.MASS))),
            member_count=members.get(branch.id, 0),
            config=config,
        )
        results.append(BranchResult(branch, assessment, result))
    return results


async def finalise(
    session: AsyncSession, *, campaign: GradingCampaign, actor: Account | None, now: dt.datetime
) -> list[BranchResult]:
    """Fix every branch's final score and grade; the campaign is closed afterwards.

    Decided once: of two admins finalising at the same moment, the second gets CampaignError.
    """
    if campaign.status is CampaignStatus.FINALISED or not await gq.claim_finalisation(
        session, campaign.id, now
    ):
        raise CampaignError("the campaign is already finalised")
    # The claim wrote the row directly; the loaded object learns it without another write.
    set_committed_value(campaign, "status", CampaignStatus.FINALISED)
    set_committed_value(campaign, "finalised_at", now)
    results = await campaign_results(session, campaign)
    for row in results:
        row.assessment.final_score = row.result.final_score
        row.assessment.grade = row.result.grade
        if row.result.participation is not None:
            row.assessment.member_count = row.result.participation.member_count
    await queries.audit(
        session,
        action="grading.finalise",
        actor=actor,
        actor_label="cli",
        target_type="grading_campaign",
        target_id=campaign.id,
        org_unit_id=campaign.org_unit_id,
        details=dict(Counter(str(r.result.grade) for r in results)),
    )
    return results


def grade_distribution(results: Sequence[BranchResult], config: GradingConfig) -> dict[str, int]:
    """How many branches got each grade, best grade first (no grade: key "")."""
    counter = Counter(r.result.grade or "" for r in results)
    ordered = {band.grade: counter.get(band.grade, 0) for band in config.bands}
    if counter.get(""):
        ordered[""] = counter[""]
    return ordered
