"""Data access for the CSV/XLSX imports: the organisation tree, rosters, the lost-contact register.

Functions take the session first and never commit: an import is one transaction, all or nothing.
The codes and branches a file names come from outside and may be many (a province's roster
names 200,000 branches): they are looked up in bounded chunks, never in one IN (...).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.enums import OrgKind, Role
from storage.bulk import chunked
from storage.models import OrgUnit, Person, RoleAssignment
from storage.models_relink import LostContactEntry


async def org_kinds(session: AsyncSession) -> dict[str, OrgKind]:
    """Every node's kind, by code."""
    return {code: kind for code, kind in await session.execute(select(OrgUnit.code, OrgUnit.kind))}


async def group_branches(session: AsyncSession) -> dict[str, str]:
    """The branch code of every party group, by the group's code."""
    branch = aliased(OrgUnit)
    rows = await session.execute(
        select(OrgUnit.code, branch.code)
        .join(branch, branch.id == OrgUnit.parent_id)
        .where(OrgUnit.kind == OrgKind.PARTY_GROUP)
    )
    return {group: parent for group, parent in rows}


async def all_units(session: AsyncSession) -> list[OrgUnit]:
    """Every node of the organisation tree."""
    return list(await session.scalars(select(OrgUnit)))


async def roster_sizes(session: AsyncSession) -> dict[int, int]:
    """How many people each branch's roster holds, by branch id (empty rosters left out)."""
    counted = await session.execute(
        select(Person.branch_id, func.count())
        .where(Person.branch_id.is_not(None))
        .group_by(Person.branch_id)
    )
    return {branch_id: int(n) for branch_id, n in counted if branch_id is not None}


async def units_by_code(session: AsyncSession, codes: Iterable[str]) -> dict[str, OrgUnit]:
    """The nodes with these codes, by code."""
    found: dict[str, OrgUnit] = {}
    for chunk in chunked(sorted(set(codes))):
        units = await session.scalars(select(OrgUnit).where(OrgUnit.code.in_(chunk)))
        found.update((u.code, u) for u in units)
    return found


async def people_in_branches(session: AsyncSession, branch_ids: Iterable[int]) -> list[Person]:
    """Everyone on these branches' rosters, oldest entry first."""
    found: list[Person] = []
    for chunk in chunked(sorted(set(branch_ids))):
        found.extend(await session.scalars(select(Person).where(Person.branch_id.in_(chunk))))
    return sorted(found, key=lambda person: person.id)


async def roles_in_branches(
    session: AsyncSession, branch_ids: Iterable[int]
) -> set[tuple[int, int, Role]]:
    """(person, branch, role) of every role granted at these branches."""
    found: set[tuple[int, int, Role]] = set()
    for chunk in chunked(sorted(set(branch_ids))):
        found.update(
            (a.person_id, a.org_unit_id, a.role)
            for a in await session.scalars(
                select(RoleAssignment).where(RoleAssignment.org_unit_id.in_(chunk))
            )
        )
    return found


async def register_entries(session: AsyncSession) -> list[LostContactEntry]:
    """Every row of the lost-contact register, oldest first."""
    return list(await session.scalars(select(LostContactEntry).order_by(LostContactEntry.id)))
