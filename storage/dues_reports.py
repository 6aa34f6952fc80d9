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

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import PersonStatus
from storage.models import Account, OrgUnit, Person
from storage.models_dues import DuesPayment, DuesStandard, LocalSetting


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
    """(person_id, amount_fen, first) for each member with a standard in force in `month`:
    the latest one started by then, and the month of their first standard."""
    latest = (
        select(
            DuesStandard.person_id,
            func.max(DuesStandard.from_month).label("from_month"),
            func.min(DuesStandard.from_month).label("first"),
        )
        .join(members, members.c.person_id == DuesStandard.person_id)
        .where(DuesStandard.voided_at.is_(None), DuesStandard.from_month <= month)
        .group_by(DuesStandard.person_id)
        .subquery("latest")
    )
    return (
        select(DuesStandard.person_id, DuesStandard.amount_fen, latest.c.first)
        .join(
            latest,
            and_(
                latest.c.person_id == DuesStandard.person_id,
                latest.c.from_month == DuesStandard.from_month,
            ),
        )
        .where(DuesStandard.voided_at.is_(None))
        .subquery("current")
    )


@dataclass(frozen=True, slots=True)
class BranchCollection:
    """One branch's collection for one month: members with a standard, those who paid, the
    amounts due and collected (fen), and how many members owe earlier months."""

    branch_id: int
    due_members: int
    paid_members: int
    due_fen: int
    collected_fen: int
    in_arrears: int


async def collection_by_branch(
    session: AsyncSession, *, subtree_path: str | None, month: int
) -> list[BranchCollection]:
    """Every branch of the subtree with someone owing dues in `month` (one query)."""
    members = members_subquery(subtree_path)
    current = standards_at(members, month)
    paid_now = (
        select(DuesPayment.person_id, DuesPayment.amount_fen)
        .join(current, current.c.person_id == DuesPayment.person_id)
        .where(DuesPayment.voided_at.is_(None), DuesPayment.month == month)
        .subquery("paid_now")
    )
    paid_before = (
        select(DuesPayment.person_id, func.count().label("months"))
        .join(current, current.c.person_id == DuesPayment.person_id)
        .where(
            DuesPayment.voided_at.is_(None),
            DuesPayment.month >= current.c.first,
            DuesPayment.month < month,
        )
        .group_by(DuesPayment.person_id)
        .subquery("paid_before")
    )
    owed_before = (month - current.c.first) - func.coalesce(paid_before.c.months, 0)
    query = (
        select(
            members.c.branch_id,
            func.count(current.c.person_id),
            func.count(paid_now.c.person_id),
            func.coalesce(func.sum(current.c.amount_fen), 0),
            func.coalesce(func.sum(paid_now.c.amount_fen), 0),
            func.coalesce(func.sum(case((owed_before > 0, 1), else_=0)), 0),
        )
        .select_from(members)
        .join(current, current.c.person_id == members.c.person_id)
        .outerjoin(paid_now, paid_now.c.person_id == members.c.person_id)
        .outerjoin(paid_before, paid_before.c.person_id == members.c.person_id)
        .group_by(members.c.branch_id)
        .order_by(members.c.branch_id)
    )
    connection = await session.connection()
    rows = (await connection.execute(query)).all()
    return [BranchCollection(*(int(value) for value in row)) for row in rows]


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
    session: AsyncSession, *, month: int, days: Sequence[int], default_day: int
) -> list[UnpaidMember]:
    """Members with an account, owing dues in `month` and not having paid it, in the branches
    whose collection day is one of `days` (a branch without its own day collects on
    `default_day`)."""
    members = members_subquery(None)
    current = standards_at(members, month)
    paid = select(DuesPayment.person_id).where(
        DuesPayment.voided_at.is_(None), DuesPayment.month == month
    )
    paid_before = (
        select(DuesPayment.person_id, func.count().label("months"))
        .join(current, current.c.person_id == DuesPayment.person_id)
        .where(
            DuesPayment.voided_at.is_(None),
            DuesPayment.month >= current.c.first,
            DuesPayment.month < month,
        )
        .group_by(DuesPayment.person_id)
        .subquery("paid_before")
    )
    day = func.coalesce(LocalSetting.dues_day, default_day)
    query = (
        select(
            Account.id,
            Account.time_zone,
            members.c.person_id,
            members.c.branch_id,
            current.c.amount_fen,
            (month - current.c.first) - func.coalesce(paid_before.c.months, 0),
        )
        .select_from(members)
        .join(current, current.c.person_id == members.c.person_id)
        .join(Account, Account.person_id == members.c.person_id)
        .outerjoin(LocalSetting, LocalSetting.org_unit_id == members.c.branch_id)
        .outerjoin(paid_before, paid_before.c.person_id == members.c.person_id)
        .where(members.c.person_id.not_in(paid), day.in_(list(days)))
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
