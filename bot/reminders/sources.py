"""Planning over the database: load the facts each rule needs, run the rules, store the plan.

The rules about branches (calendar obligations, inductions, terms, grading deadlines, members'
surveys, rectification, the secretaries' digests) run over a scope of branches, so a pass can
cover a slice of the province, or only the branches a change affected, with the facts of those
branches alone (bot.reminders.passes decides which). Trainings and mobile members' reports are
planned on their own (`plan_others`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.compliance import earliest_windows, path_ids, rule_book, year_bounds
from bot.config import Settings
from bot.dues.planning import plan_dues
from bot.enums import BranchCategory, ReminderKind, Role
from bot.reminders import kinds as k
from bot.reminders import meeting_sources as ms
from bot.reminders import planner as p
from bot.reminders.facts import ActivityFacts
from bot.reminders.payloads import GradingPayload, MobileReportPayload, RectificationPayload
from bot.rules.calendar import ActivityFact, CalendarRule, ObligationState, compliance_many
from storage import activity_queries
from storage import calendar_queries as cq
from storage import planner_queries as pq
from storage import reminder_queries as rq
from storage import training_queries as tq
from storage.tree import BranchScope

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PlanReport:
    """What a planning pass did."""

    planned: int
    inserted: int
    cancelled: int
    seconds: float


class People:
    """Secretaries, deputies and admins with accounts, indexed the ways the rules need."""

    def __init__(self, secretaries: list[pq.LeaderRow], admins: list[pq.LeaderRow], tz: str):
        self.tz = tz
        self.branches: list[tuple[int, str]] = []
        self.secretaries = secretaries
        self.by_branch: dict[int, list[p.Recipient]] = defaultdict(list)
        for row in secretaries:
            self.by_branch[row.org_id].append(self.recipient(row))
        # Deputies who get the branch's calendar reminders (they may opt out in /reminders).
        self.deputies: dict[int, list[p.Recipient]] = defaultdict(list)
        self.admins_by_node: dict[int, list[p.Recipient]] = defaultdict(list)
        for row in admins:
            self.admins_by_node[row.org_id].append(self.recipient(row))

    def recipient(self, row: pq.LeaderRow) -> p.Recipient:
        return p.Recipient(row.account_id, row.time_zone or self.tz)

    def admins_of(self, path: str) -> tuple[p.Recipient, ...]:
        """The nearest admins above a node (the branch's own organisation department)."""
        for node in reversed(path_ids(path)):
            found = self.admins_by_node.get(node)
            if found:
                return tuple(found)
        return ()


async def _people(session: AsyncSession, settings: Settings, scope: BranchScope) -> People:
    people = People(
        await pq.leaders(session, Role.SECRETARY, scope),
        # Admins are few, and any of them may be the nearest above a branch of the scope.
        await pq.leaders(session, Role.ADMIN),
        settings.timezone,
    )
    people.branches = await pq.branches(session, scope)
    opted_out = await cq.opted_out(session, ReminderKind.DEPUTY_CALENDAR.value)
    for row in await pq.leaders(session, Role.DEPUTY, scope):
        if row.account_id not in opted_out:
            people.deputies[row.org_id].append(people.recipient(row))
    return people


async def _calendar(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    people: People,
    settings: Settings,
    scope: BranchScope,
) -> None:
    """Every branch with a secretary, judged today and on the days whose periods just ended."""
    branches = [
        (bid, path)
        for bid, path in people.branches
        if bid in people.by_branch or bid in people.deputies
    ]
    if not branches:
        return
    today = window.now.astimezone(settings.tz).date()
    look_back = window.catch_up + dt.timedelta(days=settings.reminder_escalation_days + 1)
    days = sorted({today, today - dt.timedelta(days=1), (window.now - look_back).date()})
    book = await rule_book(session)
    rules = {bid: book.rules_for(path) for bid, path in branches}
    wanted = {
        on: _wanted_rules(rules, on, today, window, settings.reminder_escalation_days)
        for on in days
    }
    if not any(wanted.values()):
        return
    paths = dict(branches)
    groups: dict[int, list[int]] = defaultdict(list)
    for party_group, parent_id, *_ in await activity_queries.party_groups(session, scope=scope):
        if parent_id is not None:
            groups[parent_id].append(party_group)
    facts = ActivityFacts()
    for year in sorted({day.year for day in days}):
        start, end = year_bounds(dt.date(year, 1, 1))
        on_days = [day for day in days if day.year == year and wanted[day]]
        # Only what the windows of the rules judged can count: this month's meetings for a
        # monthly rule at the month's end, not the whole year's.
        since: dict[str, dt.date] = {}
        for on in on_days:
            distinct = {id(judged): judged for judged in wanted[on].values()}
            for kind, first in earliest_windows(distinct.values(), on).items():
                since[kind.value] = min(first, since.get(kind.value, first))
        if not since:
            continue
        activities: dict[int, list[ActivityFact]] = defaultdict(list)
        for row in await activity_queries.activity_facts_raw(
            session, start=start, end=end, since_by_kind=since, scope=scope
        ):
            activities[row[0]].append(facts.fact(row))
        # Judging a hundred thousand branches is CPU work: off the event loop, so the bot
        # keeps answering while it plans.
        await asyncio.to_thread(
            _judge_and_plan,
            plan,
            window,
            people,
            settings,
            {on: wanted[on] for on in on_days},
            activities,
            groups,
            paths,
            today,
        )


def _judge_and_plan(
    plan: p.Plan,
    window: p.Window,
    people: People,
    settings: Settings,
    rules_on: dict[dt.date, dict[int, list[CalendarRule]]],
    activities: dict[int, list[ActivityFact]],
    groups: dict[int, list[int]],
    paths: dict[int, str],
    today: dt.date,
) -> None:
    for on, judged_rules in rules_on.items():
        judged = compliance_many(judged_rules, activities, groups, on, today=today)
        for branch_id, statuses in judged.items():
            admins: tuple[p.Recipient, ...] | None = None
            for status in statuses:
                if status.state is ObligationState.NOT_APPLICABLE:
                    continue
                if status.state is ObligationState.OVERDUE and admins is None:
                    admins = people.admins_of(paths[branch_id])
                k.plan_obligation(
                    plan,
                    window,
                    k.ObligationFact(
                        branch_id,
                        status,
                        tuple(people.by_branch.get(branch_id, ())),
                        admins or (),
                        deputies=tuple(people.deputies.get(branch_id, ())),
                    ),
                    escalate_after_days=settings.reminder_escalation_days,
                )


def _wanted_rules(
    rules: dict[int, list[CalendarRule]],
    on: dt.date,
    today: dt.date,
    window: p.Window,
    escalate_after_days: int,
) -> dict[int, list[CalendarRule]]:
    """Per branch, the rules worth judging on `on`: on earlier days only the periods that have
    ended since (overdue ones; the periods they share with today are judged once, today), and
    only periods whose reminders (the rule's lead days before the end, the day after, the
    escalation) fall in the window. Mid-period nothing is judged at all: whatever a branch's
    state, no reminder about it is due, and none planned earlier is still pending."""
    by_list: dict[int, list[CalendarRule]] = {}
    found: dict[int, list[CalendarRule]] = {}
    for branch_id, branch_rules in rules.items():
        kept = by_list.get(id(branch_rules))
        if kept is None:
            kept = by_list[id(branch_rules)] = [
                rule
                for rule in branch_rules
                if (on == today or rule.window(on).end < today)
                and _may_want(rule, rule.window(on).end, window, escalate_after_days)
            ]
        if kept:
            found[branch_id] = kept
    return found


def _may_want(
    rule: CalendarRule, period_end: dt.date, window: p.Window, escalate_after_days: int
) -> bool:
    # The rule's own lead days (a branch may remind earlier than the default week and day).
    return bool(p.days_wanted(window, period_end, rule.leads())) or p.overdue_wanted(
        window, period_end, escalate_after_days
    )


async def _trainings(session: AsyncSession, plan: p.Plan, window: p.Window, tz: str) -> None:
    # A training's reminders are 24 hours and 1 hour before it: only one starting within a day
    # of the horizon can want one (its invitations went out when it was scheduled, and calling
    # it off or declining withdraws what is pending at once).
    near = await tq.upcoming_trainings(
        session,
        now=window.now - window.catch_up,
        until=window.now + window.horizon + dt.timedelta(days=1),
    )
    for training in near:
        invited = await tq.invitee_accounts(session, training.id)
        k.plan_training(
            plan,
            window,
            k.TrainingFact(
                id=training.id,
                starts_at=training.starts_at,
                cancelled=training.cancelled_at is not None,
                attendees=tuple(p.Recipient(a, z or tz) for a, z, _, r in invited if r != "no"),
                declined=tuple(a for a, _, _, r in invited if r == "no"),
                scheduled_at=training.created_at,
            ),
        )


async def _inductions(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    people: People,
    settings: Settings,
    scope: BranchScope,
) -> None:
    # Appointments older than the deadline plus the catch-up window can no longer produce one.
    oldest = window.now - dt.timedelta(days=31 * settings.induction_months + 60)
    recent = [row for row in people.secretaries if row.appointed_at >= oldest]
    done = await pq.induction_done(session, scope) if recent else {}
    for row in recent:
        appointed_on = row.appointed_at.astimezone(settings.tz).date()
        attended = done.get(row.person_id)
        k.plan_induction(
            plan,
            window,
            k.InductionFact(
                person_id=row.person_id,
                branch_id=row.org_id,
                secretary=people.recipient(row),
                admins=people.admins_of(row.org_path),
                appointed_on=appointed_on,
                done=attended is not None and attended >= row.appointed_at - dt.timedelta(days=30),
            ),
            months=settings.induction_months,
            escalate_after_days=settings.reminder_escalation_days,
        )


async def _terms(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    people: People,
    settings: Settings,
    scope: BranchScope,
) -> None:
    paths = dict(people.branches)
    for term in await pq.branch_terms(session, scope):
        years = term.term_years or (
            settings.term_years_village_community
            if term.category in (BranchCategory.VILLAGE, BranchCategory.COMMUNITY)
            else settings.term_years
        )
        recipients = tuple(people.by_branch.get(term.org_unit_id, ())) + people.admins_of(
            paths.get(term.org_unit_id, "/")
        )
        k.plan_term(
            plan, window, k.TermFact(term.org_unit_id, term.term_started_on, years, recipients)
        )


async def _mobile_reports(
    session: AsyncSession, plan: p.Plan, window: p.Window, settings: Settings
) -> None:
    """Active mobile members report to the home branch once a year."""
    for member in await pq.active_mobile_members(session):
        since = (member.last_report_at or member.updated_at).astimezone(settings.tz).date()
        due_day = p.add_months(since, 12)
        k.plan_deadline(
            plan,
            window,
            k.DeadlineFact(
                kind=ReminderKind.MOBILE_REPORT,
                subject=f"mob:{member.request_id}:{due_day.isoformat()}",
                due_day=due_day,
                recipients=(p.Recipient(member.account_id, member.time_zone or settings.timezone),),
                payload=MobileReportPayload(request_id=member.request_id),
            ),
        )


async def _grading(
    session: AsyncSession,
    plan: p.Plan,
    window: p.Window,
    people: People,
    settings: Settings,
    scope: BranchScope,
) -> None:
    """Self-assessments not yet submitted, and rectification items not yet done."""
    since = window.now - window.catch_up - dt.timedelta(days=2)
    branches = people.branches
    paths = dict(branches)

    def branch_path_of(branch_id: int) -> str:
        return paths.get(branch_id, "")

    for campaign_id, year, path, deadline in await pq.open_campaigns(session, since=since):
        submitted = await pq.submitted_branches(session, campaign_id, scope)
        # The last day to act is the local day before a midnight deadline.
        due_day = (deadline.astimezone(settings.tz) - dt.timedelta(microseconds=1)).date()
        for branch_id, branch_path in branches:
            if not branch_path.startswith(path) or branch_id not in people.by_branch:
                continue
            k.plan_deadline(
                plan,
                window,
                k.DeadlineFact(
                    kind=ReminderKind.GRADING,
                    subject=f"grd:{campaign_id}:{branch_id}",
                    due_day=due_day,
                    recipients=tuple(people.by_branch[branch_id]),
                    payload=GradingPayload(campaign_id=campaign_id, year=year, branch_id=branch_id),
                    done=branch_id in submitted,
                ),
            )
        # Members answer the branch survey once; one reminder on its last day, not a week of nags.
        for account_id, time_zone, member_branch, answered in await pq.survey_members(
            session, campaign_id, scope
        ):
            if member_branch is None or not branch_path_of(member_branch).startswith(path):
                continue
            k.plan_deadline(
                plan,
                window,
                k.DeadlineFact(
                    kind=ReminderKind.GRADING,
                    subject=f"svy:{campaign_id}:{account_id}",
                    due_day=due_day,
                    recipients=(p.Recipient(account_id, time_zone or settings.timezone),),
                    payload=GradingPayload(
                        campaign_id=campaign_id, year=year, branch_id=member_branch, survey=True
                    ),
                    done=answered,
                    days_before=(1,),
                    overdue=False,
                ),
            )
    for item_id, branch_id, problem, due_on, done in await pq.rectification_items(
        session, since=since.date(), scope=scope
    ):
        k.plan_deadline(
            plan,
            window,
            k.DeadlineFact(
                kind=ReminderKind.RECTIFICATION,
                subject=f"rect:{item_id}",
                due_day=due_on,
                recipients=tuple(people.by_branch.get(branch_id, ())),
                payload=RectificationPayload(branch_id=branch_id, title=problem[:80]),
                done=done,
            ),
        )


async def _digests(
    session: AsyncSession, plan: p.Plan, window: p.Window, people: People, settings: Settings
) -> None:
    chosen = await rq.digest_settings(session)
    seen: set[int] = set()
    for row in people.secretaries:
        if row.account_id in seen:
            continue
        seen.add(row.account_id)
        weekday, hour = chosen.get(row.account_id, (None, None))
        k.plan_digest(
            plan,
            window,
            k.DigestReader(
                people.recipient(row),
                weekday or settings.reminder_digest_weekday,
                settings.reminder_digest_hour if hour is None else hour,
            ),
        )


async def plan_branches(
    session: AsyncSession, settings: Settings, now: dt.datetime, scope: BranchScope
) -> tuple[p.Plan, int]:
    """Run every rule about branches over the branches of the scope: the plan, and how many
    branches it judged."""
    window = p.Window(now, catch_up=dt.timedelta(days=settings.reminder_catch_up_days))
    plan = p.Plan()
    people = await _people(session, settings, scope)
    await _calendar(session, plan, window, people, settings, scope)
    await _inductions(session, plan, window, people, settings, scope)
    await _terms(session, plan, window, people, settings, scope)
    await _grading(session, plan, window, people, settings, scope)
    await _digests(session, plan, window, people, settings)
    # Meetings and a branch's own dates: a change to them marks the branch, so they are
    # planned with its other rules.
    await ms.plan_branch_meetings(session, plan, window, people, settings, scope)
    return plan, len(people.branches)


async def plan_others(session: AsyncSession, settings: Settings, now: dt.datetime) -> p.Plan:
    """Run the rules about trainings, mobile members' yearly reports and Party dues."""
    window = p.Window(now, catch_up=dt.timedelta(days=settings.reminder_catch_up_days))
    plan = p.Plan()
    await _trainings(session, plan, window, settings.timezone)
    await _mobile_reports(session, plan, window, settings)
    # The dues rules read every member's payments at once and need every branch's path and
    # leaders: not yet by scope of branches, so in the pass over the rest.
    await plan_dues(
        session, plan, window, await _people(session, settings, BranchScope()), settings
    )
    return plan


async def plan_reminders(session: AsyncSession, settings: Settings, now: dt.datetime) -> None:
    """Everything in one transaction (a small organisation; tests): every branch, the rest."""
    plan, _judged = await plan_branches(session, settings, now, BranchScope())
    await store_plan(session, plan, now)
    await store_plan(session, await plan_others(session, settings, now), now)


async def store_plan(session: AsyncSession, plan: p.Plan, now: dt.datetime) -> tuple[int, int]:
    """Insert what is new and cancel what is no longer wanted: (inserted, cancelled)."""
    taken = await rq.taken_dedupe_keys(session, list(plan.reminders))
    rows = [reminder.row(now) for key, reminder in plan.reminders.items() if key not in taken]
    inserted = await rq.insert_reminders(session, rows)
    cancelled = await rq.cancel_reminders(
        session, [(c.subject, c.account_id) for c in plan.cancellations]
    )
    return inserted, cancelled
