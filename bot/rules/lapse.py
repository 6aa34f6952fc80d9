"""The lapse early warning: months in a row without organisational life or dues.

Six consecutive months without organisational life or Party dues count as leaving the Party.
The bot never counts down to that: it tells the secretary at `warn` months (default 3) and the
admin above at `escalate` months (default 5), once per episode, and people decide.

A month is *covered* when the member took part in organisational life (present or excused at
a logged activity of their branch), had the month's dues paid (prepaid months included), was
on recorded leave, or was away with an accepted mobile report. Only whole months count: the
month in progress is never missing. Months up to the member's arrival on the roster, or
before the ledger kept their dues (the `baseline`), never count either, so a roster imported
today raises nothing about last year; members whose dues the ledger does not keep are not
judged at all.

An episode is the run of missing months after the last covered one; it is named by its first
missing month, so taking part or paying ends it, and a later gap is a new episode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from bot.rules.dues import Month


class Level(IntEnum):
    """Who has been told about an episode."""

    NONE = 0
    SECRETARY = 1
    ADMIN = 2


@dataclass(frozen=True, slots=True)
class Gap:
    """The missing months ending with `reference`: how many, and the first of them."""

    months: int
    since: Month


def gap(last_covered: Month | None, baseline: Month, reference: Month) -> Gap:
    """The run of missing months through `reference` (the last whole month).

    `last_covered` may lie after `reference` (months paid ahead): then nothing is missing.
    """
    start = max(baseline, last_covered if last_covered is not None else baseline) + 1
    return Gap(max(0, reference - start + 1), start)


def level(missing: Gap, *, warn: int, escalate: int) -> Level:
    """Who should know by now: nobody, the secretary, or the admin above as well."""
    if missing.months >= escalate:
        return Level.ADMIN
    if missing.months >= warn:
        return Level.SECRETARY
    return Level.NONE


def last_covered(*months: Iterable[Month | None]) -> Month | None:
    """The latest covered month among several sources (each may have none)."""
    found = [month for source in months for month in source if month is not None]
    return max(found) if found else None
