"""What a decision on a relink request means for the roster: a mobile member's status, a
transfer moving the member, a re-linked member back on a roster.

An account is linked to a roster entry here only when the entry is the account's own, one the
deciders confirmed in an identity step (a claimed name match, a register row), or one just
created for the member: never because a name typed by the member matched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import OrgKind, PersonStatus, ReconnectStep, RequestType
from bot.relink.model import EventKind
from storage import queries, relink_queries
from storage.models import Account, OrgUnit, Person
from storage.models_relink import RelinkRequest

Effect = Callable[[AsyncSession, RelinkRequest, dt.datetime, Account | None], Awaitable[None]]


async def _mobile_accepted(
    session: AsyncSession, row: RelinkRequest, now: dt.datetime, actor: Account | None
) -> None:
    row.last_report_at = now
    if row.person is not None:
        row.person.status = PersonStatus.MOBILE


async def _mobile_ended(
    session: AsyncSession, row: RelinkRequest, now: dt.datetime, actor: Account | None
) -> None:
    row.completed_at = now
    if row.person is not None and row.person.status is PersonStatus.MOBILE:
        row.person.status = PersonStatus.REGULAR


async def _transferred(
    session: AsyncSession, row: RelinkRequest, now: dt.datetime, actor: Account | None
) -> None:
    row.completed_at = now
    assert row.receiving_branch is not None
    await place(session, row, row.receiving_branch, actor)


async def _reconnected(
    session: AsyncSession, row: RelinkRequest, now: dt.datetime, actor: Account | None
) -> None:
    row.completed_at = now
    entry = (
        await relink_queries.register_entry(session, row.register_entry_id)
        if row.register_entry_id
        else None
    )
    if row.person is None and entry is not None and entry.person_id is not None:
        # The register row the deciders confirmed in the identity step.
        row.person = await relink_queries.person_by_id(session, entry.person_id)
    branch = await _assigned_branch(session, row)
    if branch is not None:
        person = await place(session, row, branch, actor)
        if entry is not None:
            entry.person_id = person.id
    if entry is not None:
        entry.relinked_at = now


async def _pocket_flagged(
    session: AsyncSession, row: RelinkRequest, now: dt.datetime, actor: Account | None
) -> None:
    row.pocket_flagged_at = now


_EFFECTS: dict[tuple[EventKind, RequestType | None], Effect] = {
    (EventKind.ACCEPTED, RequestType.MOBILE): _mobile_accepted,
    (EventKind.COMPLETED, RequestType.MOBILE): _mobile_ended,
    (EventKind.TRANSFER_ACCEPTED, None): _transferred,
    (EventKind.COMPLETED, RequestType.RECONNECT): _reconnected,
    (EventKind.LETTER_EXPIRED, None): _pocket_flagged,
}


async def apply_effects(
    session: AsyncSession,
    row: RelinkRequest,
    kind: EventKind,
    now: dt.datetime,
    actor: Account | None,
) -> None:
    """Apply to the roster what an event means (nothing for most events)."""
    effect = _EFFECTS.get((kind, row.type)) or _EFFECTS.get((kind, None))
    if effect is not None:
        await effect(session, row, now, actor)
    await session.flush()


async def _assigned_branch(session: AsyncSession, row: RelinkRequest) -> OrgUnit | None:
    """The branch of the unit recorded in the assignment step, if it lies under the home node;
    else the home branch itself (None when the home node is not a branch)."""
    home = row.home_branch
    record = await relink_queries.step_record(session, row.id, ReconnectStep.ASSIGNMENT)
    unit = await queries.org_by_code(session, record.details.get("unit", "")) if record else None
    if unit is not None and unit.kind is OrgKind.PARTY_GROUP and unit.parent_id is not None:
        unit = await queries.org_by_id(session, unit.parent_id)
    if unit is not None and unit.kind is OrgKind.BRANCH and unit.path.startswith(home.path):
        return unit
    return home if home.kind is OrgKind.BRANCH else None


async def place(
    session: AsyncSession, row: RelinkRequest, branch: OrgUnit, actor: Account | None
) -> Person:
    """Put the member on the branch roster as a regular member, creating their entry if needed;
    leaving a branch ends its leader roles."""
    person = row.person
    if person is None and row.requester.person_id is not None:
        person = await relink_queries.person_by_id(session, row.requester.person_id)
    if person is None:
        person = Person(name=row.name, branch_id=branch.id, phone=row.phone)
        session.add(person)
        await session.flush()
    old_branch_id = person.branch_id
    person.branch_id = branch.id
    person.status = PersonStatus.REGULAR
    row.person_id = person.id
    if old_branch_id is not None and old_branch_id != branch.id:
        await _end_leader_roles(session, row, person, old_branch_id, actor)
    requester = row.requester
    if requester.person_id is None:
        holder = await relink_queries.account_of_person(session, person.id)
        if holder is None:
            # The member's own Telegram account is now registered as that roster entry.
            requester.person_id = person.id
    await session.flush()
    return person


async def _end_leader_roles(
    session: AsyncSession,
    row: RelinkRequest,
    person: Person,
    old_branch_id: int,
    actor: Account | None,
) -> None:
    """A secretary or deputy who moves away no longer leads the branch they left."""
    taken = await relink_queries.drop_leader_roles(
        session, person_id=person.id, branch_id=old_branch_id
    )
    if taken:
        await queries.audit(
            session,
            action="relink.roles_ended",
            actor=actor,
            actor_label="system" if actor is None else "bot",
            target_type="person",
            target_id=person.id,
            org_unit_id=old_branch_id,
            details={"roles": [role.value for role in taken], "request": row.id},
        )
