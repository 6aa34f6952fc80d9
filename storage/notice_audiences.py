"""Who a notice reaches: the accounts an audience resolves to inside a subtree, as SQL.

An audience is never a Python list of people: it is a SELECT of (account, branch, unreachable)
that the outbox fills from with INSERT ... SELECT (storage.notice_queries) and the preview
counts, so a province's millions of members never pass through the bot, nor one bind parameter
each. Only the branches an admin picked come from outside, and they go in bounded chunks.

Functions take the session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, null, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from bot.enums import NoticeAudience, OrgKind, PersonStatus, Role
from storage.models import Account, OrgUnit, Person, RoleAssignment
from storage.tree import subtree_of

# Ids per IN (...) of the branches an admin picked: far below any driver's bind limit.
CHUNK = 1000

_MEMBERS = frozenset(
    (
        NoticeAudience.EVERYONE,
        NoticeAudience.MEMBERS,
        NoticeAudience.MOBILE,
        NoticeAudience.BRANCHES,
    )
)
_HOLDERS: dict[NoticeAudience, tuple[Role, ...]] = {
    NoticeAudience.SECRETARIES: (Role.SECRETARY,),
    NoticeAudience.COMMITTEE: (Role.SECRETARY, Role.DEPUTY),
    NoticeAudience.EVERYONE: tuple(Role),
}


@dataclass(frozen=True, slots=True)
class AudienceCount:
    """How many accounts an audience reaches, and how many of them blocked the bot."""

    reachable: int
    unreachable: int


def chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    """The picked branches in slices of at most CHUNK (one slice of nothing when none)."""
    if not ids:
        yield ()
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _subtree_ids(root_path: str) -> Select[Any]:
    return select(OrgUnit.id).where(subtree_of(OrgUnit.path, root_path))


def group_of(root: OrgUnit) -> int | None:
    """The party group a notice is sent to, when its node is one (else None)."""
    return root.id if root.kind is OrgKind.PARTY_GROUP else None


def _member(
    person: Any,
    root_path: str,
    audience: NoticeAudience,
    picked: Sequence[int],
    group_id: int | None = None,
) -> Any:
    """The person is on a roster the audience reaches (a member's own branch wins)."""
    condition = person.branch_id.in_(_subtree_ids(root_path))
    if group_id is not None:
        # A party group's members are on its branch's roster, marked with the group.
        condition = person.party_group_id == group_id
    if audience is NoticeAudience.MOBILE:
        condition = and_(condition, person.status == PersonStatus.MOBILE)
    if audience is NoticeAudience.BRANCHES:
        condition = and_(condition, person.branch_id.in_(list(picked)))
    return condition


def recipients_select(
    *,
    root_path: str,
    audience: NoticeAudience,
    picked: Sequence[int] = (),
    accounts: ColumnElement[bool] | None = None,
    group_id: int | None = None,
) -> Select[Any]:
    """(account_id, branch_id, unreachable) of every account the audience reaches, once each.

    Members count under their own branch; someone reached only through roles under the branch
    of their first role there (None for a role above the branches). `picked` is one chunk of
    the branches of a "branches" audience; `accounts` narrows to a range of accounts;
    `group_id` is the party group when the root is one (its members are marked, not nested).
    """
    where_account = accounts if accounts is not None else true()
    unreachable = Account.unreachable_since.is_not(None)
    parts: list[Any] = []
    if audience in _MEMBERS:
        parts.append(
            select(Account.id.label("account_id"), Person.branch_id, unreachable.label("gone"))
            .join(Person, Person.id == Account.person_id)
            .where(where_account, _member(Person, root_path, audience, picked, group_id))
        )
    roles = _HOLDERS.get(audience)
    if roles:
        parts.append(_holders(root_path, audience, roles, where_account, picked, group_id))
    if len(parts) == 1:
        return parts[0]
    union = parts[0].union_all(parts[1]).subquery()
    return select(union.c.account_id, union.c.branch_id, union.c.gone)


def _holders(
    root_path: str,
    audience: NoticeAudience,
    roles: tuple[Role, ...],
    where_account: ColumnElement[bool],
    picked: Sequence[int],
    group_id: int | None,
) -> Select[Any]:
    """Role holders in the subtree who are not reached as members, with their first role's
    branch. Members are left out before the roles are ranked: what is ranked is then a handful
    of admins and leaders from elsewhere, not every secretary of a province."""
    conditions = [
        where_account,
        subtree_of(OrgUnit.path, root_path),
        RoleAssignment.role.in_(roles),
    ]
    if audience in _MEMBERS:
        member = aliased(Person)
        conditions.append(
            ~exists(
                select(literal(1)).where(
                    member.id == RoleAssignment.person_id,
                    _member(member, root_path, audience, picked, group_id),
                )
            )
        )
    ranked = (
        select(
            Account.id.label("account_id"),
            Account.unreachable_since.is_not(None).label("gone"),
            case((OrgUnit.kind == OrgKind.BRANCH, OrgUnit.id), else_=null()).label("branch_id"),
            func.row_number()
            .over(partition_by=RoleAssignment.person_id, order_by=RoleAssignment.id)
            .label("rank"),
        )
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .join(Account, Account.person_id == RoleAssignment.person_id)
        .where(*conditions)
        .subquery()
    )
    return select(ranked.c.account_id, ranked.c.branch_id, ranked.c.gone).where(ranked.c.rank == 1)


async def audience_count(
    session: AsyncSession,
    *,
    root: OrgUnit,
    audience: NoticeAudience,
    branch_ids: Sequence[int] = (),
) -> AudienceCount:
    """How many accounts the audience reaches inside root's subtree (counted by the database)."""
    reachable = unreachable = 0
    picked = sorted(set(branch_ids))
    if audience is NoticeAudience.BRANCHES and not picked:
        return AudienceCount(0, 0)
    for chunk in chunks(picked):
        found = recipients_select(
            root_path=root.path, audience=audience, picked=chunk, group_id=group_of(root)
        ).subquery()
        row = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(case((found.c.gone, 1), else_=0)), 0))
            )
        ).one()
        total, gone = int(row[0]), int(row[1])
        reachable += total - gone
        unreachable += gone
    return AudienceCount(reachable, unreachable)


