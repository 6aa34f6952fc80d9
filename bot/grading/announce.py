"""Telling branch leaders that a grading campaign opened, or what their branch was graded.

These go through the reminder outbox rather than straight from the admin's handler: one row
per leader and branch, due at once, sent by the reminder engine in the reader's language at
the shared rate limit, and exactly once even if the bot stops halfway through a large subtree.
They are urgent (not held for quiet hours, not silenced by muting grading reminders), as the
messages sent directly were: a campaign opening is news, not a nag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bot.enums import ReminderKind
from bot.reminders.payloads import GradingEvent, GradingNews
from bot.reminders.planner import PlannedReminder
from storage.models import Account
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
