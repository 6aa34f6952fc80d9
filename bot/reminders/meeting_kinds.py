"""Pure planning rules of meetings and of a branch's own calendar dates.

* A meeting called with /meet: 24 hours before, those who have not answered (or said "later");
  one hour before, those coming; when sign-in closes, the caller's "log this meeting?" unless
  it is logged. A moved meeting is planned anew (the start is in every key); a cancelled one
  withdraws everything still pending.
* The organisational life meeting's preparation: from the rule's month (November by default)
  the first step not marked done is reminded every two weeks, and the morning after the one
  before it is marked done; all of it ends once the meeting is logged.
* The themed Party day on the day of the month the branch chose: 3 days before, unless the
  month's themed Party day is logged already.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.enums import PreparationStep, ReminderKind
from bot.reminders.payloads import (
    MeetingEvent,
    MeetingPayload,
    PreparationPayload,
    ThemedDayPayload,
)
from bot.reminders.planner import (
    Plan,
    PlannedReminder,
    Recipient,
    Window,
    local_midnight,
    morning,
)
from bot.rules.meetings import ASK_LEAD, SOON_LEAD, sign_in_closes

PREPARATION_EVERY = dt.timedelta(days=14)
THEMED_DAY_LEAD = 3


@dataclass(frozen=True, slots=True)
class MeetingFact:
    """A meeting and where its invitees stand.

    `called_at` is when it was called or last moved: nothing is planned for a moment before
    it (a meeting called this morning for tonight has no "24 hours before").
    """

    id: int
    starts_at: dt.datetime
    called_at: dt.datetime
    cancelled: bool
    logged: bool
    unanswered: tuple[Recipient, ...]
    attending: tuple[Recipient, ...]
    answered: tuple[int, ...] = ()
    declined: tuple[int, ...] = ()
    caller: Recipient | None = None


def meeting_subject(meeting_id: int, what: str) -> str:
    """The subject of a meeting's reminders of one kind (ask, soon, log, news)."""
    return f"meet:{meeting_id}:{what}"


def plan_meeting(plan: Plan, window: Window, fact: MeetingFact) -> None:
    """The reminders before a meeting and the caller's prompt to log it."""
    ask, soon, log = (meeting_subject(fact.id, what) for what in ("ask", "soon", "log"))
    if fact.cancelled:
        for subject in (ask, soon, log):
            plan.cancel(subject)
        return
    for account_id in fact.answered:
        plan.cancel(ask, account_id)
    for account_id in fact.declined:
        plan.cancel(soon, account_id)
    stamp = int(fact.starts_at.timestamp())
    reminders: tuple[tuple[str, MeetingEvent, dt.timedelta, tuple[Recipient, ...]], ...] = (
        (ask, "ask", ASK_LEAD, fact.unanswered),
        (soon, "soon", SOON_LEAD, fact.attending),
    )
    for subject, event, lead, recipients in reminders:
        due_at = fact.starts_at - lead
        if due_at < fact.called_at or not window.wants(due_at) or fact.starts_at <= window.now:
            continue
        for recipient in recipients:
            plan.add(
                PlannedReminder(
                    account_id=recipient.account_id,
                    kind=ReminderKind.MEETING,
                    subject=subject,
                    dedupe_key=f"{subject}:{recipient.account_id}:{stamp}",
                    due_at=due_at,
                    deadline=fact.starts_at,
                    payload=MeetingPayload(
                        meeting_id=fact.id, event=event, starts_at=fact.starts_at
                    ),
                )
            )
    if fact.logged:
        plan.cancel(log)
        return
    over = sign_in_closes(fact.starts_at)
    if fact.caller is not None and window.wants(over):
        plan.add(
            PlannedReminder(
                account_id=fact.caller.account_id,
                kind=ReminderKind.MEETING_NEWS,
                subject=log,
                dedupe_key=f"{log}:{fact.caller.account_id}:{stamp}",
                due_at=over,
                payload=MeetingPayload(meeting_id=fact.id, event="log", starts_at=fact.starts_at),
            )
        )


