"""The lapse scan: which members have gone `warn` whole months without organisational life
or dues, over the facts storage.lapse_queries reads set-based (bot.rules.lapse decides)."""

from __future__ import annotations

import datetime as dt
import json
import re
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


def _absence(raw: str, person: int) -> bool | None:
    """How stored absences name the person: None (not named), True (absent with a reason:
    excused) or False (absent without one). Read with string searches in the form json.dumps
    writes (`{"person_id": 12, "name": ..., "reason": null}`); anything else is decoded."""
    if '"person_id": ' not in raw:
        return _named(raw).get(person) if '"person_id"' in raw else None
    needle = f'"person_id": {person}'
    start = raw.find(needle)
    while start != -1:
        end = start + len(needle)
        if end < len(raw) and raw[end].isdigit():
            start = raw.find(needle, end)
            continue
        entry = raw[raw.rfind("{", 0, start) : raw.find("}", end) + 1]
        if '"reason": null' in entry:
            return False
        if '"reason": "' in entry:
            return True
        return _named(raw).get(person)
    return None


def took_part(person: int, activities: list[tuple[str, str]]) -> int | None:
    """The last month (index) the person took part in one of their branch's activities (not
    named absent, or absent with a reason); activities as (ISO day, stored absences JSON)."""
    for day, raw in sorted(activities, reverse=True):
        if _absence(raw, person) is not False:
            return int(day[0:4]) * 12 + int(day[5:7]) - 1
    return None


def _floor(candidate: lq.Candidate, tz: dt.tzinfo) -> Month:
    """The last month covered by anything but organisational life (or never missing)."""
    ended = candidate.mobile_ended
    away = month_of(ended.astimezone(tz).date()) if ended is not None else None
    arrival = month_of(candidate.arrived_at.astimezone(tz).date())
    # Months before the member came onto the roster, or before the ledger kept their dues,
    # are never missing.
    baseline = max(arrival, candidate.first_standard - 1)
    covered = last_covered([candidate.last_paid, candidate.last_leave, away])
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
    candidates = await lq.lapse_candidates(
        session,
        window_start=window_start,
        arrived_before=arrived_before,
        activities_since=first_day(reference - LOOKBACK_MONTHS + 1),
        subtree_path=subtree_path,
    )
    found = []
    for candidate in candidates:
        floor = _floor(candidate, tz)
        signed = candidate.last_signed_in
        last_part = last_covered(
            [
                took_part(candidate.person_id, candidate.activities),
                month_of(signed.astimezone(tz).date()) if signed is not None else None,
            ]
        )
        if last_part is not None and last_part <= floor:
            last_part = None  # before the months missing: it names nothing
        missing = gap(last_part, floor, reference)
        reached = level(missing, warn=warn, escalate=escalate)
        if reached is not Level.NONE:
            found.append(
                Lapse(
                    candidate.person_id,
                    candidate.branch_id,
                    candidate.branch_path,
                    missing,
                    reached,
                    last_part,
                    candidate.last_paid,
                    candidate.mobile,
                )
            )
    return found
