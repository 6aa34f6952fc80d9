"""Counts, acknowledgements and the per-branch report of notices.

Functions take the session and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import DeliveryState, NoticeState
from storage.models_notices import Notice, NoticeDelivery
from storage.notice_queries import OPEN_STATES


@dataclass(frozen=True, slots=True)
class NoticeCounts:
    """Where a notice's copies are (latest round per recipient) and how many acknowledged."""

    recipients: int
    pending: int
    sent: int
    failed: int
    unreachable: int
    cancelled: int
    acknowledged: int

    @property
    def done(self) -> int:
        """Copies in a final state."""
        return self.recipients - self.pending


async def notice_counts(session: AsyncSession, notice_id: int) -> NoticeCounts:
    """Counts for the progress bar and the summary."""
    rounds = await session.scalar(select(Notice.rounds).where(Notice.id == notice_id))
    if (rounds or 1) <= 1:
        # One round, one copy per recipient: a single pass over the notice's copies. The
        # progress of a province's notice counts 4.5 million of them every few seconds, and
        # the latest-round join read them twice, sorted.
        single = await session.execute(
            select(NoticeDelivery.state, func.count(), func.count(NoticeDelivery.acknowledged_at))
            .where(NoticeDelivery.notice_id == notice_id)
            .group_by(NoticeDelivery.state)
        )
        counted = [(state, int(n), int(acks)) for state, n, acks in single]
        return _counts(
            {DeliveryState(state): n for state, n, _ in counted}, sum(a for _, _, a in counted)
        )
    latest_round = (
        select(
            NoticeDelivery.account_id.label("account_id"),
            func.max(NoticeDelivery.round).label("round"),
        )
        .where(NoticeDelivery.notice_id == notice_id)
        .group_by(NoticeDelivery.account_id)
        .subquery()
    )
    rows = await session.execute(
        select(NoticeDelivery.state, func.count())
        .join(
            latest_round,
            and_(
                latest_round.c.account_id == NoticeDelivery.account_id,
                latest_round.c.round == NoticeDelivery.round,
            ),
        )
        .where(NoticeDelivery.notice_id == notice_id)
        .group_by(NoticeDelivery.state)
    )
    by_state = {DeliveryState(state): int(count) for state, count in rows}
    acked = await session.scalar(
        select(func.count(func.distinct(NoticeDelivery.account_id))).where(
            NoticeDelivery.notice_id == notice_id, NoticeDelivery.acknowledged_at.is_not(None)
        )
    )
    return _counts(by_state, int(acked or 0))


def _counts(by_state: dict[DeliveryState, int], acknowledged: int) -> NoticeCounts:
    return NoticeCounts(
        recipients=sum(by_state.values()),
        pending=by_state.get(DeliveryState.PENDING, 0) + by_state.get(DeliveryState.SENDING, 0),
        sent=by_state.get(DeliveryState.SENT, 0) + by_state.get(DeliveryState.UNCONFIRMED, 0),
        failed=by_state.get(DeliveryState.FAILED, 0),
        unreachable=by_state.get(DeliveryState.UNREACHABLE, 0),
        cancelled=by_state.get(DeliveryState.CANCELLED, 0),
        acknowledged=acknowledged,
    )


async def finished_notices(session: AsyncSession, now: dt.datetime) -> list[Notice]:
    """Mark sending notices with no open copies as done, and return them."""
    open_copy = (
        select(NoticeDelivery.id)
        .where(NoticeDelivery.notice_id == Notice.id, NoticeDelivery.state.in_(OPEN_STATES))
        .exists()
    )
    notices = list(
        await session.scalars(
            select(Notice).where(
                Notice.state == NoticeState.SENDING, Notice.fill_after.is_(None), ~open_copy
            )
        )
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


async def delivery_by_id(session: AsyncSession, delivery_id: int) -> NoticeDelivery | None:
    """One outbox row."""
    return await session.get(NoticeDelivery, delivery_id)


async def acknowledge(
    session: AsyncSession, *, delivery: NoticeDelivery, now: dt.datetime
) -> dt.datetime:
    """Record the acknowledgement once (on every round's copy); return its time."""
    first = await session.scalar(
        select(func.min(NoticeDelivery.acknowledged_at)).where(
            NoticeDelivery.notice_id == delivery.notice_id,
            NoticeDelivery.account_id == delivery.account_id,
        )
    )
    at = first or now
    await session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.notice_id == delivery.notice_id,
            NoticeDelivery.account_id == delivery.account_id,
            NoticeDelivery.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=at)
    )
    return at


@dataclass(frozen=True, slots=True)
class BranchAcknowledgement:
    """One branch's figures for one notice."""

    notice_id: int
    branch_id: int | None
    recipients: int
    delivered: int
    acknowledged: int


async def acknowledgement_by_branch(
    session: AsyncSession, notice_ids: Sequence[int]
) -> list[BranchAcknowledgement]:
    """Per notice and branch: recipients, delivered copies and acknowledgements (first round)."""
    if not notice_ids:
        return []
    rows = await session.execute(
        select(
            NoticeDelivery.notice_id,
            NoticeDelivery.branch_id,
            func.count(),
            func.count(NoticeDelivery.sent_at),
            func.count(NoticeDelivery.acknowledged_at),
        )
        .where(NoticeDelivery.notice_id.in_(list(notice_ids)), NoticeDelivery.round == 1)
        .group_by(NoticeDelivery.notice_id, NoticeDelivery.branch_id)
        .order_by(NoticeDelivery.notice_id, NoticeDelivery.branch_id)
    )
    return [BranchAcknowledgement(*(int(v) if v is not None else None for v in r)) for r in rows]  # type: ignore[arg-type]
