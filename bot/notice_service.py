"""What admins and readers do with notices: confirm, stop, re-send, acknowledge.

Each function runs in the caller's transaction, checks what it is given against the caller's
scope where an id came from a button, and audits administrative actions.

A notice that goes out now is stored *held*: due a minute later. The admin's handler first
commits it, then shows the status on the admin's message, then releases it (`release_notice`).
So the worker, which edits that same message with its progress, never starts before the
handler's own edit has landed, and no transaction stays open across the call to Telegram. A
crash in between only delays the notice by the hold. A re-sent round is held the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Principal
from bot.enums import NoticeAudience, NoticeState, OrgKind
from storage import notice_queries as nq
from storage import notice_reports as nr
from storage import queries
from storage.models import Account, OrgUnit
from storage.models_notices import Notice

# How long a confirmed notice (or a re-sent round) waits for the admin's message to show it.
CONFIRM_HOLD = dt.timedelta(minutes=1)


def may_send_from(principal: Principal, org: OrgUnit) -> bool:
    """Admins send from (and manage the notices of) nodes of their subtree; a branch's
    secretary or deputy from their own branch or one of its party groups."""
    if principal.is_admin_of(org.path):
        return True
    if org.kind is OrgKind.BRANCH:
        return principal.leads_branch(org.id)
    return (
        org.kind is OrgKind.PARTY_GROUP
        and org.parent_id is not None
        and principal.leads_branch(org.parent_id)
    )


def leader_notice(principal: Principal, org: OrgUnit) -> bool:
    """A branch leader's notice to their branch (or a party group): members only, short."""
    return not principal.is_admin_of(org.path) and may_send_from(principal, org)


async def administered_notice(
    session: AsyncSession, principal: Principal, notice_id: int
) -> tuple[Notice, OrgUnit] | None:
    """The notice and its node, if it was sent from a node the principal may send from."""
    notice = await nq.notice_by_id(session, notice_id)
    if notice is None:
        return None
    org = await queries.org_by_id(session, notice.org_unit_id)
    if org is None or not may_send_from(principal, org):
        return None
    return notice, org


@dataclass(frozen=True, slots=True)
class Confirmed:
    """A stored notice, and when it really goes (it is held until released)."""

    notice: Notice
    goes_at: dt.datetime
    held: bool


async def confirm_notice(
    session: AsyncSession,
    *,
    org: OrgUnit,
    actor: Account | None,
    audience: NoticeAudience,
    branch_ids: Sequence[int],
    texts: dict[str, str],
    primary_locale: str,
    require_ack: bool,
    media_kind: str | None,
    media_file_id: str | None,
    send_at: dt.datetime | None,
    now: dt.datetime,
    chat_id: int | None,
    message_id: int | None,
) -> Confirmed:
    """Store a confirmed notice for the worker; the admin's message becomes its progress.

    One due within the hold (now, or a time that close) is held: release it with
    `release_notice(notice.id, goes_at)` once the admin's message shows it.
    """
    goes_at = max(send_at or now, now)
    held = goes_at <= now + CONFIRM_HOLD
    notice = await nq.create_notice(
        session,
        org=org,
        created_by=actor,
        audience=audience,
        branch_ids=list(branch_ids),
        texts=texts,
        primary_locale=primary_locale,
        require_ack=require_ack,
        media_kind=media_kind,
        media_file_id=media_file_id,
        send_at=now + CONFIRM_HOLD if held else goes_at,
        admin_chat_id=chat_id,
        progress_message_id=message_id,
    )
    await queries.audit(
        session,
        action="notice.create",
        actor=actor,
        target_type="notice",
        target_id=notice.id,
        org_unit_id=org.id,
        details={"audience": notice.audience.value, "send_at": goes_at.isoformat()},
    )
    return Confirmed(notice, goes_at, held)


async def release_notice(session: AsyncSession, notice_id: int, goes_at: dt.datetime) -> None:
    """Let a held notice go (nothing happens to one cancelled meanwhile)."""
    await nq.release_notice(session, notice_id, send_at=goes_at)


@dataclass(frozen=True, slots=True)
class Stopped:
    """What stopping did: copies that will not go (None: it had already gone out)."""

    not_sent: int | None
    was_scheduled: bool
    counts: nr.NoticeCounts


async def stop_notice(
    session: AsyncSession, *, notice: Notice, org: OrgUnit, actor: Account | None, now: dt.datetime
) -> Stopped:
    """Cancel a scheduled notice, or stop one going out; audited when it changed anything."""
    was_scheduled = notice.state is NoticeState.SCHEDULED
    not_sent = await nq.cancel_notice(session, notice, now)
    if not_sent is not None:
        await queries.audit(
            session,
            action="notice.cancel",
            actor=actor,
            target_type="notice",
            target_id=notice.id,
            org_unit_id=org.id,
            details={"not_sent": not_sent},
        )
    return Stopped(not_sent, was_scheduled, await nr.notice_counts(session, notice.id))


@dataclass(frozen=True, slots=True)
class Resent:
    """A new round for those who have not acknowledged: how many, and its (held) number."""

    recipients: int
    round: int
    counts: nr.NoticeCounts


async def resend_notice(
    session: AsyncSession,
    *,
    notice: Notice,
    org: OrgUnit,
    actor: Account | None,
    now: dt.datetime,
    chat_id: int | None,
    message_id: int | None,
) -> Resent:
    """Send a notice that has gone out again to those who got it and have not acknowledged
    it; the round is held until `release_round` (see the module's docstring)."""
    count = 0
    if notice.state is NoticeState.DONE and notice.require_ack:
        count = await nq.resend_to_unacknowledged(session, notice, held_until=now + CONFIRM_HOLD)
    if count:
        if chat_id is not None and message_id is not None:
            notice.admin_chat_id, notice.progress_message_id = chat_id, message_id
        await queries.audit(
            session,
            action="notice.resend",
            actor=actor,
            target_type="notice",
            target_id=notice.id,
            org_unit_id=org.id,
            details={"recipients": count},
        )
    return Resent(count, notice.rounds, await nr.notice_counts(session, notice.id))


async def release_round(session: AsyncSession, notice_id: int, round_: int) -> None:
    """Let a held re-sent round go."""
    await nq.release_round(session, notice_id, round_)


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """When the reader acknowledged, and whether it was already so before this press."""

    at: dt.datetime
    already: bool


async def acknowledge_copy(
    session: AsyncSession, *, account_id: int, delivery_id: int, now: dt.datetime
) -> Acknowledged | None:
    """Record the reader's acknowledgement once; None when the copy is not theirs."""
    delivery = await nr.delivery_by_id(session, delivery_id)
    if delivery is None or delivery.account_id != account_id:
        return None
    already = delivery.acknowledged_at is not None
    at = await nr.acknowledge(session, delivery=delivery, now=now)
    return Acknowledged(at, already)
