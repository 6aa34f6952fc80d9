"""Data access for meetings called with /meet: the audience, invitees and their answers,
changes decided once, what the planner and the secretary's card read, and matching a meeting
with the activity it was logged as.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.enums import PersonStatus, ReminderKind, ReminderState, Role, Rsvp
from storage import planner_queries
from storage.models import Account, Person, RoleAssignment
from storage.models_activity import Activity
from storage.models_meetings import Meeting, MeetingInvitee
from storage.models_reminders import Reminder
from storage.tree import EVERY_BRANCH, BranchScope

COMMITTEE_ROLES = (Role.SECRETARY, Role.DEPUTY, Role.COMMITTEE)


@dataclass(frozen=True, slots=True)
class RosterPerson:
    """Someone who can be invited: on the branch roster and not lost contact."""

    person_id: int
    name: str
    status: PersonStatus
    party_group_id: int | None
    committee: bool
    account_id: int | None


async def invitable(session: AsyncSession, branch_id: int) -> list[RosterPerson]:
    """The branch's roster (lost-contact members excluded), by name, with who is on the
    committee and who has an account."""
    committee = await committee_ids(session, branch_id)
    rows = await session.execute(
        select(Person.id, Person.name, Person.status, Person.party_group_id, Account.id)
        .outerjoin(Account, Account.person_id == Person.id)
        .where(Person.branch_id == branch_id, Person.status != PersonStatus.LOST_CONTACT)
        .order_by(Person.name, Person.id)
    )
    return [
        RosterPerson(pid, name, status, group, pid in committee, account)
        for pid, name, status, group, account in rows
    ]


async def committee_ids(session: AsyncSession, branch_id: int) -> set[int]:
    """The people on the branch committee: its secretary, deputies and committee members."""
    rows = await session.scalars(
        select(RoleAssignment.person_id).where(
            RoleAssignment.org_unit_id == branch_id, RoleAssignment.role.in_(COMMITTEE_ROLES)
        )
    )
    return set(rows.all())


async def committee_size(session: AsyncSession, branch_id: int) -> int:
    """How many people are on the branch committee."""
    return len(await committee_ids(session, branch_id))


async def voting_size(session: AsyncSession, branch_id: int) -> int:
    """Members with voting rights: the roster, less lost-contact (suspended) members."""
    count = await session.scalar(
        select(func.count())
        .select_from(Person)
        .where(Person.branch_id == branch_id, Person.status != PersonStatus.LOST_CONTACT)
    )
    return int(count or 0)


async def add_meeting(session: AsyncSession, **fields: Any) -> Meeting:
    """Insert a meeting and give it its id."""
    meeting = Meeting(**fields)
    session.add(meeting)
    await session.flush()
    # Its reminders are planned by the next pass over marked branches.
    await planner_queries.mark_branches(session, [meeting.branch_id])
    return meeting


async def add_invitees(
    session: AsyncSession, meeting_id: int, people: Sequence[dict[str, Any]]
) -> None:
    """Insert the invitees (`person_id`, `committee`, `voting`, `mobile`) in one statement."""
    if people:
        await session.execute(
            insert(MeetingInvitee), [{"meeting_id": meeting_id, **row} for row in people]
        )


async def meeting_by_id(session: AsyncSession, meeting_id: int) -> Meeting | None:
    """The meeting with its branch."""
    return await session.scalar(
        select(Meeting).where(Meeting.id == meeting_id).options(selectinload(Meeting.branch))
    )


async def invitee(session: AsyncSession, meeting_id: int, person_id: int) -> MeetingInvitee | None:
    """One person's invitation to a meeting."""
    return await session.scalar(
        select(MeetingInvitee).where(
            MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.person_id == person_id
        )
    )


@dataclass(frozen=True, slots=True)
class InviteeRow:
    """An invitee with their name and account, for the card, the checklist and the log."""

    invitee: MeetingInvitee
    name: str
    account_id: int | None


async def invitees(session: AsyncSession, meeting_id: int) -> list[InviteeRow]:
    """Everyone invited to a meeting, by name."""
    rows = await session.execute(
        select(MeetingInvitee, Person.name, Account.id)
        .join(Person, Person.id == MeetingInvitee.person_id)
        .outerjoin(Account, Account.person_id == Person.id)
        .where(MeetingInvitee.meeting_id == meeting_id)
        .order_by(Person.name, Person.id)
    )
    return [InviteeRow(row[0], row[1], row[2]) for row in rows]


