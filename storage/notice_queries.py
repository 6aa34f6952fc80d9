"""Data access for notices and their outbox. Functions take the session and never commit.

Who a notice reaches is in storage.notice_audiences; counts and reports in storage.notice_reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from bot.enums import DeliveryState, NoticeAudience, NoticeState
from storage.models import Account, OrgUnit, UTCDateTime
from storage.models_notices import Notice, NoticeDelivery, NoticeText
from storage.notice_audiences import Recipient, audience_recipients

# States a copy can still move out of; the rest are final.
OPEN_STATES = (DeliveryState.PENDING, DeliveryState.SENDING)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A pending copy with what sending it needs."""

    delivery_id: int
    notice_id: int
    account_id: int
    round: int
    attempts: int
    chat_id: int
    locale: str | None
    telegram_language: str | None
    time_zone: str | None


# ---- notices ----------------------------------------------------------------------------------


async def create_notice(
    session: AsyncSession,
    *,
    org: OrgUnit,
    created_by: Account | None,
    audience: NoticeAudience,
    branch_ids: Sequence[int],
    texts: dict[str, str],
    primary_locale: str,
    require_ack: bool,
    media_kind: str | None,
    media_file_id: str | None,
    send_at: dt.datetime,
    admin_chat_id: int | None,
    progress_message_id: int | None,
) -> Notice:
    """Store a confirmed notice, to be sent by the delivery worker at send_at."""
    notice = Notice(
        org_unit_id=org.id,
        created_by=created_by.id if created_by else None,
        audience=audience,
        branch_ids=list(branch_ids),
        primary_locale=primary_locale,
        require_ack=require_ack,
        media_kind=media_kind,
        media_file_id=media_file_id,
        state=NoticeState.SCHEDULED,
        send_at=send_at,
        admin_chat_id=admin_chat_id,
        progress_message_id=progress_message_id,
        rounds=0,
        texts=[NoticeText(locale=locale, body=body) for locale, body in texts.items()],
    )
    session.add(notice)
    await session.flush()
    return notice


async def notice_by_id(session: AsyncSession, notice_id: int) -> Notice | None:
    """A notice with its texts."""
    return await session.get(Notice, notice_id)


async def due_notices(session: AsyncSession, now: dt.datetime) -> list[Notice]:
    """Scheduled notices whose time has come."""
    return list(
        await session.scalars(
            select(Notice)
            .where(Notice.state == NoticeState.SCHEDULED, Notice.send_at <= now)
            .order_by(Notice.send_at, Notice.id)
        )
    )


async def start_notice(session: AsyncSession, notice: Notice, now: dt.datetime) -> int:
    """Resolve the audience now and write one outbox row per recipient (the first round)."""
    org = await session.get(OrgUnit, notice.org_unit_id)
    assert org is not None
    recipients = await audience_recipients(
        session, root=org, audience=notice.audience, branch_ids=notice.branch_ids or ()
    )
    await _insert_round(session, notice, 1, recipients)
    notice.state = NoticeState.SENDING
    notice.rounds = 1
    notice.started_at = now
    return len(recipients)


async def _insert_round(
    session: AsyncSession,
    notice: Notice,
    round_: int,
    recipients: Sequence[Recipient],
    not_before: dt.datetime | None = None,
) -> None:
    rows = [
        {
            "notice_id": notice.id,
            "account_id": r.account_id,
            "round": round_,
            "branch_id": r.branch_id,
            "state": DeliveryState.UNREACHABLE if r.unreachable else DeliveryState.PENDING,
            "attempts": 0,
            "error": "unreachable before sending" if r.unreachable else None,
            "not_before": not_before,
        }
        for r in recipients
    ]
    for start in range(0, len(rows), 1000):
        await session.execute(insert(NoticeDelivery), rows[start : start + 1000])


async def resend_to_unacknowledged(
    session: AsyncSession, notice: Notice, *, held_until: dt.datetime
) -> int:
    """A new round for every recipient who got the notice but has not acknowledged it; its
    copies wait until `held_until` unless released earlier (release_round)."""
    latest = await _latest_rows(session, notice.id)
    acked = await _acknowledged_accounts(session, notice.id)
    recipients = [
        Recipient(row.account_id, row.branch_id, False)
        for row in latest
        if row.account_id not in acked
        and row.state in (DeliveryState.SENT, DeliveryState.UNCONFIRMED)
    ]
    if not recipients:
        return 0
    notice.rounds += 1
    await _insert_round(session, notice, notice.rounds, recipients, not_before=held_until)
    notice.state = NoticeState.SENDING
    notice.finished_at = None
    return len(recipients)


