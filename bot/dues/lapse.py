"""The lapse scan: which members have gone `warn` whole months without organisational life
or dues, over the facts storage.lapse_queries reads set-based (bot.rules.lapse decides)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

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


_MENTION = re.compile(r'"person_id"\s*:\s*(\d+)')
_OBJECT = re.compile(r"\{[^{}]*\}")
_REASON = re.compile(r'"reason"\s*:\s*"')


def _named(raw: str) -> dict[int, bool]:
    """The members an activity's absences name, and whether each was excused (a reason).

    Each absence is a flat JSON object; read with two regexes rather than decoded (tens of
    thousands of rows), and decoded when that reading finds anything unexpected.
    """
    named: dict[int, bool] = {}
    for match in _OBJECT.finditer(raw):
        found = _MENTION.findall(match.group())
        if len(found) != 1:
            return _decoded(raw)
        named[int(found[0])] = _REASON.search(match.group()) is not None
    return named


def _decoded(raw: str) -> dict[int, bool]:
    named: dict[int, bool] = {}
    for absence in json.loads(raw) or ():
        person = absence.get("person_id") if isinstance(absence, dict) else None
        if isinstance(person, int):
            named[person] = absence.get("reason") is not None
    return named


def _month_of_day(day: dt.date | str) -> Month:
    if isinstance(day, dt.date):
        return month_of(day)
    return int(day[0:4]) * 12 + int(day[5:7]) - 1


def participation(
    activities: list[tuple[int, dt.date | str, str]],
) -> Callable[[int, int], Month | None]:
    """A function (branch, person) -> the last month the person took part in organisational
    life at a logged activity of their branch (not named absent, or absent with a reason).

    Absences are stored JSON text: a row is read for the ids it names only when a candidate
    of its branch gets to it, and decoded only when it names that candidate; each at most once.
    """
    held: dict[int, list[tuple[Month, int]]] = defaultdict(list)
    for index, (branch, day, _raw) in enumerate(activities):
        held[branch].append((_month_of_day(day), index))
    for meetings in held.values():
        meetings.sort(reverse=True)
    mentioned: dict[int, frozenset[int]] = {}
    parsed: dict[int, dict[int, bool]] = {}

    def last(branch: int, person: int) -> Month | None:
        for month, index in held.get(branch, ()):
            ids = mentioned.get(index)
            if ids is None:
                raw = activities[index][2]
                ids = mentioned[index] = frozenset(int(i) for i in _MENTION.findall(raw))
            if person not in ids:
                return month
            named = parsed.get(index)
            if named is None:
                named = parsed[index] = _named(activities[index][2])
            if named.get(person, True):
                return month
        return None

    return last


def _floor(candidate: lq.Candidate, facts: lq.LapseFacts, tz: dt.tzinfo) -> Month:
    """The last month covered by anything but organisational life (or never missing)."""
    ended = facts.mobile_ended.get(candidate.person_id)
    away = month_of(ended.astimezone(tz).date()) if ended is not None else None
    arrival = month_of(candidate.arrived_at.astimezone(tz).date())
    # Months before the member came onto the roster, or before the ledger kept their dues,
    # are never missing.
    baseline = max(arrival, candidate.first_standard - 1)
    covered = last_covered(
        [facts.last_paid.get(candidate.person_id), facts.last_leave.get(candidate.person_id), away]
    )
    return max(baseline, covered) if covered is not None else baseline


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
    arrived_before = dt.datetime.combine(first_day(window_start), dt.time(), tzinfo=tz).astimezone(
        dt.UTC
    )
    facts = await lq.lapse_candidates(
        session,
        window_start=window_start,
        arrived_before=arrived_before,
        subtree_path=subtree_path,
    )
    if not facts.candidates:
        return []
    floors = {c.person_id: _floor(c, facts, tz) for c in facts.candidates}
    # Taking part before a member's floor changes nothing: read activities from the earliest
    # month after one (within the look-back).
    since = max(min(floors.values()) + 1, reference - LOOKBACK_MONTHS + 1)
    took_part = participation(
        await lq.candidate_activities(
            session,
            window_start=window_start,
            arrived_before=arrived_before,
            since=first_day(since),
            subtree_path=subtree_path,
        )
    )
    found = []
    for candidate in facts.candidates:
        person, branch = candidate.person_id, candidate.branch_id
        last_part = took_part(branch, person)
        missing = gap(last_covered([last_part]), floors[person], reference)
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
                    facts.last_paid.get(person),
                    candidate.mobile,
                )
            )
    return found
