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

from sqlalchemy import exists, func, select
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
    # (branch id, day, absences) of the candidates' branches' activities since the look-back.
    activities: list[tuple[int, dt.date, list[dict[str, Any]]]] = field(default_factory=list)


def _candidates(window_start: int, arrived_before: dt.datetime, subtree_path: str | None) -> Any:
    first_standard = (
        select(func.min(DuesStandard.from_month))
        .where(DuesStandard.person_id == Person.id, DuesStandard.voided_at.is_(None))
        .scalar_subquery()
    )
    paid = exists().where(
        DuesPayment.person_id == Person.id,
        DuesPayment.voided_at.is_(None),
        DuesPayment.month >= window_start,
    )
    on_leave = exists().where(
        MemberLeave.person_id == Person.id,
        MemberLeave.voided_at.is_(None),
        MemberLeave.last_month >= window_start,
    )
    away = exists().where(
        RelinkRequest.person_id == Person.id,
        RelinkRequest.type == RequestType.MOBILE,
        RelinkRequest.state.in_(AWAY_STATES),
    )
    query = (
        select(
            Person.id.label("person_id"),
            Person.branch_id.label("branch_id"),
            OrgUnit.path.label("branch_path"),
            Person.created_at.label("arrived_at"),
            Person.status.label("status"),
            first_standard.label("first_standard"),
        )
        .join(OrgUnit, OrgUnit.id == Person.branch_id)
        .where(
            Person.status != PersonStatus.LOST_CONTACT,
            Person.created_at < arrived_before,
            # Only members whose dues the ledger keeps, since before the window.
            first_standard < window_start,
            ~paid,
            ~on_leave,
            ~away,
        )
    )
    if subtree_path is not None and subtree_path != "/":
        query = query.where(OrgUnit.path.startswith(subtree_path, autoescape=True))
    return query.subquery("candidates")


async def lapse_facts(
    session: AsyncSession,
    *,
    window_start: int,
    arrived_before: dt.datetime,
    activities_since: dt.date,
    subtree_path: str | None = None,
) -> LapseFacts:
    """The candidates and what might cover their months (see the module's docstring)."""
    cand = _candidates(window_start, arrived_before, subtree_path)
    facts = LapseFacts()
    rows: Any = await session.execute(select(cand))
    for person_id, branch_id, path, arrived_at, status, first in rows:
        mobile = status is PersonStatus.MOBILE
        facts.candidates.append(Candidate(person_id, branch_id, path, arrived_at, mobile, first))
    if not facts.candidates:
        return facts
    paid = await session.execute(
        select(DuesPayment.person_id, func.max(DuesPayment.month))
        .join(cand, cand.c.person_id == DuesPayment.person_id)
        .where(DuesPayment.voided_at.is_(None))
        .group_by(DuesPayment.person_id)
    )
    facts.last_paid = {person: month for person, month in paid}
    leave = await session.execute(
        select(MemberLeave.person_id, func.max(MemberLeave.last_month))
        .join(cand, cand.c.person_id == MemberLeave.person_id)
        .where(MemberLeave.voided_at.is_(None))
        .group_by(MemberLeave.person_id)
    )
    facts.last_leave = {person: month for person, month in leave}
    ended = await session.execute(
        select(
            RelinkRequest.person_id,
            func.max(func.coalesce(RelinkRequest.completed_at, RelinkRequest.updated_at)),
        )
        .join(cand, cand.c.person_id == RelinkRequest.person_id)
        .where(RelinkRequest.type == RequestType.MOBILE, RelinkRequest.accepted_by.is_not(None))
        .group_by(RelinkRequest.person_id)
    )
    facts.mobile_ended = {
        person: when for person, when in ended if person is not None and when is not None
    }
    branches = select(cand.c.branch_id).distinct()
    activities: Any = await session.execute(
        select(Activity.branch_id, Activity.day, Activity.absences).where(
            Activity.branch_id.in_(branches),
            Activity.voided.is_(False),
            Activity.day >= activities_since,
        )
    )
    facts.activities = [(branch, day, list(absences or ())) for branch, day, absences in activities]
    return facts
