"""What the reminder planner adds for Party dues, lapses and the lost-contact register.

- Members: on their branch's collection day (every month; the quarter's first month where the
  branch collects quarterly), 9:00 in their time zone, unless the month is already paid;
  withdrawn if they pay before it goes out. Muteable (`dues` in /reminders).
- Leaders: the `dues` calendar rule, like the activity calendar's obligations: 7 days before
  the period ends (in the weekly digest), on its last day, and the day after when the
  collection is still incomplete.
- Lapse warnings: the secretary once per episode at ZHIBU_LAPSE_WARN_MONTHS, the nearest
  admins once at ZHIBU_LAPSE_ESCALATE_MONTHS; withdrawn if the member takes part or pays
  before they go out.
- The lost-contact register: six months after the loss date, then every year, the branch's
  secretary and the nearest admins are reminded to decide.

Every row has a dedupe key (planning again inserts nothing new); nothing here changes a status.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.compliance import RuleBook, rule_book
from bot.config import Settings
from bot.dues.lapse import lapse_scan
from bot.dues.local import LocalBook, local_book, period_of
from bot.enums import ReminderKind
from bot.reminders import planner as p
from bot.reminders.payloads import (
    DuesCollectionPayload,
    DuesPayload,
    LapsePayload,
    LostContactPayload,
)
from bot.rules.calendar import PeriodKind, period_containing
from bot.rules.dues import (
    Month,
    collects_in,
    first_day,
    last_day,
    month_key,
    month_of,
    parse_month,
    period_months,
)
from bot.rules.lapse import Level
from storage import dues_planning_queries as dpq
from storage import dues_queries as dq
from storage import dues_reports as dr

if TYPE_CHECKING:
    from bot.reminders.sources import People

# A collection-day reminder more than a day late is not sent: next month's will come.
MEMBER_CATCH_UP = dt.timedelta(days=1)
COLLECTION_DAYS = (7, 1)
LOST_CONTACT_FIRST_MONTHS = 6
LOST_CONTACT_EVERY_MONTHS = 12


async def plan_dues(
    session: AsyncSession, plan: p.Plan, window: p.Window, people: People, settings: Settings
) -> None:
    """Add the dues, lapse and lost-contact reminders the facts call for, and withdraw those
    no longer wanted."""
    today = window.now.astimezone(settings.tz).date()
    book = await rule_book(session)
    local = await local_book(session, settings)
    paths = dict(people.branches)
    await _members(session, plan, window, book, local, paths, settings, today)
    await _collections(session, plan, window, people, book, paths, today)
    await _lapses(session, plan, window, people, settings, today)
    await _lost_contact(session, plan, window, people, today)


def _period_key(month: Month, period: PeriodKind) -> str:
    return period_containing(period, first_day(month)).key


async def _members(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    book: RuleBook,
    local: LocalBook,
    paths: dict[int, str],
    settings: Settings,
    today: dt.date,
) -> None:
    days_by_month: dict[Month, list[int]] = defaultdict(list)
    for offset in range(-1, 3):
        day = today + dt.timedelta(days=offset)
        days_by_month[month_of(day)].append(day.day)
    for month, days in days_by_month.items():
        rows = await dr.unpaid_members(
            session,
            month=month,
            key=month_key(month),
            days=days,
            default_day=settings.dues_collection_day,
        )
        for row in rows:
            period = period_of(book, paths.get(row.branch_id, "/"))
            if not collects_in(month, period):
                continue
            recipient = p.Recipient(row.account_id, row.time_zone or settings.timezone)
            collection_day = first_day(month).replace(day=local.dues_day(row.branch_id))
            due_at = p.morning(collection_day, recipient)
            if not window.wants(due_at) or due_at < window.now - MEMBER_CATCH_UP:
                continue
            period_end = last_day(period_months(month, period)[-1])
            subject = f"dues:{row.person_id}:{month_key(month)}"
            plan.add(
                p.PlannedReminder(
                    account_id=row.account_id,
                    kind=ReminderKind.DUES,
                    subject=subject,
                    dedupe_key=f"{subject}:{row.account_id}",
                    due_at=due_at,
                    deadline=p.local_midnight(period_end + p.ONE_DAY, recipient.time_zone),
                    payload=DuesPayload(
                        branch_id=row.branch_id,
                        person_id=row.person_id,
                        month=month_key(month),
                        amount_fen=row.amount_fen,
                        months_owed=max(0, row.months_owed_before),
                        due_day=period_end,
                    ),
                )
            )
    await _withdraw_paid(session, plan)


async def _withdraw_paid(session: AsyncSession, plan: p.Plan) -> None:
    """Members who paid since their reminder was planned are not reminded."""
    waiting: dict[tuple[int, Month], str] = {}
    for subject in await dpq.pending_subjects(session, ReminderKind.DUES):
        _, person_id, key = subject.split(":")
        month = parse_month(key)
        if person_id.isdigit() and month is not None:
            waiting[(int(person_id), month)] = subject
    if not waiting:
        return
    paid = await dq.paid_months(
        session, sorted({person for person, _ in waiting}), sorted({m for _, m in waiting})
    )
    for pair, waiting_subject in waiting.items():
        if pair in paid:
            plan.cancel(waiting_subject)


async def _collections(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    people: People,
    book: RuleBook,
    paths: dict[int, str],
    today: dt.date,
) -> None:
    """The branch's collection of the period as a calendar obligation of its leaders."""
    month = month_of(today)
    judged: dict[PeriodKind, list[tuple[list[Month], bool]]] = {}
    for period in (PeriodKind.MONTH, PeriodKind.QUARTER):
        current = period_months(month, period)
        previous = period_months(current[0] - 1, period)
        found = []
        if p.days_wanted(window, last_day(current[-1]), COLLECTION_DAYS):
            found.append((current, False))
        if window.may_want(last_day(previous[-1]) + p.ONE_DAY):
            found.append((previous, True))
        judged[period] = found
    counts: dict[Month, dict[int, int]] = {}
    needed = {m for found in judged.values() for period_months_, _ in found for m in period_months_}
    for needed_month in sorted(needed):
        counts[needed_month] = {
            row.branch_id: row.due_members - row.paid_members
            for row in await dr.collection_by_branch(session, subtree_path=None, month=needed_month)
        }
    for branch_id, secretaries in people.by_branch.items():
        period = period_of(book, paths.get(branch_id, "/"))
        for months, over in judged[period]:
            unpaid = sum(counts[m].get(branch_id, 0) for m in months)
            subject = f"dcol:{branch_id}:{_period_key(months[0], period)}"
            if unpaid == 0:
                plan.cancel(subject)
                continue
            payload = DuesCollectionPayload(
                branch_id=branch_id, period=_period_key(months[0], period), unpaid=unpaid
            )
            end = last_day(months[-1])
            if over:
                p.overdue_reminders(
                    plan,
                    window,
                    kind=ReminderKind.DUES_COLLECTION,
                    subject=subject,
                    recipients=secretaries,
                    due_day=end,
                    payload=payload,
                )
            else:
                p.deadline_reminders(
                    plan,
                    window,
                    kind=ReminderKind.DUES_COLLECTION,
                    subject=subject,
                    recipients=secretaries,
                    due_day=end,
                    days_before=COLLECTION_DAYS,
                    payload=payload,
                    soft_days=frozenset({7}),
                )


