"""Data access for privacy: what is stored about one person, erasing it, and retention.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import ReminderState
from storage.models import (
    Account,
    AuditEntry,
    ConversationRecord,
    DeletionRequest,
    Invite,
    OrgUnit,
)
from storage.models_activity import Activity
from storage.models_grading import SurveyParticipant
from storage.models_notices import NoticeDelivery
from storage.models_relink import LostContactEntry, RelinkLetter, RelinkRequest, RelinkStep
from storage.models_reminders import Reminder, ReminderSettings, Training, TrainingInvitee
from storage.schema import Base


def _relink_of(person_id: int | None, account_id: int | None) -> ColumnElement[bool]:
    mine = RelinkRequest.person_id == person_id if person_id is not None else false()
    made = RelinkRequest.requester_account_id == account_id if account_id is not None else false()
    return or_(mine, made)


async def relink_requests_of(
    session: AsyncSession, *, person_id: int | None, account_id: int | None
) -> list[RelinkRequest]:
    """Relink requests the person made or that are about them."""
    return list(
        await session.scalars(
            select(RelinkRequest)
            .where(_relink_of(person_id, account_id))
            .order_by(RelinkRequest.id)
        )
    )


async def relink_letters_and_steps(
    session: AsyncSession, request_ids: list[int]
) -> tuple[list[RelinkLetter], list[RelinkStep]]:
    """The transfer letters and recorded steps of these requests."""
    if not request_ids:
        return [], []
    letters = await session.scalars(
        select(RelinkLetter)
        .where(RelinkLetter.request_id.in_(request_ids))
        .order_by(RelinkLetter.id)
    )
    steps = await session.scalars(
        select(RelinkStep).where(RelinkStep.request_id.in_(request_ids)).order_by(RelinkStep.id)
    )
    return list(letters), list(steps)


async def branch_activities(session: AsyncSession, branch_ids: list[int]) -> list[Activity]:
    """The activities of these branches, oldest first (voided ones included)."""
    if not branch_ids:
        return []
    return list(
        await session.scalars(
            select(Activity)
            .where(Activity.branch_id.in_(branch_ids))
            .order_by(Activity.day, Activity.id)
        )
    )


async def deliveries_of(session: AsyncSession, account_id: int) -> list[NoticeDelivery]:
    """The notice copies addressed to the account, with their notices' texts."""
    return list(
        await session.scalars(
            select(NoticeDelivery)
            .where(NoticeDelivery.account_id == account_id)
            .order_by(NoticeDelivery.id)
        )
    )


async def reminders_of(session: AsyncSession, account_id: int) -> list[Reminder]:
    """The reminders planned or sent to the account."""
    return list(
        await session.scalars(
            select(Reminder).where(Reminder.account_id == account_id).order_by(Reminder.id)
        )
    )


async def reminder_settings_of(session: AsyncSession, account_id: int) -> ReminderSettings | None:
    """The account's reminder preferences, if it set any."""
    return await session.get(ReminderSettings, account_id)


async def trainings_of(
    session: AsyncSession, person_id: int
) -> list[tuple[TrainingInvitee, Training]]:
    """The trainings the person was invited to, with their answer and attendance."""
    rows = await session.execute(
        select(TrainingInvitee, Training)
        .join(Training, Training.id == TrainingInvitee.training_id)
        .where(TrainingInvitee.person_id == person_id)
        .order_by(Training.starts_at)
    )
    return [(invitee, training) for invitee, training in rows]


async def survey_participation(session: AsyncSession, person_id: int) -> list[SurveyParticipant]:
    """That the person answered surveys (which campaign; never what they answered)."""
    return list(
        await session.scalars(
            select(SurveyParticipant)
            .where(SurveyParticipant.person_id == person_id)
            .order_by(SurveyParticipant.id)
        )
    )


async def register_entries_of(session: AsyncSession, person_id: int) -> list[LostContactEntry]:
    """Rows of the lost-contact register linked to the person."""
    return list(
        await session.scalars(
            select(LostContactEntry)
            .where(LostContactEntry.person_id == person_id)
            .order_by(LostContactEntry.id)
        )
    )


async def invites_created_by(session: AsyncSession, account_id: int) -> list[Invite]:
    """Invites the account created (never their codes)."""
    return list(
        await session.scalars(
            select(Invite).where(Invite.created_by == account_id).order_by(Invite.id)
        )
    )


async def deletion_requests_of(session: AsyncSession, person_id: int) -> list[DeletionRequest]:
    """The person's deletion requests."""
    return list(
        await session.scalars(
            select(DeletionRequest)
            .where(DeletionRequest.person_id == person_id)
            .order_by(DeletionRequest.id)
        )
    )


