"""Grading campaigns against the database: start, answer, surveys, codes, finalise, export.

The rules live in bot.grading.scoring (pure); this module reads and writes rows and calls them.
Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import io
import re
import secrets
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import CampaignStatus, RectificationStatus, SurveyGroup
from bot.grading.questionnaire import (
    AnswerType,
    Indicator,
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
    GradingResult,
    SatisfactionCounts,
    check_answer,
    grade_branch,
    score_item,
    superior_total,
)
from storage import grading_queries as gq
from storage import queries
from storage.models import Account, OrgUnit
from storage.models_grading import (
    GradingAssessment,
    GradingCampaign,
    RectificationItem,
    SatisfactionResponse,
)

# Satisfaction answers, best first; the values are SatisfactionCounts field names.
SATISFACTION_VALUES = ("satisfied", "fairly_satisfied", "basically_satisfied", "dissatisfied")
# A branch sees survey counts only from this many answers on, so no answer can be singled out.
MIN_VISIBLE_ANSWERS = 5
# Deep-link parameter of a mass survey code: /start s-<code>.
MASS_CODE_PREFIX = "s-"
MASS_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MASS_CODE_LENGTH = 10
MAX_MASS_CODES = 200
COMMENT_LIMIT = 500


class CampaignError(Exception):
    """A campaign can't be started or changed as asked (message for the CLI and logs)."""


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
) -> tuple[GradingCampaign, list[OrgUnit]]:
    """Start a campaign for every branch of the subtree; returns it with the branches.

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
    branches = await gq.branches_under(session, root)
    if not branches:
        raise CampaignError(f"{root.code} has no branches to grade")
    campaign = GradingCampaign(
        org_unit_id=root.id,
        year=year if year is not None else now.year,
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        deadline=deadline,
        config=config_to_json(config),
        status=CampaignStatus.OPEN,
        created_by=actor.id if actor else None,
    )
    session.add(campaign)
    await session.flush()
    session.add_all(
        GradingAssessment(campaign_id=campaign.id, branch_id=b.id, answers={}, confirmed=[])
        for b in branches
    )
    await session.flush()
    await queries.audit(
        session,
        action="grading.start",
        actor=actor,
        actor_label="cli",
        target_type="grading_campaign",
        target_id=campaign.id,
        org_unit_id=root.id,
        details={"deadline": deadline.isoformat(), "branches": len(branches), **campaign.config},
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


# ---- satisfaction surveys ------------------------------------------------------------------


def counts_of(values: Mapping[str, int] | None) -> SatisfactionCounts:
    """SatisfactionCounts from counts per answer value."""
    values = values or {}
    return SatisfactionCounts(**{v: int(values.get(v, 0)) for v in SATISFACTION_VALUES})


class SurveyOutcome(enum.StrEnum):
    """What became of a survey answer."""

    RECORDED = "recorded"
    ALREADY = "already"
    CLOSED = "closed"
    INVALID = "invalid"
    NOT_MEMBER = "not_member"


async def answer_member_survey(
    session: AsyncSession,
    *,
    campaign: GradingCampaign,
    person_id: int,
    branch_id: int,
    value: str,
    now: dt.datetime,
) -> tuple[SurveyOutcome, int | None]:
    """A member's anonymous answer about their branch; returns the response id for a comment."""
    if value not in SATISFACTION_VALUES:
        return SurveyOutcome.INVALID, None
    if is_closed(campaign, now):
        return SurveyOutcome.CLOSED, None
    if await gq.assessment_for(session, campaign_id=campaign.id, branch_id=branch_id) is None:
        return SurveyOutcome.NOT_MEMBER, None
    if await gq.has_participated(
        session, campaign_id=campaign.id, person_id=person_id, subject="branch"
    ):
        return SurveyOutcome.ALREADY, None
    response = await gq.add_response(
        session,
        campaign_id=campaign.id,
        branch_id=branch_id,
        group=SurveyGroup.MEMBER,
        value=value,
        person_id=person_id,
    )
    return SurveyOutcome.RECORDED, response.id


async def add_comment(session: AsyncSession, response_id: int, comment: str) -> None:
    """Attach the optional comment to an answer just given."""
    response = await session.get(SatisfactionResponse, response_id)
    if response is not None and response.comment is None:
        response.comment = comment[:COMMENT_LIMIT]


@dataclass(frozen=True, slots=True)
class VisibleCounts:
    """What a branch may see of its surveys: counts only, and only from the minimum on."""

    members: SatisfactionCounts | None
    masses: SatisfactionCounts | None
    member_total: int
    mass_total: int


