"""Grading campaigns against the database: configuration, starting, the self-assessment.

The rules live in bot.grading.scoring (pure); surveys.py and mass_codes.py handle the
satisfaction surveys, results.py the superior's scores, results and finalising, rectify.py
the rectification of weak branches, export.py the XLSX files, announce.py what branch leaders
are told. Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import CampaignStatus
from bot.grading.questionnaire import (
    AnswerType,
    IndicatorSource,
    PrefillSuggestion,
    Questionnaire,
    shipped,
    suggest_prefill,
)
from bot.grading.questionnaire import load_default as load_default  # re-exported for callers
from bot.grading.scoring import (
    Answer,
    Band,
    GradingConfig,
    check_answer,
    score_item,
)
from storage import grading_queries as gq
from storage import planner_queries, queries
from storage.models import Account, OrgUnit
from storage.models_grading import GradingAssessment, GradingCampaign

# Free-text answers (a questionnaire's text items, survey comments) are at most this long.
COMMENT_LIMIT = 500


class CampaignError(Exception):
    """A campaign can't be started or changed as asked (message for the CLI and logs)."""


class CampaignExists(CampaignError):
    """The subtree already has a campaign for that year."""

    def __init__(self, campaign_id: int, message: str) -> None:
        super().__init__(message)
        self.campaign_id = campaign_id


# ---- configuration -------------------------------------------------------------------------


def config_to_json(config: GradingConfig) -> dict[str, Any]:
    """The parts of a GradingConfig a campaign stores."""
    return {
        "self_weight": config.self_weight,
        "superior_weight": config.superior_weight,
        "member_weight": config.member_weight,
        "mass_weight": config.mass_weight,
        "bands": [[band.grade, band.min_score] for band in config.bands],
        "mass_rate_floor": config.mass_rate_floor,
        "member_target": config.member_target,
        "mass_target_ratio": config.mass_target_ratio,
    }


def config_from_json(data: Mapping[str, Any]) -> GradingConfig:
    """The GradingConfig of a stored campaign (defaults for anything not stored)."""
    kwargs: dict[str, Any] = {
        key: data[key]
        for key in (
            "self_weight",
            "superior_weight",
            "member_weight",
            "mass_weight",
            "mass_rate_floor",
            "member_target",
            "mass_target_ratio",
        )
        if key in data
    }
    if "bands" in data:
        kwargs["bands"] = tuple(Band(str(g), float(m)) for g, m in data["bands"])
    return GradingConfig(**kwargs)


def make_config(
    *,
    self_weight: float = 0.4,
    superior_weight: float = 0.6,
    bands: Sequence[float] = (90, 80, 60),
    member_target: float = 1.0,
    mass_target_ratio: float = 0.1,
    satisfaction_floor: float | None = None,
) -> GradingConfig:
    """A config from what an admin chooses: weights, the three lower band limits, targets."""
    if len(bands) != 3:
        raise CampaignError("give three band limits, for good, fairly good and ordinary")
    good, fairly, ordinary = (float(b) for b in bands)
    try:
        return GradingConfig(
            self_weight=self_weight,
            superior_weight=superior_weight,
            bands=(
                Band("good", good),
                Band("fairly_good", fairly),
                Band("ordinary", ordinary),
                Band("weak", 0.0),
            ),
            member_target=member_target,
            mass_target_ratio=mass_target_ratio,
            mass_rate_floor=satisfaction_floor,
        )
    except ValueError as exc:
        raise CampaignError(str(exc)) from None


def questionnaire_for(campaign: GradingCampaign) -> Questionnaire:
    """The questionnaire a campaign was started with (one of the shipped ones)."""
    questionnaire = shipped().get(campaign.questionnaire_id, campaign.questionnaire_version)
    if questionnaire is None:
        raise CampaignError(
            f"campaign {campaign.id} uses questionnaire {campaign.questionnaire_id} "
            f"{campaign.questionnaire_version}, which this version of Zhibu does not ship"
        )
    return questionnaire


def is_closed(campaign: GradingCampaign, now: dt.datetime) -> bool:
    """Whether answers are no longer accepted (deadline passed or grades finalised)."""
    return campaign.status is CampaignStatus.FINALISED or now >= campaign.deadline


# ---- campaigns -----------------------------------------------------------------------------


