"""Data access for reminders, their settings, what they mention, and branch terms.

Trainings are in storage.training_queries, the planner's facts in storage.planner_queries.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, cast, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import ReminderKind, ReminderState, Role
from storage import bulk, planner_queries, reminder_arrays
from storage.models import Account, OrgUnit, Person, RoleAssignment, UTCDateTime
from storage.models_grading import GradingAssessment
from storage.models_reminders import BranchTerm, Reminder, ReminderSettings, Training

# Rows per executemany of planned reminders, and keys per look-up of those already planned.
INSERT_CHUNK = 2000

# What an INSERT ... SELECT of new reminders gives, in this order (a COPY too).
REMINDER_COLUMNS = list(reminder_arrays.REMINDER_COLUMNS)


async def insert_reminders(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert reminder rows, skipping dedupe keys already present; how many were new.

    The keys already planned are looked up first (a unique-index probe each, in bounded
    chunks) so a planning pass sends only new rows; the unique key still settles races.
    """
    rows = list({row["dedupe_key"]: row for row in rows}.values())
    if bulk.dialect(session) == "postgresql":
        return await reminder_arrays.insert_reminders(session, rows)
    fresh: list[dict[str, Any]] = []
    for chunk in bulk.chunked(rows, bulk.CHUNK):
        known = set(
            await session.scalars(
                select(Reminder.dedupe_key).where(
                    Reminder.dedupe_key.in_([row["dedupe_key"] for row in chunk])
                )
            )
        )
        fresh.extend(row for row in chunk if row["dedupe_key"] not in known)
    # The table, not the mapped class: a Core executemany, without the ORM's bulk bookkeeping.
    statement = bulk.insert_ignoring(session, Reminder.__table__, ["dedupe_key"])
    for chunk in bulk.chunked(fresh, INSERT_CHUNK):
        await session.execute(statement, list(chunk))
    return len(fresh)


