"""A meeting becomes its record: the /log draft it pre-fills, the quorum it had, and the
same meeting logged by hand recognised instead of counted twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.activities import TOPIC_LIMIT, ActivityDraft, save_draft
from bot.enums import Rsvp
from bot.rules.kinds import ActivityKind
from bot.rules.quorum import Body, hand_logged_committee, quorum_facts
from storage import meeting_queries as mq
from storage.meeting_queries import InviteeRow
from storage.models import Account
from storage.models_activity import Activity
from storage.models_meetings import Meeting


def meeting_day(meeting: Meeting, zone: dt.tzinfo) -> dt.date:
    """The local day a meeting was held on."""
    return meeting.starts_at.astimezone(zone).date()


def draft_from_meeting(
    meeting: Meeting,
    invitees: Sequence[InviteeRow],
    *,
    day: dt.date,
    committee_size: int,
    voting_size: int,
) -> ActivityDraft:
    """The draft of a meeting's record: its kinds, day, topic, place and party group; expected
    = invited, present = signed in; the absent with the reasons they gave."""
    present = 0
    committee_present = 0
    voting_present = 0
    absences = []
    for row in invitees:
        invitee = row.invitee
        if invitee.signed_in_at is not None:
            present += 1
            committee_present += invitee.committee
            voting_present += invitee.voting
            continue
        reason = invitee.reason if invitee.rsvp is Rsvp.NO else None
        absences.append({"person_id": invitee.person_id, "name": row.name, "reason": reason})
    group_meeting = ActivityKind.GROUP_MEETING.value in meeting.kinds
    return ActivityDraft(
        branch_id=meeting.branch_id,
        kinds=list(meeting.kinds),
        day=day,
        topic=meeting.agenda[:TOPIC_LIMIT] or None,
        # Nobody signed in: the secretary gives the attendance.
        present=present or None,
        expected=len(invitees) if present else None,
        party_group_id=meeting.party_group_id if group_meeting else None,
        absences=absences if present else [],
        place=meeting.place[:100] or None,
        meeting_id=meeting.id,
        decides=meeting.decides,
        quorum=quorum_facts(
            meeting.kinds,
            decides=meeting.decides,
            committee=Body(committee_present, committee_size or len(invitees)),
            voting=Body(voting_present, voting_size),
        ),
    )


async def meeting_draft(session: AsyncSession, meeting: Meeting, zone: dt.tzinfo) -> ActivityDraft:
    """The pre-filled /log draft of a meeting."""
    return draft_from_meeting(
        meeting,
        await mq.invitees(session, meeting.id),
        day=meeting_day(meeting, zone),
        committee_size=await mq.committee_size(session, meeting.branch_id),
        voting_size=await mq.voting_size(session, meeting.branch_id),
    )


def _same(kinds: Sequence[str], group: int | None, activity: Activity) -> bool:
    if set(activity.kinds) != set(kinds):
        return False
    return ActivityKind.GROUP_MEETING.value not in kinds or activity.party_group_id == group


async def logged_as(session: AsyncSession, meeting: Meeting, zone: dt.tzinfo) -> int | None:
    """The activity a meeting was logged as: the one it is linked to, or one logged by hand
    for the same kinds (and party group) on its day, which it is then linked to."""
    if meeting.activity_id is not None:
        return meeting.activity_id
    for activity in await mq.activities_on(session, meeting.branch_id, meeting_day(meeting, zone)):
        if _same(meeting.kinds, meeting.party_group_id, activity):
            await mq.link_activity(session, meeting.id, activity.id)
            return activity.id
    return None


async def hand_quorum(session: AsyncSession, draft: ActivityDraft) -> dict[str, list[int]]:
    """The quorum of an activity logged by hand: a committee meeting against the committee
    roster, a deciding general meeting against the members with voting rights."""
    present, expected = draft.present or 0, draft.expected or 0
    committee = hand_logged_committee(
        present, expected, await mq.committee_size(session, draft.branch_id)
    )
    voting = Body(present, await mq.voting_size(session, draft.branch_id) or expected)
    return quorum_facts(draft.kinds, decides=draft.decides, committee=committee, voting=voting)


async def quorum_of(session: AsyncSession, draft: ActivityDraft) -> dict[str, list[int]]:
    """The draft's quorum facts: from the meeting's sign-ins, else from its attendance."""
    if draft.quorum is not None:
        return draft.quorum
    return await hand_quorum(session, draft)


class AlreadyLogged(Exception):
    """The meeting was logged meanwhile (as this activity)."""

    def __init__(self, activity_id: int | None) -> None:
        super().__init__(activity_id)
        self.activity_id = activity_id


@dataclass(frozen=True, slots=True)
class Saved:
    """A saved activity, and the meeting it was recognised as (if any)."""

    activity: Activity
    meeting: Meeting | None = None


async def recognised(
    session: AsyncSession, draft: ActivityDraft, zone: dt.tzinfo
) -> Meeting | None:
    """A meeting called for the draft's branch, kinds (and party group) on its day; one not
    logged yet first."""
    if draft.day is None or not draft.kinds:
        return None
    start = dt.datetime.combine(draft.day, dt.time(), zone)
    meetings = await mq.held_meetings(
        session, draft.branch_id, start=start, end=start + dt.timedelta(days=1)
    )
    grouped = ActivityKind.GROUP_MEETING.value in draft.kinds
    same = [
        meeting
        for meeting in meetings
        if set(meeting.kinds) == set(draft.kinds)
        and (not grouped or meeting.party_group_id == draft.party_group_id)
    ]
    return next((m for m in same if m.activity_id is None), same[0] if same else None)


async def _meeting_recorded(
    session: AsyncSession, draft: ActivityDraft, zone: dt.tzinfo
) -> Meeting | None:
    """The meeting a new draft records (built from it, or recognised by kinds and day);
    AlreadyLogged when that meeting has its record already."""
    if draft.activity_id is not None:
        return None
    if draft.meeting_id is not None:
        meeting = await mq.meeting_by_id(session, draft.meeting_id)
    else:
        meeting = await recognised(session, draft, zone)
    if meeting is not None and meeting.activity_id is not None:
        raise AlreadyLogged(meeting.activity_id)
    return meeting


async def save_activity(
    session: AsyncSession,
    draft: ActivityDraft,
    *,
    actor: Account | None,
    now: dt.datetime,
    zone: dt.tzinfo,
) -> Saved:
    """Save a /log draft with its quorum, and link the meeting it records: the one it was built
    from, or a meeting called for the same kinds and day (a hand entry is recognised, not
    counted twice). AlreadyLogged when that meeting has its record already; raised from a
    step, nothing is saved (the transaction is rolled back)."""
    meeting = await _meeting_recorded(session, draft, zone)
    draft.quorum = await quorum_of(session, draft)
    activity = await save_draft(session, draft, actor=actor, now=now, zone=zone)
    # Conditional: of two saves of the same meeting's draft at once, one links, one is refused.
    if meeting is not None and not await mq.link_activity(session, meeting.id, activity.id):
        raise AlreadyLogged(None)
    return Saved(activity, meeting)