async def start_campaign(
    session: AsyncSession,
    *,
    root: OrgUnit,
    deadline: dt.datetime,
    config: GradingConfig,
    now: dt.datetime,
    actor: Account | None = None,
    year: int | None = None,
    questionnaire: Questionnaire | None = None,
) -> tuple[GradingCampaign, int]:
    """Start a campaign for every branch of the subtree; returns it with how many branches.

    `questionnaire` is one of the shipped ones (default: the registry's default).
    """
    registry = shipped()
    if questionnaire is None:
        questionnaire = registry.default
    elif registry.get(questionnaire.id, questionnaire.version) is None:
        raise CampaignError(
            f"questionnaire {questionnaire.id}@{questionnaire.version} is not shipped; "
            f"available: {registry.describe()}"
        )
    if deadline <= now:
        raise CampaignError("the deadline must be in the future")
    year = year if year is not None else now.year
    earlier = await gq.campaign_of_year(session, org_unit_id=root.id, year=year)
    if earlier is not None:
        # Secretaries are shown their branch's newest campaign: a second one would hide the
        # first one's grades (and split the answers between two questionnaires).
        raise CampaignExists(
            earlier.id, f"campaign {earlier.id} already grades {root.code} for {year}"
        )
    if not await gq.has_branches(session, root):
        raise CampaignError(f"{root.code} has no branches to grade")
    campaign = GradingCampaign(
        org_unit_id=root.id,
        year=year,
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        deadline=deadline,
        config=config_to_json(config),
        status=CampaignStatus.OPEN,
        created_by=actor.id if actor else None,
    )
    session.add(campaign)
    await session.flush()
    branches = await gq.add_assessments(session, campaign_id=campaign.id, root=root)
    await planner_queries.mark_campaign(session, campaign.id)
    await queries.audit(
        session,
        action="grading.start",
        actor=actor,
        actor_label="cli",
        target_type="grading_campaign",
        target_id=campaign.id,
        org_unit_id=root.id,
        details={"deadline": deadline.isoformat(), "branches": branches, **campaign.config},
    )
    return campaign, branches


# ---- the self-assessment -------------------------------------------------------------------


class Refusal(enum.StrEnum):
    """Why an answer was not recorded."""

    SUBMITTED = "submitted"
    CLOSED = "closed"
    INVALID = "invalid"


def parse_answer(questionnaire: Questionnaire, item_id: str, raw: str) -> Answer | None:
    """An answer from button data or typed text, or None when it doesn't fit the item."""
    item = questionnaire.item(item_id)
    value: Answer
    if item.type is AnswerType.SCALE_1_5:
        if not raw.isdigit():
            return None
        value = int(raw)
    elif item.type is AnswerType.NUMBER:
        text = raw.strip().replace(",", ".").rstrip("%")
        try:
            number = float(text)
        except ValueError:
            return None
        value = int(number) if number.is_integer() else number
    elif item.type is AnswerType.TEXT:
        value = " ".join(raw.split())
        if not value or len(value) > COMMENT_LIMIT:
            return None
    else:
        value = raw
    return value if check_answer(item, value) is None else None


async def record_answer(
    session: AsyncSession,
    *,
    campaign: GradingCampaign,
    assessment: GradingAssessment,
    item_id: str,
    answer: Answer,
    now: dt.datetime,
    confirmed: bool = False,
) -> Refusal | None:
    """Save one answer (None when saved, else why not)."""
    if assessment.submitted_at is not None:
        return Refusal.SUBMITTED
    if is_closed(campaign, now):
        return Refusal.CLOSED
    questionnaire = questionnaire_for(campaign)
    if check_answer(questionnaire.item(item_id), answer) is not None:
        return Refusal.INVALID
    # New objects, so SQLAlchemy sees the JSON columns change.
    assessment.answers = {**assessment.answers, item_id: answer}
    kept = [i for i in assessment.confirmed if i != item_id]
    assessment.confirmed = [*kept, item_id] if confirmed else kept
    return None


def self_points(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> tuple[float, float]:
    """(points earned, points possible) of the self-answered items."""
    earned = 0.0
    possible = 0.0
    for item in questionnaire.items:
        if questionnaire.indicator(item.indicator).source is IndicatorSource.SATISFACTION:
            continue
        possible += item.points
        earned += score_item(item, answers.get(item.id))
    return earned, possible


async def submit(
    session: AsyncSession,
    *,
    campaign: GradingCampaign,
    assessment: GradingAssessment,
    actor: Account | None,
    now: dt.datetime,
) -> Refusal | None:
    """Submit the self-assessment; afterwards its answers are read-only."""
    if assessment.submitted_at is not None:
        return Refusal.SUBMITTED
    if is_closed(campaign, now):
        return Refusal.CLOSED
    questionnaire = questionnaire_for(campaign)
    assessment.submitted_at = now
    assessment.submitted_by = actor.id if actor else None
    assessment.self_score = round(self_points(questionnaire, assessment.answers)[0], 1)
    await planner_queries.mark_branches(session, [assessment.branch_id])
    await queries.audit(
        session,
        action="grading.submit",
        actor=actor,
        target_type="grading_assessment",
        target_id=assessment.id,
        org_unit_id=assessment.branch_id,
        details={"self_score": assessment.self_score},
    )
    return None


def through_month(campaign: GradingCampaign, today: dt.date) -> int:
    """The last month of the campaign's year that the activity log is judged on."""
    if today.year > campaign.year:
        return 12
    if today.year < campaign.year:
        return 1
    return today.month


def prefill_suggestions(
    questionnaire: Questionnaire, counts: Mapping[tuple[str, int], int], month: int
) -> dict[str, PrefillSuggestion]:
    """Suggested answers for the items the activity log can answer."""
    result = {}
    for item in questionnaire.items:
        suggestion = suggest_prefill(item, counts, through_month=month)
        if suggestion is not None:
            result[item.id] = suggestion
    return result
