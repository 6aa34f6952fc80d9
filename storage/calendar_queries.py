"""Data access for a branch's own calendar choices and records: the themed Party day's date,
the organisational life meeting's preparation steps, which kinds a branch logged when, and
who opted out of reminders.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Text, cast, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import PreparationStep, ReminderState
from storage import planner_queries
from storage.models_activity import Activity
from storage.models_meetings import BranchCalendar, PreparationRecord
from storage.models_reminders import Reminder, ReminderSettings
from storage.tree import EVERY_BRANCH, BranchScope


async def themed_days(session: AsyncSession, scope: BranchScope = EVERY_BRANCH) -> dict[int, int]:
    """The day of the month each branch (of the scope) that chose one holds its themed Party
    day."""
    rows = await session.execute(
        select(BranchCalendar.org_unit_id, BranchCalendar.themed_day).where(
            BranchCalendar.themed_day.is_not(None), scope.on(BranchCalendar.org_unit_id)
        )
    )
    return {row[0]: row[1] for row in rows if row[1] is not None}


async def themed_day_of(session: AsyncSession, branch_id: int) -> int | None:
    """The branch's themed Party day of the month, if it chose one."""
    row = await session.get(BranchCalendar, branch_id)
    return row.themed_day if row is not None else None


async def set_themed_day(
    session: AsyncSession, branch_id: int, day: int | None, *, account_id: int | None
) -> None:
    """Choose (or, with None, clear) the branch's themed Party day of the month."""
    row = await session.get(BranchCalendar, branch_id)
    if row is None:
        row = BranchCalendar(org_unit_id=branch_id)
        session.add(row)
    row.themed_day = day
    row.updated_by = account_id
    await session.flush()
    # Its themed day's reminders are planned again.
    await planner_queries.mark_branches(session, [branch_id])


async def preparation_done(
    session: AsyncSession, *, year: int, scope: BranchScope = EVERY_BRANCH
) -> dict[int, dict[PreparationStep, dt.date]]:
    """Per branch of the scope, the preparation steps of the year's life meeting marked done,
    and when."""
    query = select(PreparationRecord.branch_id, PreparationRecord.step, PreparationRecord.done_on)
    query = query.where(PreparationRecord.year == year, scope.on(PreparationRecord.branch_id))
    found: dict[int, dict[PreparationStep, dt.date]] = {}
    for branch_id, step, done_on in await session.execute(query):
        found.setdefault(branch_id, {})[step] = done_on
    return found


async def record_step(
    session: AsyncSession,
    *,
    branch_id: int,
    year: int,
    step: PreparationStep,
    done_on: dt.date,
    account_id: int | None,
) -> bool:
    """Mark a preparation step done on a day; False when it already was."""
    existing = await session.scalar(
        select(PreparationRecord).where(
            PreparationRecord.branch_id == branch_id,
            PreparationRecord.year == year,
            PreparationRecord.step == step,
        )
    )
    if existing is not None:
        return False
    session.add(
        PreparationRecord(
            branch_id=branch_id, year=year, step=step, done_on=done_on, recorded_by=account_id
        )
    )
    await session.flush()
    await planner_queries.mark_branches(session, [branch_id])
    return True


async def branches_that_logged(
    session: AsyncSession,
    kind: str,
    *,
    start: dt.date,
    end: dt.date,
    scope: BranchScope = EVERY_BRANCH,
) -> set[int]:
    """Branches (of the scope) with an activity (not void) of this kind between start and end."""
    rows = await session.scalars(
        select(Activity.branch_id)
        .where(
            Activity.voided.is_(False),
            Activity.day >= start,
            Activity.day <= end,
            cast(Activity.kinds, Text).contains(f'"{kind}"', autoescape=True),
            scope.on(Activity.branch_id),
        )
        .distinct()
    )
    return set(rows.all())


async def opted_out(session: AsyncSession, key: str) -> set[int]:
    """Accounts whose reminder settings list `key` (a muted kind, or an opt-out)."""
    rows = await session.execute(select(ReminderSettings.account_id, ReminderSettings.muted))
    return {account_id for account_id, muted in rows if key in (muted or [])}


async def withdraw_branch_calendar(
    session: AsyncSession, *, account_id: int, branch_ids: Iterable[int]
) -> int:
    """Cancel the account's pending reminders about these branches' calendar (obligations,
    preparation steps, the themed Party day): a deputy who opted out."""
    prefixes = [f"{kind}:{branch}:" for branch in branch_ids for kind in ("cal", "prep", "tpd")]
    if not prefixes:
        return 0
    result = await session.execute(
        update(Reminder)
        .where(
            Reminder.account_id == account_id,
            Reminder.state == ReminderState.PENDING,
            or_(*(Reminder.subject.startswith(prefix) for prefix in prefixes)),
        )
        .values(state=ReminderState.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
