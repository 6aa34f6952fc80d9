"""Data access for the activity log and the calendar rule overrides.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Row,
    String,
    Text,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.enums import OrgKind
from storage import planner_queries
from storage.models import OrgUnit
from storage.models_activity import Activity, CalendarRuleOverride
from storage.tree import BranchScope, subtree_of


async def add_activity(session: AsyncSession, **fields: Any) -> Activity:
    """Insert an activity and give it its id."""
    activity = Activity(**fields)
    session.add(activity)
    await session.flush()
    # What the branch still has to do changed: its reminders are planned again.
    await planner_queries.mark_branches(session, [activity.branch_id])
    return activity


async def activity_by_id(session: AsyncSession, activity_id: int) -> Activity | None:
    """The activity with its branch loaded."""
    return await session.scalar(
        select(Activity).where(Activity.id == activity_id).options(selectinload(Activity.branch))
    )


async def change_activity(
    session: AsyncSession, activity_id: int, *, seen_version: int, **values: Any
) -> bool:
    """Apply a correction or voiding unless another came first: only while the activity is
    still at the version its leader saw and not void. True when applied (the version moves on).

    One conditional UPDATE: of two leaders changing the same activity at once, the second
    waits for the first's row lock and then matches nothing.
    """
    result = await session.execute(
        update(Activity)
        .where(
            Activity.id == activity_id,
            Activity.version == seen_version,
            Activity.voided.is_(False),
        )
        .values(version=Activity.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    applied = int(getattr(result, "rowcount", 0)) == 1
    if applied:
        await planner_queries.mark_activity(session, activity_id)
    return applied


def _in_subtree(path: str) -> Any:
    return Activity.branch_id.in_(select(OrgUnit.id).where(subtree_of(OrgUnit.path, path)))


def _listed(branch_ids: Sequence[int], subtree_paths: Sequence[str]) -> Any:
    if not branch_ids and not subtree_paths:
        raise ValueError("a branch or a subtree is required")
    conditions = [_in_subtree(path) for path in subtree_paths]
    if branch_ids:
        conditions.append(Activity.branch_id.in_(list(branch_ids)))
    return or_(*conditions)


async def count_activities(
    session: AsyncSession, *, branch_ids: Sequence[int] = (), subtree_paths: Sequence[str] = ()
) -> int:
    """How many activities some branches and subtrees have (void ones included)."""
    where = _listed(branch_ids, subtree_paths)
    return int(await session.scalar(select(func.count()).select_from(Activity).where(where)) or 0)


async def recent_activities(
    session: AsyncSession,
    *,
    branch_ids: Sequence[int] = (),
    subtree_paths: Sequence[str] = (),
    offset: int = 0,
    limit: int = 8,
) -> list[Activity]:
    """One page of activities of some branches and subtrees, newest first."""
    rows = await session.scalars(
        select(Activity)
        .where(_listed(branch_ids, subtree_paths))
        .options(selectinload(Activity.branch))
        .order_by(Activity.day.desc(), Activity.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


def _facts_query(
    columns: Sequence[Any],
    *,
    start: dt.date,
    end: dt.date,
    branch_id: int | None,
    subtree_path: str | None,
    since_by_kind: Mapping[str, dt.date] | None = None,
    scope: BranchScope | None = None,
    sqlite: bool = False,
) -> Any:
    # Over a whole subtree most of the year's rows qualify, and reading them through the day
    # index is twice as slow on SQLite as scanning the table: coalesce() keeps it off the
    # index there (same values). PostgreSQL reads a subtree branch by branch through the
    # (branch_id, day) index, and the day inside the index condition halves the rows it reads
    # (a city's report: 1.3 s to 0.7 s with 2 years of history).
    # A scope of branches (a planning slice) is read through that index on both.
    narrow = branch_id is not None or scope is not None or not sqlite
    day = Activity.day if narrow else func.coalesce(Activity.day, Activity.day)
    query = select(*columns).where(Activity.voided.is_(False), day >= start, day <= end)
    if branch_id is not None:
        query = query.where(Activity.branch_id == branch_id)
    elif subtree_path is not None and subtree_path != "/":
        query = query.where(
            Activity.branch_id.in_(select(OrgUnit.id).where(subtree_of(OrgUnit.path, subtree_path)))
        )
    if scope is not None:
        query = query.where(scope.on(Activity.branch_id))
    if since_by_kind is not None:
        # Kinds grouped by the first day that counts for them; the year's start needs no test.
        kinds_text = cast(Activity.kinds, Text)
        by_since: dict[dt.date, list[str]] = {}
        for kind, since in since_by_kind.items():
            by_since.setdefault(since, []).append(kind)
        conditions = []
        for since, kinds in sorted(by_since.items()):
            named = or_(
                *(kinds_text.contains(f'"{kind}"', autoescape=True) for kind in sorted(kinds))
            )
            conditions.append(named if since <= start else and_(day >= since, named))
        query = query.where(or_(*conditions))
    return query


async def activity_facts(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    branch_id: int | None = None,
    subtree_path: str | None = None,
) -> Sequence[Row[int, int, dt.date, list[str], int | None, str | None]]:
    """(branch_id, id, day, kinds, party_group_id, quorum as JSON text) of the activities that
    count, start..end."""
    columns = (
        Activity.branch_id,
        Activity.id,
        Activity.day,
        Activity.kinds,
        Activity.party_group_id,
        cast(Activity.quorum, Text),
    )
    query = _facts_query(
        columns,
        start=start,
        end=end,
        branch_id=branch_id,
        subtree_path=subtree_path,
        sqlite=session.get_bind().dialect.name == "sqlite",
    )
    return (await session.execute(query)).all()


async def activity_facts_raw(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    branch_id: int | None = None,
    subtree_path: str | None = None,
    since_by_kind: Mapping[str, dt.date] | None = None,
    scope: BranchScope | None = None,
) -> Sequence[Row[int, int, dt.date | str, str, int | None, str | None]]:
    """Like `activity_facts`, fast over hundreds of thousands of rows: undecoded values.

    `kinds` is the stored JSON text and `day` may be an ISO string (SQLite): there are few
    distinct values, so the caller parses each once (bot.compliance.facts_by_branch).
    With `since_by_kind`, only activities of those kinds on or after that kind's date are
    read (a monthly obligation needs only this month's meetings, not the whole year's).
    """
    columns = (
        Activity.branch_id,
        Activity.id,
        type_coerce(Activity.day, String),
        # Text, not JSON: PostgreSQL's driver would otherwise decode every row.
        cast(Activity.kinds, Text),
        Activity.party_group_id,
        # Mostly NULL; a few distinct values, parsed once each (bot.rules.quorum).
        cast(Activity.quorum, Text),
    )
    if since_by_kind is not None and not since_by_kind:
        return []
    query = _facts_query(
        columns,
        start=start,
        end=end,
        branch_id=branch_id,
        subtree_path=subtree_path,
        since_by_kind=since_by_kind,
        scope=scope,
        sqlite=session.get_bind().dialect.name == "sqlite",
    )
    # A Core execution: plain columns need no ORM row processing.
    connection = await session.connection()
    return (await connection.execute(query)).all()


async def branches_in_subtree(session: AsyncSession, path: str) -> list[OrgUnit]:
    """The branches of a subtree, ordered by code."""
    return list(
        await session.scalars(
            select(OrgUnit)
            .where(subtree_of(OrgUnit.path, path), OrgUnit.kind == OrgKind.BRANCH)
            .order_by(OrgUnit.code)
        )
    )


async def party_groups(
    session: AsyncSession,
    *,
    branch_id: int | None = None,
    subtree_path: str | None = None,
    scope: BranchScope | None = None,
) -> Sequence[Row[int, int | None, str, str, str | None]]:
    """(id, parent_id, code, name, name_en) of party groups of a branch or a subtree."""
    query = select(
        OrgUnit.id, OrgUnit.parent_id, OrgUnit.code, OrgUnit.name, OrgUnit.name_en
    ).where(OrgUnit.kind == OrgKind.PARTY_GROUP)
    if branch_id is not None:
        query = query.where(OrgUnit.parent_id == branch_id)
    elif subtree_path is not None:
        query = query.where(subtree_of(OrgUnit.path, subtree_path))
    if scope is not None:
        query = query.where(scope.on(OrgUnit.parent_id))
    return (await session.execute(query.order_by(OrgUnit.code))).all()


async def rule_overrides(
    session: AsyncSession, node_ids: Sequence[int] | None = None
) -> list[CalendarRuleOverride]:
    """Overrides set on these nodes (all of them when None), oldest first."""
    query = select(CalendarRuleOverride).order_by(CalendarRuleOverride.id)
    if node_ids is not None:
        query = query.where(CalendarRuleOverride.org_unit_id.in_(list(node_ids)))
    return list(await session.scalars(query))


async def save_rule_override(
    session: AsyncSession, *, org_unit_id: int, rule_key: str, **fields: Any
) -> CalendarRuleOverride:
    """Insert or replace the override of one rule at one node."""
    row = await session.scalar(
        select(CalendarRuleOverride).where(
            CalendarRuleOverride.org_unit_id == org_unit_id,
            CalendarRuleOverride.rule_key == rule_key,
        )
    )
    if row is None:
        row = CalendarRuleOverride(org_unit_id=org_unit_id, rule_key=rule_key)
        session.add(row)
    for name, value in fields.items():
        setattr(row, name, value)
    await session.flush()
    await _mark_rule_subtree(session, org_unit_id)
    return row


async def delete_rule_override(session: AsyncSession, *, org_unit_id: int, rule_key: str) -> bool:
    """Remove the override of one rule at one node; True when there was one."""
    result = await session.execute(
        delete(CalendarRuleOverride).where(
            CalendarRuleOverride.org_unit_id == org_unit_id,
            CalendarRuleOverride.rule_key == rule_key,
        )
    )
    removed = bool(getattr(result, "rowcount", 0))
    if removed:
        await _mark_rule_subtree(session, org_unit_id)
    return removed


async def _mark_rule_subtree(session: AsyncSession, org_unit_id: int) -> None:
    """A calendar rule changed at a node: every branch below it is planned again."""
    path = await session.scalar(select(OrgUnit.path).where(OrgUnit.id == org_unit_id))
    if path is not None:
        await planner_queries.mark_subtree(session, path)