async def _latest_rows(session: AsyncSession, notice_id: int) -> list[NoticeDelivery]:
    rows = await session.scalars(
        select(NoticeDelivery)
        .where(NoticeDelivery.notice_id == notice_id)
        .order_by(NoticeDelivery.account_id, NoticeDelivery.round)
    )
    latest: dict[int, NoticeDelivery] = {}
    for row in rows:
        latest[row.account_id] = row
    return list(latest.values())


async def _acknowledged_accounts(session: AsyncSession, notice_id: int) -> set[int]:
    return set(
        await session.scalars(
            select(NoticeDelivery.account_id).where(
                NoticeDelivery.notice_id == notice_id, NoticeDelivery.acknowledged_at.is_not(None)
            )
        )
    )


async def release_notice(session: AsyncSession, notice_id: int, *, send_at: dt.datetime) -> None:
    """Let a notice held at confirmation go at `send_at` (unless it was cancelled meanwhile)."""
    await session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.state == NoticeState.SCHEDULED)
        .values(send_at=send_at)
    )


async def release_round(session: AsyncSession, notice_id: int, round_: int) -> None:
    """Let the held copies of a re-sent round go now."""
    await session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.notice_id == notice_id,
            NoticeDelivery.round == round_,
            NoticeDelivery.state == DeliveryState.PENDING,
        )
        .values(not_before=None)
    )


async def cancel_notice(session: AsyncSession, notice: Notice, now: dt.datetime) -> int | None:
    """Stop a scheduled or sending notice: how many copies will no longer go out, or None when
    it was no longer scheduled or sending (two presses at once decide once)."""
    stopped = await session.execute(
        update(Notice)
        .where(
            Notice.id == notice.id,
            Notice.state.in_((NoticeState.SCHEDULED, NoticeState.SENDING)),
        )
        .values(state=NoticeState.CANCELLED, finished_at=now)
    )
    if not stopped.rowcount:  # type: ignore[attr-defined]
        return None
    result = await session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.notice_id == notice.id,
            NoticeDelivery.state == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.CANCELLED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def notices_of(
    session: AsyncSession,
    *,
    subtree_paths: Sequence[str],
    states: Iterable[NoticeState] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Notice]:
    """Notices sent from within these subtrees, newest first."""
    if not subtree_paths:
        return []
    query = _notices_in(subtree_paths, states)
    return list(await session.scalars(query.order_by(Notice.id.desc()).offset(offset).limit(limit)))


async def count_notices(
    session: AsyncSession,
    *,
    subtree_paths: Sequence[str],
    states: Iterable[NoticeState] | None = None,
) -> int:
    """How many notices notices_of could list."""
    if not subtree_paths:
        return 0
    counted = _notices_in(subtree_paths, states).with_only_columns(func.count(Notice.id))
    return int(await session.scalar(counted) or 0)


def _notices_in(paths: Sequence[str], states: Iterable[NoticeState] | None) -> Select[Notice]:
    subtrees = or_(*(OrgUnit.path.startswith(path, autoescape=True) for path in paths))
    query = select(Notice).join(OrgUnit, OrgUnit.id == Notice.org_unit_id).where(subtrees)
    if states is not None:
        query = query.where(Notice.state.in_(list(states)))
    return query


# ---- the outbox -------------------------------------------------------------------------------


async def pending_copies(
    session: AsyncSession, *, now: dt.datetime, limit: int, after_id: int = 0
) -> list[Outgoing]:
    """Pending copies of notices that are going out, oldest first, with the recipient's chat."""
    rows = await session.execute(
        select(
            NoticeDelivery.id,
            NoticeDelivery.notice_id,
            NoticeDelivery.account_id,
            NoticeDelivery.round,
            NoticeDelivery.attempts,
            Account.telegram_id,
            Account.locale,
            Account.telegram_language,
            Account.time_zone,
        )
        .join(Account, Account.id == NoticeDelivery.account_id)
        .join(Notice, Notice.id == NoticeDelivery.notice_id)
        .where(
            NoticeDelivery.state == DeliveryState.PENDING,
            NoticeDelivery.id > after_id,
            Notice.state == NoticeState.SENDING,
            or_(NoticeDelivery.not_before.is_(None), NoticeDelivery.not_before <= now),
        )
        .order_by(NoticeDelivery.id)
        .limit(limit)
    )
    return [Outgoing(*row) for row in rows]