async def visible_counts(
    session: AsyncSession, *, campaign_id: int, branch_id: int, closed: bool
) -> VisibleCounts:
    """The branch's survey counts: how many answered, and the breakdown once it is safe.

    The breakdown of a group is shown only when the survey is closed and at least
    MIN_VISIBLE_ANSWERS answered: shown while answers still arrive, comparing it before and
    after one member's answer would reveal that answer.
    """
    counts = await gq.satisfaction_counts(session, campaign_id, branch_id=branch_id)
    members = counts_of(counts.get((branch_id, SurveyGroup.MEMBER)))
    masses = counts_of(counts.get((branch_id, SurveyGroup.MASS)))
    return VisibleCounts(
        members if closed and members.total >= MIN_VISIBLE_ANSWERS else None,
        masses if closed and masses.total >= MIN_VISIBLE_ANSWERS else None,
        members.total,
        masses.total,
    )


# ---- one-time codes for the masses ---------------------------------------------------------


def new_mass_code() -> str:
    """A random one-time code (about 49 bits), usable in a deep link."""
    return "".join(secrets.choice(MASS_CODE_ALPHABET) for _ in range(MASS_CODE_LENGTH))


def hash_mass_code(code: str) -> str:
    """Only this hash is stored (codes are random enough to need no salt)."""
    normal = code.strip().upper().removeprefix("S-").replace("-", "").replace(" ", "")
    return hashlib.sha256(f"mass:{normal}".encode()).hexdigest()


async def create_mass_codes(
    session: AsyncSession,
    *,
    campaign: GradingCampaign,
    branch_id: int,
    count: int,
    actor: Account | None,
    now: dt.datetime,
) -> list[str]:
    """Create codes for a branch and return them in plain text (shown once, never stored)."""
    if not 1 <= count <= MAX_MASS_CODES:
        raise CampaignError(f"ask for 1 to {MAX_MASS_CODES} codes")
    if is_closed(campaign, now):
        raise CampaignError("the campaign is closed")
    codes = [new_mass_code() for _ in range(count)]
    await gq.add_mass_codes(
        session,
        campaign_id=campaign.id,
        branch_id=branch_id,
        hashes=[hash_mass_code(c) for c in codes],
        created_by=actor.id if actor else None,
    )
    await queries.audit(
        session,
        action="grading.mass_codes",
        actor=actor,
        target_type="grading_campaign",
        target_id=campaign.id,
        org_unit_id=branch_id,
        details={"count": count},
    )
    return codes


class CodeOutcome(enum.StrEnum):
    """What a mass survey code turned out to be."""

    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    CLOSED = "closed"


async def check_mass_code(
    session: AsyncSession, code_hash: str, now: dt.datetime
) -> tuple[CodeOutcome, GradingCampaign | None, OrgUnit | None]:
    """Whether a code (by its hash) may still open the survey, with its campaign and branch."""
    found = await gq.mass_code_by_hash(session, code_hash)
    if found is None:
        return CodeOutcome.UNKNOWN, None, None
    campaign = await gq.campaign_by_id(session, found.campaign_id)
    branch = await queries.org_by_id(session, found.branch_id)
    if found.used_at is not None:
        return CodeOutcome.USED, campaign, branch
    if campaign is None or is_closed(campaign, now):
        return CodeOutcome.CLOSED, campaign, branch
    return CodeOutcome.VALID, campaign, branch


async def answer_mass_survey(
    session: AsyncSession, *, code_hash: str, value: str, now: dt.datetime
) -> tuple[CodeOutcome, int | None]:
    """Use the code and store the anonymous answer; returns the response id for a comment."""
    if value not in SATISFACTION_VALUES:
        return CodeOutcome.UNKNOWN, None
    outcome, campaign, _branch = await check_mass_code(session, code_hash, now)
    found = await gq.mass_code_by_hash(session, code_hash)
    if outcome is not CodeOutcome.VALID or found is None or campaign is None:
        return outcome, None
    if not await gq.use_mass_code(session, found.id, now):
        return CodeOutcome.USED, None
    response = await gq.add_response(
        session,
        campaign_id=campaign.id,
        branch_id=found.branch_id,
        group=SurveyGroup.MASS,
        value=value,
    )
    return CodeOutcome.VALID, response.id


# ---- the superior's assessment, results and finalising -------------------------------------


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
    """Fix every branch's final score and grade; the campaign is closed afterwards."""
    if campaign.status is CampaignStatus.FINALISED:
        raise CampaignError("the campaign is already finalised")
    results = await campaign_results(session, campaign)
    for row in results:
        row.assessment.final_score = row.result.final_score
        row.assessment.grade = row.result.grade
        if row.result.participation is not None:
            row.assessment.member_count = row.result.participation.member_count
    await gq.set_status(session, campaign, CampaignStatus.FINALISED, now)
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


