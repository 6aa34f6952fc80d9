"""Activity rows read for planning, as the calendar rules' ActivityFacts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from bot.rules.calendar import ActivityFact
from bot.rules.kinds import ActivityKind
from bot.rules.quorum import short_of_quorum_text

_KIND_VALUES = frozenset(kind.value for kind in ActivityKind)


class ActivityFacts:
    """Activity rows as ActivityFacts, parsing each distinct day and list of kinds once.

    Accepts both shapes storage may return: a date or its ISO text, a list of kinds or its
    JSON text (the fast path for hundreds of thousands of rows on SQLite).
    """

    def __init__(self) -> None:
        self._kinds: dict[str, frozenset[ActivityKind]] = {}
        self._days: dict[str, dt.date] = {}

    def fact(self, row: Sequence[Any]) -> ActivityFact:
        raw_day, raw_kinds = row[2], row[3]
        day = raw_day if isinstance(raw_day, dt.date) else self._days.get(raw_day)
        if day is None:
            day = self._days[raw_day] = dt.date.fromisoformat(str(raw_day)[:10])
        key = raw_kinds if isinstance(raw_kinds, str) else json.dumps(list(raw_kinds))
        kinds = self._kinds.get(key)
        if kinds is None:
            values = json.loads(raw_kinds) if isinstance(raw_kinds, str) else raw_kinds
            kinds = self._kinds[key] = frozenset(
                ActivityKind(value) for value in values if value in _KIND_VALUES
            )
        return ActivityFact(
            id=row[1],
            day=day,
            kinds=kinds,
            party_group_id=row[4],
            short_of_quorum=short_of_quorum_text(row[5]),
        )