async def count_branches(session: AsyncSession, root: OrgUnit) -> int:
    """How many branches the subtree has."""
    counted = await session.scalar(
        select(func.count())
        .select_from(OrgUnit)
        .where(subtree_of(OrgUnit.path, root.path), OrgUnit.kind == OrgKind.BRANCH)
    )
    return int(counted or 0)


async def branches_page(
    session: AsyncSession, root: OrgUnit, *, offset: int, limit: int
) -> list[OrgUnit]:
    """One page of the subtree's branches, by code."""
    return list(
        await session.scalars(
            select(OrgUnit)
            .where(subtree_of(OrgUnit.path, root.path), OrgUnit.kind == OrgKind.BRANCH)
            .order_by(OrgUnit.code, OrgUnit.id)
            .offset(offset)
            .limit(limit)
        )
    )


async def picked_branches(
    session: AsyncSession, root: OrgUnit, branch_ids: Sequence[int]
) -> list[OrgUnit]:
    """The picked branches that lie in the subtree, by code."""
    found: list[OrgUnit] = []
    for chunk in chunks(sorted(set(branch_ids))):
        if chunk:
            found.extend(
                await session.scalars(
                    select(OrgUnit).where(
                        OrgUnit.id.in_(list(chunk)),
                        subtree_of(OrgUnit.path, root.path),
                        OrgUnit.kind == OrgKind.BRANCH,
                    )
                )
            )
    return sorted(found, key=lambda unit: (unit.code, unit.id))
