"""The regulations' timers on the lost-contact register, for /report relink.

Six months after a member lost contact (and was traced in vain) the branch and the
organisation department decide on suspending the membership; after that the case is
reviewed every year. The bot reminds and shows these dates; it never changes a status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Principal
from bot.dues.planning import LOST_CONTACT_EVERY_MONTHS, LOST_CONTACT_FIRST_MONTHS
from bot.reminders.planner import add_months
from storage import dues_planning_queries as dpq


@dataclass(frozen=True, slots=True)
class Timer:
    """A register row not re-linked, its six-month decision date and the next review."""

    name: str
    branch_code: str
    lost_on: dt.date
    decide_on: dt.date
    next_on: dt.date

    def decision_due(self, today: dt.date) -> bool:
        """Whether the six months are over (the branch and admin decide)."""
        return self.decide_on <= today


def next_date(lost_on: dt.date, today: dt.date) -> dt.date:
    """The next timer date on or after today: six months, then every twelve."""
    months = LOST_CONTACT_FIRST_MONTHS
    while (mark := add_months(lost_on, months)) < today:
        months += LOST_CONTACT_EVERY_MONTHS
    return mark


async def register_timers(
    session: AsyncSession, principal: Principal, today: dt.date
) -> list[Timer]:
    """The register's timers in the admin's subtrees, oldest loss first."""
    paths = [g.org_path for g in principal.admin_grants()]
    return [
        Timer(
            row.name,
            row.branch_code,
            row.lost_on,
            add_months(row.lost_on, LOST_CONTACT_FIRST_MONTHS),
            next_date(row.lost_on, today),
        )
        for row in await dpq.register_timers(session, paths)
    ]