async def audit_about(
    session: AsyncSession, *, person_id: int | None, account_id: int | None
) -> list[AuditEntry]:
    """Audit entries about the person or their account, or of their own actions."""
    about_person = and_(AuditEntry.target_type == "person", AuditEntry.target_id == person_id)
    about_account = and_(AuditEntry.target_type == "account", AuditEntry.target_id == account_id)
    by_account = AuditEntry.actor_account_id == account_id
    return list(
        await session.scalars(
            select(AuditEntry)
            .where(or_(about_person, about_account, by_account))
            .order_by(AuditEntry.id)
        )
    )


async def org_codes(session: AsyncSession, org_ids: set[int]) -> dict[int, str]:
    """The codes of these nodes."""
    if not org_ids:
        return {}
    rows = await session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(org_ids)))
    return {org_id: code for org_id, code in rows}


# ---- erasing one person ----------------------------------------------------------------------


async def erase_relink_details(
    session: AsyncSession, *, person_id: int, account_id: int | None, placeholder: str
) -> None:
    """Blank what the person told about themself in their relink requests."""
    await session.execute(
        update(RelinkRequest)
        .where(_relink_of(person_id, account_id))
        .values(
            name=placeholder,
            phone=None,
            employer=None,
            city="",
            note="",
            question=None,
            reason=None,
        )
    )
    await session.execute(
        update(LostContactEntry)
        .where(LostContactEntry.person_id == person_id)
        .values(name=placeholder, phone=None, note=None)
    )


async def erase_from_absences(
    session: AsyncSession, *, person_id: int, branch_ids: list[int], placeholder: str
) -> None:
    """Replace the person's name in the absence lists of their branches' activities."""
    for activity in await branch_activities(session, branch_ids):
        absences: list[dict[str, Any]] = list(activity.absences or [])
        if any(entry.get("person_id") == person_id for entry in absences):
            activity.absences = [
                {**entry, "name": placeholder} if entry.get("person_id") == person_id else entry
                for entry in absences
            ]


async def drop_pending_reminders(session: AsyncSession, *, account_id: int) -> None:
    """Delete the reminders not yet sent to the account (the planner plans again what still
    applies to its roles)."""
    await session.execute(
        delete(Reminder).where(
            Reminder.account_id == account_id, Reminder.state == ReminderState.PENDING
        )
    )


async def forget_account_traces(session: AsyncSession, *, account_id: int) -> None:
    """Delete what only serves reaching the account: pending reminders and preferences."""
    await drop_pending_reminders(session, account_id=account_id)
    await session.execute(delete(ReminderSettings).where(ReminderSettings.account_id == account_id))


async def revoke_invites_naming(session: AsyncSession, *, person_id: int, now: dt.datetime) -> None:
    """Withdraw unused invites that name the person."""
    await session.execute(
        update(Invite)
        .where(Invite.person_id == person_id, Invite.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# ---- retention -------------------------------------------------------------------------------


async def delete_drafts_before(session: AsyncSession, before: dt.datetime) -> int:
    """Delete conversation drafts untouched since `before`; how many."""
    result = await session.execute(
        delete(ConversationRecord).where(ConversationRecord.updated_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _unreferenced() -> list[ColumnElement[bool]]:
    """No row of any table points at the account (found from the schema, so a new table
    that references accounts is covered without being named here)."""
    accounts = Account.__table__
    conditions = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is accounts:
                conditions.append(~exists().where(fk.parent == accounts.c.id))
        # References the database does not check (the notice outbox's, for speed) count too.
        for column in table.columns:
            if column.info.get("references") == "accounts.id":
                conditions.append(~exists().where(column == accounts.c.id))
    return conditions


async def delete_stray_accounts(session: AsyncSession, created_before: dt.datetime) -> int:
    """Delete accounts that are linked to nobody, older than `created_before`, and referenced
    by nothing (people who agreed to the notice but never registered); how many."""
    stray = (Account.person_id.is_(None), Account.created_at < created_before)
    # Looking for references hashes whole tables (a province's 13 million activities, its
    # notice outbox) every hour: only worth it when some account could go.
    if await session.scalar(select(Account.id).where(*stray).limit(1)) is None:
        return 0
    ids = list(await session.scalars(select(Account.id).where(*stray, *_unreferenced())))
    if ids:
        await session.execute(delete(Account).where(Account.id.in_(ids)))
    return len(ids)
