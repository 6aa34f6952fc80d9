"""Trainings as a service: schedule and invite, answers, attendance, calling one off.

Every change is audited in the caller's transaction. Invitations and the word that a training
is off are reminder rows due at once, so they go out through the engine (rate limits, each
invitee's language) exactly like every other reminder.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Principal
from bot.enums import TrainingAudience, TrainingKind
from storage import queries
from storage import reminder_queries as rq
from storage import training_queries as tq
from storage.models import Account, OrgUnit
from storage.models_reminders import Training


async def administered_training(
    session: AsyncSession, principal: Principal, training_id: int
) -> Training | None:
    """The training, if it belongs to a subtree the principal administers."""
    training = await tq.training_by_id(session, training_id)
    if training is None:
        return None
    org = await queries.org_by_id(session, training.org_unit_id)
    if org is None or not principal.is_admin_of(org.path):
        return None
    return training


def recorded_afterwards(training: Training) -> bool:
    """Recorded after it took place (no invitations were sent)."""
    return training.created_at >= training.starts_at


def still_open(training: Training, now: dt.datetime) -> bool:
    """Not cancelled and not started yet: it can still be answered or called off."""
    return training.cancelled_at is None and training.starts_at > now


async def schedule_training(
    session: AsyncSession,
    *,
    org: OrgUnit,
    kind: TrainingKind,
    audience: TrainingAudience,
    title: str,
    place: str,
    starts_at: dt.datetime,
    actor: Account | None,
    now: dt.datetime,
) -> tuple[Training, int]:
    """Create the training, its invitees, and one invitation per invitee with an account;
    returns the training and how many people are invited.

    A training that already took place (recorded afterwards, for its attendance) gets its
    invitees but no invitation: nobody is asked to a past event or reminded of it.
    """
    held = starts_at <= now
    training = await tq.add_training(
        session,
        org=org,
        kind=kind,
        audience=audience,
        title=title,
        place=place,
        starts_at=starts_at,
        created_by=actor,
    )
    # On the bot's clock, which the reminder planner compares with.
    training.created_at = now
    if not held:
        await tq.queue_training_news(session, training=training, cancelled=False, now=now)
    count = await tq.count_invitees(session, training.id)
    await queries.audit(
        session,
        action="training.record_held" if held else "training.schedule",
        actor=actor,
        target_type="training",
        target_id=training.id,
        org_unit_id=org.id,
        details={"invited": count},
    )
    return training, count


async def answer_invitation(
    session: AsyncSession,
    *,
    training_id: int,
    person_id: int,
    account_id: int,
    attend: bool,
    now: dt.datetime,
) -> Training | None:
    """Record an invitee's answer to a training still open; declining withdraws their pending
    reminders of it. None when this person was not invited or it is no longer open."""
    training = await tq.training_by_id(session, training_id)
    if training is None or not still_open(training, now):
        return None
    invitee = await tq.invitee(session, training_id=training.id, person_id=person_id)
    if invitee is None:
        return None
    invitee.rsvp = "yes" if attend else "no"
    if not attend:
        # Their invitation was answered, so what is pending about the training for them is
        # its reminders.
        await rq.cancel_reminders(session, [(f"trn:{training.id}", account_id)])
    return training


async def toggle_attendance(
    session: AsyncSession,
    *,
    training: Training,
    person_id: int,
    actor: Account | None,
    now: dt.datetime,
) -> bool | None:
    """Flip whether an invitee of a training that has started attended; the new value, or None
    when it has not started or the person was not invited."""
    if training.starts_at > now:
        return None
    invitee = await tq.invitee(session, training_id=training.id, person_id=person_id)
    if invitee is None:
        return None
    invitee.attended = not invitee.attended
    training.attendance_recorded_at = now
    await queries.audit(
        session,
        action="training.attendance",
        actor=actor,
        target_type="training",
        target_id=training.id,
        org_unit_id=training.org_unit_id,
        details={"person_id": person_id, "attended": invitee.attended},
    )
    return invitee.attended


async def cancel_training(
    session: AsyncSession, *, training: Training, actor: Account | None, now: dt.datetime
) -> int | None:
    """Call off a training that has not started; how many invitees will be told, or None when
    it can no longer be cancelled.

    Its pending reminders are withdrawn. Those who were sent the invitation and did not
    decline get one message saying it is off (an invitation kind, so it cannot be muted);
    nobody hears of a training they were never told about.
    """
    if not await tq.call_off(session, training, now):
        return None
    subject = f"trn:{training.id}"
    await rq.cancel_reminders(session, [(subject, None)])
    told = await tq.queue_training_news(session, training=training, cancelled=True, now=now)
    await queries.audit(
        session,
        action="training.cancel",
        actor=actor,
        target_type="training",
        target_id=training.id,
        org_unit_id=training.org_unit_id,
        details={"told": told},
    )
    return told
