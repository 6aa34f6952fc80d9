"""Data access for reminders, reminder settings, trainings and branch terms.

Functions take the session first and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.enums import (
    CampaignStatus,
    OrgKind,
    PersonStatus,
    RectificationStatus,
    ReminderKind,
    ReminderState,
    Role,
    TrainingAudience,
    TrainingKind,
)
from storage.models import Account, OrgUnit, Person, RoleAssignment
from storage.models_grading import (
    GradingAssessment,
    GradingCampaign,
    RectificationItem,
    SurveyParticipant,
)
from storage.models_reminders import (
    BranchTerm,
    Reminder,
    ReminderSettings,
    Training,
    TrainingInvitee,
)

# SQLite allows 32,766 bound parameters per statement; a reminder row binds 10.
INSERT_CHUNK = 2000


def _insert(session: AsyncSession) -> Any:
    name = session.get_bind().dialect.name
    return (postgresql if name == "postgresql" else sqlite).insert


async def insert_reminders(
    session: AsyncSession, rows: Sequence[dict[str, Any]], *, since: dt.datetime | None = None
) -> int:
    """Insert reminder rows, skipping dedupe keys already present; how many were offered new.

    With `since` (no row is due before it), the keys already planned are read first and only
    new rows are sent to the database; the unique key still settles races between processes.
    """
    if since is not None and rows:
        known = set(
            (
                await session.scalars(select(Reminder.dedupe_key).where(Reminder.due_at >= since))
            ).all()
        )
        rows = [row for row in rows if row["dedupe_key"] not in known]
    # The table, not the mapped class: a Core executemany, without the ORM's bulk bookkeeping.
    table = Reminder.__table__
    statement = _insert(session)(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    for start in range(0, len(rows), INSERT_CHUNK):
        await session.execute(statement, rows[start : start + INSERT_CHUNK])
    return len(rows)


_PREFILTER_ABOVE = 8


async def cancel_reminders(
    session: AsyncSession, subjects: Iterable[tuple[str, int | None]]
) -> int:
    """Cancel pending reminders about these subjects (for one account, or for everyone)."""
    subjects = list(subjects)
    if not subjects:
        return 0
    if len(subjects) > _PREFILTER_ABOVE:
        # Most subjects the planner calls done never had a reminder: rather than an update for
        # each, find which have pending ones first. A handler's one or two go straight on.
        pending = set(
            (
                await session.scalars(
                    select(Reminder.subject)
                    .where(Reminder.state == ReminderState.PENDING)
                    .distinct()
                )
            ).all()
        )
        subjects = [(s, a) for s, a in subjects if s in pending]
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


async def pending_count(session: AsyncSession) -> int:
    """How many reminders wait to be sent."""
    count = await session.scalar(
        select(func.count()).select_from(Reminder).where(Reminder.state == ReminderState.PENDING)
    )
    return int(count or 0)


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
            Reminder.kind.not_in(("digest", "training_invite", "escalation")),
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


# ---- people the planner needs ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeaderRow:
    """A secretary (or admin) with a Telegram account, and the node of that role."""

    account_id: int
    time_zone: str | None
    person_id: int
    org_id: int
    org_path: str
    appointed_at: dt.datetime


async def leaders(session: AsyncSession, role: Role) -> list[LeaderRow]:
    """Everyone holding `role` who has an account."""
    rows = await session.execute(
        select(
            Account.id,
            Account.time_zone,
            RoleAssignment.person_id,
            OrgUnit.id,
            OrgUnit.path,
            RoleAssignment.created_at,
        )
        .join(Account, Account.person_id == RoleAssignment.person_id)
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .where(RoleAssignment.role == role)
    )
    return [LeaderRow(*row) for row in rows]


async def branches(session: AsyncSession) -> list[tuple[int, str]]:
    """Every branch: id and path."""
    rows = await session.execute(
        select(OrgUnit.id, OrgUnit.path).where(OrgUnit.kind == OrgKind.BRANCH)
    )
    return [(row[0], row[1]) for row in rows]


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
    return row


async def induction_done(
    session: AsyncSession, person_ids: Iterable[int]
) -> dict[int, dt.datetime]:
    """The last induction training each of these people attended."""
    rows = await session.execute(
        select(TrainingInvitee.person_id, func.max(Training.starts_at))
        .join(Training, Training.id == TrainingInvitee.training_id)
        .where(
            Training.kind == TrainingKind.INDUCTION,
            TrainingInvitee.attended.is_(True),
            TrainingInvitee.person_id.in_(list(person_ids)),
        )
        .group_by(TrainingInvitee.person_id)
    )
    return {row[0]: row[1] for row in rows}


# ---- trainings -------------------------------------------------------------------------------


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


# ---- grading (read only: the grading feature owns these tables) -------------------------------


async def open_campaigns(
    session: AsyncSession, *, since: dt.datetime
) -> list[tuple[int, int, str, dt.datetime]]:
    """(campaign id, year, subtree path, deadline) of open campaigns with a recent deadline."""
    rows = await session.execute(
        select(GradingCampaign.id, GradingCampaign.year, OrgUnit.path, GradingCampaign.deadline)
        .join(OrgUnit, OrgUnit.id == GradingCampaign.org_unit_id)
        .where(GradingCampaign.status == CampaignStatus.OPEN, GradingCampaign.deadline >= since)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def submitted_branches(session: AsyncSession, campaign_id: int) -> set[int]:
    """Branches whose self-assessment of the campaign is submitted."""
    rows = await session.scalars(
        select(GradingAssessment.branch_id).where(
            GradingAssessment.campaign_id == campaign_id,
            GradingAssessment.submitted_at.is_not(None),
        )
    )
    return set(rows.all())


async def rectification_items(
    session: AsyncSession, *, since: dt.date
) -> list[tuple[int, int, str, dt.date, bool]]:
    """(id, branch id, problem, due date, done) of items due since `since`."""
    rows = await session.execute(
        select(
            RectificationItem.id,
            RectificationItem.branch_id,
            RectificationItem.problem,
            RectificationItem.due_on,
            RectificationItem.status == RectificationStatus.DONE,
        ).where(RectificationItem.due_on >= since)
    )
    return [(row[0], row[1], row[2], row[3], bool(row[4])) for row in rows]


async def survey_members(
    session: AsyncSession, campaign_id: int
) -> list[tuple[int, str | None, int | None, bool]]:
    """(account id, time zone, branch id, answered) of the members who can answer the branch
    survey of a campaign (their branch takes part; lost-contact members excluded)."""
    answered = select(SurveyParticipant.person_id).where(
        SurveyParticipant.campaign_id == campaign_id, SurveyParticipant.subject == "branch"
    )
    rows = await session.execute(
        select(
            Account.id,
            Account.time_zone,
            Person.branch_id,
            Person.id.in_(answered),
        )
        .join(Person, Person.id == Account.person_id)
        .join(
            GradingAssessment,
            and_(
                GradingAssessment.branch_id == Person.branch_id,
                GradingAssessment.campaign_id == campaign_id,
            ),
        )
        .where(Person.status != PersonStatus.LOST_CONTACT)
    )
    return [(row[0], row[1], row[2], bool(row[3])) for row in rows]
