"""The facts of the lapse early warning, read in one set-based statement for a whole
organisation.

First the *candidates*: members on a roster long enough to have missed `warn` whole months,
with no dues paid for any month from the window's start on (one index probe each; most members
pay monthly, so few are left), whose dues the ledger keeps (a standard from before the
window), with no leave reaching into the window and not away with an accepted mobile report.
For those only: their last paid month, last leave, the end of earlier mobile reports, their
last sign-in at a meeting called with /meet, and the activities of their branch after the last
month those cover (a meeting before it changes nothing), with the stored absences. Whether a
member took part is decided from those in Python: a member named absent without a reason
missed the meeting.

Functions take the session first and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    String,
    Text,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import PersonStatus, RequestState, RequestType
from storage.models import OrgUnit, Person
from storage.models_activity import Activity
from storage.models_dues import DuesPayment, DuesStandard, MemberLeave
from storage.models_meetings import Meeting, MeetingInvitee
from storage.models_relink import RelinkRequest

AWAY_STATES = (RequestState.ACCEPTED, RequestState.ACTIVE)


@dataclass(slots=True)
class Candidate:
    """A member who paid nothing for the window's months, what else covers their months, and
    their branch's activities since (day as ISO text, absences as stored JSON)."""

    person_id: int
    branch_id: int
    branch_path: str
    arrived_at: dt.datetime
    mobile: bool
    # The first month the ledger holds a standard for: months before it are not missing dues.
    first_standard: int
    last_paid: int | None
    last_leave: int | None
    mobile_ended: dt.datetime | None
    # The start of the last meeting called with /meet they signed in at (organisational life
    # even before, or without, the meeting being logged).
    last_signed_in: dt.datetime | None
    activities: list[tuple[str, str]] = field(default_factory=list)


def _unpaid(window_start: int, arrived_before: dt.datetime, subtree_path: str | None) -> Any:
    """Members on a roster long enough, with nothing paid for a month from `window_start` on:
    one index probe each, materialised so the costlier checks run on these only."""
    paid = exists().where(
        DuesPayment.person_id == Person.id,
        DuesPayment.voided_at.is_(None),
        DuesPayment.month >= window_start,
    )
    query = select(
        Person.id.label("person_id"),
        Person.branch_id.label("branch_id"),
        Person.created_at.label("arrived_at"),
        Person.status.label("status"),
    ).where(
        Person.branch_id.is_not(None),
        Person.status != PersonStatus.LOST_CONTACT,
        Person.created_at < arrived_before,
        ~paid,
    )
    if subtree_path is not None and subtree_path != "/":
        query = query.where(
            Person.branch_id.in_(
                select(OrgUnit.id).where(OrgUnit.path.startswith(subtree_path, autoescape=True))
            )
        )
    return query.cte("unpaid").prefix_with("MATERIALIZED")


def _candidates(window_start: int, arrived_before: dt.datetime, subtree_path: str | None) -> Any:
    """The candidates with their facts, materialised (joined with activities next)."""
    unpaid = _unpaid(window_start, arrived_before, subtree_path)
    person = unpaid.c.person_id
    first_standard = (
        select(func.min(DuesStandard.from_month))
        .where(DuesStandard.person_id == person, DuesStandard.voided_at.is_(None))
        .scalar_subquery()
    )
    on_leave = exists().where(
        MemberLeave.person_id == person,
        MemberLeave.voided_at.is_(None),
        MemberLeave.last_month >= window_start,
    )
    away = select(RelinkRequest.person_id).where(
        RelinkRequest.type == RequestType.MOBILE,
        RelinkRequest.state.in_(AWAY_STATES),
        RelinkRequest.person_id.is_not(None),
    )
    return (
        select(
            person.label("person_id"),
            unpaid.c.branch_id,
            OrgUnit.path.label("branch_path"),
            unpaid.c.arrived_at,
            unpaid.c.status,
            first_standard.label("first_standard"),
            select(func.max(DuesPayment.month))
            .where(DuesPayment.person_id == person, DuesPayment.voided_at.is_(None))
            .scalar_subquery()
            .label("last_paid"),
            select(func.max(MemberLeave.last_month))
            .where(MemberLeave.person_id == person, MemberLeave.voided_at.is_(None))
            .scalar_subquery()
            .label("last_leave"),
            select(func.max(func.coalesce(RelinkRequest.completed_at, RelinkRequest.updated_at)))
            .where(
                RelinkRequest.person_id == person,
                RelinkRequest.type == RequestType.MOBILE,
                RelinkRequest.accepted_by.is_not(None),
            )
            .scalar_subquery()
            .label("mobile_ended"),
            select(func.max(Meeting.starts_at))
            .join(MeetingInvitee, MeetingInvitee.meeting_id == Meeting.id)
            .where(
                MeetingInvitee.person_id == person,
                MeetingInvitee.signed_in_at.is_not(None),
                Meeting.cancelled_at.is_(None),
            )
            .scalar_subquery()
            .label("last_signed_in"),
        )
        .join(OrgUnit, OrgUnit.id == unpaid.c.branch_id)
        .where(
            # Only members whose dues the ledger keeps, since before the window.
            first_standard < window_start,
            ~on_leave,
            person.not_in(away),
        )
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )


async def lapse_candidates(
    session: AsyncSession,
    *,
    window_start: int,
    arrived_before: dt.datetime,
    activities_since: dt.date,
    subtree_path: str | None = None,
) -> list[Candidate]:
    """The candidates, each with their facts and their branch's activities since the last
    month covered by their dues or leave (and not before `activities_since`)."""
    cand = _candidates(window_start, arrived_before, subtree_path)
    # The latest month the ledger or leave covers; the roster arrival and mobile reports are
    # added in Python (so this may read a little more than needed, never less).
    paid = func.coalesce(cand.c.last_paid, cand.c.first_standard - 1)
    floor = case((cand.c.last_leave > paid, cand.c.last_leave), else_=paid)
    month = extract("year", Activity.day) * 12 + extract("month", Activity.day) - 1
    query = (
        select(
            cand.c.person_id,
            cand.c.branch_id,
            cand.c.branch_path,
            cand.c.arrived_at,
            cand.c.status,
            cand.c.first_standard,
            cand.c.last_paid,
            cand.c.last_leave,
            cand.c.mobile_ended,
            cand.c.last_signed_in,
            type_coerce(Activity.day, String),
            cast(Activity.absences, Text),
        )
        .select_from(cand)
        .outerjoin(
            Activity,
            and_(
                Activity.branch_id == cand.c.branch_id,
                Activity.voided.is_(False),
                Activity.day >= activities_since,
                month > floor,
            ),
        )
    )
    found: dict[int, Candidate] = {}
    # A Core execution: tens of thousands of rows need no ORM row processing.
    connection = await session.connection()
    rows: Any = await connection.execute(query)
    for person, branch, path, arrived, status, first, paid, leave, ended, signed, day, raw in rows:
        candidate = found.get(person)
        if candidate is None:
            mobile = status is PersonStatus.MOBILE or status == PersonStatus.MOBILE.value
            candidate = found[person] = Candidate(
                person, branch, path, arrived, mobile, first, paid, leave, ended, signed
            )
        if day is not None:
            # SQLite gives the day as its ISO text, PostgreSQL's driver as a date.
            text = day if isinstance(day, str) else day.isoformat()
            candidate.activities.append((text, raw or "[]"))
    return list(found.values())
