"""Planning passes: the branches a change affected, a slice of the tree in turn, or everything.

Judging every branch every few minutes costs a province (200,000 branches) most of a core, and
almost every judgement comes out as it did last time. So:

* A change to what a branch's reminders depend on marks the branch (storage.planner_queries):
  an activity logged, corrected or voided; a leader or member added or removed; a calendar rule
  set at a node above it; a campaign started, a self-assessment submitted, a rectification item
  added or done; its term set; a meeting called, moved, cancelled, answered or logged; its
  themed Party day chosen, a preparation step done. `plan_marked` plans the marked branches
  again, a batch per transaction, with those branches' facts only: the incremental plan, run
  every tick.
* `plan_periodic`, every ZHIBU_REMINDER_PLAN_MINUTES: the marked branches, one slice of the
  branches in turn (every branch is judged again at least once per ROTATION, which is what only
  the passing of time changes: a period ends, a deadline comes within the planning horizon),
  and the trainings and mobile members' reports. It costs a slice, not the province.
* `plan_everything` (the engine's `plan()`): every slice, each in its own transaction (memory
  stays bounded by a slice), then the marks made before it started are forgotten.

ROTATION must stay shorter than the planning horizon (two days: nothing is planned late) and
than the nine hours between a period's end at midnight and the "overdue" reminder at 9:00.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gc
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.reminders import sources
from bot.workers import SharedWorker, database_url, worker_pool
from storage import bulk
from storage import planner_queries as pq
from storage.db import SessionFactory, create_engine, session_factory
from storage.tree import BranchScope

ROTATION = dt.timedelta(hours=6)
# Branches judged per transaction in a full pass; marked branches per transaction.
SLICE_BRANCHES = 10_000
MARKS_PER_BATCH = 500
# Worker processes of a full pass over several slices (PostgreSQL): one per core, at most 4
# (the database needs cores too).
PLANNING_WORKERS = max(1, min(4, os.cpu_count() or 1))
# The periodic pass's worker process (PostgreSQL), below the bot's priority.
PLANNER = SharedWorker()


@dataclass(frozen=True, slots=True)
class PlanReport:
    """What a planning pass did."""

    planned: int = 0
    inserted: int = 0
    cancelled: int = 0
    branches: int = 0
    seconds: float = 0.0

    def __add__(self, other: PlanReport) -> PlanReport:
        return PlanReport(
            self.planned + other.planned,
            self.inserted + other.inserted,
            self.cancelled + other.cancelled,
            self.branches + other.branches,
            self.seconds + other.seconds,
        )


async def plan_scope(
    db: SessionFactory, settings: Settings, now: dt.datetime, scope: BranchScope
) -> PlanReport:
    """Plan the branches of a scope in one transaction."""
    started = time.perf_counter()
    async with db.begin() as session:
        await pq.in_background(session)
        plan, judged = await sources.plan_branches(session, settings, now, scope)
        inserted, cancelled = await sources.store_plan(session, plan, now)
    return PlanReport(
        len(plan.reminders), inserted, cancelled, judged, time.perf_counter() - started
    )


async def plan_others(db: SessionFactory, settings: Settings, now: dt.datetime) -> PlanReport:
    """Plan the trainings and the mobile members' reports."""
    started = time.perf_counter()
    async with db.begin() as session:
        await pq.in_background(session)
        plan = await sources.plan_others(session, settings, now)
        inserted, cancelled = await sources.store_plan(session, plan, now)
    return PlanReport(len(plan.reminders), inserted, cancelled, 0, time.perf_counter() - started)


async def plan_marked(
    db: SessionFactory, settings: Settings, now: dt.datetime, *, batch: int = MARKS_PER_BATCH
) -> PlanReport:
    """Plan again every marked branch, a batch per transaction (its marks are deleted in it)."""
    report = PlanReport()
    while True:
        started = time.perf_counter()
        async with db.begin() as session:
            marked = await pq.claim_marks(session, limit=batch)
            if not marked:
                return report
            await pq.in_background(session)
            scope = BranchScope(ids=tuple(marked))
            plan, judged = await sources.plan_branches(session, settings, now, scope)
            inserted, cancelled = await sources.store_plan(session, plan, now)
        report += PlanReport(
            len(plan.reminders), inserted, cancelled, judged, time.perf_counter() - started
        )


def slices(bounds: pq.BranchIds | None, count: int) -> list[BranchScope]:
    """`count` scopes of consecutive branch ids covering every branch."""
    if bounds is None:
        return []
    low, high = bounds.low, bounds.high
    width = max(1, math.ceil((high - low + 1) / max(1, count)))
    return [
        BranchScope(low=start, high=min(high, start + width - 1))
        for start in range(low, high + 1, width)
    ]


