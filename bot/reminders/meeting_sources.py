"""Planning over the database for meetings and a branch's own calendar dates: load the facts
the rules of bot.reminders.meeting_kinds need and add what they want to the plan."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.compliance import RuleBook, rule_book
from bot.config import Settings
from bot.enums import PreparationStep, Rsvp
from bot.reminders import meeting_kinds as mk
from bot.reminders import planner as p
from bot.rules.kinds import ActivityKind
from bot.rules.meetings import ASK_LEAD, ATTENDING, SIGN_IN_CLOSES, asked_the_day_before
from storage import calendar_queries as cq
from storage import meeting_queries as mq
from storage.tree import EVERY_BRANCH, BranchScope


def branch_leaders(
    secretaries: dict[int, list[p.Recipient]], deputies: dict[int, list[p.Recipient]], branch: int
) -> tuple[p.Recipient, ...]:
    """Who gets a branch's calendar reminders: its secretaries, and deputies who did not opt
    out."""
    return tuple(secretaries.get(branch, ())) + tuple(deputies.get(branch, ()))


class BranchPeople(Protocol):
    """Who leads the branches of a scope (bot.reminders.sources.People)."""

    branches: list[tuple[int, str]]
    by_branch: dict[int, list[p.Recipient]]
    deputies: dict[int, list[p.Recipient]]


async def plan_branch_meetings(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    people: BranchPeople,
    settings: Settings,
    scope: BranchScope,
) -> None:
    """The meetings and the branch's own calendar dates of the scope's branches (a change to
    them marks the branch: storage.planner_queries.mark_meeting, mark_branches)."""
    await plan_meetings(session, plan, window, people.by_branch, settings, scope)
    leaders = {
        bid: branch_leaders(people.by_branch, people.deputies, bid) for bid, _ in people.branches
    }
    await plan_branch_dates(session, plan, window, people.branches, leaders, settings, scope)


async def plan_meetings(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    secretaries: dict[int, list[p.Recipient]],
    settings: Settings,
    scope: BranchScope = EVERY_BRANCH,
) -> None:
    """Every meeting of the scope's branches whose reminders or log prompt can fall in the
    window."""
    meetings = await mq.meetings_between(
        session,
        window.now - window.catch_up - SIGN_IN_CLOSES,
        window.now + window.horizon + ASK_LEAD,
        scope,
    )
    if not meetings:
        return
    invited: dict[int, list[tuple[int, str | None, Rsvp | None]]] = defaultdict(list)
    for meeting_id, account_id, zone, rsvp in await mq.invitee_accounts(
        session, [m.id for m in meetings]
    ):
        invited[meeting_id].append((account_id, zone, rsvp))
    callers = await mq.leading_callers(session, [m.id for m in meetings])

    def recipient(account_id: int, zone: str | None) -> p.Recipient:
        return p.Recipient(account_id, zone or settings.timezone)

    for meeting in meetings:
        rows = invited[meeting.id]
        leaders = secretaries.get(meeting.branch_id, [])
        found = callers.get(meeting.id)
        caller = recipient(*found) if found is not None else None
        mk.plan_meeting(
            plan,
            window,
            mk.MeetingFact(
                id=meeting.id,
                starts_at=meeting.starts_at,
                called_at=meeting.moved_at or meeting.created_at,
                cancelled=meeting.cancelled_at is not None,
                logged=meeting.activity_id is not None,
                unanswered=tuple(recipient(a, z) for a, z, r in rows if asked_the_day_before(r)),
                attending=tuple(recipient(a, z) for a, z, r in rows if r in ATTENDING),
                answered=tuple(a for a, _, r in rows if not asked_the_day_before(r)),
                declined=tuple(a for a, _, r in rows if r is Rsvp.NO),
                # The one who called it logs it, if they lead the branch; else its secretary.
                caller=caller or (leaders[0] if leaders else None),
            ),
        )


async def plan_branch_dates(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    branches: list[tuple[int, str]],
    leaders: dict[int, tuple[p.Recipient, ...]],
    settings: Settings,
    scope: BranchScope = EVERY_BRANCH,
) -> None:
    """The life meeting's preparation steps and the themed Party days the branches (of the
    scope) chose."""
    today = window.now.astimezone(settings.tz).date()
    book = await rule_book(session)
    led = [(bid, path) for bid, path in branches if leaders.get(bid)]
    await _preparations(session, plan, window, led, leaders, book, today, scope)
    await _themed_days(session, plan, window, led, leaders, book, today, scope)


async def _preparations(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    branches: list[tuple[int, str]],
    leaders: dict[int, tuple[p.Recipient, ...]],
    book: RuleBook,
    today: dt.date,
    scope: BranchScope,
) -> None:
    starts: dict[int, dt.date] = {}
    for branch_id, path in branches:
        rule = next(r for r in book.rules_for(path) if r.kind is ActivityKind.LIFE_MEETING)
        if rule.enabled and rule.prepare_from is not None:
            start = dt.date(today.year, rule.prepare_from, 1)
            if window.may_want(start) or start <= today:
                starts[branch_id] = start
    if not starts:
        return
    year = today.year
    done = await cq.preparation_done(session, year=year, scope=scope)
    logged = await cq.branches_that_logged(
        session,
        ActivityKind.LIFE_MEETING.value,
        start=dt.date(year, 1, 1),
        end=dt.date(year, 12, 31),
        scope=scope,
    )
    for branch_id, start in starts.items():
        steps: dict[PreparationStep, dt.date] = done.get(branch_id, {})
        mk.plan_preparation(
            plan,
            window,
            mk.PreparationFact(
                branch_id=branch_id,
                year=year,
                start=start,
                done=steps,
                meeting_logged=branch_id in logged,
                recipients=leaders[branch_id],
            ),
        )


async def _themed_days(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    branches: list[tuple[int, str]],
    leaders: dict[int, tuple[p.Recipient, ...]],
    book: RuleBook,
    today: dt.date,
    scope: BranchScope,
) -> None:
    chosen = await cq.themed_days(session, scope)
    if not chosen:
        return
    this_month = today.replace(day=1)
    next_month = p.add_months(this_month, 1)
    for month in (this_month, next_month):
        end = p.add_months(month, 1) - dt.timedelta(days=1)
        logged = await cq.branches_that_logged(
            session, ActivityKind.THEMED_DAY.value, start=month, end=end, scope=scope
        )
        for branch_id, path in branches:
            day_of_month = chosen.get(branch_id)
            if day_of_month is None:
                continue
            rule = next(r for r in book.rules_for(path) if r.kind is ActivityKind.THEMED_DAY)
            if not rule.enabled:
                continue
            mk.plan_themed_day(
                plan,
                window,
                mk.ThemedDayFact(
                    branch_id=branch_id,
                    day=month.replace(day=day_of_month),
                    done=branch_id in logged,
                    recipients=leaders[branch_id],
                ),
            )
