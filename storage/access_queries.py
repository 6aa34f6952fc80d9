"""Data access for managing access: people within admins' subtrees, their accounts and roles,
the admins over a node, deletion requests.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from bot.enums import DeletionState, Role
from storage.models import Account, DeletionRequest, OrgUnit, Person, RoleAssignment
from storage.tree import ancestors_of, subtrees_of


def _under(column: Any, paths: list[str]) -> ColumnElement[bool]:
    return subtrees_of(column, paths)


def _in_scope(paths: list[str]) -> ColumnElement[bool]:
    """People on a roster in the subtrees, removed from one, or holding a role in them."""
    nodes = select(OrgUnit.id).where(_under(OrgUnit.path, paths))
    role_node = aliased(OrgUnit)
    holds_role = exists(
        select(RoleAssignment.id)
        .join(role_node, role_node.id == RoleAssignment.org_unit_id)
        .where(RoleAssignment.person_id == Person.id, _under(role_node.path, paths))
    )
    return or_(Person.branch_id.in_(nodes), Person.left_branch_id.in_(nodes), holds_role)


async def count_people_in_scope(session: AsyncSession, *, paths: list[str], name: str) -> int:
    """How many people in the subtrees have a name containing the text."""
    if not paths:
        return 0
    count = await session.scalar(
        select(func.count())
        .select_from(Person)
        .where(Person.name.icontains(name, autoescape=True), _in_scope(paths))
    )
    return int(count or 0)


async def people_in_scope(
    session: AsyncSession, *, paths: list[str], name: str, offset: int, limit: int
) -> list[Person]:
    """People in the subtrees whose name contains the text, by name, with their branch."""
    if not paths:
        return []
    return list(
        await session.scalars(
            select(Person)
            .where(Person.name.icontains(name, autoescape=True), _in_scope(paths))
            .options(joinedload(Person.branch))
            .order_by(Person.name, Person.id)
            .offset(offset)
            .limit(limit)
        )
    )


async def person_by_id(session: AsyncSession, person_id: int) -> Person | None:
    """A person with their branch."""
    return await session.scalar(
        select(Person).where(Person.id == person_id).options(joinedload(Person.branch))
    )


async def account_of_person(session: AsyncSession, person_id: int) -> Account | None:
    """The Telegram account linked to a person, if any."""
    return await session.scalar(select(Account).where(Account.person_id == person_id))


async def admin_accounts_over(session: AsyncSession, path: str) -> list[Account]:
    """Accounts of the admins whose subtree contains the node with this path."""
    return list(
        await session.scalars(
            select(Account)
            .join(RoleAssignment, RoleAssignment.person_id == Account.person_id)
            # The nodes on the path are the node and those above it: as many ids as the
            # tree is deep (no scan over every node's path).
            .where(
                RoleAssignment.role == Role.ADMIN,
                RoleAssignment.org_unit_id.in_(ancestors_of(path)),
            )
            .distinct()
            .order_by(Account.id)
        )
    )


async def deletion_request_by_id(session: AsyncSession, request_id: int) -> DeletionRequest | None:
    """A deletion request with its node."""
    return await session.scalar(
        select(DeletionRequest)
        .where(DeletionRequest.id == request_id)
        .options(joinedload(DeletionRequest.org_unit))
    )


async def open_deletion_request_of(session: AsyncSession, person_id: int) -> DeletionRequest | None:
    """The person's undecided deletion request."""
    return await session.scalar(
        select(DeletionRequest).where(
            DeletionRequest.person_id == person_id, DeletionRequest.state == DeletionState.OPEN
        )
    )


async def open_deletion_requests(
    session: AsyncSession, *, paths: list[str], limit: int
) -> list[tuple[DeletionRequest, Person]]:
    """Undecided deletion requests in the subtrees, oldest first, with their people."""
    if not paths:
        return []
    rows = await session.execute(
        select(DeletionRequest, Person)
        .join(Person, Person.id == DeletionRequest.person_id)
        .join(OrgUnit, OrgUnit.id == DeletionRequest.org_unit_id)
        .where(DeletionRequest.state == DeletionState.OPEN, _under(OrgUnit.path, paths))
        .order_by(DeletionRequest.id)
        .limit(limit)
    )
    return [(request, person) for request, person in rows]
