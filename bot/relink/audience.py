"""Who hears about a relink event: the member, the deciders of each side, the admins above."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import OrgKind
from bot.relink.model import Audience
from storage import relink_queries
from storage.models import Account, OrgUnit
from storage.models_relink import RelinkRequest


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to tell about an event, and in which capacity."""

    account: Account
    audience: Audience | None  # None: an admin above the branches (pocket members)


async def recipients(
    session: AsyncSession,
    row: RelinkRequest,
    audiences: Iterable[Audience],
    *,
    skip: int | None = None,
) -> list[Recipient]:
    """The accounts to tell, each once; a side without a secretary falls back to its admins."""
    found: dict[int, Recipient] = {}
    for audience in sorted(audiences):
        if audience is Audience.REQUESTER:
            accounts = [row.requester]
        elif audience is Audience.HOME_SIDE:
            accounts = await side_accounts(session, row.home_branch, row.requester_account_id)
        elif row.receiving_branch is not None:
            accounts = await side_accounts(session, row.receiving_branch, row.requester_account_id)
        else:
            accounts = []
        for account in accounts:
            if account.id != skip and account.id not in found:
                found[account.id] = Recipient(account, audience)
    return list(found.values())


async def side_accounts(
    session: AsyncSession, node: OrgUnit, requester_id: int | None = None
) -> list[Account]:
    """Who decides for a node: its secretaries, or else the admins over it.

    The requester never decides their own request, so a secretary filing one is left out,
    and when they are the branch's only leader the admins decide.
    """
    if node.kind is OrgKind.BRANCH:
        leaders = [
            a
            for a in await relink_queries.leader_accounts(session, node.id)
            if a.id != requester_id
        ]
        if leaders:
            return leaders
    return [
        a for a in await relink_queries.admin_accounts_over(session, node) if a.id != requester_id
    ]


async def admins_above(
    session: AsyncSession, row: RelinkRequest, *, skip: set[int]
) -> list[Recipient]:
    """The admins over either branch of a request (told of pocket members)."""
    nodes = [row.home_branch] + ([row.receiving_branch] if row.receiving_branch else [])
    found: dict[int, Recipient] = {}
    for node in nodes:
        for account in await relink_queries.admin_accounts_over(session, node):
            if account.id not in skip and account.id not in found:
                found[account.id] = Recipient(account, None)
    return list(found.values())
