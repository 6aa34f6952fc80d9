"""Trainings as a service: parse the time an admin typed, schedule and invite, RSVP, attendance."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import ReminderKind, TrainingAudience, TrainingKind
from bot.reminders.planner import PlannedReminder
from storage import reminder_queries as rq
from storage.models import Account, OrgUnit
from storage.models_reminders import Training


async def schedule_training(
    session: AsyncSession,
    *,
    org: OrgUnit,
    kind: TrainingKind,
    audience: TrainingAudience,
    title: str,
    place: str,
    starts_at: dt.datetime,
    created_by: Account | None,
    now: dt.datetime,
) -> tuple[Training, int]:
    """Create the training, its invitees, and one invitation reminder per invitee with an account.

    The invitations are reminder rows due now, so they go out through the engine (rate
    limits, the invitee's language) exactly like every other reminder.
    """
    training = await rq.add_training(
        session,
        org=org,
        kind=kind,
        audience=audience,
        title=title,
        place=place,
        starts_at=starts_at,
        created_by=created_by,
    )
    invited = await rq.invitee_accounts(session, training.id)
    rows = [
        PlannedReminder(
            account_id=account_id,
            kind=ReminderKind.TRAINING_INVITE,
            subject=f"trn:{training.id}",
            dedupe_key=f"trn:{training.id}:{account_id}:invite",
            due_at=now,
            deadline=starts_at,
            payload={"training_id": training.id},
        ).row(now)
        for account_id, _zone, _person, _rsvp in invited
    ]
    await rq.insert_reminders(session, rows)
    return training, len(await rq.invitees(session, training.id))


async def answer_invitation(
    session: AsyncSession, *, training: Training, person_id: int, account_id: int, attend: bool
) -> bool:
    """Record an invitee's answer; declining withdraws their pending reminders of it."""
    invitee = await rq.invitee(session, training_id=training.id, person_id=person_id)
    if invitee is None:
        return False
    invitee.rsvp = "yes" if attend else "no"
    if not attend:
        # Their invitation was answered, so what is pending about the training for them is
        # its reminders.
        await rq.cancel_reminders(session, [(f"trn:{training.id}", account_id)])
    return True


async def toggle_attendance(
    session: AsyncSession, *, training: Training, person_id: int, now: dt.datetime
) -> bool | None:
    """Flip whether an invitee attended; the new value, or None if not invited."""
    invitee = await rq.invitee(session, training_id=training.id, person_id=person_id)
    if invitee is None:
        return None
    invitee.attended = not invitee.attended
    training.attendance_recorded_at = now
    return invitee.attended


async def cancel_training(session: AsyncSession, *, training: Training, now: dt.datetime) -> int:
    """Call off a training that has not started; how many invitees will be told.

    Its pending reminders are withdrawn. Those who were sent the invitation and did not
    decline get one message saying it is off (an invitation kind, so it cannot be muted);
    nobody hears of a training they were never told about.
    """
    training.cancelled_at = now
    subject = f"trn:{training.id}"
    await rq.cancel_reminders(session, [(subject, None)])
    told = await rq.invitation_sent_to(session, training.id)
    rows = [
        PlannedReminder(
            account_id=account_id,
            kind=ReminderKind.TRAINING_INVITE,
            # Its own subject: the planner withdraws whatever is still pending about the
            # cancelled training itself, and this notice may be held for quiet hours.
            subject=f"{subject}:off",
            dedupe_key=f"{subject}:{account_id}:cancelled",
            due_at=now,
            deadline=training.starts_at,
            payload={"training_id": training.id, "cancelled": True},
        ).row(now)
        for account_id, _zone, _person, rsvp in await rq.invitee_accounts(session, training.id)
        if account_id in told and rsvp != "no"
    ]
    await rq.insert_reminders(session, rows)
    return len(rows)
