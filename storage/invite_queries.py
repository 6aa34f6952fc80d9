"""Data access for invites and the throttling of wrong codes.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import Account, Invite, InviteFailure, OrgUnit
from storage.tree import subtrees_of


async def invite_by_hash(session: AsyncSession, *, keyed: str, legacy: str) -> Invite | None:
    """The invite whose stored hash matches, in its own scheme."""
    return await session.scalar(
        select(Invite).where(
            or_(
                (Invite.code_hash == keyed) & (Invite.code_scheme == "hmac"),
                (Invite.code_hash == legacy) & (Invite.code_scheme == "sha256"),
            )
        )
    )


async def invite_by_id(session: AsyncSession, invite_id: int) -> Invite | None:
    """An invite with its node and named person."""
    return await session.scalar(
        select(Invite)
        .where(Invite.id == invite_id)
        .options(joinedload(Invite.org_unit), joinedload(Invite.person))
    )


async def failures_since(
    session: AsyncSession, sender_key: str, since: dt.datetime
) -> list[dt.datetime]:
    """When this sender tried wrong codes after `since`, oldest first."""
    return list(
        await session.scalars(
            select(InviteFailure.at)
            .where(InviteFailure.sender_key == sender_key, InviteFailure.at > since)
            .order_by(InviteFailure.at)
        )
    )


async def add_failure(session: AsyncSession, sender_key: str, at: dt.datetime) -> None:
    """Count one wrong code."""
    session.add(InviteFailure(sender_key=sender_key, at=at))


async def delete_failures_before(session: AsyncSession, before: dt.datetime) -> int:
    """Forget wrong codes that no longer count; how many were deleted."""
    result = await session.execute(delete(InviteFailure).where(InviteFailure.at <= before))
    return int(getattr(result, "rowcount", 0) or 0)


async def consume(session: AsyncSession, invite_id: int, now: dt.datetime) -> Invite | None:
    """Count one use atomically; None when the code expired, ran out or was revoked meanwhile."""
    result = await session.execute(
        update(Invite)
        .where(
            Invite.id == invite_id,
            Invite.uses < Invite.max_uses,
            Invite.expires_at > now,
            Invite.revoked_at.is_(None),
        )
        .values(uses=Invite.uses + 1)
        .returning(Invite.id)
    )
    if result.scalar_one_or_none() is None:
        return None
    return await session.get(Invite, invite_id, populate_existing=True)


async def person_has_account(session: AsyncSession, person_id: int) -> bool:
    """Whether a Telegram account is already linked to the person."""
    count = await session.scalar(
        select(func.count()).select_from(Account).where(Account.person_id == person_id)
    )
    return bool(count)


def _open_in(paths: list[str], now: dt.datetime) -> list[ColumnElement[bool]]:
    return [
        Invite.revoked_at.is_(None),
        Invite.expires_at > now,
        Invite.uses < Invite.max_uses,
        subtrees_of(OrgUnit.path, paths),
    ]


async def count_open_invites(session: AsyncSession, *, paths: list[str], now: dt.datetime) -> int:
    """How many usable invites lead into these subtrees."""
    if not paths:
        return 0
    count = await session.scalar(
        select(func.count())
        .select_from(Invite)
        .join(OrgUnit, OrgUnit.id == Invite.org_unit_id)
        .where(*_open_in(paths, now))
    )
    return int(count or 0)


async def open_invites(
    session: AsyncSession, *, paths: list[str], now: dt.datetime, offset: int, limit: int
) -> list[Invite]:
    """Usable invites into these subtrees, newest first, with their nodes and persons."""
    if not paths:
        return []
    return list(
        await session.scalars(
            select(Invite)
            .join(OrgUnit, OrgUnit.id == Invite.org_unit_id)
            .where(*_open_in(paths, now))
            .options(joinedload(Invite.org_unit), joinedload(Invite.person))
            .order_by(Invite.created_at.desc(), Invite.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
