"""What every dues button checks: the branch, member or month it names, against the presser.

A branch's ledger is for the leaders (secretary, deputies) of that branch only; a member's,
for the leaders of the branch whose roster holds them. A missing object and one outside the
presser's scope get the same refusal, so a forged id reveals nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.dues.ledger import Problem, latest_month
from bot.enums import OrgKind
from bot.rules.dues import Month, parse_month
from handlers.common import Refused
from handlers.dues_texts import LEDGER_PROBLEMS, current_month
from storage import dues_queries as dq
from storage import queries
from storage.models import OrgUnit, Person


async def led_branch(context: BotContext, session: AsyncSession, branch_id: int) -> OrgUnit:
    """The branch, if the presser leads it; Refused otherwise."""
    branch = await queries.org_by_id(session, branch_id)
    if (
        branch is None
        or branch.kind is not OrgKind.BRANCH
        or not context.principal.leads_branch(branch.id)
    ):
        raise Refused()
    return branch


async def led_member(
    context: BotContext, session: AsyncSession, person_id: int
) -> tuple[Person, OrgUnit]:
    """The member and their branch, if the presser leads that branch; Refused otherwise."""
    person = await dq.person_by_id(session, person_id)
    if person is None or person.branch_id is None:
        raise Refused()
    return person, await led_branch(context, session, person.branch_id)


def latest(context: BotContext) -> Month:
    """The furthest month a payment may be recorded for."""
    return latest_month(current_month(context), context.settings.dues_prepay_months)


def month_named(context: BotContext, key: str) -> Month:
    """The month a button names, if it is one a ledger may show (not beyond prepayment)."""
    month = parse_month(key)
    if month is None:
        raise Refused()
    if month > latest(context):
        raise Refused(context._(LEDGER_PROBLEMS[Problem.TOO_FAR_AHEAD]))
    return month
