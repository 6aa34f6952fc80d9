"""The lapse scan: which members have gone `warn` whole months without organisational life
or dues, over the facts storage.lapse_queries reads set-based (bot.rules.lapse decides)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.rules.dues import Month, first_day, month_of
from bot.rules.lapse import Gap, Level, gap, last_covered, level
from storage import lapse_queries as lq

# Activities older than this are not read: a gap that long is named by the roster arrival or
# the last payment instead (it is an episode all the same).
LOOKBACK_MONTHS = 24


@dataclass(frozen=True, slots=True)
class Lapse:
    """A member `gap.months` whole months without organisational life or dues."""

    person_id: int
    branch_id: int
    branch_path: str
    gap: Gap
    level: Level
    last_part: Month | None
    last_paid: Month | None
    mobile: bool


def _took_part(absences: list[dict[str, Any]]) -> dict[int, bool]:
    """The members an activity names as absent, and whether each was excused (a reason)."""
    named: dict[int, bool] = {}
    for absence in absences:
        person = absence.get("person_id")
        if isinstance(person, int):
            named[person] = absence.get("reason") is not None
    return named


def participation(
    activities: list[tuple[int, dt.date, list[dict[str, Any]]]],
) -> Callable[[int, int], Month | None]:
    """A function (branch, person) -> the last month the person took part in organisational
    life at a logged activity of their branch (present, or absent with a reason)."""
    held: dict[int, list[tuple[Month, dict[int, bool]]]] = defaultdict(list)
    for branch, day, absences in activities:
        held[branch].append((month_of(day), _took_part(absences)))
    for meetings in held.values():
        meetings.sort(key=lambda meeting: meeting[0], reverse=True)

    def last(branch: int, person: int) -> Month | None:
        for month, named in held.get(branch, ()):
            if person not in named or named[person]:
                return month
        return None

    return last


async def lapse_scan(
    session: AsyncSession,
    settings: Settings,
    today: dt.date,
    *,
    subtree_path: str | None = None,
) -> list[Lapse]:
    """Every member with at least ZHIBU_LAPSE_WARN_MONTHS whole months missing, judged
    through last month."""
    tz = settings.tz
    reference = month_of(today) - 1
    warn, escalate = settings.lapse_warn_months, settings.lapse_escalate_months
    window_start = reference - warn + 1
    arrived_before = dt.datetime.combine(first_day(window_start), dt.time(), tzinfo=tz)
    facts = await lq.lapse_facts(
        session,
        window_start=window_start,
        arrived_before=arrived_before.astimezone(dt.UTC),
        activities_since=first_day(reference - LOOKBACK_MONTHS + 1),
        subtree_path=subtree_path,
    )
    took_part = participation(facts.activities)
    found = []
    for candidate in facts.candidates:
        person, branch = candidate.person_id, candidate.branch_id
        last_part = took_part(branch, person)
        last_paid = facts.last_paid.get(person)
        ended = facts.mobile_ended.get(person)
        away = month_of(ended.astimezone(tz).date()) if ended is not None else None
        covered = last_covered([last_part, last_paid, facts.last_leave.get(person), away])
        # Months before the member came onto the roster, or before the ledger kept their dues,
        # are never missing.
        arrival = month_of(candidate.arrived_at.astimezone(tz).date())
        baseline = max(arrival, candidate.first_standard - 1)
        missing = gap(covered, baseline, reference)
        reached = level(missing, warn=warn, escalate=escalate)
        if reached is not Level.NONE:
            found.append(
                Lapse(
                    person,
                    branch,
                    candidate.branch_path,
                    missing,
                    reached,
                    last_part,
                    last_paid,
                    candidate.mobile,
                )
            )
    return found
