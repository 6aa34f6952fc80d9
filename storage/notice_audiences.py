"""Who a notice reaches: the accounts an audience resolves to inside a subtree, and its branches.

Functions take the session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from bot.enums import NoticeAudience, OrgKind, PersonStatus, Role
from storage.models import Account, OrgUnit, Person, RoleAssignment


@dataclass(frozen=True, slots=True)
class Recipient:
    """An account an audience resolves to, with the branch it is counted under."""

    account_id: int
    branch_id: int | None
    unreachable: bool


def _subtree_ids(root: OrgUnit) -> Select[Any]:
    return select(OrgUnit.id).where(OrgUnit.path.startswith(root.path, autoescape=True))


async def audience_recipients(
    session: AsyncSession,
    *,
    root: OrgUnit,
    audience: NoticeAudience,
    branch_ids: Iterable[int] = (),
) -> list[Recipient]:
    """Registered accounts the audience reaches inside root's subtree, one per account."""
    subtree = _subtree_ids(root)
    person_branch: dict[int, int | None] = {}
    if audience in (NoticeAudience.SECRETARIES, NoticeAudience.COMMITTEE, NoticeAudience.EVERYONE):
        roles = (
            (Role.SECRETARY,)
            if audience is NoticeAudience.SECRETARIES
            else (Role.SECRETARY, Role.DEPUTY)
            if audience is NoticeAudience.COMMITTEE
            else tuple(Role)
        )
        rows = await session.execute(
            select(RoleAssignment.person_id, RoleAssignment.org_unit_id, OrgUnit.kind)
            .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
            .where(RoleAssignment.org_unit_id.in_(subtree), RoleAssignment.role.in_(roles))
            .order_by(RoleAssignment.id)
        )
        for person_id, org_id, kind in rows:
            person_branch.setdefault(person_id, org_id if kind is OrgKind.BRANCH else None)
    if audience in (
        NoticeAudience.EVERYONE,
        NoticeAudience.MEMBERS,
        NoticeAudience.MOBILE,
        NoticeAudience.BRANCHES,
    ):
        query = select(Person.id, Person.branch_id).where(Person.branch_id.in_(subtree))
        if audience is NoticeAudience.MOBILE:
            query = query.where(Person.status == PersonStatus.MOBILE)
        if audience is NoticeAudience.BRANCHES:
            query = query.where(Person.branch_id.in_(list(branch_ids)))
        for person_id, branch_id in await session.execute(query.order_by(Person.id)):
            # A member's own branch wins over where they hold a role.
            person_branch[person_id] = branch_id
    if not person_branch:
        return []
    accounts = await session.execute(
        select(Account.id, Account.person_id, Account.unreachable_since)
        .where(Account.person_id.in_(list(person_branch)))
        .order_by(Account.id)
    )
    return [
        Recipient(account_id, person_branch[person_id], unreachable is not None)
        for account_id, person_id, unreachable in accounts
        if person_id is not None
    ]


async def branches_in(session: AsyncSession, root: OrgUnit) -> list[OrgUnit]:
    """The branches of a subtree, by code."""
    return list(
        await session.scalars(
            select(OrgUnit)
            .where(
                OrgUnit.path.startswith(root.path, autoescape=True),
                OrgUnit.kind == OrgKind.BRANCH,
            )
            .order_by(OrgUnit.code)
        )
    )
