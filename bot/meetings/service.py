"""Meetings as a service: call one, answer, sign in, move, cancel.

Each function runs in the caller's transaction and checks what it is given (a meeting the
caller manages, an invitation that is the caller's own, a moment inside the sign-in window).
Invitations and the word that a meeting moved or is off are reminder rows due at once, written
in the same transaction as the meeting: a crash before the commit leaves neither, after it the
engine sends each exactly once. Moves and cancellations apply only to the version their leader
saw, so two leaders changing the same meeting at once decide once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Principal
from bot.enums import ReminderKind, Rsvp
from bot.meetings.draft import MeetingDraft, audience_of, invitee_rows
from bot.reminders.meeting_kinds import meeting_subject
from bot.reminders.payloads import MeetingEvent, MeetingPayload
from bot.reminders.planner import URGENT_WITHIN, PlannedReminder
from bot.rules.meetings import may_answer, sign_in_open
from storage import meeting_queries as mq
from storage import queries
from storage import reminder_queries as rq
from storage.models import Account
from storage.models_meetings import Meeting, MeetingInvitee


def manages(principal: Principal, meeting: Meeting) -> bool:
    """A leader of the meeting's branch, or the leader of the party group it was called for."""
    if principal.leads_branch(meeting.branch_id):
        return True
    return meeting.party_group_id is not None and principal.leads_group(meeting.party_group_id)


async def managed_meeting(
    session: AsyncSession, principal: Principal, meeting_id: int
) -> Meeting | None:
    """The meeting, if the principal manages it (else None: nothing about it is told)."""
    meeting = await mq.meeting_by_id(session, meeting_id)
    if meeting is None or not manages(principal, meeting):
        return None
    return meeting


def _news(
    meeting: Meeting,
    account_id: int,
    event: MeetingEvent,
    now: dt.datetime,
    *,
    subject: str,
    moved_from: dt.datetime | None = None,
) -> dict[str, object]:
    stamp = int(meeting.starts_at.timestamp())
    return PlannedReminder(
        account_id=account_id,
        kind=ReminderKind.MEETING_NEWS,
        subject=subject,
        dedupe_key=f"meet:{meeting.id}:{account_id}:{event}:{stamp}",
        due_at=now,
        deadline=meeting.starts_at,
        # Word about a meeting within a day cannot wait for quiet hours to end.
        urgent=meeting.starts_at - now <= URGENT_WITHIN,
        payload=MeetingPayload(
            meeting_id=meeting.id, event=event, starts_at=meeting.starts_at, moved_from=moved_from
        ),
    ).row(now)


@dataclass(frozen=True, slots=True)
class Called:
    """A meeting just called: how many are invited, and how many have no account."""

    meeting: Meeting
    invited: int
    without_account: int


async def call_meeting(
    session: AsyncSession,
    draft: MeetingDraft,
    *,
    actor: Account | None,
    now: dt.datetime,
    card_chat_id: int | None,
    card_message_id: int | None,
) -> Called:
    """Store the meeting, its invitees and one invitation per invitee with an account."""
    assert draft.starts_at is not None and draft.audience is not None
    roster = await mq.invitable(session, draft.branch_id)
    people = audience_of(roster, draft.audience, group_id=draft.party_group_id, chosen=draft.chosen)
    meeting = await mq.add_meeting(
        session,
        branch_id=draft.branch_id,
        party_group_id=draft.party_group_id,
        kinds=list(draft.kinds),
        starts_at=draft.starts_at,
        place=draft.place or "",
        agenda=draft.agenda or "",
        audience=draft.audience,
        reason_required=bool(draft.reason_required),
        decides=draft.decides and draft.asks_decides(),
        created_by=actor.id if actor else None,
        created_at=now,
        card_chat_id=card_chat_id,
        card_message_id=card_message_id,
    )
    await mq.add_invitees(session, meeting.id, invitee_rows(people))
    subject = meeting_subject(meeting.id, "news")
    rows = [
        _news(meeting, person.account_id, "invite", now, subject=subject)
        for person in people
        if person.account_id is not None
    ]
    await rq.insert_reminders(session, rows)
    await queries.audit(
        session,
        action="meeting.call",
        actor=actor,
        target_type="meeting",
        target_id=meeting.id,
        org_unit_id=meeting.branch_id,
        details={"invited": len(people), "kinds": meeting.kinds},
    )
    return Called(meeting, len(people), len(people) - len(rows))


@dataclass(frozen=True, slots=True)
class Invitation:
    """A meeting and one invitee's invitation to it."""

    meeting: Meeting
    invitee: MeetingInvitee


async def own_invitation(
    session: AsyncSession, meeting_id: int, person_id: int | None
) -> Invitation | None:
    """The presser's own invitation to the meeting (None for anyone not invited)."""
    if person_id is None:
        return None
    meeting = await mq.meeting_by_id(session, meeting_id)
    if meeting is None:
        return None
    invitee = await mq.invitee(session, meeting.id, person_id)
    return Invitation(meeting, invitee) if invitee is not None else None


class AnswerRefused(Exception):
    """The answer can no longer be given (`closed`: started, cancelled) or is not one
    offered to this invitee."""

    def __init__(self, *, closed: bool) -> None:
        super().__init__("closed" if closed else "not offered")
        self.closed = closed


