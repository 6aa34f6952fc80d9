"""Data access for the dues ledger: standards, payments, voids, yearly accounts, members'
leave and local settings. Subtree-wide figures are in storage.dues_reports.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import DuesVoidReason, PersonStatus
from storage.models import Account, Person
from storage.models_dues import DuesAccount, DuesPayment, DuesStandard, LocalSetting, MemberLeave

# ---- standards -----------------------------------------------------------------------------


async def standards_of(session: AsyncSession, person_ids: Sequence[int]) -> list[DuesStandard]:
    """The standards in force of a few people (one member, or one branch's roster), by month."""
    return list(
        await session.scalars(
            select(DuesStandard)
            .where(DuesStandard.person_id.in_(list(person_ids)), DuesStandard.voided_at.is_(None))
            .order_by(DuesStandard.person_id, DuesStandard.from_month)
        )
    )


async def branch_standards(session: AsyncSession, branch_id: int) -> list[DuesStandard]:
    """The standards in force of everyone on a branch's roster."""
    on_roster = select(Person.id).where(Person.branch_id == branch_id)
    return list(
        await session.scalars(
            select(DuesStandard)
            .where(DuesStandard.person_id.in_(on_roster), DuesStandard.voided_at.is_(None))
            .order_by(DuesStandard.person_id, DuesStandard.from_month)
        )
    )


async def standard_at_month(
    session: AsyncSession, person_id: int, from_month: int
) -> DuesStandard | None:
    """The standard in force that starts in exactly this month."""
    return await session.scalar(
        select(DuesStandard).where(
            DuesStandard.person_id == person_id,
            DuesStandard.from_month == from_month,
            DuesStandard.voided_at.is_(None),
        )
    )


async def add_standard(session: AsyncSession, **fields: Any) -> DuesStandard:
    """Insert a standard and give it its id."""
    standard = DuesStandard(**fields)
    session.add(standard)
    await session.flush()
    return standard


async def void_standard(
    session: AsyncSession,
    standard_id: int,
    *,
    reason: DuesVoidReason,
    by: int | None,
    now: dt.datetime,
) -> bool:
    """Void a standard still in force; False when it already was (two presses decide once)."""
    result = await session.execute(
        update(DuesStandard)
        .where(DuesStandard.id == standard_id, DuesStandard.voided_at.is_(None))
        .values(voided_at=now, void_reason=reason, voided_by=by)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0)) == 1


# ---- payments ------------------------------------------------------------------------------


async def payments_of(session: AsyncSession, person_ids: Sequence[int]) -> list[DuesPayment]:
    """The payments in force of a few people, by month."""
    return list(
        await session.scalars(
            select(DuesPayment)
            .where(DuesPayment.person_id.in_(list(person_ids)), DuesPayment.voided_at.is_(None))
            .order_by(DuesPayment.person_id, DuesPayment.month)
        )
    )


async def branch_payments(
    session: AsyncSession, branch_id: int, *, first: int, last: int
) -> list[DuesPayment]:
    """Payments in force of everyone on a branch's roster for months first..last."""
    on_roster = select(Person.id).where(Person.branch_id == branch_id)
    return list(
        await session.scalars(
            select(DuesPayment)
            .where(
                DuesPayment.person_id.in_(on_roster),
                DuesPayment.voided_at.is_(None),
                DuesPayment.month >= first,
                DuesPayment.month <= last,
            )
            .order_by(DuesPayment.person_id, DuesPayment.month)
        )
    )


async def payment_by_id(session: AsyncSession, payment_id: int) -> DuesPayment | None:
    """One payment."""
    return await session.get(DuesPayment, payment_id)


async def paid_months(
    session: AsyncSession, person_ids: Sequence[int], months: Sequence[int]
) -> dict[tuple[int, int], DuesPayment]:
    """The payments in force of these people for these months, by (person, month)."""
    rows = await session.scalars(
        select(DuesPayment).where(
            DuesPayment.person_id.in_(list(person_ids)),
            DuesPayment.month.in_(list(months)),
            DuesPayment.voided_at.is_(None),
        )
    )
    return {(row.person_id, row.month): row for row in rows}


async def add_payments(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[DuesPayment]:
    """Insert payments (one per member and month) and give them their ids."""
    payments = [DuesPayment(**row) for row in rows]
    session.add_all(payments)
    await session.flush()
    return payments


async def void_payment(
    session: AsyncSession,
    payment_id: int,
    *,
    reason: DuesVoidReason,
    by: int | None,
    now: dt.datetime,
) -> bool:
    """Void a payment still in force; False when it already was (two presses decide once)."""
    result = await session.execute(
        update(DuesPayment)
        .where(DuesPayment.id == payment_id, DuesPayment.voided_at.is_(None))
        .values(voided_at=now, void_reason=reason, voided_by=by)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0)) == 1