async def _lapses(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    people: People,
    settings: Settings,
    today: dt.date,
) -> None:
    wanted: set[str] = set()
    month_start = first_day(month_of(today))
    for lapse in await lapse_scan(session, settings, today):
        since = month_key(lapse.gap.since)
        subject = f"lapse:{lapse.person_id}:{since}"
        wanted.add(subject)
        payload = LapsePayload(
            branch_id=lapse.branch_id,
            person_id=lapse.person_id,
            since=since,
            months=lapse.gap.months,
            last_part=month_key(lapse.last_part) if lapse.last_part is not None else None,
            last_paid=month_key(lapse.last_paid) if lapse.last_paid is not None else None,
            mobile=lapse.mobile,
        )
        told = [(r, "w", payload) for r in people.by_branch.get(lapse.branch_id, ())]
        if lapse.level is Level.ADMIN:
            escalated = LapsePayload(**{**payload.to_json(), "escalated": True})
            told += [(r, "a", escalated) for r in people.admins_of(lapse.branch_path)]
        for recipient, label, what in told:
            plan.add(
                p.PlannedReminder(
                    account_id=recipient.account_id,
                    kind=ReminderKind.LAPSE,
                    subject=subject,
                    dedupe_key=f"{subject}:{recipient.account_id}:{label}",
                    # No deadline: a warning is told once, not listed again in the digest.
                    due_at=max(p.morning(month_start, recipient), window.now),
                    payload=what,
                )
            )
    for subject in await dpq.pending_subjects(session, ReminderKind.LAPSE):
        if subject not in wanted:
            plan.cancel(subject)


async def _lost_contact(
    session: AsyncSession, plan: p.Plan, window: p.Window, people: People, today: dt.date
) -> None:
    """Six months after a register row's loss date, then yearly: the branch and admin decide."""
    horizon = today + dt.timedelta(days=3)
    for timer in await dpq.register_timers(session):
        months = LOST_CONTACT_FIRST_MONTHS
        recipients = (
            *people.by_branch.get(timer.branch_id, ()),
            *people.admins_of(timer.branch_path),
        )
        while (mark := p.add_months(timer.lost_on, months)) <= horizon:
            if window.may_want(mark):
                subject = f"lost:{timer.entry_id}:{months}"
                for recipient in recipients:
                    due_at = p.morning(mark, recipient)
                    if not window.wants(due_at):
                        continue
                    plan.add(
                        p.PlannedReminder(
                            account_id=recipient.account_id,
                            kind=ReminderKind.LOST_CONTACT,
                            subject=subject,
                            dedupe_key=f"{subject}:{recipient.account_id}",
                            due_at=due_at,
                            deadline=p.local_midnight(mark + p.ONE_DAY, recipient.time_zone),
                            payload=LostContactPayload(
                                branch_id=timer.branch_id,
                                entry_id=timer.entry_id,
                                lost_on=timer.lost_on,
                                months=months,
                                person_id=timer.person_id,
                            ),
                        )
                    )
            months += LOST_CONTACT_EVERY_MONTHS
