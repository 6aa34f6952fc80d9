"""Large organisations for the scale tests, seeded fast: a committee with thousands of branches
or tens of thousands of people, written set-based rather than one ORM object at a time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, cast, func, insert, literal, select, update

from bot.enums import OrgKind, PersonStatus, Role
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, OrgUnit, Person, RoleAssignment

# More than asyncpg and SQLite accept as bind parameters in one statement (32,767).
BEYOND_BIND_LIMIT = 33_000
FIRST_TELEGRAM_ID = 1_500_000_000
NOW = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)


async def committee_with_branches(
    db: SessionFactory, *, code: str, branches: int, parent: str | None = None
) -> list[int]:
    """A committee (under `parent`) with `branches` branches directly under it (codes
    `<code>-B<n>`); their ids."""
    async with db.begin() as session:
        above = await queries.org_by_code(session, parent) if parent else None
        committee = await queries.add_org_unit(
            session, code=code, kind=OrgKind.COMMITTEE, name=f"{code}党委", parent=above
        )
        await session.execute(
            insert(OrgUnit),
            [
                {
                    "code": f"{code}-B{n}",
                    "kind": OrgKind.BRANCH,
                    "name": f"第{n}党支部",
                    "parent_id": committee.id,
                    "path": "",
                    "created_at": NOW,
                }
                for n in range(branches)
            ],
        )
        # Each path is the committee's followed by the branch's own id.
        await session.execute(
            update(OrgUnit)
            .where(OrgUnit.path == "")
            .values(path=literal(committee.path) + cast(OrgUnit.id, String) + literal("/"))
        )
        return list(
            await session.scalars(
                select(OrgUnit.id).where(OrgUnit.parent_id == committee.id).order_by(OrgUnit.id)
            )
        )


async def members(
    db: SessionFactory, branch_ids: list[int], *, per_branch: int, secretaries: bool = True
) -> int:
    """`per_branch` people on each branch's roster, each with an account (Telegram ids from
    FIRST_TELEGRAM_ID on); the first of each roster its secretary. How many people."""
    ours = Person.branch_id.between(min(branch_ids), max(branch_ids))
    async with db.begin() as session:
        await session.execute(
            insert(Person),
            [
                {
                    "name": f"党员{branch}-{n}",
                    "branch_id": branch,
                    "status": PersonStatus.REGULAR,
                    "created_at": NOW,
                }
                for branch in branch_ids
                for n in range(per_branch)
            ],
        )
        await session.execute(
            insert(Account).from_select(
                ["telegram_id", "person_id", "telegram_language", "created_at"],
                select(
                    literal(FIRST_TELEGRAM_ID) + Person.id,
                    Person.id,
                    literal("zh-hans"),
                    Person.created_at,
                ).where(ours),
            )
        )
        if secretaries:
            await session.execute(
                insert(RoleAssignment).from_select(
                    ["person_id", "org_unit_id", "role", "created_at"],
                    select(
                        func.min(Person.id),
                        Person.branch_id,
                        literal(Role.SECRETARY.value),
                        func.min(Person.created_at),
                    )
                    .where(ours)
                    .group_by(Person.branch_id),
                )
            )
    return len(branch_ids) * per_branch
