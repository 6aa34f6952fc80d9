"""Pure per-kind planning rules: facts about trainings, obligations and deadlines in, rows out.

Each `plan_*` adds to a `Plan` (bot.reminders.planner) what one fact wants in the reminders
table, with its typed payload (bot.reminders.payloads), and cancels what it no longer wants.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass
from typing import Literal

from bot.enums import ReminderKind
from bot.reminders.payloads import (
    CalendarPayload,
    Deadline,
    DigestPayload,
    EscalationPayload,
    InductionPayload,
    TermPayload,
    TrainingPayload,
)
from bot.reminders.planner import (
    DIGEST_LATE,
    Plan,
    PlannedReminder,
    Recipient,
    Window,
    add_months,
    days_wanted,
    deadline_reminders,
    local_midnight,
    morning,
    overdue_reminders,
    overdue_wanted,
)
from bot.reminders.quiet import local_moment
from bot.rules.calendar import ObligationState, ObligationStatus, Period


@dataclass(frozen=True, slots=True)
class TrainingFact:
    """A scheduled training and who is coming (invitees who did not decline)."""

    id: int
    starts_at: dt.datetime
    cancelled: bool
    attendees: tuple[Recipient, ...]
    declined: tuple[int, ...] = ()
    # When it was scheduled: a lead that had passed by then is left out (the invitation went
    # out at that moment; "training tomorrow" on the day itself would be wrong).
    scheduled_at: dt.datetime | None = None


TRAINING_LEADS: tuple[tuple[dt.timedelta, Literal["24h", "1h"]], ...] = (
    (dt.timedelta(hours=24), "24h"),
    (dt.timedelta(hours=1), "1h"),
)


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
            if training.scheduled_at is not None and due_at < training.scheduled_at:
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
                    payload=TrainingPayload(training_id=training.id, lead=label),
                )
            )


# Lead days within the week before a deadline go to the weekly digest of those who read one.
DIGEST_WEEK = 7


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
    # Deputies get the branch's calendar reminders too (unless they opted out); they read no
    # digest, so nothing of theirs is left to one.
    deputies: tuple[Recipient, ...] = ()


def plan_obligation(
    plan: Plan, window: Window, fact: ObligationFact, *, escalate_after_days: int
) -> None:
    """The rule's lead days before a period ends while not done (those within the last week
    left to the digest of its readers); overdue the day after; escalate."""
    status = fact.status
    period = status.period
    state = status.state
    leads = status.rule.leads()
    # Far from the period's end nothing is due yet: decide that before building any strings.
    if state is ObligationState.DUE and not days_wanted(window, period.end, leads):
        return
    if state is ObligationState.OVERDUE and not overdue_wanted(
        window, period.end, escalate_after_days
    ):
        return
    subject = f"cal:{fact.branch_id}:{status.rule.key}:{_period_key(period)}"
    if state is ObligationState.DONE:
        plan.cancel(subject)
        return
    payload = CalendarPayload(
        branch_id=fact.branch_id, rule=status.rule.key, period=_period_key(period)
    )
    if status.state is ObligationState.DUE:
        deadline_reminders(
            plan,
            window,
            kind=ReminderKind.CALENDAR,
            subject=subject,
            recipients=fact.secretaries,
            due_day=period.end,
            days_before=leads,
            payload=payload,
            soft_days=frozenset(d for d in leads if 1 < d <= DIGEST_WEEK),
        )
        deadline_reminders(
            plan,
            window,
            kind=ReminderKind.CALENDAR,
            subject=subject,
            recipients=fact.deputies,
            due_day=period.end,
            days_before=leads,
            payload=payload,
        )
    elif status.state is ObligationState.OVERDUE:
        overdue_reminders(
            plan,
            window,
            kind=ReminderKind.CALENDAR,
            subject=subject,
            recipients=fact.secretaries + fact.deputies,
            due_day=period.end,
            payload=payload,
            escalation=EscalationPayload(
                about=ReminderKind.CALENDAR,
                branch_id=fact.branch_id,
                rule=payload.rule,
                period=payload.period,
                due_day=period.end,
                days_overdue=escalate_after_days,
            ),
            admins=fact.admins,
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
    payload = InductionPayload(branch_id=fact.branch_id, person_id=fact.person_id)
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
        due_day=due_day,
        payload=payload,
        # Induction escalates the day after, whatever escalate_after_days: the deadline is
        # six months old news.
        escalation=EscalationPayload(
            about=ReminderKind.INDUCTION,
            branch_id=fact.branch_id,
            person_id=fact.person_id,
            due_day=due_day,
            days_overdue=0,
        ),
        admins=fact.admins,
    )
    del escalate_after_days


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
            due_at = morning(day, recipient)
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
                    payload=TermPayload(branch_id=fact.branch_id, ends_on=ends_on, months=months),
                )
            )


@dataclass(frozen=True, slots=True)
class DeadlineFact:
    """Any dated task still open for some people (grading, rectification, mobile report)."""

    kind: ReminderKind
    subject: str
    due_day: dt.date
    recipients: tuple[Recipient, ...]
    payload: Deadline
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
        due_day=fact.due_day,
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
                payload=DigestPayload(),
            )
        )