async def answer_meeting(
    session: AsyncSession,
    invitation: Invitation,
    *,
    account_id: int,
    rsvp: Rsvp,
    reason: str | None = None,
    note: str | None = None,
    now: dt.datetime,
) -> None:
    """Record an invitee's (new) answer; what is pending for them that it makes pointless is
    withdrawn, and the caller's card is marked for an edit."""
    meeting, invitee = invitation.meeting, invitation.invitee
    if not may_answer(meeting.starts_at, meeting.cancelled_at is not None, now):
        raise AnswerRefused(closed=True)
    if rsvp is Rsvp.REMOTE and not invitee.mobile:
        raise AnswerRefused(closed=False)
    await mq.answer(
        session,
        invitee,
        rsvp=rsvp,
        reason=reason if rsvp is Rsvp.NO else None,
        note=note if rsvp is Rsvp.NO else None,
        now=now,
    )
    withdrawn = []
    if rsvp is not Rsvp.LATER:
        withdrawn.append((meeting_subject(meeting.id, "ask"), account_id))
    if rsvp is Rsvp.NO:
        withdrawn.append((meeting_subject(meeting.id, "soon"), account_id))
    await rq.cancel_reminders(session, withdrawn)
    await mq.mark_card(session, meeting.id, dirty=True)


async def sign_in(
    session: AsyncSession, invitation: Invitation, *, now: dt.datetime, by: int | None = None
) -> bool:
    """Sign an invitee in (by themselves, or ticked by `by`); False outside the window.
    Signing in again changes nothing."""
    meeting, invitee = invitation.meeting, invitation.invitee
    if not sign_in_open(meeting.starts_at, meeting.cancelled_at is not None, now):
        return False
    if invitee.signed_in_at is None:
        invitee.signed_in_at = now
        invitee.signed_in_by = by
        await mq.mark_card(session, meeting.id, dirty=True)
    return True


async def toggle_sign_in(
    session: AsyncSession,
    meeting: Meeting,
    person_id: int,
    *,
    actor: Account | None,
    now: dt.datetime,
) -> bool | None:
    """Tick or untick an invitee on the checklist; the new state, or None when the person was
    not invited or sign-in is not open."""
    if not sign_in_open(meeting.starts_at, meeting.cancelled_at is not None, now):
        return None
    invitee = await mq.invitee(session, meeting.id, person_id)
    if invitee is None:
        return None
    signed = invitee.signed_in_at is None
    invitee.signed_in_at = now if signed else None
    invitee.signed_in_by = actor.id if signed and actor else None
    await mq.mark_card(session, meeting.id, dirty=True)
    await queries.audit(
        session,
        action="meeting.checklist",
        actor=actor,
        target_type="meeting",
        target_id=meeting.id,
        org_unit_id=meeting.branch_id,
        details={"person_id": person_id, "signed_in": signed},
    )
    return signed


async def move_meeting(
    session: AsyncSession,
    meeting: Meeting,
    *,
    starts_at: dt.datetime,
    seen_version: int,
    actor: Account | None,
    now: dt.datetime,
) -> int | None:
    """Move a meeting that has not started; how many invitees are told, or None when it was
    changed meanwhile (or started, or is off). Reminders planned for the old time are
    withdrawn; the planner plans them again for the new one."""
    if meeting.starts_at <= now:
        return None
    old = meeting.starts_at
    if not await mq.change_meeting(
        session, meeting.id, seen_version=seen_version, starts_at=starts_at, moved_at=now
    ):
        return None
    await session.refresh(meeting)
    await rq.cancel_reminders(
        session, [(meeting_subject(meeting.id, what), None) for what in ("ask", "soon", "log")]
    )
    told = sorted(await mq.told_accounts(session, meeting.id))
    news = meeting_subject(meeting.id, "news")
    rows = [_news(meeting, a, "moved", now, subject=news, moved_from=old) for a in told]
    await rq.insert_reminders(session, rows)
    await mq.mark_card(session, meeting.id, dirty=True)
    await queries.audit(
        session,
        action="meeting.move",
        actor=actor,
        target_type="meeting",
        target_id=meeting.id,
        org_unit_id=meeting.branch_id,
        details={"from": old.isoformat(), "to": starts_at.isoformat(), "told": len(rows)},
    )
    return len(rows)


async def cancel_meeting(
    session: AsyncSession,
    meeting: Meeting,
    *,
    seen_version: int,
    actor: Account | None,
    now: dt.datetime,
) -> int | None:
    """Call a meeting off before it starts; how many invitees are told, or None when it was
    changed meanwhile (or started). Everything still pending about it is withdrawn; those the
    invitation reached get one message that it is off."""
    if meeting.starts_at <= now:
        return None
    if not await mq.change_meeting(
        session, meeting.id, seen_version=seen_version, cancelled_at=now
    ):
        return None
    await session.refresh(meeting)
    told = sorted(await mq.told_accounts(session, meeting.id))
    await rq.cancel_reminders(
        session,
        [(meeting_subject(meeting.id, what), None) for what in ("news", "ask", "soon", "log")],
    )
    # Its own subject, so withdrawing what is pending about the meeting never withdraws this.
    off = meeting_subject(meeting.id, "off")
    await rq.insert_reminders(
        session, [_news(meeting, a, "cancelled", now, subject=off) for a in told]
    )
    await mq.mark_card(session, meeting.id, dirty=True)
    await queries.audit(
        session,
        action="meeting.cancel",
        actor=actor,
        target_type="meeting",
        target_id=meeting.id,
        org_unit_id=meeting.branch_id,
        details={"told": len(told)},
    )
    return len(told)
