"""Quorum: whether enough of a meeting's body was there for it to count.

A branch committee meeting is valid with more than half of the committee present (支部工作
条例 Art. 12); a general meeting that elects or decides needs more than half of the members
with voting rights. An activity stores, per kind that needs one, how many of the body were
present and how big the body was (`{"committee_meeting": [2, 5]}`); whether a missing quorum
keeps it from counting is the calendar rule's `quorum` field (bot.rules.calendar).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.rules.kinds import ActivityKind

# Below this many people on the committee roster the roster is taken as not recorded, and a
# committee meeting logged by hand is judged against its own attendance instead.
SMALLEST_COMMITTEE = 3
_KINDS = frozenset(kind.value for kind in ActivityKind)


def has_quorum(present: int, size: int) -> bool:
    """More than half of a body of `size` is present."""
    return size > 0 and 2 * present > size


@dataclass(frozen=True, slots=True)
class Body:
    """How many of a meeting's body were present, out of how many."""

    present: int
    size: int

    @property
    def reached(self) -> bool:
        """More than half were there."""
        return has_quorum(self.present, self.size)


def quorum_facts(
    kinds: Sequence[str],
    *,
    decides: bool,
    committee: Body | None,
    voting: Body | None,
) -> dict[str, list[int]]:
    """What an activity stores about its quorum: the committee for a committee meeting, the
    voting members for a general meeting that elects or decides (nothing else needs one)."""
    facts: dict[str, list[int]] = {}
    if ActivityKind.COMMITTEE_MEETING.value in kinds and committee is not None:
        facts[ActivityKind.COMMITTEE_MEETING.value] = [committee.present, committee.size]
    if decides and ActivityKind.GENERAL_MEETING.value in kinds and voting is not None:
        facts[ActivityKind.GENERAL_MEETING.value] = [voting.present, voting.size]
    return facts


def bodies(stored: Mapping[str, Sequence[int]] | None) -> dict[ActivityKind, Body]:
    """The stored quorum facts, by kind (unknown kinds and odd values dropped)."""
    found: dict[ActivityKind, Body] = {}
    for key, value in (stored or {}).items():
        if key in _KINDS and len(value) == 2:
            found[ActivityKind(key)] = Body(int(value[0]), int(value[1]))
    return found


def short_of_quorum(stored: Mapping[str, Sequence[int]] | None) -> frozenset[ActivityKind]:
    """The kinds an activity lacked a quorum for."""
    return frozenset(kind for kind, body in bodies(stored).items() if not body.reached)


@lru_cache(maxsize=1024)
def short_of_quorum_text(raw: str | None) -> frozenset[ActivityKind]:
    """`short_of_quorum` of the stored JSON text (facts read in bulk share a few values)."""
    if not raw or raw in ("{}", "null"):
        return frozenset()
    return short_of_quorum(json.loads(raw))


def hand_logged_committee(present: int, expected: int, committee_size: int) -> Body:
    """A committee meeting logged by hand: of a recorded committee, at most all of it was
    there; without one, its own attendance is the body."""
    if committee_size >= SMALLEST_COMMITTEE:
        return Body(min(present, committee_size), committee_size)
    return Body(present, expected)
