"""Starting and finalising a campaign with the news for branch leaders: it opened, or what
their branch was graded.

These go through the reminder outbox rather than straight from the admin's handler: one row
per leader and branch, due at once, sent by the reminder engine in the reader's language at
the shared rate limit, and exactly once even if the bot stops halfway through a large subtree.
They are urgent (not held for quiet hours, not silenced by muting grading reminders), as the
messages sent directly were: a campaign opening is news, not a nag.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.grading.questionnaire import Questionnaire
from bot.grading.results import BranchResult, finalise
from bot.grading.scoring import GradingConfig
from bot.grading.service import start_campaign
from bot.reminders.payloads import GradingEvent
from storage import reminder_queries as rq
from storage.models import Account, OrgUnit
from storage.models_grading import GradingCampaign

OPENED: GradingEvent = "opened"
GRADED: GradingEvent = "graded"


@dataclass(frozen=True, slots=True)
class Started:
    """A campaign just started, how many branches it covers, and how many leader accounts
    will be told."""

    campaign: GradingCampaign
    branches: int
    leaders: int


async def start_and_announce(
    session: AsyncSession,
    *,
    root: OrgUnit,
    deadline: dt.datetime,
    config: GradingConfig,
    now: dt.datetime,
    actor: Account | None = None,
    year: int | None = None,
    questionnaire: Questionnaire | None = None,
) -> Started:
    """Start a campaign for the subtree and queue the news for every branch leader (sent by the
    running bot's reminder engine); the same for the admin's button and the CLI."""
    campaign, branches = await start_campaign(
        session,
        root=root,
        deadline=deadline,
        config=config,
        now=now,
        actor=actor,
        year=year,
        questionnaire=questionnaire,
    )
    leaders = await rq.queue_grading_news(
        session,
        campaign_id=campaign.id,
        year=campaign.year,
        event=OPENED,
        deadline=campaign.deadline,
        now=now,
    )
    return Started(campaign, branches, leaders)


async def finalise_and_announce(
    session: AsyncSession, *, campaign: GradingCampaign, actor: Account | None, now: dt.datetime
) -> list[BranchResult]:
    """Finalise the campaign (CampaignError when it already is) and queue every branch
    leader's news of their grade."""
    results = await finalise(session, campaign=campaign, actor=actor, now=now)
    # finalise() stored each branch's grade on its assessment, where the news reads it.
    await session.flush()
    await rq.queue_grading_news(
        session, campaign_id=campaign.id, year=campaign.year, event=GRADED, deadline=None, now=now
    )
    return results
