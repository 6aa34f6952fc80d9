"""The planner plans what a change affects: a logged activity, a new leader or a rule change
marks the branches it touches, and the next plan of marked branches judges those alone; the
periodic pass goes through the branches a slice at a time."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import delete, func, select

from bot.compliance import set_override
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import MeetingAudience, ReminderState, Role
from bot.reminders import passes
from bot.reminders.engine import ReminderEngine
from storage import activity_queries, meeting_queries, queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_reminders import PlanMark, Reminder
from storage.planner_queries import BranchIds
from tests.support.database import BACKEND
from tests.support.reminders import Clock, at


@pytest.fixture
def clock() -> Clock:
    """Sunday 2026-11-29 10:00 in Shanghai: November's monthly obligations end tomorrow."""
    return Clock(at("2026-11-29 10:00"))


async def _committee_reminders(db: SessionFactory, branch_id: int) -> dict[str, ReminderState]:
    """The states of the reminders about a branch's committee meeting this month, by key."""
    async with db() as session:
        rows = await session.execute(
            select(Reminder.dedupe_key, Reminder.state).where(
                Reminder.subject == f"cal:{branch_id}:committee_meeting:2026-11"
            )
        )
        return {key: state for key, state in rows}


async def _marks(db: SessionFactory) -> int:
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(PlanMark)) or 0)


