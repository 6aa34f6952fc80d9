"""Pure planning rules: facts about trainings, obligations and deadlines in, reminder rows out.

Every reminder gets a dedupe key naming its recipient, subject and moment, so planning the same
facts again (every few minutes, after a restart, in two processes at once) inserts nothing new.
A moment that passed longer ago than the catch-up window is not planned: a bot deployed in
December does not nag about September. Moments up to the horizon (two days) ahead are planned
early, so a planning run that is late or fails now and then loses nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.enums import ReminderKind
from bot.reminders.quiet import local_moment
from bot.rules.calendar import ObligationState, ObligationStatus, Period

# Hard deadlines this close are mandatory: no quiet hours, no muting.
URGENT_WITHIN = dt.timedelta(hours=24)
# Reminders about a day arrive at this local hour (the deadline itself is local midnight).
MORNING_HOUR = 9
DIGEST_LATE = dt.timedelta(hours=12)
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who gets a reminder, and where they live (for "9 in the morning")."""

    account_id: int
    time_zone: str


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    """One row the planner wants in the reminders table."""

    account_id: int
    kind: ReminderKind
    subject: str
    dedupe_key: str
    due_at: dt.datetime
    deadline: dt.datetime | None = None
    urgent: bool = False
    soft: bool = False
    payload: dict[str, Any] = field(default_factory=dict)

    def row(self, now: dt.datetime) -> dict[str, Any]:
        """The row to insert: pending, never tried, created now."""
        return {
            "account_id": self.account_id,
            "kind": str(self.kind),
            "subject": self.subject,
            "dedupe_key": self.dedupe_key,
            "due_at": self.due_at,
            "deadline": self.deadline,
            "urgent": self.urgent,
            "soft": self.soft,
            "payload": self.payload,
            "state": "pending",
            "attempts": 0,
            "created_at": now,
        }


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Pending reminders about a subject (for one recipient, or everyone) are no longer wanted."""

    subject: str
    account_id: int | None = None


@dataclass(slots=True)
class Plan:
    """What one planning pass wants inserted and cancelled."""

    reminders: dict[str, PlannedReminder] = field(default_factory=dict)
    cancellations: list[Cancellation] = field(default_factory=list)

    def add(self, reminder: PlannedReminder) -> None:
        """Keep the first reminder for a dedupe key."""
        self.reminders.setdefault(reminder.dedupe_key, reminder)

    def cancel(self, subject: str, account_id: int | None = None) -> None:
        """Cancel pending reminders about a subject."""
        self.cancellations.append(Cancellation(subject, account_id))


@dataclass(frozen=True, slots=True)
class Window:
    """The moments worth planning: from `now - catch_up` to `now + horizon`."""

    now: dt.datetime
    catch_up: dt.timedelta = dt.timedelta(days=7)
    # Planning runs every few minutes; two days ahead covers any restart. The digest's "coming
    # up" comes from the 7-days-before rows, so it still looks more than a week ahead.
    horizon: dt.timedelta = dt.timedelta(days=2)
    # Local days that can hold a wanted moment in some time zone (a cheap date pre-check).
    first_day: dt.date = field(init=False)
    last_day: dt.date = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_day", (self.now - self.catch_up).date() - ONE_DAY)
        object.__setattr__(self, "last_day", (self.now + self.horizon).date() + ONE_DAY)

    def wants(self, moment: dt.datetime) -> bool:
        """True when a reminder at `moment` should be in the table now."""
        return self.now - self.catch_up <= moment <= self.now + self.horizon

    def may_want(self, day: dt.date) -> bool:
        """False when no moment on `day`, in any time zone, can be wanted."""
        return self.first_day <= day <= self.last_day


@functools.lru_cache(maxsize=4096)
def _days_wanted(window: Window, due_day: dt.date, days_before: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in days_before if window.may_want(due_day - dt.timedelta(days=d - 1)))


@functools.lru_cache(maxsize=4096)
def _overdue_wanted(window: Window, due_day: dt.date, escalate_after_days: int) -> bool:
    return window.may_want(due_day + ONE_DAY) or window.may_want(
        due_day + dt.timedelta(days=1 + escalate_after_days)
    )


def local_midnight(day: dt.date, time_zone: str) -> dt.datetime:
    """The instant a local day begins (the deadline "before `day`")."""
    return local_moment(day, 0, time_zone)


def _morning(day: dt.date, recipient: Recipient) -> dt.datetime:
    return local_moment(day, MORNING_HOUR, recipient.time_zone)


def deadline_reminders(
    plan: Plan,
    window: Window,
    *,
    kind: ReminderKind,
    subject: str,
    recipients: Iterable[Recipient],
    due_day: dt.date,
    days_before: Sequence[int],
    payload: dict[str, Any],
    soft_days: frozenset[int] = frozenset(),
) -> None:
    """Reminders `days_before` a deadline at the end of `due_day`, each at 9:00 local time.

    The deadline is the recipient's local midnight after `due_day`; "1 day before" is the
    morning of `due_day` itself, 15 hours before it, so it is mandatory.
    """
    # Most deadlines are far away: skip them by date before any time-zone arithmetic.
    wanted = _days_wanted(window, due_day, tuple(days_before))
    if not wanted:
        return
    for recipient in recipients:
        deadline = local_midnight(due_day + dt.timedelta(days=1), recipient.time_zone)
        for days in wanted:
            due_at = _morning(due_day - dt.timedelta(days=days - 1), recipient)
            if not window.wants(due_at):
                continue
            plan.add(
                PlannedReminder(
                    account_id=recipient.account_id,
                    kind=kind,
                    subject=subject,
                    dedupe_key=f"{subject}:{recipient.account_id}:d{days}",
                    due_at=due_at,
                    deadline=deadline,
                    urgent=deadline - due_at <= URGENT_WITHIN,
                    soft=days in soft_days,
                    payload={**payload, "days": days, "due_day": due_day.isoformat()},
                )
            )


def overdue_reminders(
    plan: Plan,
    window: Window,
    *,
    kind: ReminderKind,
    subject: str,
    recipients: Iterable[Recipient],
    admins: Iterable[Recipient],
    due_day: dt.date,
    escalate_after_days: int,
    payload: dict[str, Any],
) -> None:
    """The day after a missed deadline tell those who had to act; later, tell their admin."""
    if not _overdue_wanted(window, due_day, escalate_after_days):
        return
    for recipient in recipients:
        due_at = _morning(due_day + dt.timedelta(days=1), recipient)
        if window.wants(due_at):
            plan.add(
                PlannedReminder(
                    account_id=recipient.account_id,
                    kind=kind,
                    subject=subject,
                    dedupe_key=f"{subject}:{recipient.account_id}:overdue",
                    due_at=due_at,
                    deadline=local_midnight(due_day + dt.timedelta(days=1), recipient.time_zone),
                    payload={**payload, "overdue": True, "due_day": due_day.isoformat()},
                )
            )
    for admin in admins:
        due_at = _morning(due_day + dt.timedelta(days=1 + escalate_after_days), admin)
        if window.wants(due_at):
            plan.add(
                PlannedReminder(
                    account_id=admin.account_id,
                    kind=ReminderKind.ESCALATION,
                    subject=subject,
                    dedupe_key=f"{subject}:{admin.account_id}:escalation",
                    due_at=due_at,
                    deadline=local_midnight(due_day + dt.timedelta(days=1), admin.time_zone),
                    payload={
                        **payload,
                        "about": kind.value,
                        "due_day": due_day.isoformat(),
                        "days_overdue": escalate_after_days,
                    },
                )
            )


# ---- the rules of the issue ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainingFact:
    """A scheduled training and who is coming (invitees who did not decline)."""

    id: int
    starts_at: dt.datetime
    cancelled: bool
    attendees: tuple[Recipient, ...]
    declined: tuple[int, ...] = ()


TRAINING_LEADS = ((dt.timedelta(hours=24), "24h"), (dt.timedelta(hours=1), "1h"))


def plan_training(plan: Plan, window: Window, training: TrainingFact) -> None:
    """24 hours and 1 hour before a training, to every invitee who has not declined."""
    subject = f"trn:{training.id}"
    if training.cancelled:
        plan.cancel(subject)
        return
    for account_id in training.declined:
        plan.cancel(subject, account_id)
    for recipient in training.attendees:
        for lead, label in TRAINING_LEADS:
            due_at = training.starts_at - lead
            # Never after the training started, even within the catch-up window.
            if not window.wants(due_at) or training.starts_at <= window.now:
                continue
            plan.add(
                PlannedReminder(
                    account_id=recipient.account_id,
                    kind=ReminderKind.TRAINING,
                    subject=subject,
                    dedupe_key=f"{subject}:{recipient.account_id}:{label}",
                    due_at=due_at,
                    deadline=training.starts_at,
                    # An hour's notice would be pointless after quiet hours end.
                    urgent=lead <= dt.timedelta(hours=1),
                    payload={"training_id": training.id, "lead": label},
                )
            )


CALENDAR_DAYS = (7, 1)


@functools.lru_cache(maxsize=1024)
def _period_key(period: Period) -> str:
    return period.key


@dataclass(frozen=True, slots=True)
class ObligationFact:
    """One calendar obligation of a branch, as bot.rules.calendar judged it."""

    branch_id: int
    status: ObligationStatus
    secretaries: tuple[Recipient, ...]
    admins: tuple[Recipient, ...]


def plan_obligation(
    plan: Plan, window: Window, fact: ObligationFact, *, escalate_after_days: int
) -> None:
    """7 days and 1 day before a period ends while not done; overdue the day after; escalate."""
    status = fact.status
    period = status.period
    state = status.state
    # Far from the period's end nothing is due yet: decide that before building any strings.
    if state is ObligationState.DUE and not _days_wanted(window, period.end, CALENDAR_DAYS):
        return
    if state is ObligationState.OVERDUE and not _overdue_wanted(
        window, period.end, escalate_after_days
    ):
        return
    subject = f"cal:{fact.branch_id}:{status.rule.key}:{_period_key(period)}"
    if state is ObligationState.DONE:
        plan.cancel(subject)
        return
    payload = {"branch_id": fact.branch_id, "rule": status.rule.key, "period": _period_key(period)}
    if status.state is ObligationState.DUE:
        deadline_reminders(
            plan,
            window,
            kind=ReminderKind.CALENDAR,
            subject=subject,
            recipients=fact.secretaries,
            due_day=period.end,
            days_before=CALENDAR_DAYS,
            payload=payload,
            soft_days=frozenset({7}),
        )
    elif status.state is ObligationState.OVERDUE:
        overdue_reminders(
            plan,
            window,
            kind=ReminderKind.CALENDAR,
            subject=subject,
            recipients=fact.secretaries,
            admins=fact.admins,
            due_day=period.end,
            escalate_after_days=escalate_after_days,
            payload=payload,
        )


@dataclass(frozen=True, slots=True)
class InductionFact:
    """A secretary appointed on `appointed_on` who has or has not done induction training."""

    person_id: int
    branch_id: int
    secretary: Recipient
    admins: tuple[Recipient, ...]
    appointed_on: dt.date
    done: bool


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def plan_induction(
    plan: Plan, window: Window, fact: InductionFact, *, months: int, escalate_after_days: int
) -> None:
    """Induction within `months` of appointment: 30, 7 and 1 days before; escalate when missed."""
    subject = f"ind:{fact.person_id}:{fact.appointed_on.isoformat()}"
    if fact.done:
        plan.cancel(subject)
        return
    # "Within six months": the last allowed day is the day before the six-month anniversary.
    due_day = add_months(fact.appointed_on, months) - dt.timedelta(days=1)
    payload = {"branch_id": fact.branch_id, "person_id": fact.person_id}
    deadline_reminders(
        plan,
        window,
        kind=ReminderKind.INDUCTION,
        subject=subject,
        recipients=(fact.secretary,),
        due_day=due_day,
        days_before=(30, 7, 1),
        payload=payload,
    )
    overdue_reminders(
        plan,
        window,
        kind=ReminderKind.INDUCTION,
        subject=subject,
        recipients=(fact.secretary,),
        admins=fact.admins,
        due_day=due_day,
        escalate_after_days=0,
        payload=payload,
    )
    del escalate_after_days  # induction escalates the day after: the deadline is long known


@dataclass(frozen=True, slots=True)
class TermFact:
    """A branch's current term."""

    branch_id: int
    started_on: dt.date
    years: int
    recipients: tuple[Recipient, ...]