@dataclass(frozen=True, slots=True)
class PreparationFact:
    """A branch's preparation of the year's organisational life meeting."""

    branch_id: int
    year: int
    # The first day steps are reminded (1 November by default).
    start: dt.date
    done: dict[PreparationStep, dt.date]
    meeting_logged: bool
    recipients: tuple[Recipient, ...]


def preparation_subject(branch_id: int, year: int, step: PreparationStep) -> str:
    """The subject of one preparation step's reminders."""
    return f"prep:{branch_id}:{year}:{step.value}"


def _reminder_days(fact: PreparationFact, step: PreparationStep) -> list[dt.date]:
    year_end = dt.date(fact.year, 12, 31)
    days = []
    day = fact.start
    while day <= year_end:
        days.append(day)
        day += PREPARATION_EVERY
    steps = list(PreparationStep)
    index = steps.index(step)
    before = fact.done.get(steps[index - 1]) if index else None
    if before is not None:
        # A step is reminded from the morning after the one before it was done, not earlier.
        days = [day for day in days if day > before]
        if before < year_end:
            days.append(before + dt.timedelta(days=1))
    return sorted(set(days))


def plan_preparation(plan: Plan, window: Window, fact: PreparationFact) -> None:
    """Remind the first step not marked done; nothing more once the meeting is logged."""
    steps = list(PreparationStep)
    if fact.meeting_logged:
        for step in steps:
            plan.cancel(preparation_subject(fact.branch_id, fact.year, step))
        return
    for step in steps:
        subject = preparation_subject(fact.branch_id, fact.year, step)
        if step in fact.done:
            plan.cancel(subject)
            continue
        year_end = dt.date(fact.year, 12, 31)
        for day in _reminder_days(fact, step):
            for recipient in fact.recipients:
                due_at = morning(day, recipient)
                if not window.wants(due_at):
                    continue
                plan.add(
                    PlannedReminder(
                        account_id=recipient.account_id,
                        kind=ReminderKind.PREPARATION,
                        subject=subject,
                        dedupe_key=f"{subject}:{recipient.account_id}:{day.isoformat()}",
                        due_at=due_at,
                        deadline=local_midnight(
                            year_end + dt.timedelta(days=1), recipient.time_zone
                        ),
                        payload=PreparationPayload(
                            branch_id=fact.branch_id,
                            year=fact.year,
                            step=step,
                            due_day=year_end,
                        ),
                    )
                )
        # Only the first step still open is reminded: the rest follow in order.
        return


@dataclass(frozen=True, slots=True)
class ThemedDayFact:
    """The themed Party day a branch holds on a fixed day of the month."""

    branch_id: int
    day: dt.date
    done: bool
    recipients: tuple[Recipient, ...]


def plan_themed_day(plan: Plan, window: Window, fact: ThemedDayFact) -> None:
    """3 days before the branch's themed Party day, unless this month's is logged."""
    subject = f"tpd:{fact.branch_id}:{fact.day.strftime('%Y-%m')}"
    if fact.done:
        plan.cancel(subject)
        return
    remind_on = fact.day - dt.timedelta(days=THEMED_DAY_LEAD)
    for recipient in fact.recipients:
        due_at = morning(remind_on, recipient)
        if not window.wants(due_at):
            continue
        plan.add(
            PlannedReminder(
                account_id=recipient.account_id,
                kind=ReminderKind.THEMED_DAY,
                subject=subject,
                dedupe_key=f"{subject}:{recipient.account_id}:d{THEMED_DAY_LEAD}",
                due_at=due_at,
                deadline=local_midnight(fact.day + dt.timedelta(days=1), recipient.time_zone),
                payload=ThemedDayPayload(branch_id=fact.branch_id, day=fact.day),
            )
        )
