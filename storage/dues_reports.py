"""Set-based dues figures over whole subtrees: the collection of a month per branch, and the
members the collection day reminds.

A province holds millions of members, so nothing here takes a list of ids: the members of a
subtree are a subquery on the materialised path, and each figure is one aggregate query.
Functions take the session first and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, String, and_, cast, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import PersonStatus
from storage.models import Account, OrgUnit, Person
from storage.models_dues import DuesPayment, DuesStandard, LocalSetting
from storage.models_reminders import Reminder

# Above any amount (MAX_FEN is 10**7): from_month * PACK + amount_fen orders by the month.
PACK = 10**10


def members_subquery(subtree_path: str | None) -> Any:
    """(person_id, branch_id) of everyone paying dues in a subtree (all branches for None):
    on a roster and not a lost-contact member."""
    query = (
        select(Person.id.label("person_id"), Person.branch_id.label("branch_id"))
        .join(OrgUnit, OrgUnit.id == Person.branch_id)
        .where(Person.status != PersonStatus.LOST_CONTACT)
    )
    if subtree_path is not None and subtree_path != "/":
        query = query.where(OrgUnit.path.startswith(subtree_path, autoescape=True))
    return query.subquery("members")


def standards_at(members: Any, month: int) -> Any:
    """(person_id, branch_id, amount_fen, first) for each member with a standard in force in
    `month`: the latest one started by then, and the month of their first standard."""
    latest = (
        select(
            DuesStandard.person_id,
            members.c.branch_id,
            func.max(DuesStandard.from_month).label("from_month"),
            func.min(DuesStandard.from_month).label("first"),
        )
        .join(members, members.c.person_id == DuesStandard.person_id)
        .where(DuesStandard.voided_at.is_(None), DuesStandard.from_month <= month)
        .group_by(DuesStandard.person_id, members.c.branch_id)
        .subquery("latest")
    )
    return (
        select(latest.c.person_id, latest.c.branch_id, DuesStandard.amount_fen, latest.c.first)
        .join(
            DuesStandard,
            and_(
                DuesStandard.person_id == latest.c.person_id,
                DuesStandard.from_month == latest.c.from_month,
                DuesStandard.voided_at.is_(None),
            ),
        )
        .subquery("current")
    )


def _paid_in(current: Any, month: int) -> Any:
    """The amount a member of `current` paid for `month` (NULL: not paid); one index probe."""
    return (
        select(DuesPayment.amount_fen)
        .where(
            DuesPayment.person_id == current.c.person_id,
            DuesPayment.month == month,
            DuesPayment.voided_at.is_(None),
        )
        .scalar_subquery()
    )


def _owed_before(current: Any, month: int) -> Any:
    """Months from the member's first standard up to `month` (excluded) not paid."""
    paid = (
        select(func.count())
        .select_from(DuesPayment)
        .where(
            DuesPayment.person_id == current.c.person_id,
            DuesPayment.voided_at.is_(None),
            DuesPayment.month >= current.c.first,
            DuesPayment.month < month,
        )
        .scalar_subquery()
    )
    return (month - current.c.first) - paid


@dataclass(frozen=True, slots=True)
class BranchCollection:
    """One branch's collection for one month: members with a standard, those who paid, and
    the amounts due and collected (fen)."""

    branch_id: int
    due_members: int
    paid_members: int
    due_fen: int
    collected_fen: int