TERM_WARNINGS = ((6, "6m"), (2, "2m"))


def plan_term(plan: Plan, window: Window, fact: TermFact) -> None:
    """Warnings 6 and 2 months before the branch's term ends (the election is due)."""
    ends_on = add_months(fact.started_on, 12 * fact.years)
    subject = f"term:{fact.branch_id}:{ends_on.isoformat()}"
    for months, label in TERM_WARNINGS:
        day = add_months(ends_on, -months)
        for recipient in fact.recipients:
            due_at = _morning(day, recipient)
            if not window.wants(due_at):
                continue
            plan.add(
                PlannedReminder(
                    account_id=recipient.account_id,
                    kind=ReminderKind.TERM,
                    subject=subject,
                    dedupe_key=f"{subject}:{recipient.account_id}:{label}",
                    due_at=due_at,
                    deadline=local_midnight(ends_on, recipient.time_zone),
                    payload={
                        "branch_id": fact.branch_id,
                        "ends_on": ends_on.isoformat(),
                        "months": months,
                    },
                )
            )


@dataclass(frozen=True, slots=True)
class DeadlineFact:
    """Any dated task still open for some people (grading, rectification, mobile report)."""

    kind: ReminderKind
    subject: str
    due_day: dt.date
    recipients: tuple[Recipient, ...]
    payload: dict[str, Any]
    done: bool = False
    days_before: tuple[int, ...] = (7, 1)
    # False where nothing can be done after the deadline (a survey closes).
    overdue: bool = True


