"""Pure planning of reminders that come in time: lead times scaled to the period over a whole
year, the life meeting's preparation from November, the themed Party day, deputies, and the
reminders of a meeting called with /meet."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.enums import PreparationStep, ReminderKind
from bot.reminders import kinds as k
from bot.reminders import meeting_kinds as mk
from bot.reminders import planner as p
from bot.rules.calendar import (
    DEFAULT_RULES,
    PeriodKind,
    RuleOverride,
    compliance,
    effective_rules,
    period_from_key,
)
from tests.support.reminders import at

WANG = p.Recipient(1, "Asia/Shanghai")
DEPUTY = p.Recipient(2, "Asia/Shanghai")
GROUP = 40
YEAR_END = dt.date(2026, 12, 31)


def _year_of_plans() -> dict[str, list[p.PlannedReminder]]:
    """Plan every day of 2026 for a branch that logs nothing; the reminders by subject."""
    # The defaults, and a lecture every half-year somewhere (an admin's override).
    half = effective_rules(DEFAULT_RULES, [[RuleOverride(1, "lecture", period=PeriodKind.HALF)]])
    found: dict[str, list[p.PlannedReminder]] = {}
    for rules in (list(DEFAULT_RULES), half):
        day = dt.date(2026, 1, 1)
        while day <= YEAR_END:
            plan = p.Plan()
            window = p.Window(at(f"{day.isoformat()} 10:00"))
            for status in compliance(rules, [], [GROUP], day):
                fact = k.ObligationFact(7, status, (WANG,), (), deputies=(DEPUTY,))
                k.plan_obligation(plan, window, fact, escalate_after_days=7)
            mk.plan_preparation(
                plan,
                window,
                mk.PreparationFact(7, 2026, dt.date(2026, 11, 1), {}, False, (WANG,)),
            )
            for reminder in plan.reminders.values():
                found.setdefault(reminder.subject, [])
                if reminder.dedupe_key not in {r.dedupe_key for r in found[reminder.subject]}:
                    found[reminder.subject].append(reminder)
            day += dt.timedelta(days=1)
    return found


def test_over_a_whole_year_first_reminders_come_before_the_last_week() -> None:
    plans = _year_of_plans()
    calendar = {s: rs for s, rs in plans.items() if s.startswith("cal:")}
    periods = {period_from_key(subject.split(":")[3]) for subject in calendar}
    assert {period.kind for period in periods if period} == set(PeriodKind)
    for subject, reminders in calendar.items():
        period = period_from_key(subject.split(":")[3])
        assert period is not None
        first = min(r.due_at for r in reminders if not r.payload.to_json().get("overdue"))
        first_day = first.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        if period.kind is PeriodKind.MONTH:
            continue
        assert first_day < period.end - dt.timedelta(days=6), (subject, first_day)
    # A branch that logged nothing gets its yearly obligations' first word two months ahead.
    for rule in ("life_meeting", "appraisal", "talk"):
        firsts = [r.due_at for r in calendar[f"cal:7:{rule}:2026"]]
        assert min(firsts) == at("2026-11-02 09:00"), rule
    # The life meeting's first preparation step is reminded by 1 November.
    study = plans[mk.preparation_subject(7, 2026, PreparationStep.STUDY)]
    assert min(r.due_at for r in study) <= at("2026-11-01 09:00")
    assert not plans.get(mk.preparation_subject(7, 2026, PreparationStep.TALKS))


def test_lead_days_follow_the_rule_and_deputies_read_no_digest() -> None:
    quarter = next(r for r in DEFAULT_RULES if r.key == "general_meeting")
    assert quarter.leads() == (21, 7, 1)
    assert replace(quarter, lead_days=(10, 3)).leads() == (10, 3)
    status = compliance([quarter], [], [], dt.date(2026, 12, 10))[0]
    plan = p.Plan()
    window = p.Window(at("2026-12-11 10:00"))
    k.plan_obligation(
        plan,
        window,
        k.ObligationFact(7, status, (WANG,), (), deputies=(DEPUTY,)),
        escalate_after_days=7,
    )
    key = "cal:7:general_meeting:2026-Q4"
    assert plan.reminders[f"{key}:1:d21"].due_at == at("2026-12-11 09:00")
    assert not plan.reminders[f"{key}:1:d21"].soft
    assert plan.reminders[f"{key}:2:d21"].kind is ReminderKind.CALENDAR
    # Within the last week: for the secretary's digest, but to the deputy on its own.
    plan = p.Plan()
    k.plan_obligation(
        plan,
        p.Window(at("2026-12-25 10:00")),
        k.ObligationFact(7, status, (WANG,), (), deputies=(DEPUTY,)),
        escalate_after_days=7,
    )
    assert plan.reminders[f"{key}:1:d7"].soft and not plan.reminders[f"{key}:2:d7"].soft


def test_the_themed_party_day_is_reminded_3_days_before_the_branchs_day() -> None:
    fact = mk.ThemedDayFact(7, dt.date(2026, 12, 15), False, (WANG,))
    plan = p.Plan()
    mk.plan_themed_day(plan, p.Window(at("2026-12-11 10:00")), fact)
    assert {key: r.due_at for key, r in plan.reminders.items()} == {
        "tpd:7:2026-12:1:d3": at("2026-12-12 09:00")
    }
    done = p.Plan()
    mk.plan_themed_day(done, p.Window(at("2026-12-11 10:00")), replace(fact, done=True))
    assert not done.reminders and done.cancellations == [p.Cancellation("tpd:7:2026-12")]


def test_preparation_steps_follow_in_order() -> None:
    fact = mk.PreparationFact(
        7,
        2026,
        dt.date(2026, 11, 1),
        {PreparationStep.STUDY: dt.date(2026, 11, 5)},
        False,
        (WANG,),
    )
    plan = p.Plan()
    mk.plan_preparation(plan, p.Window(at("2026-11-06 10:00")), fact)
    talks = mk.preparation_subject(7, 2026, PreparationStep.TALKS)
    assert {r.subject for r in plan.reminders.values()} == {talks}
    assert min(r.due_at for r in plan.reminders.values()) == at("2026-11-06 09:00")
    assert p.Cancellation(mk.preparation_subject(7, 2026, PreparationStep.STUDY)) in (
        plan.cancellations
    )
    logged = p.Plan()
    mk.plan_preparation(
        logged, p.Window(at("2026-11-06 10:00")), replace(fact, meeting_logged=True)
    )
    assert not logged.reminders and len(logged.cancellations) == len(PreparationStep)


def test_a_meetings_reminders_go_to_who_needs_them_and_follow_a_move() -> None:
    starts = at("2026-11-25 14:00")
    fact = mk.MeetingFact(
        id=3,
        starts_at=starts,
        called_at=at("2026-11-20 10:00"),
        cancelled=False,
        logged=False,
        unanswered=(WANG,),
        attending=(DEPUTY,),
        answered=(2,),
        declined=(5,),
        caller=WANG,
    )
    plan = p.Plan()
    mk.plan_meeting(plan, p.Window(at("2026-11-24 10:00")), fact)
    stamp = int(starts.timestamp())
    assert {key: r.due_at for key, r in plan.reminders.items()} == {
        f"meet:3:ask:1:{stamp}": at("2026-11-24 14:00"),
        f"meet:3:soon:2:{stamp}": at("2026-11-25 13:00"),
        f"meet:3:log:1:{stamp}": at("2026-11-25 16:00"),
    }
    assert all(not r.urgent for r in plan.reminders.values())
    assert p.Cancellation("meet:3:ask", 2) in plan.cancellations
    assert p.Cancellation("meet:3:soon", 5) in plan.cancellations
    # Called less than a day ahead: no "a day before".
    late = p.Plan()
    mk.plan_meeting(
        late, p.Window(at("2026-11-25 10:00")), replace(fact, called_at=at("2026-11-25 09:00"))
    )
    assert not any(":ask:" in key for key in late.reminders)
    # Moved: new keys for the new time; cancelled: everything withdrawn.
    moved = p.Plan()
    mk.plan_meeting(
        moved,
        p.Window(at("2026-11-24 10:00")),
        replace(fact, starts_at=starts + dt.timedelta(hours=2)),
    )
    assert not set(moved.reminders) & set(plan.reminders)
    off = p.Plan()
    mk.plan_meeting(off, p.Window(at("2026-11-24 10:00")), replace(fact, cancelled=True))
    assert not off.reminders and {c.subject for c in off.cancellations} == {
        "meet:3:ask",
        "meet:3:soon",
        "meet:3:log",
    }
