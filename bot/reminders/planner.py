"""Pure planning core: the rows a plan holds, the window worth planning, deadline moments.

The rules per kind (trainings, calendar obligations, induction, terms, other deadlines, the
digest) are in bot.reminders.kinds; they add rows to a Plan with the helpers here.

Every reminder gets a dedupe key naming its recipient, subject and moment, so planning the same
facts again (every few minutes, after a restart, in two processes at once) inserts nothing new.
A moment that passed longer ago than the catch-up window is not planned: a bot deployed in
December does not nag about September. Moments up to the horizon (two days) ahead are planned
early, so a planning run that is late or fails now and then loses nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from bot.enums import ReminderKind
from bot.reminders.payloads import Deadline, DigestPayload, EscalationPayload, Payload
from bot.reminders.quiet import local_moment

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


# Not frozen: a year-end pass over a province builds 800,000 of these, and a frozen dataclass's
# __init__ sets each field through object.__setattr__ (twice the cost). Nothing hashes them.
@dataclass(slots=True)
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
    payload: Payload = field(default_factory=DigestPayload)

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
            "payload": self.payload.to_json(),
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
    # The window's bounds as instants, worked out once: `wants` is asked millions of times.
    start: dt.datetime = field(init=False, repr=False)
    end: dt.datetime = field(init=False, repr=False)
    # What the helpers below worked out for this window (the same deadlines and time zones
    # recur in every branch of a pass); not part of what the window is.
    memo: dict[Any, Any] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_day", (self.now - self.catch_up).date() - ONE_DAY)
        object.__setattr__(self, "last_day", (self.now + self.horizon).date() + ONE_DAY)
        object.__setattr__(self, "start", self.now - self.catch_up)
        object.__setattr__(self, "end", self.now + self.horizon)

    def wants(self, moment: dt.datetime) -> bool:
        """True when a reminder at `moment` should be in the table now."""
        return self.start <= moment <= self.end

    def may_want(self, day: dt.date) -> bool:
        """False when no moment on `day`, in any time zone, can be wanted."""
        return self.first_day <= day <= self.last_day


def days_wanted(window: Window, due_day: dt.date, days_before: tuple[int, ...]) -> tuple[int, ...]:
    """Which of `days_before` fall on a day the window may want (a cheap date pre-check)."""
    key = ("days", due_day, days_before)
    found: tuple[int, ...] | None = window.memo.get(key)
    if found is None:
        found = window.memo[key] = tuple(
            d for d in days_before if window.may_want(due_day - dt.timedelta(days=d - 1))
        )
    return found


def overdue_wanted(window: Window, due_day: dt.date, escalate_after_days: int) -> bool:
    """Whether the day after `due_day`, or the escalation's day, may be wanted."""
    key = ("overdue", due_day, escalate_after_days)
    found: bool | None = window.memo.get(key)
    if found is None:
        found = window.memo[key] = window.may_want(due_day + ONE_DAY) or window.may_want(
            due_day + dt.timedelta(days=1 + escalate_after_days)
        )
    return found


def local_midnight(day: dt.date, time_zone: str) -> dt.datetime:
    """The instant a local day begins (the deadline "before `day`")."""
    return local_moment(day, 0, time_zone)


def morning(day: dt.date, recipient: Recipient) -> dt.datetime:
    """9:00 on a day in the recipient's time zone (when reminders about a day arrive)."""
    return local_moment(day, MORNING_HOUR, recipient.time_zone)


D = TypeVar("D", bound=Deadline)


class _Moment(NamedTuple):
    """One reminder of a deadline's series, as it falls in one time zone."""

    days: int
    due_at: dt.datetime
    deadline: dt.datetime
    urgent: bool
    soft: bool


