"""Pure planning rules and quiet hours: each kind at the right moment in the recipient's zone."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.enums import ReminderKind
from bot.reminders import kinds as k
from bot.reminders import planner as p
from bot.reminders.payloads import (
    CalendarPayload,
    GradingNews,
    GradingPayload,
    PayloadError,
    RectificationPayload,
    TrainingPayload,
    payload_of,
)
from bot.reminders.quiet import QuietHours, parse_clock
from bot.rules.calendar import (
    DEFAULT_RULES,
    ObligationState,
    ObligationStatus,
    PeriodKind,
    period_containing,
)
from tests.support.reminders import at

BERLIN = dt.timezone(dt.timedelta(hours=1))
WANG = p.Recipient(1, "Asia/Shanghai")
HANS = p.Recipient(2, "Europe/Berlin")
ADMIN = p.Recipient(9, "Asia/Shanghai")


def _plan(now: dt.datetime, rule: object, *args: object, **kwargs: object) -> p.Plan:
    plan = p.Plan()
    rule(plan, p.Window(now), *args, **kwargs)  # type: ignore[operator]
    return plan


def _due(plan: p.Plan) -> dict[str, dt.datetime]:
    return {key: r.due_at for key, r in plan.reminders.items()}


def test_quiet_hours_cross_midnight_in_local_time() -> None:
    quiet = QuietHours(parse_clock("22:00"), parse_clock("08:00"))
    assert quiet.release_at(at("2026-11-20 21:59"), "Asia/Shanghai") is None
    assert quiet.release_at(at("2026-11-20 22:00"), "Asia/Shanghai") == at("2026-11-21 08:00")
    assert quiet.release_at(at("2026-11-21 03:00"), "Asia/Shanghai") == at("2026-11-21 08:00")
    assert quiet.release_at(at("2026-11-21 08:00"), "Asia/Shanghai") is None
    # 15:30 in Shanghai is 08:30 in Berlin: fine there; 06:00 Shanghai is 23:00 in Berlin.
    assert quiet.release_at(at("2026-11-21 15:30"), "Europe/Berlin") is None
    assert quiet.release_at(at("2026-11-21 06:00"), "Europe/Berlin") == at(
        "2026-11-21 08:00", BERLIN
    )
    assert QuietHours(0, 0).release_at(at("2026-11-21 03:00"), "Asia/Shanghai") is None
    assert QuietHours(13 * 60, 14 * 60).release_at(at("2026-11-21 13:30"), "UTC") is None


def test_training_reminders_24h_and_1h_before_for_those_coming() -> None:
    starts = at("2026-11-25 14:00")
    fact = k.TrainingFact(7, starts, False, (WANG, HANS), declined=(3,))
    plan = _plan(at("2026-11-23 20:00"), k.plan_training, fact)
    assert _due(plan) == {
        "trn:7:1:24h": at("2026-11-24 14:00"),
        "trn:7:1:1h": at("2026-11-25 13:00"),
        "trn:7:2:24h": at("2026-11-24 14:00"),
        "trn:7:2:1h": at("2026-11-25 13:00"),
    }
    assert plan.reminders["trn:7:1:1h"].urgent and not plan.reminders["trn:7:1:24h"].urgent
    assert plan.cancellations == [p.Cancellation("trn:7", 3)]
    cancelled = _plan(at("2026-11-23 20:00"), k.plan_training, k.TrainingFact(7, starts, True, ()))
    assert not cancelled.reminders and cancelled.cancellations == [p.Cancellation("trn:7")]
    # Once it started nothing more is planned, even within the catch-up window.
    assert not _plan(at("2026-11-25 14:00"), k.plan_training, fact).reminders


def _status(state: ObligationState, day: dt.date, key: str = "themed_day") -> ObligationStatus:
    rule = next(r for r in DEFAULT_RULES if r.key == key)
    return ObligationStatus(rule, period_containing(PeriodKind.MONTH, day), state)


def test_calendar_7_and_1_days_before_then_overdue_then_escalation() -> None:
    due = k.ObligationFact(4, _status(ObligationState.DUE, dt.date(2026, 11, 20)), (WANG, HANS), ())
    assert not _plan(
        at("2026-11-20 10:00"), k.plan_obligation, due, escalate_after_days=7
    ).reminders
    plan = _plan(at("2026-11-23 10:00"), k.plan_obligation, due, escalate_after_days=7)
    assert _due(plan) == {
        "cal:4:themed_day:2026-11:1:d7": at("2026-11-24 09:00"),
        "cal:4:themed_day:2026-11:2:d7": at("2026-11-24 09:00", BERLIN),
    }
    week = plan.reminders["cal:4:themed_day:2026-11:1:d7"]
    assert week.soft and not week.urgent and week.deadline == at("2026-12-01 00:00")
    plan = _plan(at("2026-11-29 10:00"), k.plan_obligation, due, escalate_after_days=7)
    last = plan.reminders["cal:4:themed_day:2026-11:1:d1"]
    assert last.due_at == at("2026-11-30 09:00") and last.urgent and not last.soft
    overdue = k.ObligationFact(
        4, _status(ObligationState.OVERDUE, dt.date(2026, 11, 1)), (WANG,), (ADMIN,)
    )
    plan = _plan(at("2026-12-01 10:00"), k.plan_obligation, overdue, escalate_after_days=7)
    assert _due(plan) == {"cal:4:themed_day:2026-11:1:overdue": at("2026-12-01 09:00")}
    plan = _plan(at("2026-12-07 10:00"), k.plan_obligation, overdue, escalate_after_days=7)
    assert _due(plan) == {
        "cal:4:themed_day:2026-11:1:overdue": at("2026-12-01 09:00"),
        "cal:4:themed_day:2026-11:9:escalation": at("2026-12-08 09:00"),
    }
    assert plan.reminders["cal:4:themed_day:2026-11:9:escalation"].kind is ReminderKind.ESCALATION
    done = k.ObligationFact(4, _status(ObligationState.DONE, dt.date(2026, 11, 1)), (WANG,), ())
    plan = _plan(at("2026-11-20 10:00"), k.plan_obligation, done, escalate_after_days=7)
    assert plan.cancellations == [p.Cancellation("cal:4:themed_day:2026-11")]


def test_induction_within_six_months_30_7_1_days_before_then_escalation() -> None:
    fact = k.InductionFact(5, 4, WANG, (ADMIN,), dt.date(2026, 6, 1), done=False)
    moments = {}
    for day in range(1, 32):
        now = at("2026-11-01 00:00") + dt.timedelta(days=day - 1)
        plan = _plan(now, k.plan_induction, fact, months=6, escalate_after_days=7)
        moments.update(_due(plan))
    assert moments == {
        "ind:5:2026-06-01:1:d30": at("2026-11-01 09:00"),
        "ind:5:2026-06-01:1:d7": at("2026-11-24 09:00"),
        "ind:5:2026-06-01:1:d1": at("2026-11-30 09:00"),
        "ind:5:2026-06-01:1:overdue": at("2026-12-01 09:00"),
        "ind:5:2026-06-01:9:escalation": at("2026-12-01 09:00"),
    }
    done = k.InductionFact(5, 4, WANG, (ADMIN,), dt.date(2026, 6, 1), done=True)
    plan = _plan(at("2026-11-20 10:00"), k.plan_induction, done, months=6, escalate_after_days=7)
    assert not plan.reminders and plan.cancellations


def test_term_end_warnings_six_and_two_months_before() -> None:
    fact = k.TermFact(4, dt.date(2024, 3, 15), 3, (WANG, ADMIN))
    found = {}
    for now in (at("2026-09-14 12:00"), at("2027-01-14 12:00")):
        found.update(_due(_plan(now, k.plan_term, fact)))
    assert found == {
        "term:4:2027-03-15:1:6m": at("2026-09-15 09:00"),
        "term:4:2027-03-15:9:6m": at("2026-09-15 09:00"),
        "term:4:2027-03-15:1:2m": at("2027-01-15 09:00"),
        "term:4:2027-03-15:9:2m": at("2027-01-15 09:00"),
    }
    village = k.TermFact(4, dt.date(2022, 3, 15), 5, (WANG,))
    assert _due(_plan(at("2026-09-14 12:00"), k.plan_term, village)) == {
        "term:4:2027-03-15:1:6m": at("2026-09-15 09:00")
    }


def test_deadline_kinds_and_the_catch_up_window() -> None:
    fact = k.DeadlineFact(
        ReminderKind.GRADING,
        "grd:3:4",
        dt.date(2026, 11, 30),
        (HANS,),
        GradingPayload(campaign_id=3, year=2026, branch_id=4),
    )
    plan = _plan(at("2026-11-29 10:00"), k.plan_deadline, fact)
    assert _due(plan) == {
        "grd:3:4:2:d7": at("2026-11-24 09:00", BERLIN),
        "grd:3:4:2:d1": at("2026-11-30 09:00", BERLIN),
    }
    # The overdue notice is planned two days ahead (and cancelled if the task is done by then).
    plan = _plan(at("2026-11-30 10:00"), k.plan_deadline, fact)
    assert plan.reminders["grd:3:4:2:overdue"].due_at == at("2026-12-01 09:00", BERLIN)
    # A month later nothing is planned: those moments are older than the catch-up window.
    assert not _plan(at("2026-12-30 10:00"), k.plan_deadline, fact).reminders
    done = k.DeadlineFact(
        ReminderKind.RECTIFICATION,
        "rect:1",
        dt.date(2026, 11, 30),
        (),
        RectificationPayload(branch_id=4, title="Dues"),
    )
    assert _plan(at("2026-11-29 10:00"), k.plan_deadline, done).cancellations


def test_weekly_digest_on_the_readers_weekday_and_hour() -> None:
    monday = k.DigestReader(WANG, 1, 9)
    assert not _plan(at("2026-11-20 10:00"), k.plan_digest, monday).reminders
    plan = _plan(at("2026-11-21 10:00"), k.plan_digest, monday)
    assert _due(plan) == {"dig:1:2026-W48": at("2026-11-23 09:00")}
    plan = _plan(at("2026-11-23 20:00"), k.plan_digest, monday)
    assert _due(plan) == {"dig:1:2026-W48": at("2026-11-23 09:00")}
    plan = _plan(at("2026-11-28 10:00"), k.plan_digest, monday)
    assert _due(plan) == {"dig:1:2026-W49": at("2026-11-30 09:00")}
    friday = k.DigestReader(HANS, 5, 17)
    assert k.next_digest(friday, at("2026-11-20 10:00")) == at("2026-11-20 17:00", BERLIN)


def test_typed_payloads_are_stored_as_the_same_json_and_read_back() -> None:
    # What the planner stores, key for key as when payloads were dicts.
    due = k.ObligationFact(4, _status(ObligationState.DUE, dt.date(2026, 11, 20)), (WANG,), ())
    plan = _plan(at("2026-11-23 10:00"), k.plan_obligation, due, escalate_after_days=7)
    row = plan.reminders["cal:4:themed_day:2026-11:1:d7"].row(at("2026-11-23 10:00"))
    assert row["payload"] == {
        "branch_id": 4,
        "rule": "themed_day",
        "period": "2026-11",
        "days": 7,
        "due_day": "2026-11-30",
    }
    fact = k.InductionFact(5, 4, WANG, (ADMIN,), dt.date(2026, 6, 1), done=False)
    plan = _plan(at("2026-12-01 10:00"), k.plan_induction, fact, months=6, escalate_after_days=7)
    stored = {key: r.payload.to_json() for key, r in plan.reminders.items()}
    assert stored["ind:5:2026-06-01:1:overdue"] == {
        "branch_id": 4,
        "person_id": 5,
        "overdue": True,
        "due_day": "2026-11-30",
    }
    assert stored["ind:5:2026-06-01:9:escalation"] == {
        "branch_id": 4,
        "person_id": 5,
        "about": "induction",
        "due_day": "2026-11-30",
        "days_overdue": 0,
    }
    # Rows stored before payloads were typed read back as their kind's dataclass.
    assert payload_of("training", {"training_id": 7, "lead": "1h"}) == TrainingPayload(
        training_id=7, lead="1h"
    )
    news = payload_of(
        "grading", {"campaign_id": 1, "year": 2026, "branch_id": 2, "event": "graded"}
    )
    assert isinstance(news, GradingNews) and news.grade is None
    assert payload_of("mobile_report", {"due_day": "2026-12-01", "unknown": 1}).to_json() == {
        "due_day": "2026-12-01"
    }
    with pytest.raises(PayloadError):
        payload_of("rectification", {"due_day": "2026-12-01"})
    with pytest.raises(PayloadError):
        payload_of("training", {"training_id": 7, "lead": "2h"})


def _days_planned(
    now: dt.datetime, days_before: tuple[int, ...], soft_days: frozenset[int] = frozenset()
) -> list[int]:
    """Which "days before" reminders of the general meeting due on 2026-12-31 are planned."""
    plan = p.Plan()
    p.deadline_reminders(
        plan,
        p.Window(now),
        kind=ReminderKind.CALENDAR,
        subject="cal:1:general_meeting:2026-Q4",
        recipients=[p.Recipient(7, "Asia/Shanghai")],
        due_day=dt.date(2026, 12, 31),
        days_before=days_before,
        payload=CalendarPayload(branch_id=1, rule="general_meeting", period="2026-Q4"),
        soft_days=soft_days,
    )
    return sorted(r.payload.days for r in plan.reminders.values())  # type: ignore[attr-defined]


def test_after_an_outage_only_the_latest_past_reminder_of_a_deadline_is_planned() -> None:
    # The quarter ends on Wednesday 2026-12-31; the bot comes back on Tuesday 12-30 at 10:00
    # (Shanghai), after the 7-, 3- and 2-days-before reminders' times. 2 days before was at
    # 09:00, an hour ago; 1 day before is tomorrow morning.
    assert _days_planned(at("2026-12-30 10:00"), (7, 3, 2, 1)) == [1, 2]


def test_after_an_outage_a_past_digest_entry_gives_way_to_the_next_reminder_in_the_window() -> None:
    # Back on Tuesday 12-29 at 10:00 (Shanghai): the 7-days-before reminder (a digest entry)
    # was due on 12-25; the 1-day-before one comes on Thursday 12-31, within the window.
    now = at("2026-12-29 10:00")
    assert _days_planned(now, (7, 1), soft_days=frozenset({7})) == [1]
    # One sent on its own still catches up: the next comes only on Thursday.
    assert _days_planned(now, (7, 1)) == [1, 7]