async def invitation_accounts(session: AsyncSession, meeting_id: int) -> list[tuple[int, int]]:
    """(person id, account id) of the invitees who have an account."""
    rows = await session.execute(
        select(MeetingInvitee.person_id, Account.id)
        .join(Account, Account.person_id == MeetingInvitee.person_id)
        .where(MeetingInvitee.meeting_id == meeting_id)
        .order_by(Account.id)
    )
    return [(row[0], row[1]) for row in rows]


async def told_accounts(session: AsyncSession, meeting_id: int) -> set[int]:
    """Accounts the meeting's invitation reached (sent, or in flight when a bot stopped)."""
    rows = await session.scalars(
        select(Reminder.account_id).where(
            Reminder.subject == f"meet:{meeting_id}:news",
            Reminder.kind == ReminderKind.MEETING_NEWS.value,
            Reminder.state.in_((ReminderState.SENT, ReminderState.UNCONFIRMED)),
        )
    )
    return set(rows.all())


async def change_meeting(
    session: AsyncSession, meeting_id: int, *, seen_version: int, **values: Any
) -> bool:
    """Move or cancel a meeting unless another change came first (it must still be at the
    version its leader saw, and not cancelled). True when applied."""
    result = await session.execute(
        update(Meeting)
        .where(
            Meeting.id == meeting_id,
            Meeting.version == seen_version,
            Meeting.cancelled_at.is_(None),
        )
        .values(version=Meeting.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    applied = int(getattr(result, "rowcount", 0)) == 1
    if applied:
        await planner_queries.mark_meeting(session, meeting_id)
    return applied


async def answer(
    session: AsyncSession,
    invitation: MeetingInvitee,
    *,
    rsvp: Rsvp,
    reason: str | None,
    note: str | None,
    now: dt.datetime,
) -> None:
    """Record an invitee's (new) answer."""
    invitation.rsvp = rsvp
    invitation.reason = reason
    invitation.note = note
    invitation.answered_at = now
    await session.flush()
    # Who is still asked, and who is reminded to come, changed.
    await planner_queries.mark_meeting(session, invitation.meeting_id)


async def mark_card(session: AsyncSession, meeting_id: int, *, dirty: bool) -> None:
    """Note that the caller's card needs (or no longer needs) an edit."""
    await session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id)
        .values(card_dirty=dirty)
        .execution_options(synchronize_session=False)
    )


async def dirty_cards(session: AsyncSession) -> list[int]:
    """Meetings whose card shows less than is recorded."""
    rows = await session.scalars(select(Meeting.id).where(Meeting.card_dirty.is_(True)))
    return list(rows.all())


async def meetings_between(
    session: AsyncSession,
    start: dt.datetime,
    end: dt.datetime,
    scope: BranchScope = EVERY_BRANCH,
) -> list[Meeting]:
    """Meetings of the scope's branches starting between start and end (cancelled ones too)."""
    rows = await session.scalars(
        select(Meeting)
        .where(Meeting.starts_at >= start, Meeting.starts_at <= end, scope.on(Meeting.branch_id))
        .order_by(Meeting.id)
    )
    return list(rows.all())


