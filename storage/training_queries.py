"""Data access for trainings: scheduling, invitees, answers, attendance and yearly records.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import ReminderKind, ReminderState, Role, TrainingAudience, TrainingKind
from storage.models import Account, OrgUnit, Person, RoleAssignment
from storage.models_reminders import Reminder, Training, TrainingInvitee


async def add_training(
    session: AsyncSession,
    *,
    org: OrgUnit,
    kind: TrainingKind,
    audience: TrainingAudience,
    title: str,
    place: str,
    starts_at: dt.datetime,
    created_by: Account | None,
) -> Training:
    """Schedule a training and invite its audience (people of the subtree)."""
    training = Training(
        org_unit_id=org.id,
        kind=kind,
        audience=audience,
        title=title,
        place=place,
        starts_at=starts_at,
        created_by=created_by.id if created_by else None,
    )
    session.add(training)
    await session.flush()
    for person_id in await audience_people(session, org, audience):
        session.add(TrainingInvitee(training_id=training.id, person_id=person_id))
    await session.flush()
    return training


async def audience_people(
    session: AsyncSession, org: OrgUnit, audience: TrainingAudience
) -> list[int]:
    """People of the subtree in the audience."""
    in_subtree = OrgUnit.path.startswith(org.path)
    if audience is TrainingAudience.EVERYONE:
        statement = (
            select(Person.id).join(OrgUnit, OrgUnit.id == Person.branch_id).where(in_subtree)
        )
    else:
        roles = (
            (Role.SECRETARY,)
            if audience is TrainingAudience.SECRETARIES
            else (Role.SECRETARY, Role.DEPUTY)
        )
        statement = (
            select(RoleAssignment.person_id)
            .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
            .where(in_subtree, RoleAssignment.role.in_(roles))
        )
    return sorted(set((await session.scalars(statement)).all()))


async def training_by_id(session: AsyncSession, training_id: int) -> Training | None:
    """The training with this id."""
    return await session.get(Training, training_id)


async def call_off(session: AsyncSession, training: Training, now: dt.datetime) -> bool:
    """Mark a training that has not started as cancelled; False when it already was, or has
    started (two presses at once decide once)."""
    result = await session.execute(
        update(Training)
        .where(
            Training.id == training.id,
            Training.cancelled_at.is_(None),
            Training.starts_at > now,
        )
        .values(cancelled_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def invitee(
    session: AsyncSession, *, training_id: int, person_id: int
) -> TrainingInvitee | None:
    """One person's invitation."""
    return await session.scalar(
        select(TrainingInvitee).where(
            TrainingInvitee.training_id == training_id, TrainingInvitee.person_id == person_id
        )
    )


async def invitees(session: AsyncSession, training_id: int) -> list[tuple[TrainingInvitee, str]]:
    """A training's invitees with their names, by name."""
    rows = await session.execute(
        select(TrainingInvitee, Person.name)
        .join(Person, Person.id == TrainingInvitee.person_id)
        .where(TrainingInvitee.training_id == training_id)
        .order_by(Person.name, Person.id)
    )
    return [(row[0], row[1]) for row in rows]


async def invitee_accounts(
    session: AsyncSession, training_id: int
) -> list[tuple[int, str | None, int, str | None]]:
    """(account id, time zone, person id, rsvp) of each invitee who has an account."""
    rows = await session.execute(
        select(Account.id, Account.time_zone, TrainingInvitee.person_id, TrainingInvitee.rsvp)
        .join(Account, Account.person_id == TrainingInvitee.person_id)
        .where(TrainingInvitee.training_id == training_id)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def invitation_sent_to(session: AsyncSession, training_id: int) -> set[int]:
    """Accounts the training's invitation went out to (or may have: unconfirmed)."""
    return set(
        await session.scalars(
            select(Reminder.account_id).where(
                Reminder.subject == f"trn:{training_id}",
                Reminder.kind == ReminderKind.TRAINING_INVITE.value,
                Reminder.state.in_([ReminderState.SENT, ReminderState.UNCONFIRMED]),
            )
        )
    )


async def upcoming_trainings(session: AsyncSession, *, now: dt.datetime) -> list[Training]:
    """Trainings not over yet (and those cancelled, so their reminders are withdrawn)."""
    return list(
        (
            await session.scalars(
                select(Training).where(Training.starts_at > now).order_by(Training.starts_at)
            )
        ).all()
    )


async def trainings_in_subtrees(
    session: AsyncSession,
    paths: Sequence[str],
    *,
    since: dt.datetime,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[Training], int]:
    """A page of the trainings of these subtrees starting from `since`, soonest first, and how
    many there are in all."""
    if not paths:
        return [], 0
    query = (
        select(Training)
        .join(OrgUnit, OrgUnit.id == Training.org_unit_id)
        .where(
            or_(*(OrgUnit.path.startswith(path, autoescape=True) for path in paths)),
            Training.starts_at >= since,
            Training.cancelled_at.is_(None),
        )
    )
    total = await session.scalar(query.with_only_columns(func.count(Training.id)))
    page = await session.scalars(
        query.order_by(Training.starts_at, Training.id).offset(offset).limit(limit)
    )
    return list(page.all()), int(total or 0)


async def training_record(
    session: AsyncSession, *, person_id: int, year_start: dt.datetime, year_end: dt.datetime
) -> list[Training]:
    """Trainings the person attended in [year_start, year_end): the yearly training record."""
    return list(
        (
            await session.scalars(
                select(Training)
                .join(TrainingInvitee, TrainingInvitee.training_id == Training.id)
                .where(
                    and_(
                        TrainingInvitee.person_id == person_id,
                        TrainingInvitee.attended.is_(True),
                        Training.starts_at >= year_start,
                        Training.starts_at < year_end,
                    )
                )
                .order_by(Training.starts_at)
            )
        ).all()
    )
