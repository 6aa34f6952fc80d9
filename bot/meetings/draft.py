"""The /meet conversation's answers, kept as plain JSON between steps, and who they invite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.access import Principal
from bot.enums import MeetingAudience, PersonStatus
from bot.rules.kinds import ActivityKind
from storage.meeting_queries import RosterPerson

PLACE_LIMIT = 200
AGENDA_LIMIT = 200


@dataclass(slots=True)
class MeetingDraft:
    """A meeting being called; None where nothing was given yet.

    `group_leader`: called by a party group's leader, for that group only (a party group
    meeting of its members).
    """

    branch_id: int
    party_group_id: int | None = None
    group_leader: bool = False
    kinds: list[str] = field(default_factory=list)
    starts_at: dt.datetime | None = None
    place: str | None = None
    agenda: str | None = None
    audience: MeetingAudience | None = None
    chosen: list[int] = field(default_factory=list)
    reason_required: bool | None = None
    decides: bool = False

    def to_data(self) -> dict[str, Any]:
        """The draft as JSON-safe data."""
        return {
            "branch_id": self.branch_id,
            "party_group_id": self.party_group_id,
            "group_leader": self.group_leader,
            "kinds": list(self.kinds),
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "place": self.place,
            "agenda": self.agenda,
            "audience": self.audience.value if self.audience else None,
            "chosen": list(self.chosen),
            "reason_required": self.reason_required,
            "decides": self.decides,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> MeetingDraft:
        """The draft stored by `to_data`."""
        starts = data.get("starts_at")
        audience = data.get("audience")
        return cls(
            branch_id=int(data["branch_id"]),
            party_group_id=data.get("party_group_id"),
            group_leader=bool(data.get("group_leader")),
            kinds=list(data.get("kinds") or []),
            starts_at=dt.datetime.fromisoformat(starts) if starts else None,
            place=data.get("place"),
            agenda=data.get("agenda"),
            audience=MeetingAudience(audience) if audience else None,
            chosen=[int(p) for p in data.get("chosen") or []],
            reason_required=data.get("reason_required"),
            decides=bool(data.get("decides")),
        )

    def asks_decides(self) -> bool:
        """Only a general meeting can elect or decide (and then needs a quorum)."""
        return ActivityKind.GENERAL_MEETING.value in self.kinds

    def may_be_called_by(self, principal: Principal) -> bool:
        """The sender still leads the draft's branch, or its party group for a group leader's
        meeting."""
        if self.group_leader:
            return self.party_group_id is not None and principal.leads_group(self.party_group_id)
        return principal.leads_branch(self.branch_id)


def audience_of(
    roster: Sequence[RosterPerson],
    audience: MeetingAudience,
    *,
    group_id: int | None,
    chosen: Sequence[int] = (),
) -> list[RosterPerson]:
    """Who an audience invites from the branch's roster (nobody outside it, whatever ids a
    draft holds)."""
    if audience is MeetingAudience.BRANCH:
        return list(roster)
    if audience is MeetingAudience.COMMITTEE:
        return [person for person in roster if person.committee]
    if audience is MeetingAudience.PARTY_GROUP:
        return [person for person in roster if group_id and person.party_group_id == group_id]
    wanted = set(chosen)
    return [person for person in roster if person.person_id in wanted]


def invitee_rows(people: Sequence[RosterPerson]) -> list[dict[str, Any]]:
    """The invitee rows of these people: committee, voting rights, mobile."""
    return [
        {
            "person_id": person.person_id,
            "committee": person.committee,
            # Lost-contact (suspended) members are not on the invitable roster at all.
            "voting": True,
            "mobile": person.status is PersonStatus.MOBILE,
        }
        for person in people
    ]
