"""Data access for trainings: scheduling, invitees, answers, attendance and yearly records.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from bot.enums import ReminderKind, ReminderState, Role, TrainingAudience, TrainingKind
from storage import bulk
from storage.models import Account, OrgUnit, Person, RoleAssignment, UTCDateTime
from storage.models_reminders import Reminder, Training, TrainingInvitee
from storage.reminder_queries import REMINDER_COLUMNS
from storage.tree import subtree_of, subtrees_of


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
    people = _audience_people(org, audience).subquery()
    await session.execute(
        insert(TrainingInvitee).from_select(
            ["training_id", "person_id"],
            select(literal(training.id), people.c.person_id).order_by(people.c.person_id),
        )
    )
    return training


def _audience_people(org: OrgUnit, audience: TrainingAudience) -> Select[Any]:
    """The people of the subtree in the audience, once each."""
    in_subtree = subtree_of(OrgUnit.path, org.path)
    if audience is TrainingAudience.EVERYONE:
        return (
            select(Person.id.label("person_id"))
            .join(OrgUnit, OrgUnit.id == Person.branch_id)
            .where(in_subtree)
        )
    roles = (
        (Role.SECRETARY,)
        if audience is TrainingAudience.SECRETARIES
        else (Role.SECRETARY, Role.DEPUTY)
    )
    return (
        select(RoleAssignment.person_id)
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .where(in_subtree, RoleAssignment.role.in_(roles))
        .distinct()
    )


async def count_invitees(session: AsyncSession, training_id: int) -> int:
    """How many people a training invites."""
    counted = await session.scalar(
        select(func.count())
        .select_from(TrainingInvitee)
        .where(TrainingInvitee.training_id == training_id)
    )
    return int(counted or 0)


async def queue_training_news(
    session: AsyncSession, *, training: Training, cancelled: bool, now: dt.datetime
) -> int:
    """Queue one message, due now, per invitee with an account: the invitation, or (cancelled)
    that it is off, the latter only to those the invitation reached who did not decline. One
    INSERT ... SELECT; the dedupe key makes a second call add nothing."""
    subject = f"trn:{training.id}"
    account = cast(Account.id, String)
    rows = (
        select(
            Account.id,
            literal(ReminderKind.TRAINING_INVITE.value),
            # The call-off has its own subject: withdrawing what is still pending about the
            # training itself must not withdraw it.
            literal(f"{subject}:off" if cancelled else subject),
            literal(f"{subject}:") + account + literal(":cancelled" if cancelled else ":invite"),
            bindparam("b_now", now, type_=UTCDateTime),
            bindparam("b_deadline", training.starts_at, type_=UTCDateTime),
            literal(False),
            literal(False),
            literal(
                {"training_id": training.id, **({"cancelled": True} if cancelled else {})},
                Reminder.payload.type,
            ),
            literal(ReminderState.PENDING.value),
            literal(0),
            bindparam("b_created", now, type_=UTCDateTime),
        )
        .join(TrainingInvitee, TrainingInvitee.person_id == Account.person_id)
        .where(TrainingInvitee.training_id == training.id)
        .order_by(Account.id)
    )
    if cancelled:
        told = select(Reminder.account_id).where(
            Reminder.subject == subject,
            Reminder.kind == ReminderKind.TRAINING_INVITE.value,
            Reminder.state.in_([ReminderState.SENT, ReminderState.UNCONFIRMED]),
        )
        rows = rows.where(
            Account.id.in_(told),
            or_(TrainingInvitee.rsvp.is_(None), TrainingInvitee.rsvp != "no"),
        )
    statement = bulk.insert_ignoring(session, Reminder.__table__, ["dedupe_key"])
    result = await session.execute(statement.from_select(REMINDER_COLUMNS, rows))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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


async def open_invitations(
    session: AsyncSession, *, person_id: int, now: dt.datetime, limit: int
) -> list[tuple[Training, str | None]]:
    """The trainings a person is invited to that are neither called off nor started, soonest
    first, with their answer so far (whether or not the invitation message went out yet)."""
    rows = await session.execute(
        select(Training, TrainingInvitee.rsvp)
        .join(TrainingInvitee, TrainingInvitee.training_id == Training.id)
        .where(
            TrainingInvitee.person_id == person_id,
            Training.cancelled_at.is_(None),
            Training.starts_at > now,
        )
        .order_by(Training.starts_at, Training.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def upcoming_trainings(
    session: AsyncSession, *, now: dt.datetime, until: dt.datetime | None = None
) -> list[Training]:
    """Trainings starting after `now` (and before `until`), cancelled ones too (so their
    reminders are withdrawn)."""
    query = select(Training).where(Training.starts_at > now)
    if until is not None:
        query = query.where(Training.starts_at <= until)
    return list((await session.scalars(query.order_by(Training.starts_at))).all())


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
            subtrees_of(OrgUnit.path, paths),
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