def plan_deadline(plan: Plan, window: Window, fact: DeadlineFact) -> None:
    """7 days and 1 day before, and the day after if still open."""
    if fact.done or not fact.recipients:
        plan.cancel(fact.subject)
        return
    deadline_reminders(
        plan,
        window,
        kind=fact.kind,
        subject=fact.subject,
        recipients=fact.recipients,
        due_day=fact.due_day,
        days_before=fact.days_before,
        payload=fact.payload,
    )
    if not fact.overdue:
        return
    overdue_reminders(
        plan,
        window,
        kind=fact.kind,
        subject=fact.subject,
        recipients=fact.recipients,
        admins=(),
        due_day=fact.due_day,
        escalate_after_days=0,
        payload=fact.payload,
    )


@dataclass(frozen=True, slots=True)
class DigestReader:
    """A secretary who gets the weekly digest, on their weekday and hour."""

    recipient: Recipient
    weekday: int
    hour: int


def next_digest(reader: DigestReader, now: dt.datetime) -> dt.datetime:
    """The reader's next digest moment at or after `now` (their weekday and hour, local)."""
    zone = zoneinfo.ZoneInfo(reader.recipient.time_zone)
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    day = monday + dt.timedelta(days=reader.weekday - 1)
    this_week = local_moment(day, reader.hour, reader.recipient.time_zone)
    return this_week if this_week >= now else this_week + dt.timedelta(days=7)


def plan_digest(plan: Plan, window: Window, reader: DigestReader) -> None:
    """This week's digest (or next week's, once this week's moment passed and was planned)."""
    account_id = reader.recipient.account_id
    upcoming = next_digest(reader, window.now)
    for due_at in (upcoming - dt.timedelta(days=7), upcoming):
        # A digest is about "this week": one never planned in time is not worth sending late.
        if not window.wants(due_at) or due_at < window.now - DIGEST_LATE:
            continue
        zone = zoneinfo.ZoneInfo(reader.recipient.time_zone)
        year, week, _ = due_at.astimezone(zone).isocalendar()
        subject = f"dig:{account_id}"
        plan.add(
            PlannedReminder(
                account_id=account_id,
                kind=ReminderKind.DIGEST,
                subject=subject,
                dedupe_key=f"{subject}:{year}-W{week:02d}",
                due_at=due_at,
                payload={},
            )
        )
