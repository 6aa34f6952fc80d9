"""What the dues planning reads besides the ledger: its own pending reminders, and the
lost-contact register rows whose dates start the regulations' timers.

Functions take the session first and never commit. The reminders and register tables are read
only here: their features own them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import ReminderKind, ReminderState
from storage.models import OrgUnit
from storage.models_relink import LostContactEntry
from storage.models_reminders import Reminder


async def pending_subjects(session: AsyncSession, kind: ReminderKind) -> list[str]:
    """Subjects of the reminders of a kind still waiting to go out (few: they are sent
    within hours of being planned)."""
    return list(
        await session.scalars(
            select(Reminder.subject)
            .where(Reminder.kind == kind.value, Reminder.state == ReminderState.PENDING)
            .distinct()
        )
    )


@dataclass(frozen=True, slots=True)
class RegisterTimer:
    """A lost-contact register row that has not been re-linked, with its original branch."""

    entry_id: int
    name: str
    branch_id: int
    branch_code: str
    branch_path: str
    person_id: int | None
    lost_on: dt.date


async def register_timers(
    session: AsyncSession, subtree_paths: Sequence[str] | None = None
) -> list[RegisterTimer]:
    """Rows not re-linked whose loss date and branch are known (in these subtrees, or all)."""
    query = (
        select(
            LostContactEntry.id,
            LostContactEntry.name,
            OrgUnit.id,
            OrgUnit.code,
            OrgUnit.path,
            LostContactEntry.person_id,
            LostContactEntry.lost_on,
        )
        .join(OrgUnit, OrgUnit.id == LostContactEntry.branch_id)
        .where(LostContactEntry.relinked_at.is_(None), LostContactEntry.lost_on.is_not(None))
        .order_by(LostContactEntry.lost_on, LostContactEntry.id)
    )
    if subtree_paths is not None:
        if not subtree_paths:
            return []
        query = query.where(
            or_(*(OrgUnit.path.startswith(path, autoescape=True) for path in subtree_paths))
        )
    rows: Any = await session.execute(query)
    return [RegisterTimer(*row) for row in rows]
