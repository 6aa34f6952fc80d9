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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import ReminderKind
from bot.grading.questionnaire import Questionnaire
from bot.grading.results import BranchResult, finalise
from bot.grading.scoring import GradingConfig
from bot.grading.service import start_campaign
from bot.reminders.payloads import GradingEvent, GradingNews
from bot.reminders.planner import PlannedReminder
from storage import grading_queries as gq
from storage import reminder_queries as rq
from storage.models import Account, OrgUnit
from storage.models_grading import GradingCampaign

OPENED: GradingEvent = "opened"
GRADED: GradingEvent = "graded"


def announcement_rows(
    campaign: GradingCampaign,
    leaders: Sequence[tuple[Account, int]],
    *,
    event: GradingEvent,
    now: dt.datetime,
    grades: Mapping[int, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Reminder rows for each (leader account, branch id): the campaign opened, or was graded."""
    rows = []
    for account, branch_id in leaders:
        payload = GradingNews(
            campaign_id=campaign.id,
            year=campaign.year,
            branch_id=branch_id,
            event=event,
            deadline=campaign.deadline if event == OPENED else None,
            grade=None if event == OPENED else (grades or {}).get(branch_id),
        )
        rows.append(
            PlannedReminder(
                account_id=account.id,
                kind=ReminderKind.GRADING,
                # Not the deadline reminders' subject, which the planner withdraws once the
                # branch has submitted.
                subject=f"grd-news:{campaign.id}:{branch_id}",
                dedupe_key=f"grd-news:{campaign.id}:{branch_id}:{account.id}:{event}",
                due_at=now,
                deadline=campaign.deadline if event == OPENED else None,
                urgent=True,
                payload=payload,
            ).row(now)
        )
    return rows


@dataclass(frozen=True, slots=True)
class Started:
    """A campaign just started, its branches, and the leader accounts that will be told."""

    campaign: GradingCampaign
    branches: list[OrgUnit]
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
    leaders = await gq.leader_accounts(session, [b.id for b in branches])
    await rq.insert_reminders(session, announcement_rows(campaign, leaders, event=OPENED, now=now))
    return Started(campaign, branches, len(leaders))


async def finalise_and_announce(
    session: AsyncSession, *, campaign: GradingCampaign, actor: Account | None, now: dt.datetime
) -> list[BranchResult]:
    """Finalise the campaign (CampaignError when it already is) and queue every branch
    leader's news of their grade."""
    results = await finalise(session, campaign=campaign, actor=actor, now=now)
    leaders = await gq.leader_accounts(session, [r.branch.id for r in results])
    grades = {r.branch.id: r.result.grade for r in results}
    await rq.insert_reminders(
        session, announcement_rows(campaign, leaders, event=GRADED, now=now, grades=grades)
    )
    return results