def _series(
    window: Window,
    due_day: dt.date,
    wanted: tuple[int, ...],
    soft_days: frozenset[int],
    time_zone: str,
) -> tuple[_Moment, ...]:
    """The reminders of a deadline the window wants for a recipient in `time_zone`.

    The same for every recipient in that zone, so worked out once per window (a pass asks for
    the same period's end in every branch)."""
    key = ("series", due_day, wanted, soft_days, time_zone)
    found: tuple[_Moment, ...] | None = window.memo.get(key)
    if found is not None:
        return found
    deadline = local_midnight(due_day + ONE_DAY, time_zone)
    moments = [
        (d, local_moment(due_day - dt.timedelta(days=d - 1), MORNING_HOUR, time_zone))
        for d in wanted
    ]
    # Of the reminders whose time has passed (a restart after an outage catches up on
    # them), only the latest is wanted: the earlier ones say less, and would arrive at
    # once as a series of nags. A bot that was running sent each in its time.
    latest_past = max((m for _, m in moments if m <= window.now), default=None)
    # A past digest-only reminder is not wanted either when a later one of the series is
    # already in the window: it would only list, late, what that one is about to say.
    coming = any(window.now < m <= window.end for _, m in moments)
    series = []
    for days, due_at in moments:
        if not window.wants(due_at) or (latest_past is not None and due_at < latest_past):
            continue
        if due_at <= window.now and coming and days in soft_days:
            continue
        series.append(
            _Moment(days, due_at, deadline, deadline - due_at <= URGENT_WITHIN, days in soft_days)
        )
    found = window.memo[key] = tuple(series)
    return found


def deadline_reminders(
    plan: Plan,
    window: Window,
    *,
    kind: ReminderKind,
    subject: str,
    recipients: Iterable[Recipient],
    due_day: dt.date,
    days_before: Sequence[int],
    payload: D,
    soft_days: frozenset[int] = frozenset(),
) -> None:
    """Reminders `days_before` a deadline at the end of `due_day`, each at 9:00 local time.

    The deadline is the recipient's local midnight after `due_day`; "1 day before" is the
    morning of `due_day` itself, 15 hours before it, so it is mandatory.
    """
    # Most deadlines are far away: skip them by date before any time-zone arithmetic.
    wanted = days_wanted(window, due_day, tuple(days_before))
    if not wanted:
        return
    # One payload per lead day, shared by the recipients (they are immutable).
    payloads: dict[int, D] = {}
    for recipient in recipients:
        for moment in _series(window, due_day, wanted, soft_days, recipient.time_zone):
            days = moment.days
            said = payloads.get(days)
            if said is None:
                said = payloads[days] = dataclasses.replace(payload, days=days, due_day=due_day)
            plan.add(
                PlannedReminder(
                    account_id=recipient.account_id,
                    kind=kind,
                    subject=subject,
                    dedupe_key=f"{subject}:{recipient.account_id}:d{days}",
                    due_at=moment.due_at,
                    deadline=moment.deadline,
                    urgent=moment.urgent,
                    soft=moment.soft,
                    payload=said,
                )
            )


def overdue_reminders(
    plan: Plan,
    window: Window,
    *,
    kind: ReminderKind,
    subject: str,
    recipients: Iterable[Recipient],
    due_day: dt.date,
    payload: D,
    escalation: EscalationPayload | None = None,
    admins: Iterable[Recipient] = (),
) -> None:
    """The day after a missed deadline tell those who had to act; with an escalation, tell
    their admins `escalation.days_overdue` days later."""
    escalate_after_days = escalation.days_overdue if escalation is not None else 0
    if not overdue_wanted(window, due_day, escalate_after_days):
        return
    for recipient in recipients:
        due_at = morning(due_day + dt.timedelta(days=1), recipient)
        if window.wants(due_at):
            plan.add(
                PlannedReminder(
                    account_id=recipient.account_id,
                    kind=kind,
                    subject=subject,
                    dedupe_key=f"{subject}:{recipient.account_id}:overdue",
                    due_at=due_at,
                    deadline=local_midnight(due_day + dt.timedelta(days=1), recipient.time_zone),
                    payload=dataclasses.replace(payload, overdue=True, due_day=due_day),
                )
            )
    if escalation is None:
        return
    for admin in admins:
        due_at = morning(due_day + dt.timedelta(days=1 + escalate_after_days), admin)
        if window.wants(due_at):
            plan.add(
                PlannedReminder(
                    account_id=admin.account_id,
                    kind=ReminderKind.ESCALATION,
                    subject=subject,
                    dedupe_key=f"{subject}:{admin.account_id}:escalation",
                    due_at=due_at,
                    deadline=local_midnight(due_day + dt.timedelta(days=1), admin.time_zone),
                    payload=escalation,
                )
            )


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
