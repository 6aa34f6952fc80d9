"""One-time codes that open the masses' anonymous survey about a branch.

Only a code's hash is stored; the code is shown once to the secretary who asked for it. A
branch holds at most `per_member` (ZHIBU_MASS_CODES_PER_MEMBER) unused codes for each person on
its roster, so a leader cannot mint enough codes to outvote the people the branch serves.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import math
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import SurveyGroup
from bot.grading.satisfaction import SATISFACTION_VALUES
from bot.grading.service import CampaignError, is_closed
from bot.grading.surveys import clean_comment, file_answer
from storage import grading_queries as gq
from storage import queries
from storage.models import Account, OrgUnit
from storage.models_grading import GradingCampaign

# Deep-link parameter of a mass survey code: /start s-<code>.
MASS_CODE_PREFIX = "s-"
MASS_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MASS_CODE_LENGTH = 10
MAX_MASS_CODES = 200


def new_mass_code() -> str:
    """A random one-time code (about 49 bits), usable in a deep link."""
    return "".join(secrets.choice(MASS_CODE_ALPHABET) for _ in range(MASS_CODE_LENGTH))


def hash_mass_code(code: str) -> str:
    """Only this hash is stored (codes are random enough to need no salt)."""
    normal = code.strip().upper().removeprefix("S-").replace("-", "").replace(" ", "")
    return hashlib.sha256(f"mass:{normal}".encode()).hexdigest()


async def code_allowance(
    session: AsyncSession, *, campaign_id: int, branch: OrgUnit, per_member: float
) -> int:
    """How many more codes the branch may be given now: `per_member` unused codes per person
    on its roster, less the unused codes it holds."""
    members = (await gq.member_counts(session, branch)).get(branch.id, 0)
    issued, used = await gq.mass_code_counts(session, campaign_id=campaign_id, branch_id=branch.id)
    # The epsilon keeps 1.0 × 30 members at 30 despite float error.
    limit = min(MAX_MASS_CODES, math.floor(members * per_member + 1e-9))
    return max(0, limit - (issued - used))


async def create_mass_codes(
    session: AsyncSession,
    *,
    campaign: GradingCampaign,
    branch_id: int,
    count: int,
    actor: Account | None,
    now: dt.datetime,
    per_member: float = 1.0,
) -> list[str]:
    """Create codes for a branch and return them in plain text (shown once, never stored)."""
    if is_closed(campaign, now):
        raise CampaignError("the campaign is closed")
    branch = await queries.org_by_id(session, branch_id)
    if branch is None:
        raise CampaignError(f"no branch {branch_id}")
    allowance = await code_allowance(
        session, campaign_id=campaign.id, branch=branch, per_member=per_member
    )
    if not 1 <= count <= allowance:
        raise CampaignError(f"the branch may be given 1 to {allowance} more codes now")
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
    session: AsyncSession,
    *,
    code_hash: str,
    value: str,
    now: dt.datetime,
    comment: str | None = None,
) -> CodeOutcome:
    """Use the code and file the anonymous answer (with the optional comment)."""
    if value not in SATISFACTION_VALUES:
        return CodeOutcome.UNKNOWN
    outcome, campaign, branch = await check_mass_code(session, code_hash, now)
    found = await gq.mass_code_by_hash(session, code_hash)
    if outcome is not CodeOutcome.VALID or found is None or campaign is None or branch is None:
        return outcome
    assessment = await gq.assessment_for(session, campaign_id=campaign.id, branch_id=branch.id)
    if assessment is None:
        return CodeOutcome.UNKNOWN
    await gq.lock_branch_surveys(session, assessment.id)
    if not await gq.use_mass_code(session, found.id, now):
        return CodeOutcome.USED
    await file_answer(
        session,
        campaign_id=campaign.id,
        branch_id=branch.id,
        group=SurveyGroup.MASS,
        value=value,
        comment=clean_comment(comment),
    )
    return CodeOutcome.VALID
