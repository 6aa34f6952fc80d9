"""Data access for notices and their outbox. Functions take the session and never commit.

Who a notice reaches is in storage.notice_audiences; counts and reports in storage.notice_reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from bot.enums import DeliveryState, NoticeAudience, NoticeState
from storage import bulk
from storage import notice_audiences as na
from storage.models import Account, OrgUnit, UTCDateTime
from storage.models_notices import Notice, NoticeDelivery, NoticeText
from storage.tree import subtrees_of

# Accounts (by id) whose copies are written into the outbox per transaction while a notice
# starts: at most this many copies each. The first slices are small and double, so the first
# copies go out within a second rather than after a province's first 100,000 are written.
FILL_SPAN = 100_000
FIRST_SPAN = 1_000


def slice_end(low: int) -> int:
    """The last account id of the slice after `low`."""
    return low + min(FILL_SPAN, max(FIRST_SPAN, low))


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
    """Scheduled notices whose time has come, and started ones whose audience is still being
    written into the outbox."""
    return list(
        await session.scalars(
            select(Notice)
            .where(
                or_(
                    and_(Notice.state == NoticeState.SCHEDULED, Notice.send_at <= now),
                    and_(Notice.state == NoticeState.SENDING, Notice.fill_after.is_not(None)),
                )
            )
            .order_by(Notice.send_at, Notice.id)
        )
    )


async def start_notice(session: AsyncSession, notice: Notice, now: dt.datetime) -> int:
    """Start a due notice, or go on writing its audience into the outbox: the copies of one
    slice of account ids per call (`slice_end`), in account order, so the first copies go out while
    a province's millions are still being written (each slice its own transaction). Returns
    the rows written by this call."""
    if notice.state is NoticeState.SCHEDULED:
        notice.state = NoticeState.SENDING
        notice.rounds = 1
        notice.started_at = now
        notice.fill_after = 0
    if notice.fill_after is None:
        return 0
    org = await session.get(OrgUnit, notice.org_unit_id)
    assert org is not None
    if notice.audience is NoticeAudience.BRANCHES:
        # Picked by hand, so bounded: written at once, a chunk of branches per statement.
        written = 0
        for picked in na.chunks(sorted(set(notice.branch_ids or ()))):
            if picked:
                chosen = na.recipients_select(
                    root_path=org.path,
                    audience=notice.audience,
                    picked=picked,
                    group_id=na.group_of(org),
                )
                written += await _write_copies(session, notice.id, chosen.subquery())
        notice.fill_after = None
        return written
    low, high = notice.fill_after, slice_end(notice.fill_after)
    # Planned for these values: a generic plan would assume a small subtree, and for a
    # province's every member read all of them in each slice.
    await bulk.slice_plans(session)
    # A slice need not wait for its WAL to reach the disk: a copy goes out only after its
    # claim commits, and that commit, written later into the same log, waits for everything
    # before it. A server crash may lose the last slices whole (the copies and fill_after
    # together), and the fill writes them again: nothing is lost or doubled.
    await bulk.commit_lazily(session)
    audience = na.recipients_select(
        root_path=org.path,
        audience=notice.audience,
        accounts=and_(Account.id > low, Account.id <= high),
        group_id=na.group_of(org),
    ).subquery()
    written = await _write_copies(session, notice.id, audience)
    last = int(await session.scalar(select(func.max(Account.id))) or 0)
    notice.fill_after = high if high < last else None
    return written


async def fill_next_slice(session: AsyncSession, notice_id: int, now: dt.datetime) -> bool:
    """Write the next slice of a started notice's audience; False once it is complete or the
    notice no longer goes out. The notice's row is locked, so a cancel waits for the slice."""
    notice = await session.get(Notice, notice_id, with_for_update=True)
    if notice is None or notice.state is not NoticeState.SENDING or notice.fill_after is None:
        return False
    await start_notice(session, notice, now)
    return notice.fill_after is not None


async def _write_copies(session: AsyncSession, notice_id: int, audience: Any) -> int:
    """INSERT ... SELECT the first round's copies of (account_id, branch_id, gone) rows."""
    unreachable = DeliveryState.UNREACHABLE.value
    rows = select(
        literal(notice_id),
        audience.c.account_id,
        literal(1),
        audience.c.branch_id,
        case((audience.c.gone, unreachable), else_=DeliveryState.PENDING.value),
        literal(0),
        case((audience.c.gone, "unreachable before sending"), else_=null()),
    ).order_by(audience.c.account_id)
    table = cast(Table, NoticeDelivery.__table__)
    columns = ["notice_id", "account_id", "round", "branch_id", "state", "attempts", "error"]
    result = await session.execute(insert(table).from_select(columns, rows))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def resend_to_unacknowledged(
    session: AsyncSession, notice: Notice, *, held_until: dt.datetime
) -> int:
    """A new round for every recipient who got the notice but has not acknowledged it; its
    copies wait until `held_until` unless released earlier (release_round)."""
    latest = aliased(NoticeDelivery)
    acknowledged = aliased(NoticeDelivery)
    last_round = (
        select(func.max(latest.round))
        .where(latest.notice_id == notice.id, latest.account_id == NoticeDelivery.account_id)
        .scalar_subquery()
    )
    rows = (
        select(
            NoticeDelivery.notice_id,
            NoticeDelivery.account_id,
            literal(notice.rounds + 1),
            NoticeDelivery.branch_id,
            literal(DeliveryState.PENDING.value),
            literal(0),
            bindparam("b_held", held_until, type_=UTCDateTime),
        )
        .where(
            NoticeDelivery.notice_id == notice.id,
            NoticeDelivery.round == last_round,
            NoticeDelivery.state.in_((DeliveryState.SENT, DeliveryState.UNCONFIRMED)),
            ~exists(
                select(literal(1)).where(
                    acknowledged.notice_id == notice.id,
                    acknowledged.account_id == NoticeDelivery.account_id,
                    acknowledged.acknowledged_at.is_not(None),
                )
            ),
        )
        .order_by(NoticeDelivery.account_id)
    )
    columns = ["notice_id", "account_id", "round", "branch_id", "state", "attempts", "not_before"]
    table = cast(Table, NoticeDelivery.__table__)
    result = await session.execute(insert(table).from_select(columns, rows))
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if not count:
        return 0
    notice.rounds += 1
    notice.state = NoticeState.SENDING
    notice.finished_at = None
    return count


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
    subtrees = subtrees_of(OrgUnit.path, paths)
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
        # One notice's copies in the order they were written (account order): read straight
        # off the (state, notice_id, id) index, however many copies were sent before.
        .order_by(NoticeDelivery.notice_id, NoticeDelivery.id)
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
    # Pending copies belong to notices going out: a probe per such notice on the
    # (notice, account) key rather than a scan of every copy ever written.
    await session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.notice_id.in_(
                select(Notice.id).where(Notice.state == NoticeState.SENDING)
            ),
            NoticeDelivery.account_id == account_id,
            NoticeDelivery.state == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.UNREACHABLE, error=reason[:200])
        .execution_options(synchronize_session=False)
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
