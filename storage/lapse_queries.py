"""The facts of the lapse early warning, read set-based for a whole organisation.

First the *candidates*: members on a roster long enough to have missed `warn` whole months,
whose dues the ledger keeps (a standard from before the window), with no dues paid for any
month from the window's start on, no leave reaching into it, and not away with an accepted
mobile report. Most members pay monthly, so this anti-join leaves few.
Then, for the candidates only (the same subquery, never a list of ids), what else might cover
a month: their last paid month, leave, mobile reports that ended, and their branches'
activities with the named absentees (whether a member took part is decided from those in
Python: a member named absent without a reason missed the meeting).

Functions take the session first and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Text, cast, exists, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import PersonStatus, RequestState, RequestType
from storage.models import OrgUnit, Person
from storage.models_activity import Activity
from storage.models_dues import DuesPayment, DuesStandard, MemberLeave
from storage.models_relink import RelinkRequest

AWAY_STATES = (RequestState.ACCEPTED, RequestState.ACTIVE)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member who paid nothing for the window's months."""

    person_id: int
    branch_id: int
    branch_path: str
    arrived_at: dt.datetime
    mobile: bool
    # The first month the ledger holds a standard for: months before it are not missing dues.
    first_standard: int


@dataclass(slots=True)
class LapseFacts:
    """What might still cover a candidate's months."""

    candidates: list[Candidate] = field(default_factory=list)
    last_paid: dict[int, int] = field(default_factory=dict)
    last_leave: dict[int, int] = field(default_factory=dict)
    mobile_ended: dict[int, dt.datetime] = field(default_factory=dict)


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
    unpaid = _unpaid(window_start, arrived_before, subtree_path)
    person = unpaid.c.person_id
    first_standard = (
        select(func.min(DuesStandard.from_month))
        .where(DuesStandard.person_id == person, DuesStandard.voided_at.is_(None))
        .scalar_subquery()
    )
    last_paid = (
        select(func.max(DuesPayment.month))
        .where(DuesPayment.person_id == person, DuesPayment.voided_at.is_(None))
        .scalar_subquery()
    )
    last_leave = (
        select(func.max(MemberLeave.last_month))
        .where(MemberLeave.person_id == person, MemberLeave.voided_at.is_(None))
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
    mobile_ended = (
        select(func.max(func.coalesce(RelinkRequest.completed_at, RelinkRequest.updated_at)))
        .where(
            RelinkRequest.person_id == person,
            RelinkRequest.type == RequestType.MOBILE,
            RelinkRequest.accepted_by.is_not(None),
        )
        .scalar_subquery()
    )
    return (
        select(
            person,
            unpaid.c.branch_id,
            OrgUnit.path,
            unpaid.c.arrived_at,
            unpaid.c.status,
            first_standard,
            last_paid,
            last_leave,
            mobile_ended,
        )
        .join(OrgUnit, OrgUnit.id == unpaid.c.branch_id)
        .where(
            # Only members whose dues the ledger keeps, since before the window.
            first_standard < window_start,
            ~on_leave,
            person.not_in(away),
        )
    )


async def lapse_candidates(
    session: AsyncSession,
    *,
    window_start: int,
    arrived_before: dt.datetime,
    subtree_path: str | None = None,
) -> LapseFacts:
    """The candidates, with their last paid month, leave and mobile reports (one query)."""
    facts = LapseFacts()
    rows: Any = await session.execute(_candidates(window_start, arrived_before, subtree_path))
    for person, branch, path, arrived, status, first, paid, leave, ended in rows:
        mobile = status is PersonStatus.MOBILE or status == PersonStatus.MOBILE.value
        facts.candidates.append(Candidate(person, branch, path, arrived, mobile, first))
        if paid is not None:
            facts.last_paid[person] = paid
        if leave is not None:
            facts.last_leave[person] = leave
        if ended is not None:
            facts.mobile_ended[person] = ended
    return facts


async def candidate_activities(
    session: AsyncSession,
    *,
    window_start: int,
    arrived_before: dt.datetime,
    since: dt.date,
    subtree_path: str | None = None,
) -> list[tuple[int, dt.date | str, str]]:
    """(branch id, day, absences) of the activities since `since` of the branches of the
    members with nothing paid in the window: undecoded (the day as text, the absences as
    stored JSON), since most rows never need decoding."""
    unpaid = _unpaid(window_start, arrived_before, subtree_path)
    connection = await session.connection()
    rows: Any = await connection.execute(
        select(
            Activity.branch_id, type_coerce(Activity.day, String), cast(Activity.absences, Text)
        ).where(
            Activity.voided.is_(False),
            Activity.day >= since,
            Activity.branch_id.in_(select(unpaid.c.branch_id)),
        )
    )
    return [(branch, day, absences or "[]") for branch, day, absences in rows]