async def test_a_logged_meeting_withdraws_its_reminder_at_the_next_plan_of_marks(
    engine: ReminderEngine, clock: Clock, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await engine.plan()
    assert await _marks(db) == 0
    async with db() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert b1 is not None
    before = await _committee_reminders(db, b1.id)
    assert set(before.values()) == {ReminderState.PENDING}, before
    async with db.begin() as session:
        await activity_queries.add_activity(
            session,
            branch_id=b1.id,
            kinds=["committee_meeting"],
            day=dt.date(2026, 11, 28),
            topic="支委会",
            present=5,
            expected=5,
        )
    # Logging marks the branch; nothing is withdrawn until the marks are planned.
    assert await _marks(db) == 1
    assert await _committee_reminders(db, b1.id) == before
    report = await engine.replan()
    assert report.branches == 1
    after = await _committee_reminders(db, b1.id)
    assert set(after) == set(before) and set(after.values()) == {ReminderState.CANCELLED}
    assert await _marks(db) == 0
    assert (await engine.replan()).branches == 0


async def test_a_new_secretary_gets_the_branchs_reminders_at_the_next_plan_of_marks(
    engine: ReminderEngine, clock: Clock, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await engine.plan()
    async with db.begin() as session:
        b2 = await queries.org_by_code(session, "DEMO-B2")
        assert b2 is not None
        person = Person(name="新书记", branch_id=b2.id)
        session.add(person)
        await session.flush()
        account = Account(telegram_id=77_001, person_id=person.id, telegram_language="en")
        session.add(account)
        await session.flush()
        await queries.grant_role(session, person=person, org_unit=b2, role=Role.SECRETARY)
    keys = await _committee_reminders(db, b2.id)
    assert not [key for key in keys if f":{account.id}:" in key]
    report = await engine.replan()
    assert report.branches == 1
    keys = await _committee_reminders(db, b2.id)
    assert [key for key in keys if f":{account.id}:" in key]


async def test_a_rule_change_marks_every_branch_below_it(
    engine: ReminderEngine, clock: Clock, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        assert committee is not None
        await set_override(session, org=committee, rule_key="lecture", fields={"period": "half"})
    assert (await engine.replan()).branches == 3


def test_the_periodic_pass_covers_every_branch_within_the_rotation(settings: Settings) -> None:
    count = passes.rotation_slices(settings)
    assert count == 24  # every 15 minutes, six hours round
    turn = passes.slices(BranchIds(low=7, high=200_006, count=200_000), count)
    covered = [branch for scope in turn for branch in range(scope.low or 0, (scope.high or 0) + 1)]
    assert covered == list(range(7, 200_007))
    moments = [
        dt.datetime(2026, 11, 29, tzinfo=dt.UTC) + dt.timedelta(minutes=15 * n)
        for n in range(count)
    ]
    assert sorted(passes.slice_due(settings, moment) for moment in moments) == list(range(count))


async def test_a_meeting_called_or_called_off_is_planned_at_the_next_plan_of_marks(
    engine: ReminderEngine, clock: Clock, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await engine.plan()
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert b1 is not None
        person_id = await session.scalar(
            select(Person.id)
            .join(Account, Account.person_id == Person.id)
            .where(Person.branch_id == b1.id)
            .order_by(Person.id)
            .limit(1)
        )
        assert person_id is not None
        meeting = await meeting_queries.add_meeting(
            session,
            branch_id=b1.id,
            kinds=["committee_meeting"],
            starts_at=at("2026-11-30 19:00"),
            place="党员活动室",
            agenda="支委会",
            audience=MeetingAudience.BRANCH,
            created_at=clock.now,
        )
        await meeting_queries.add_invitees(
            session,
            meeting.id,
            [{"person_id": person_id, "committee": True, "voting": True, "mobile": False}],
        )
        version = meeting.version
    # Calling it marks the branch; its reminders come with the next plan of marks.
    assert await _marks(db) == 1
    assert not await _meeting_reminders(db, meeting.id)
    assert (await engine.replan()).branches == 1
    planned = await _meeting_reminders(db, meeting.id)
    assert planned and set(planned.values()) == {ReminderState.PENDING}, planned
    async with db.begin() as session:
        assert await meeting_queries.change_meeting(
            session, meeting.id, seen_version=version, cancelled_at=clock.now
        )
    assert (await engine.replan()).branches == 1
    after = await _meeting_reminders(db, meeting.id)
    assert set(after) == set(planned) and set(after.values()) == {ReminderState.CANCELLED}


async def _meeting_reminders(db: SessionFactory, meeting_id: int) -> dict[str, ReminderState]:
    """The states of the reminders before a meeting (not its news), by key."""
    async with db() as session:
        rows = await session.execute(
            select(Reminder.dedupe_key, Reminder.state).where(
                Reminder.subject.in_([f"meet:{meeting_id}:{what}" for what in ("ask", "soon")])
            )
        )
        return {key: state for key, state in rows}


async def _planned(db: SessionFactory) -> set[tuple[str, int, dt.datetime]]:
    async with db() as session:
        rows = await session.execute(
            select(Reminder.dedupe_key, Reminder.account_id, Reminder.due_at).where(
                Reminder.state == ReminderState.PENDING
            )
        )
        return {(key, account, due) for key, account, due in rows}


async def test_a_pass_over_several_slices_plans_what_one_transaction_plans(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A slice of one branch: the demo's three branches are three slices, which PostgreSQL
    # plans in worker processes (each with its own engine) and SQLite in turn.
    monkeypatch.setattr(passes, "SLICE_BRANCHES", 1)
    sliced = await engine.plan()
    assert sliced.branches == 3
    by_slices = await _planned(db)
    assert by_slices
    async with db.begin() as session:
        await session.execute(delete(Reminder))
    monkeypatch.setattr(passes, "SLICE_BRANCHES", 10_000)
    whole = await engine.plan()
    assert whole.inserted == sliced.inserted == len(by_slices)
    assert await _planned(db) == by_slices


async def test_the_periodic_pass_plans_what_a_full_pass_plans_off_the_event_loop(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    settings: Settings,
    demo: dict[str, DemoUser],
) -> None:
    # One slice a run (every six hours) covers the whole demo.
    every_six_hours = settings.model_copy(update={"reminder_plan_minutes": 360})
    assert passes.rotation_slices(every_six_hours) == 1
    await engine.replan()  # the demo's set-up marked its branches
    periodic = await passes.plan_periodic(db, every_six_hours, clock())
    assert periodic.branches == 3
    planned = await _planned(db)
    assert planned
    if BACKEND == "postgresql":
        # The slice and the rest were planned by the shared planning worker, another process.
        assert await passes.PLANNER.run(os.getpid) != os.getpid()
    async with db.begin() as session:
        await session.execute(delete(Reminder))
    await engine.plan()
    assert await _planned(db) == planned
