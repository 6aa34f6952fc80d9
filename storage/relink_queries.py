"""Data access for relink requests, transfer letters, reconnect steps and the register.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from bot.enums import FINAL_STATES, OrgKind, ReconnectStep, RequestState, RequestType, Role
from storage.models import Account, AuditEntry, OrgUnit, Person, RoleAssignment
from storage.models_relink import LostContactEntry, RelinkLetter, RelinkRequest, RelinkStep
from storage.tree import subtree_of

_LOADED = (
    selectinload(RelinkRequest.home_branch),
    selectinload(RelinkRequest.receiving_branch),
    selectinload(RelinkRequest.requester),
    selectinload(RelinkRequest.person),
    selectinload(RelinkRequest.claimed_person),
)
LEADER_ROLES = (Role.SECRETARY, Role.DEPUTY)


async def current_letter(session: AsyncSession, request_id: int) -> RelinkLetter | None:
    """The newest transfer letter of a request."""
    return await session.scalar(
        select(RelinkLetter)
        .where(RelinkLetter.request_id == request_id)
        .order_by(RelinkLetter.id.desc())
        .limit(1)
    )


async def last_audit_details(
    session: AsyncSession, request_id: int, action: str
) -> dict[str, str] | None:
    """The details of a request's latest audit entry of one action, if any."""
    details = await session.scalar(
        select(AuditEntry.details)
        .where(
            AuditEntry.action == action,
            AuditEntry.target_type == "relink_request",
            AuditEntry.target_id == request_id,
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return dict(details) if details else None


async def steps_of(session: AsyncSession, request_id: int) -> list[RelinkStep]:
    """The recorded reconnect steps of a request."""
    return list(
        await session.scalars(
            select(RelinkStep).where(RelinkStep.request_id == request_id).order_by(RelinkStep.id)
        )
    )


async def request_by_id(
    session: AsyncSession, request_id: int, *, lock: bool = False
) -> RelinkRequest | None:
    """A request with its branches, requester and people loaded (fresh from the database);
    `lock` holds it for a decision."""
    query = (
        select(RelinkRequest)
        .where(RelinkRequest.id == request_id)
        .options(*_LOADED)
        .execution_options(populate_existing=True)
    )
    if lock:
        # PostgreSQL serialises deciders here; the version check catches the rest.
        query = query.with_for_update(of=RelinkRequest)
    return await session.scalar(query)


async def step_record(
    session: AsyncSession, request_id: int, step: ReconnectStep
) -> RelinkStep | None:
    """The stored record of one reconnect step of a request."""
    return await session.scalar(
        select(RelinkStep).where(RelinkStep.request_id == request_id, RelinkStep.step == step)
    )


async def activity_times(
    session: AsyncSession, account_id: int, since: dt.datetime
) -> list[dt.datetime]:
    """When the account filed or withdrew a request since then, oldest first."""
    filed = await session.scalars(
        select(RelinkRequest.submitted_at).where(
            RelinkRequest.requester_account_id == account_id,
            RelinkRequest.submitted_at >= since,
        )
    )
    withdrawn = await session.scalars(
        select(RelinkRequest.updated_at).where(
            RelinkRequest.requester_account_id == account_id,
            RelinkRequest.state == RequestState.WITHDRAWN,
            RelinkRequest.updated_at >= since,
        )
    )
    return sorted([*filed, *withdrawn])


async def open_request_of(session: AsyncSession, account_id: int) -> RelinkRequest | None:
    """The member's request that is not finished yet (at most one is allowed)."""
    return await session.scalar(
        select(RelinkRequest)
        .where(
            RelinkRequest.requester_account_id == account_id,
            RelinkRequest.state.not_in(list(FINAL_STATES)),
        )
        .options(*_LOADED)
        .order_by(RelinkRequest.id.desc())
        .limit(1)
    )


async def latest_request_of(session: AsyncSession, account_id: int) -> RelinkRequest | None:
    """The member's most recent request, finished or not."""
    return await session.scalar(
        select(RelinkRequest)
        .where(RelinkRequest.requester_account_id == account_id)
        .options(*_LOADED)
        .order_by(RelinkRequest.id.desc())
        .limit(1)
    )


async def requests_touching(
    session: AsyncSession,
    *,
    branch_ids: Sequence[int] = (),
    subtree_paths: Sequence[str] = (),
    open_only: bool = True,
    offset: int = 0,
    limit: int | None = None,
) -> list[RelinkRequest]:
    """Requests whose home or receiving node is one of the branches or inside a subtree,
    oldest first."""
    query = _touching(branch_ids, subtree_paths, open_only)
    if query is None:
        return []
    query = (
        query.options(*_LOADED)
        .order_by(RelinkRequest.submitted_at, RelinkRequest.id)
        .offset(offset)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def count_requests_touching(
    session: AsyncSession,
    *,
    branch_ids: Sequence[int] = (),
    subtree_paths: Sequence[str] = (),
    open_only: bool = True,
) -> int:
    """How many requests requests_touching could list."""
    query = _touching(branch_ids, subtree_paths, open_only)
    if query is None:
        return 0
    counted = query.with_only_columns(func.count(RelinkRequest.id)).order_by(None)
    return int(await session.scalar(counted) or 0)


def _touching(
    branch_ids: Sequence[int], subtree_paths: Sequence[str], open_only: bool
) -> Select[RelinkRequest] | None:
    home = aliased(OrgUnit)
    receiving = aliased(OrgUnit)
    conditions: list[ColumnElement[bool]] = []
    if branch_ids:
        conditions.append(RelinkRequest.home_branch_id.in_(branch_ids))
        conditions.append(RelinkRequest.receiving_branch_id.in_(branch_ids))
    for path in subtree_paths:
        conditions.append(subtree_of(home.path, path))
        conditions.append(subtree_of(receiving.path, path))
    if not conditions:
        return None
    query = (
        select(RelinkRequest)
        .join(home, RelinkRequest.home_branch_id == home.id)
        .outerjoin(receiving, RelinkRequest.receiving_branch_id == receiving.id)
        .where(or_(*conditions))
    )
    if open_only:
        query = query.where(RelinkRequest.state.not_in(list(FINAL_STATES)))
    return query


async def account_of_person(session: AsyncSession, person_id: int) -> Account | None:
    """The Telegram account registered as this roster entry, if any."""
    return await session.scalar(select(Account).where(Account.person_id == person_id))


async def person_by_id(session: AsyncSession, person_id: int) -> Person | None:
    """A roster entry."""
    return await session.get(Person, person_id)


async def drop_leader_roles(session: AsyncSession, *, person_id: int, branch_id: int) -> list[Role]:
    """Take the secretary and deputy roles of one branch from a person; the roles taken."""
    taken = list(
        await session.scalars(
            delete(RoleAssignment)
            .where(
                RoleAssignment.person_id == person_id,
                RoleAssignment.org_unit_id == branch_id,
                RoleAssignment.role.in_(LEADER_ROLES),
            )
            .returning(RoleAssignment.role)
        )
    )
    return sorted(taken)


async def leader_accounts(session: AsyncSession, branch_id: int) -> list[Account]:
    """Accounts of the secretary and deputies of a branch."""
    return list(
        await session.scalars(
            select(Account)
            .join(RoleAssignment, RoleAssignment.person_id == Account.person_id)
            .where(
                RoleAssignment.org_unit_id == branch_id,
                RoleAssignment.role.in_(LEADER_ROLES),
            )
            .order_by(Account.id)
        )
    )


async def admin_accounts_over(session: AsyncSession, node: OrgUnit) -> list[Account]:
    """Accounts of the admins whose subtree contains the node, nearest first."""
    rows = await session.execute(
        select(Account, OrgUnit.path)
        .join(RoleAssignment, RoleAssignment.person_id == Account.person_id)
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .where(RoleAssignment.role == Role.ADMIN)
        .order_by(func.length(OrgUnit.path).desc(), Account.id)
    )
    seen: dict[int, Account] = {}
    for account, path in rows:
        if node.path.startswith(path) and account.id not in seen:
            seen[account.id] = account
    return list(seen.values())


async def expired_letter_request_ids(session: AsyncSession, now: dt.datetime) -> list[int]:
    """Transfers whose newest letter is past its validity and still not accepted."""
    newest = (
        select(RelinkLetter.request_id, func.max(RelinkLetter.id).label("letter_id"))
        .group_by(RelinkLetter.request_id)
        .subquery()
    )
    return list(
        await session.scalars(
            select(RelinkRequest.id)
            .join(newest, newest.c.request_id == RelinkRequest.id)
            .join(RelinkLetter, RelinkLetter.id == newest.c.letter_id)
            .where(
                RelinkRequest.type == RequestType.TRANSFER,
                RelinkRequest.state == RequestState.LETTER_ISSUED,
                RelinkLetter.expires_at <= now,
            )
            .order_by(RelinkRequest.id)
        )
    )


async def home_committee(session: AsyncSession, node: OrgUnit) -> OrgUnit | None:
    """The nearest committee at or above a node (the one whose register covers it)."""
    ids = [int(part) for part in node.path.strip("/").split("/") if part]
    units = {
        u.id: u
        for u in await session.scalars(
            select(OrgUnit).where(OrgUnit.id.in_(ids), OrgUnit.kind == OrgKind.COMMITTEE)
        )
    }
    return next((units[i] for i in reversed(ids) if i in units), None)


async def unlinked_register_entries(
    session: AsyncSession, *, within: OrgUnit
) -> list[LostContactEntry]:
    """Register rows not re-linked yet whose original branch lies in the subtree; a row whose
    branch is unknown belongs to no subtree and is never offered."""
    return list(
        await session.scalars(
            select(LostContactEntry)
            .join(OrgUnit, OrgUnit.id == LostContactEntry.branch_id)
            .where(
                LostContactEntry.relinked_at.is_(None),
                subtree_of(OrgUnit.path, within.path),
            )
            .order_by(LostContactEntry.id)
        )
    )


async def register_entry(session: AsyncSession, entry_id: int) -> LostContactEntry | None:
    """One register row."""
    return await session.get(LostContactEntry, entry_id)


async def relinked_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[RelinkRequest]:
    """Reconnect requests completed in [start, end)."""
    return list(
        await session.scalars(
            select(RelinkRequest)
            .where(
                RelinkRequest.type == RequestType.RECONNECT,
                RelinkRequest.state == RequestState.COMPLETED,
                RelinkRequest.completed_at >= start,
                RelinkRequest.completed_at < end,
            )
            .options(*_LOADED)
            .order_by(RelinkRequest.completed_at)
        )
    )