async def invitee_accounts(
    session: AsyncSession, meeting_ids: Iterable[int]
) -> list[tuple[int, int, str | None, Rsvp | None]]:
    """(meeting id, account id, time zone, answer) of invitees with an account."""
    ids = list(meeting_ids)
    if not ids:
        return []
    rows = await session.execute(
        select(MeetingInvitee.meeting_id, Account.id, Account.time_zone, MeetingInvitee.rsvp)
        .join(Account, Account.person_id == MeetingInvitee.person_id)
        .where(MeetingInvitee.meeting_id.in_(ids))
        .order_by(MeetingInvitee.meeting_id, Account.id)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def meetings_of_person(
    session: AsyncSession, person_id: int, *, since: dt.datetime, limit: int = 10
) -> list[tuple[Meeting, MeetingInvitee]]:
    """The meetings a person is invited to that start after `since`, soonest first."""
    rows = await session.execute(
        select(Meeting, MeetingInvitee)
        .join(MeetingInvitee, MeetingInvitee.meeting_id == Meeting.id)
        .where(MeetingInvitee.person_id == person_id, Meeting.starts_at >= since)
        .options(selectinload(Meeting.branch))
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def meetings_of_branches(
    session: AsyncSession,
    branch_ids: Sequence[int],
    *,
    since: dt.datetime,
    group_ids: Sequence[int] = (),
    limit: int = 10,
) -> list[Meeting]:
    """The meetings of some branches (and of some party groups) that start after `since`,
    soonest first."""
    if not branch_ids and not group_ids:
        return []
    rows = await session.scalars(
        select(Meeting)
        .where(
            or_(
                Meeting.branch_id.in_(list(branch_ids)),
                Meeting.party_group_id.in_(list(group_ids)),
            ),
            Meeting.starts_at >= since,
        )
        .options(selectinload(Meeting.branch))
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(limit)
    )
    return list(rows.all())


async def held_meetings(
    session: AsyncSession, branch_id: int, *, start: dt.datetime, end: dt.datetime
) -> list[Meeting]:
    """Meetings of a branch that start between start and end and were not cancelled."""
    rows = await session.scalars(
        select(Meeting)
        .where(
            Meeting.branch_id == branch_id,
            Meeting.starts_at >= start,
            Meeting.starts_at < end,
            Meeting.cancelled_at.is_(None),
        )
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return list(rows.all())


async def activities_on(session: AsyncSession, branch_id: int, day: dt.date) -> list[Activity]:
    """A branch's activities on a day (void ones left out)."""
    rows = await session.scalars(
        select(Activity)
        .where(Activity.branch_id == branch_id, Activity.day == day, Activity.voided.is_(False))
        .order_by(Activity.id)
    )
    return list(rows.all())


async def link_activity(session: AsyncSession, meeting_id: int, activity_id: int) -> bool:
    """Record that a meeting was logged as an activity, unless it already was."""
    result = await session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id, Meeting.activity_id.is_(None))
        .values(activity_id=activity_id)
        .execution_options(synchronize_session=False)
    )
    applied = int(getattr(result, "rowcount", 0)) == 1
    if applied:
        # Logged: its log prompt is no longer wanted.
        await planner_queries.mark_meeting(session, meeting_id)
    return applied


async def leading_callers(
    session: AsyncSession, meeting_ids: Sequence[int]
) -> dict[int, tuple[int, str | None]]:
    """(account id, time zone) of those who called these meetings and still lead the branch
    (a party group's leader logs nothing: their meetings are logged by the secretary)."""
    if not meeting_ids:
        return {}
    rows = await session.execute(
        select(Meeting.id, Account.id, Account.time_zone)
        .join(Account, Account.id == Meeting.created_by)
        .join(RoleAssignment, RoleAssignment.person_id == Account.person_id)
        .where(
            Meeting.id.in_(list(meeting_ids)),
            RoleAssignment.org_unit_id == Meeting.branch_id,
            RoleAssignment.role.in_((Role.SECRETARY, Role.DEPUTY)),
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows}


async def reader_invitations(
    session: AsyncSession, meeting_ids: Iterable[int], account_id: int
) -> tuple[dict[int, Meeting], dict[int, MeetingInvitee]]:
    """Meetings (with their branches) and, where there is one, the reader's own invitation."""
    ids = list(meeting_ids)
    meetings = {
        m.id: m
        for m in await session.scalars(
            select(Meeting).where(Meeting.id.in_(ids)).options(selectinload(Meeting.branch))
        )
    }
    person_id = select(Account.person_id).where(Account.id == account_id).scalar_subquery()
    own = await session.scalars(
        select(MeetingInvitee).where(
            MeetingInvitee.meeting_id.in_(ids), MeetingInvitee.person_id == person_id
        )
    )
    return meetings, {invitee.meeting_id: invitee for invitee in own}


async def signed_in_count(session: AsyncSession, meeting_id: int) -> int:
    """How many invitees signed in."""
    count = await session.scalar(
        select(func.count())
        .select_from(MeetingInvitee)
        .where(MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.signed_in_at.is_not(None))
    )
    return int(count or 0)


async def invitations_of(
    session: AsyncSession, person_id: int
) -> list[tuple[Meeting, MeetingInvitee]]:
    """Every meeting a person was invited to, with their answer, oldest first."""
    rows = await session.execute(
        select(Meeting, MeetingInvitee)
        .join(MeetingInvitee, MeetingInvitee.meeting_id == Meeting.id)
        .where(MeetingInvitee.person_id == person_id)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return [(row[0], row[1]) for row in rows]


async def erase_notes(session: AsyncSession, person_id: int) -> None:
    """Drop the words a person added to their reasons (the reasons and sign-ins stay: they are
    the record of excused absence)."""
    await session.execute(
        update(MeetingInvitee)
        .where(MeetingInvitee.person_id == person_id, MeetingInvitee.note.is_not(None))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