async def taken_dedupe_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these dedupe keys are already planned: a planning pass builds rows only for
    the others (in steady state almost all of a slice's reminders are planned already)."""
    if bulk.dialect(session) == "postgresql":
        return await reminder_arrays.taken_dedupe_keys(session, keys)
    taken: set[str] = set()
    for chunk in bulk.chunked(keys, bulk.CHUNK):
        taken.update(
            await session.scalars(select(Reminder.dedupe_key).where(Reminder.dedupe_key.in_(chunk)))
        )
    return taken


async def queue_grading_news(
    session: AsyncSession,
    *,
    campaign_id: int,
    year: int,
    event: str,
    deadline: dt.datetime | None,
    now: dt.datetime,
) -> int:
    """One urgent reminder, due now, per secretary and deputy (with an account) of each branch
    of the campaign: it opened (with its deadline) or the branch was graded (with its grade).
    Written by one INSERT ... SELECT; the dedupe key makes a second call add nothing."""
    branch = GradingAssessment.branch_id
    account = Account.id
    subject = literal(f"grd-news:{campaign_id}:") + cast(branch, String)
    payload: dict[str, Any] = {
        "campaign_id": campaign_id,
        "year": year,
        "branch_id": branch,
        "event": event,
    }
    if deadline is not None:
        payload["deadline"] = deadline.isoformat()
    else:
        payload["grade"] = GradingAssessment.grade
    rows = (
        select(
            account,
            literal(ReminderKind.GRADING.value),
            subject,
            subject + literal(":") + cast(account, String) + literal(f":{event}"),
            bindparam("b_now", now, type_=UTCDateTime),
            bindparam("b_deadline", deadline, type_=UTCDateTime),
            literal(True),
            literal(False),
            bulk.json_object(session, payload),
            literal(ReminderState.PENDING.value),
            literal(0),
            bindparam("b_created", now, type_=UTCDateTime),
        )
        .join(RoleAssignment, RoleAssignment.org_unit_id == branch)
        .join(Account, Account.person_id == RoleAssignment.person_id)
        .where(
            GradingAssessment.campaign_id == campaign_id,
            RoleAssignment.role.in_((Role.SECRETARY, Role.DEPUTY)),
        )
        .order_by(branch, account)
    )
    statement = bulk.insert_ignoring(session, Reminder.__table__, ["dedupe_key"])
    result = await session.execute(statement.from_select(REMINDER_COLUMNS, rows))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def cancel_reminders(
    session: AsyncSession, subjects: Iterable[tuple[str, int | None]]
) -> int:
    """Cancel pending reminders about these subjects (for one account, or for everyone)."""
    subjects = list(set(subjects))
    if not subjects:
        return 0
    if bulk.dialect(session) == "postgresql":
        return await reminder_arrays.cancel_reminders(session, subjects)
    # Most subjects the planner calls done never had a reminder: find which have pending ones
    # first, by their subjects' index in bounded chunks (a full pass names hundreds of
    # thousands; reading every pending subject instead costs as much for a slice of them).
    pending: set[tuple[str, int]] = set()
    for chunk in bulk.chunked(sorted({subject for subject, _ in subjects})):
        rows = await session.execute(
            select(Reminder.subject, Reminder.account_id).where(
                Reminder.subject.in_(chunk), Reminder.state == ReminderState.PENDING
            )
        )
        pending.update((str(row[0]), int(row[1])) for row in rows)
    pending_subjects = {subject for subject, _ in pending}
    subjects = [
        (s, a) for s, a in subjects if (s in pending_subjects if a is None else (s, a) in pending)
    ]
    everyone = sorted({s for s, account in subjects if account is None})
    one = sorted({(s, a) for s, a in subjects if a is not None})
    cancelled = 0
    for start in range(0, len(everyone), INSERT_CHUNK):
        result = await session.execute(
            update(Reminder)
            .where(
                Reminder.state == ReminderState.PENDING,
                Reminder.subject.in_(everyone[start : start + INSERT_CHUNK]),
            )
            .values(state=ReminderState.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        cancelled += int(getattr(result, "rowcount", 0) or 0)
    for subject, account_id in one:
        result = await session.execute(
            update(Reminder)
            .where(
                Reminder.state == ReminderState.PENDING,
                Reminder.subject == subject,
                Reminder.account_id == account_id,
            )
            .values(state=ReminderState.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        cancelled += int(getattr(result, "rowcount", 0) or 0)
    return cancelled


@dataclass(frozen=True, slots=True)
class Recipient:
    """An account a reminder goes to, with what rendering and quiet hours need."""

    account_id: int
    telegram_id: int
    locale: str | None
    telegram_language: str | None
    time_zone: str | None
    muted: frozenset[str]
    quiet_start: int | None
    quiet_end: int | None


def _unreserved(now: dt.datetime) -> Any:
    # A pending row with a live lease is reserved by a process about to send it.
    return or_(Reminder.lease_until.is_(None), Reminder.lease_until < now)


async def start_sending(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    reserved_until: dt.datetime,
    lease_until: dt.datetime,
) -> bool:
    """Move our reserved rows to 'sending' just before the call; False if any was taken over."""
    mine = list(
        (
            await session.scalars(
                select(Reminder.id)
                .where(
                    Reminder.id.in_(list(ids)),
                    Reminder.state == ReminderState.PENDING,
                    Reminder.lease_until == reserved_until,
                )
                .with_for_update()
            )
        ).all()
    )
    if len(mine) != len(ids):
        return False
    await session.execute(
        update(Reminder)
        .where(Reminder.id.in_(mine))
        .values(
            state=ReminderState.SENDING,
            lease_until=lease_until,
            attempts=Reminder.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return True


async def due_accounts(session: AsyncSession, *, now: dt.datetime, limit: int) -> list[int]:
    """Accounts with reminders due, the longest-waiting first."""
    rows = await session.execute(
        select(Reminder.account_id, func.min(Reminder.due_at).label("first"))
        .where(Reminder.state == ReminderState.PENDING, Reminder.due_at <= now, _unreserved(now))
        .group_by(Reminder.account_id)
        .order_by("first")
        .limit(limit)
    )
    return [row[0] for row in rows]


async def lock_due(
    session: AsyncSession, *, account_ids: Sequence[int], now: dt.datetime
) -> list[Reminder]:
    """Every due pending reminder of these accounts, locked (rows another process holds are
    skipped: it is sending them)."""
    statement = (
        select(Reminder)
        .where(
            Reminder.state == ReminderState.PENDING,
            Reminder.due_at <= now,
            Reminder.account_id.in_(account_ids),
            _unreserved(now),
        )
        .order_by(Reminder.account_id, Reminder.due_at, Reminder.id)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(statement)).all())


async def recipients(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, Recipient]:
    """Accounts with their reminder settings."""
    rows = await session.execute(
        select(Account, ReminderSettings)
        .outerjoin(ReminderSettings, ReminderSettings.account_id == Account.id)
        .where(Account.id.in_(list(account_ids)))
    )
    found = {}
    for account, prefs in rows:
        found[account.id] = Recipient(
            account_id=account.id,
            telegram_id=account.telegram_id,
            locale=account.locale,
            telegram_language=account.telegram_language,
            time_zone=account.time_zone,
            muted=frozenset(prefs.muted if prefs else ()),
            quiet_start=prefs.quiet_start if prefs else None,
            quiet_end=prefs.quiet_end if prefs else None,
        )
    return found


async def finish(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    state: ReminderState,
    now: dt.datetime,
    message_id: int | None = None,
    error: str | None = None,
    retry_at: dt.datetime | None = None,
) -> None:
    """Record the outcome of a send (or put the reminders back for a retry)."""
    values: dict[str, Any] = {"state": state, "lease_until": None, "error": error}
    if state in (ReminderState.SENT, ReminderState.UNCONFIRMED):
        values.update(sent_at=now, message_id=message_id, batch_size=len(ids))
    if retry_at is not None:
        values["due_at"] = retry_at
    # 'sending' after a call; still 'pending' (reserved) when it never started.
    await session.execute(
        update(Reminder)
        .where(
            Reminder.id.in_(list(ids)),
            Reminder.state.in_((ReminderState.SENDING, ReminderState.PENDING)),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def reconcile_interrupted(session: AsyncSession, now: dt.datetime) -> int:
    """Reminders left 'sending' by a process that died: delivered as far as we know."""
    result = await session.execute(
        update(Reminder)
        .where(Reminder.state == ReminderState.SENDING, Reminder.lease_until < now)
        .values(state=ReminderState.UNCONFIRMED, sent_at=now, error="interrupted")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def digest_items(
    session: AsyncSession, *, account_id: int, start: dt.datetime, end: dt.datetime
) -> list[Reminder]:
    """The account's reminders about deadlines in [start, end) that are still open."""
    open_states = (
        ReminderState.PENDING,
        ReminderState.SENDING,
        ReminderState.SENT,
        ReminderState.UNCONFIRMED,
        ReminderState.IN_DIGEST,
        ReminderState.MUTED,
    )
    cancelled = (
        select(Reminder.subject)
        .where(Reminder.account_id == account_id, Reminder.state == ReminderState.CANCELLED)
        .scalar_subquery()
    )
    statement = (
        select(Reminder)
        .where(
            Reminder.account_id == account_id,
            Reminder.deadline >= start,
            Reminder.deadline < end,
            Reminder.state.in_(open_states),
            Reminder.kind.not_in(
                ("digest", "training_invite", "escalation", "meeting", "meeting_news")
            ),
            Reminder.subject.not_in(cancelled),
        )
        .order_by(Reminder.deadline, Reminder.id)
    )
    return list((await session.scalars(statement)).all())


# ---- settings ---------------------------------------------------------------------------------


async def settings_of(session: AsyncSession, account_id: int) -> ReminderSettings:
    """The account's settings row (created with defaults when missing)."""
    row = await session.get(ReminderSettings, account_id)
    if row is None:
        row = ReminderSettings(account_id=account_id, muted=[])
        session.add(row)
        await session.flush()
    return row


async def digest_settings(session: AsyncSession) -> dict[int, tuple[int | None, int | None]]:
    """Accounts that chose their own digest weekday or hour."""
    rows = await session.execute(
        select(
            ReminderSettings.account_id,
            ReminderSettings.digest_weekday,
            ReminderSettings.digest_hour,
        ).where(
            or_(
                ReminderSettings.digest_weekday.is_not(None),
                ReminderSettings.digest_hour.is_not(None),
            )
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows}


# ---- branch terms (also the `terms` command's) ------------------------------------------------


async def branch_terms(session: AsyncSession) -> list[BranchTerm]:
    """Every branch whose term start is known."""
    return list((await session.scalars(select(BranchTerm))).all())


async def set_branch_term(
    session: AsyncSession,
    *,
    org_unit_id: int,
    started_on: dt.date,
    category: Any = None,
    years: int | None = None,
) -> BranchTerm:
    """Record when a branch's current term started."""
    row = await session.get(BranchTerm, org_unit_id)
    if row is None:
        row = BranchTerm(org_unit_id=org_unit_id, term_started_on=started_on)
        session.add(row)
    row.term_started_on = started_on
    if category is not None:
        row.category = category
    row.term_years = years
    await session.flush()
    await planner_queries.mark_branches(session, [org_unit_id])
    return row


# ---- what reminders mention --------------------------------------------------------------------


@dataclass(slots=True)
class Mentioned:
    """The branches, people's names and trainings a batch of reminders refers to."""

    branches: dict[int, OrgUnit]
    people: dict[int, str]
    trainings: dict[int, Training]


async def mentioned(
    session: AsyncSession,
    *,
    branch_ids: Iterable[int],
    person_ids: Iterable[int],
    training_ids: Iterable[int],
) -> Mentioned:
    """Load what reminders refer to, each kind in one query."""
    found = Mentioned({}, {}, {})
    if branch_ids := set(branch_ids):
        units = await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(branch_ids)))
        found.branches = {unit.id: unit for unit in units}
    if person_ids := set(person_ids):
        people = await session.execute(
            select(Person.id, Person.name).where(Person.id.in_(person_ids))
        )
        found.people = {row[0]: row[1] for row in people}
    if training_ids := set(training_ids):
        trainings = await session.scalars(select(Training).where(Training.id.in_(training_ids)))
        found.trainings = {training.id: training for training in trainings}
    return found