# ---- rectification -------------------------------------------------------------------------


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
    """Mark an item done (False when it already was); members may then judge it."""
    if item.status is RectificationStatus.DONE:
        return False
    await gq.mark_done(session, item, now)
    await queries.audit(
        session,
        action="grading.rectification.done",
        actor=actor,
        target_type="grading_rectification",
        target_id=item.id,
        org_unit_id=item.branch_id,
    )
    return True


async def answer_rectification_check(
    session: AsyncSession, *, item: RectificationItem, person_id: int, value: str
) -> SurveyOutcome:
    """A member's anonymous judgement of a finished rectification item."""
    if value not in SATISFACTION_VALUES:
        return SurveyOutcome.INVALID
    if item.status is not RectificationStatus.DONE:
        return SurveyOutcome.CLOSED
    subject = f"rect:{item.id}"
    if await gq.has_participated(
        session, campaign_id=item.campaign_id, person_id=person_id, subject=subject
    ):
        return SurveyOutcome.ALREADY
    await gq.add_response(
        session,
        campaign_id=item.campaign_id,
        branch_id=item.branch_id,
        group=SurveyGroup.RECTIFICATION,
        value=value,
        person_id=person_id,
        subject=subject,
        rectification_id=item.id,
    )
    return SurveyOutcome.RECORDED


# ---- export --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportLabels:
    """Localized column headings and grade names for the XLSX export."""

    branch_code: str
    branch_name: str
    members: str
    member_answers: str
    mass_answers: str
    member_rate: str
    mass_rate: str
    self_total: str
    superior_total: str
    final_score: str
    grade: str
    grades: Mapping[str, str]
    locale: str


def export_xlsx(
    questionnaire: Questionnaire, results: Sequence[BranchResult], labels: ExportLabels
) -> bytes:
    """One row per branch: scores per indicator, the components and the grade (no rank)."""
    from bot.xlsx import sheet_bytes

    indicators = questionnaire.indicators
    header = [
        labels.branch_code,
        labels.branch_name,
        labels.members,
        labels.member_answers,
        labels.mass_answers,
        labels.member_rate,
        labels.mass_rate,
        *(ind.name.for_locale(labels.locale) for ind in indicators),
        labels.self_total,
        labels.superior_total,
        labels.final_score,
        labels.grade,
    ]

    def num(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    def rows() -> Iterator[list[object]]:
        for row in results:
            result = row.result
            scores = {s.indicator_id: s.score for s in result.indicators}
            part = result.participation
            summary = result.satisfaction
            yield [
                row.branch.code,
                row.branch.display_name(labels.locale),
                part.member_count if part else None,
                summary.member_responses,
                summary.mass_responses,
                None if summary.member_rate is None else round(summary.member_rate, 3),
                None if summary.mass_rate is None else round(summary.mass_rate, 3),
                *(num(scores.get(ind.id)) for ind in indicators),
                num(result.self_total),
                num(result.superior_total),
                result.final_score,
                labels.grades.get(result.grade or "", "") if result.grade else "",
            ]

    return sheet_bytes("grading", header, rows())


def read_superior_xlsx(
    questionnaire: Questionnaire, data: bytes
) -> tuple[dict[str, float | dict[str, float]], list[str]]:
    """Superior scores per branch code from an XLSX: a `total` column or one per indicator."""
    from openpyxl import load_workbook

    problems: list[str] = []
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that isn't XLSX
        return {}, [f"not an XLSX file ({type(exc).__name__})"]
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return {}, ["the sheet is empty"]
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    if "code" not in header:
        return {}, ["row 1: a column named code is required"]
    indicator_ids = {ind.id for ind in questionnaire.indicators}
    columns = {h: i for i, h in enumerate(header) if h == "total" or h in indicator_ids}
    if not columns:
        return {}, ["row 1: give a total column or one column per indicator"]
    result: dict[str, float | dict[str, float]] = {}
    for number, values in enumerate(rows[1:], start=2):
        code = values[header.index("code")]
        if code is None or str(code).strip() == "":
            continue
        try:
            numbers = {
                h: float(values[i])
                for h, i in columns.items()
                if i < len(values) and values[i] not in (None, "")
            }
        except (TypeError, ValueError):
            problems.append(f"row {number}: scores must be numbers")
            continue
        value: float | dict[str, float] = (
            numbers["total"] if "total" in numbers else {k: v for k, v in numbers.items()}
        )
        problem = check_superior(questionnaire, value) if numbers else "no scores"
        if problem is not None:
            problems.append(f"row {number}: {problem}")
            continue
        result[str(code).strip()] = value
    return result, problems