async def next_retry_at(session: AsyncSession) -> dt.datetime | None:
    """When the earliest pending copy waiting out a backoff may go (None: none is waiting)."""
    return await session.scalar(
        select(func.min(NoticeDelivery.not_before))
        .join(Notice, Notice.id == NoticeDelivery.notice_id)
        .where(
            NoticeDelivery.state == DeliveryState.PENDING,
            NoticeDelivery.not_before.is_not(None),
            Notice.state == NoticeState.SENDING,
        )
    )


async def claim_copies(
    session: AsyncSession, delivery_ids: Sequence[int], *, lease_until: dt.datetime
) -> set[int]:
    """Mark pending copies as being sent; returns those claimed (not cancelled or taken)."""
    if not delivery_ids:
        return set()
    # On the table, not the entity: nothing loaded needs synchronising, and the ORM's bulk
    # machinery was a tenth of a paid broadcast's CPU.
    table = cast(Table, NoticeDelivery.__table__)
    result = await session.execute(
        update(table)
        .where(
            table.c.id.in_(list(delivery_ids)),
            table.c.state == DeliveryState.PENDING.value,
        )
        .values(
            state=DeliveryState.SENDING.value,
            lease_until=bindparam("b_lease", lease_until, type_=UTCDateTime),
            attempts=table.c.attempts + 1,
        )
        .returning(table.c.id)
    )
    return set(result.scalars())


async def mark_sent(
    session: AsyncSession, sent: Sequence[tuple[int, int | None, dt.datetime]]
) -> None:
    """Record copies Telegram accepted: (delivery id, message id, when), in one statement."""
    table = cast(Table, NoticeDelivery.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.state == DeliveryState.SENDING.value)
        .values(
            state=DeliveryState.SENT.value,
            message_id=bindparam("b_message_id"),
            sent_at=bindparam("b_sent_at", type_=UTCDateTime),
            lease_until=None,
            error=None,
        ),
        [{"b_id": i, "b_message_id": m, "b_sent_at": at} for i, m, at in sent],
    )


async def finish_copy(
    session: AsyncSession,
    delivery_id: int,
    *,
    state: DeliveryState,
    now: dt.datetime,
    message_id: int | None = None,
    error: str | None = None,
    not_before: dt.datetime | None = None,
) -> None:
    """Record what happened to a copy being sent (sent, failed, unreachable, or pending again)."""
    values: dict[str, object] = {"state": state, "lease_until": None, "error": error}
    if state is DeliveryState.SENT:
        values.update(message_id=message_id, sent_at=now)
    if state is DeliveryState.PENDING:
        values["not_before"] = not_before
    await session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.id == delivery_id, NoticeDelivery.state == DeliveryState.SENDING)
        .values(**values)
    )


async def mark_unreachable(
    session: AsyncSession, *, account_id: int, now: dt.datetime, reason: str
) -> None:
    """The account blocked the bot or is gone: flag it and skip its other pending copies."""
    await session.execute(
        update(Account)
        .where(Account.id == account_id, Account.unreachable_since.is_(None))
        .values(unreachable_since=now)
    )
    await session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.account_id == account_id,
            NoticeDelivery.state == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.UNREACHABLE, error=reason[:200])
    )


async def reconcile_interrupted(session: AsyncSession, now: dt.datetime) -> int:
    """Copies left 'sending' by a process that died: count them delivered, never resend."""
    result = await session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.state == DeliveryState.SENDING,
            or_(NoticeDelivery.lease_until.is_(None), NoticeDelivery.lease_until < now),
        )
        .values(
            state=DeliveryState.UNCONFIRMED,
            lease_until=None,
            error="interrupted while sending; not sent again",
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def finished_notices(session: AsyncSession, now: dt.datetime) -> list[Notice]:
    """Mark sending notices with no open copies as done, and return them."""
    open_copy = (
        select(NoticeDelivery.id)
        .where(NoticeDelivery.notice_id == Notice.id, NoticeDelivery.state.in_(OPEN_STATES))
        .exists()
    )
    notices = list(
        await session.scalars(select(Notice).where(Notice.state == NoticeState.SENDING, ~open_copy))
    )
    for notice in notices:
        notice.state = NoticeState.DONE
        notice.finished_at = now
    return notices


async def sending_notices(session: AsyncSession) -> list[Notice]:
    """Notices going out now."""
    return list(
        await session.scalars(
            select(Notice).where(Notice.state == NoticeState.SENDING).order_by(Notice.id)
        )
    )