def rotation_slices(settings: Settings) -> int:
    """How many slices the periodic pass goes through, one per run, in ROTATION."""
    interval = dt.timedelta(minutes=settings.reminder_plan_minutes)
    return max(1, math.ceil(ROTATION / interval))


def slice_due(settings: Settings, now: dt.datetime) -> int:
    """Which slice the periodic pass plans at `now` (the clock picks it: no state to keep)."""
    interval = settings.reminder_plan_minutes * 60
    return int(now.timestamp() // interval) % rotation_slices(settings)


async def plan_periodic(db: SessionFactory, settings: Settings, now: dt.datetime) -> PlanReport:
    """The marked branches, this run's slice of the branches, trainings and mobile members.

    On PostgreSQL the slice and the rest are planned in a worker process: a province's slice
    and its dues are seconds of Python, which on the leader's event loop held every reply of
    its users back for as long (the /due benchmark's first 200 answers took up to 6 s).
    """
    report = await plan_marked(db, settings, now)
    async with db() as session:
        bounds = await pq.branch_ids(session)
        postgres = bulk.dialect(session) == "postgresql"
    turn = slices(bounds, rotation_slices(settings))
    scope = turn[slice_due(settings, now) % len(turn)] if turn else None
    if postgres:
        return report + await PLANNER.run(_plan_rest, database_url(db), settings, now, scope)
    if scope is not None:
        report += await plan_scope(db, settings, now, scope)
    return report + await plan_others(db, settings, now)


def _on_own_engine(url: str, plan: Callable[[SessionFactory], Awaitable[PlanReport]]) -> PlanReport:
    """In a worker process: `plan` on an engine of its own, in an event loop of its own."""

    async def planned() -> PlanReport:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            return await plan(session_factory(engine))
        finally:
            await engine.dispose()

    # A slice's facts and plan are a few hundred thousand small objects (rows, dataclasses,
    # tuples) that live until it is stored and hold no reference cycles. The cycle collector
    # kept walking them: a quarter to a third of a slice's CPU. It runs once, after the job.
    gc.disable()
    try:
        return asyncio.run(planned())
    finally:
        gc.enable()
        gc.collect()


def _plan_slice(url: str, settings: Settings, now: dt.datetime, scope: BranchScope) -> PlanReport:
    """A worker process's job: plan one slice."""
    return _on_own_engine(url, lambda db: plan_scope(db, settings, now, scope))


def _plan_rest(
    url: str, settings: Settings, now: dt.datetime, scope: BranchScope | None
) -> PlanReport:
    """A worker process's job: the periodic pass's slice (if any), trainings, mobile members
    and dues."""

    async def plan(db: SessionFactory) -> PlanReport:
        report = PlanReport() if scope is None else await plan_scope(db, settings, now, scope)
        return report + await plan_others(db, settings, now)

    return _on_own_engine(url, plan)


async def plan_everything(db: SessionFactory, settings: Settings, now: dt.datetime) -> PlanReport:
    """Every branch, a slice per transaction, then trainings and mobile members; the marks made
    before it started are forgotten (their branches were planned since).

    On PostgreSQL a tree of several slices is planned by worker processes, one per core: judging
    a province's rules is about 50 s of Python, which one process cannot share between cores,
    and which would otherwise hold the event loop of the process that asked. The trainings,
    mobile members and dues are planned here meanwhile. SQLite (one writer) plans in turn here.
    """
    started = time.perf_counter()
    async with db() as session:
        last_mark = await pq.last_mark(session)
        bounds = await pq.branch_ids(session)
        postgres = bulk.dialect(session) == "postgresql"
    scopes = slices(bounds, math.ceil(bounds.count / SLICE_BRANCHES) if bounds else 0)
    if postgres and len(scopes) > 1:
        with worker_pool(min(len(scopes), PLANNING_WORKERS), niced=False) as pool:
            loop = asyncio.get_running_loop()
            url = database_url(db)
            work = [loop.run_in_executor(pool, _plan_slice, url, settings, now, s) for s in scopes]
            others = await plan_others(db, settings, now)
            report = sum(await asyncio.gather(*work), others)
    else:
        report = PlanReport()
        for scope in scopes:
            report += await plan_scope(db, settings, now, scope)
        report += await plan_others(db, settings, now)
    async with db.begin() as session:
        await pq.forget_marks(session, through=last_mark)
    return dataclasses.replace(report, seconds=time.perf_counter() - started)