async def collection_by_branch(
    session: AsyncSession, *, subtree_path: str | None, month: int
) -> list[BranchCollection]:
    """Every branch of the subtree with someone owing dues, or paying, in `month`.

    Two aggregates, no probe per member: what is owed (each member's standard in force, by
    their branch) and what was paid (the month's payments, by the branch that recorded them,
    one range of an index).
    """
    members = members_subquery(subtree_path)
    # The standard in force is the one with the latest start: packing the start above the
    # amount makes it one max() per member, without joining the standards again (which
    # PostgreSQL misestimates into a nested loop over every member).
    pack = literal(PACK, BigInteger)
    packed = cast(DuesStandard.from_month, BigInteger) * pack + DuesStandard.amount_fen
    latest = (
        select(DuesStandard.person_id, func.max(packed).label("packed"))
        .where(DuesStandard.voided_at.is_(None), DuesStandard.from_month <= month)
        .group_by(DuesStandard.person_id)
        .subquery("latest")
    )
    owed = (
        select(members.c.branch_id, func.count(), func.sum(latest.c.packed % pack))
        .select_from(latest)
        .join(members, members.c.person_id == latest.c.person_id)
        .group_by(members.c.branch_id)
    )
    paid = (
        select(DuesPayment.branch_id, func.count(), func.sum(DuesPayment.amount_fen))
        .where(DuesPayment.voided_at.is_(None), DuesPayment.month == month)
        .group_by(DuesPayment.branch_id)
    )
    if subtree_path is not None and subtree_path != "/":
        in_subtree = select(OrgUnit.id).where(
            OrgUnit.path.startswith(subtree_path, autoescape=True)
        )
        paid = paid.where(DuesPayment.branch_id.in_(in_subtree))
    connection = await session.connection()
    figures: dict[int, list[int]] = {}
    owed_rows: Any = (await connection.execute(owed)).all()
    paid_rows: Any = (await connection.execute(paid)).all()
    for branch_id, count, fen in owed_rows:
        figures[branch_id] = [int(count), 0, int(fen or 0), 0]
    for branch_id, count, fen in paid_rows:
        row = figures.setdefault(branch_id, [0, 0, 0, 0])
        row[1], row[3] = int(count), int(fen or 0)
    return [BranchCollection(branch, *values) for branch, values in sorted(figures.items())]


@dataclass(frozen=True, slots=True)
class UnpaidMember:
    """A member with an account who has not paid the month they are reminded of."""

    account_id: int
    time_zone: str | None
    person_id: int
    branch_id: int
    amount_fen: int
    months_owed_before: int


async def unpaid_members(
    session: AsyncSession, *, month: int, key: str, days: Sequence[int], default_day: int
) -> list[UnpaidMember]:
    """Members with an account, owing dues in `month` and not having paid it, in the branches
    whose collection day is one of `days` (a branch without its own day collects on
    `default_day`), and not yet reminded of it (`key` names the month: 2026-11)."""
    branches = (
        select(OrgUnit.id)
        .outerjoin(LocalSetting, LocalSetting.org_unit_id == OrgUnit.id)
        .where(func.coalesce(LocalSetting.dues_day, default_day).in_(list(days)))
    )
    members = (
        select(Person.id.label("person_id"), Person.branch_id.label("branch_id"))
        .where(Person.status != PersonStatus.LOST_CONTACT, Person.branch_id.in_(branches))
        .subquery("members")
    )
    current = standards_at(members, month)
    # Planned already (planning runs every few minutes on the collection day).
    subject = literal("dues:") + cast(current.c.person_id, String) + literal(f":{key}")
    planned = exists().where(Reminder.subject == subject)
    query = (
        select(
            Account.id,
            Account.time_zone,
            current.c.person_id,
            current.c.branch_id,
            current.c.amount_fen,
            _owed_before(current, month),
        )
        .join(Account, Account.person_id == current.c.person_id)
        .where(~planned, _paid_in(current, month).is_(None))
    )
    rows: Any = await session.execute(query)
    return [UnpaidMember(*row) for row in rows]


async def year_totals(
    session: AsyncSession, *, branch_id: int, first: int, last: int
) -> tuple[int, int]:
    """(fen collected, members who paid) for months first..last of a branch's roster."""
    members = members_subquery(None)
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(DuesPayment.amount_fen), 0),
                func.count(func.distinct(DuesPayment.person_id)),
            )
            .join(members, members.c.person_id == DuesPayment.person_id)
            .where(
                members.c.branch_id == branch_id,
                DuesPayment.voided_at.is_(None),
                DuesPayment.month >= first,
                DuesPayment.month <= last,
            )
        )
    ).one()
    return int(row[0]), int(row[1])