# ---- rosters and accounts ------------------------------------------------------------------


async def dues_roster(session: AsyncSession, branch_id: int) -> list[Person]:
    """Who pays dues to a branch: its roster without lost-contact members, by name."""
    return list(
        await session.scalars(
            select(Person)
            .where(Person.branch_id == branch_id, Person.status != PersonStatus.LOST_CONTACT)
            .order_by(Person.name, Person.id)
        )
    )


async def member_accounts(session: AsyncSession, branch_id: int) -> list[int]:
    """The accounts of a branch's members (lost-contact members excluded)."""
    return list(
        await session.scalars(
            select(Account.id)
            .join(Person, Person.id == Account.person_id)
            .where(Person.branch_id == branch_id, Person.status != PersonStatus.LOST_CONTACT)
            .order_by(Account.id)
        )
    )


# ---- yearly accounts -----------------------------------------------------------------------


async def published_account(session: AsyncSession, branch_id: int, year: int) -> DuesAccount | None:
    """The account a branch published for a year, if it did."""
    return await session.scalar(
        select(DuesAccount).where(DuesAccount.branch_id == branch_id, DuesAccount.year == year)
    )


async def add_account(session: AsyncSession, **fields: Any) -> DuesAccount:
    """Record a published account."""
    account = DuesAccount(**fields)
    session.add(account)
    await session.flush()
    return account


# ---- leave ---------------------------------------------------------------------------------


async def leaves_of(session: AsyncSession, person_ids: Sequence[int]) -> list[MemberLeave]:
    """Leave in force of a few people, newest first."""
    return list(
        await session.scalars(
            select(MemberLeave)
            .where(MemberLeave.person_id.in_(list(person_ids)), MemberLeave.voided_at.is_(None))
            .order_by(MemberLeave.first_month.desc(), MemberLeave.id.desc())
        )
    )


async def add_leave(session: AsyncSession, **fields: Any) -> MemberLeave:
    """Record a member's leave."""
    leave = MemberLeave(**fields)
    session.add(leave)
    await session.flush()
    return leave


async def leave_by_id(session: AsyncSession, leave_id: int) -> MemberLeave | None:
    """One leave record."""
    return await session.get(MemberLeave, leave_id)


async def void_leave(
    session: AsyncSession, leave_id: int, *, by: int | None, now: dt.datetime
) -> bool:
    """Void a leave record still in force; False when it already was."""
    result = await session.execute(
        update(MemberLeave)
        .where(MemberLeave.id == leave_id, MemberLeave.voided_at.is_(None))
        .values(voided_at=now, voided_by=by)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0)) == 1


# ---- local settings ------------------------------------------------------------------------


async def local_settings(
    session: AsyncSession, node_ids: Sequence[int] | None = None
) -> list[LocalSetting]:
    """What nodes chose (the nodes of one path, or every node that chose anything)."""
    query = select(LocalSetting)
    if node_ids is not None:
        query = query.where(LocalSetting.org_unit_id.in_(list(node_ids)))
    return list(await session.scalars(query))


async def save_local_setting(
    session: AsyncSession, org_unit_id: int, **fields: int | None
) -> LocalSetting:
    """Change what a node chose (fields given as None are cleared: inherited again)."""
    row = await session.get(LocalSetting, org_unit_id)
    if row is None:
        row = LocalSetting(org_unit_id=org_unit_id)
        session.add(row)
    for name, value in fields.items():
        setattr(row, name, value)
    await session.flush()
    return row


async def person_by_id(session: AsyncSession, person_id: int) -> Person | None:
    """A person (on a roster or not)."""
    return await session.get(Person, person_id)


async def everything_of(
    session: AsyncSession, person_id: int
) -> tuple[list[DuesStandard], list[DuesPayment], list[MemberLeave]]:
    """Every dues entry about a person, voided ones too (for /mydata)."""
    standards = await session.scalars(
        select(DuesStandard).where(DuesStandard.person_id == person_id).order_by(DuesStandard.id)
    )
    payments = await session.scalars(
        select(DuesPayment).where(DuesPayment.person_id == person_id).order_by(DuesPayment.id)
    )
    leaves = await session.scalars(
        select(MemberLeave).where(MemberLeave.person_id == person_id).order_by(MemberLeave.id)
    )
    return list(standards), list(payments), list(leaves)
