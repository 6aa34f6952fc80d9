"""What a button or command of grading names, loaded and checked against who presses it.

Every id that comes back from Telegram is loaded here and checked on every press: an admin
acts only on campaigns rooted in their subtree, a branch leader only on the branches they lead,
a member only on their own branch's surveys. None means "not for this sender": the handler
refuses without saying whether the object exists.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Principal
from bot.grading.scoring import Grade
from storage import grading_queries as gq
from storage import queries
from storage.models import OrgUnit
from storage.models_grading import GradingAssessment, GradingCampaign, RectificationItem


async def admin_node(session: AsyncSession, principal: Principal, org_id: int) -> OrgUnit | None:
    """A node the admin may start a campaign for."""
    org = await queries.org_by_id(session, org_id)
    if org is None or not principal.is_admin_of(org.path):
        return None
    return org


async def admin_campaign(
    session: AsyncSession, principal: Principal, campaign_id: int
) -> tuple[GradingCampaign, OrgUnit] | None:
    """A campaign rooted in the admin's subtree, with its root."""
    campaign = await gq.campaign_by_id(session, campaign_id)
    if campaign is None:
        return None
    root = await admin_node(session, principal, campaign.org_unit_id)
    return None if root is None else (campaign, root)


async def admin_assessment(
    session: AsyncSession, principal: Principal, assessment_id: int
) -> tuple[GradingCampaign, GradingAssessment, OrgUnit] | None:
    """A branch's assessment in a campaign of the admin's subtree, with the branch."""
    assessment = await gq.assessment_by_id(session, assessment_id)
    if assessment is None:
        return None
    scoped = await admin_campaign(session, principal, assessment.campaign_id)
    branch = await queries.org_by_id(session, assessment.branch_id)
    if scoped is None or branch is None:
        return None
    return scoped[0], assessment, branch


async def led_assessment(
    session: AsyncSession, principal: Principal, assessment_id: int
) -> tuple[GradingCampaign, GradingAssessment] | None:
    """The assessment of a branch the sender leads, with its campaign."""
    assessment = await gq.assessment_by_id(session, assessment_id)
    if assessment is None or not principal.leads_branch(assessment.branch_id):
        return None
    campaign = await gq.campaign_by_id(session, assessment.campaign_id)
    return None if campaign is None else (campaign, assessment)


async def led_weak_assessment(
    session: AsyncSession, principal: Principal, assessment_id: int
) -> tuple[GradingCampaign, GradingAssessment] | None:
    """The assessment of a branch the sender leads, when it was graded weak."""
    found = await led_assessment(session, principal, assessment_id)
    return found if found is not None and found[1].grade == Grade.WEAK else None


async def led_item(
    session: AsyncSession, principal: Principal, item_id: int
) -> RectificationItem | None:
    """A rectification item of a branch the sender leads."""
    item = await gq.rectification_by_id(session, item_id)
    if item is None or not principal.leads_branch(item.branch_id):
        return None
    return item


async def member_item(
    session: AsyncSession, principal: Principal, item_id: int
) -> RectificationItem | None:
    """A rectification item of the sender's own branch (members judge their branch only)."""
    item = await gq.rectification_by_id(session, item_id)
    if item is None or principal.person_id is None or item.branch_id != principal.branch_id:
        return None
    return item


async def member_campaign(
    session: AsyncSession, principal: Principal, campaign_id: int
) -> GradingCampaign | None:
    """A campaign grading the sender's own branch."""
    if principal.person_id is None or principal.branch_id is None:
        return None
    campaign = await gq.campaign_by_id(session, campaign_id)
    if campaign is None:
        return None
    found = await gq.assessment_for(session, campaign_id=campaign.id, branch_id=principal.branch_id)
    return None if found is None else campaign
