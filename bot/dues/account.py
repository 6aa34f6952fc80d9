"""The branch's yearly dues account, published to its members once a year.

Totals only: what was collected for the year's months, how many members paid, how many
member-months are in arrears. No individual amount is ever published. The account is stored
(one per branch and year) and goes to every member with an account as a reminder due at
once, so it takes the usual way out (rate limits, each member's language).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dues.ledger import LedgerRefused, Problem, branch_dues
from bot.enums import ReminderKind
from bot.reminders.payloads import DuesAccountPayload
from bot.reminders.planner import PlannedReminder
from bot.rules.dues import Month, year_months
from storage import dues_queries as dq
from storage import queries
from storage import reminder_queries as rq
from storage.models import Account, OrgUnit
from storage.models_dues import DuesAccount


@dataclass(frozen=True, slots=True)
class AccountFigures:
    """What the published account says."""

    year: int
    through: Month
    collected_fen: int
    payers: int
    arrears_months: int
    members: int


def account_through(year: int, current: Month) -> Month:
    """The last month an account of `year` judges: December, or the current month."""
    return min(year_months(year)[-1], current)


async def account_figures(
    session: AsyncSession, branch: OrgUnit, year: int, current: Month
) -> AccountFigures:
    """The branch's figures for a year, as of the current month (whose dues are not late)."""
    months = year_months(year)
    through = account_through(year, current)
    collected = payers = arrears = 0
    roster = await branch_dues(session, branch, current)
    for dues in roster:
        paid = [month for month in months if month in dues.ledger.paid]
        collected += dues.ledger.paid_fen_in(paid)
        payers += bool(paid)
        arrears += sum(1 for line in dues.ledger.arrears() if line.month in months)
    return AccountFigures(year, through, collected, payers, arrears, len(roster))


async def publish_account(
    session: AsyncSession,
    *,
    branch: OrgUnit,
    year: int,
    current: Month,
    actor: Account | None,
    now: dt.datetime,
) -> tuple[DuesAccount, int]:
    """Store the account and send it to the branch's members; (the account, how many members
    it goes to). LedgerRefused when the year's account was already published."""
    if await dq.published_account(session, branch.id, year) is not None:
        raise LedgerRefused(Problem.ALREADY_PUBLISHED)
    figures = await account_figures(session, branch, year, current)
    account = await dq.add_account(
        session,
        branch_id=branch.id,
        year=year,
        through_month=figures.through,
        collected_fen=figures.collected_fen,
        payers=figures.payers,
        arrears_months=figures.arrears_months,
        published_at=now,
        published_by=actor.id if actor else None,
    )
    payload = DuesAccountPayload(
        branch_id=branch.id,
        year=year,
        collected_fen=figures.collected_fen,
        payers=figures.payers,
        arrears_months=figures.arrears_months,
        members=figures.members,
    )
    subject = f"dac:{branch.id}:{year}"
    recipients = await dq.member_accounts(session, branch.id)
    rows = [
        PlannedReminder(
            account_id=account_id,
            kind=ReminderKind.DUES_ACCOUNT,
            subject=subject,
            dedupe_key=f"{subject}:{account_id}",
            due_at=now,
            payload=payload,
        ).row(now)
        for account_id in recipients
    ]
    await rq.insert_reminders(session, rows)
    await queries.audit(
        session,
        action="dues.account_published",
        actor=actor,
        target_type="dues_account",
        target_id=account.id,
        org_unit_id=branch.id,
        details={
            "year": year,
            "collected_fen": figures.collected_fen,
            "payers": figures.payers,
            "arrears_months": figures.arrears_months,
            "sent_to": len(rows),
        },
    )
    return account, len(rows)
