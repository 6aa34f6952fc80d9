"""The activity calendar: what a branch owes in a period, and whether it has done it.

Rules are data (`DEFAULT_RULES`, per domain.md) that admins override for their subtree; the
override nearest to the branch wins field by field (see `effective_rules`). `compliance`
judges one branch; `compliance_many` judges thousands with shared period arithmetic.
"""

import re
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

from bot.rules.kinds import ActivityKind


class PeriodKind(StrEnum):
    """How long one period of a rule lasts."""

    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


class Scope(StrEnum):
    """Whether the branch as a whole or each of its party groups owes the activity."""

    BRANCH = "branch"
    PARTY_GROUP = "party_group"


class ObligationState(StrEnum):
    """Where an obligation stands on the day it is judged."""

    DONE = "done"
    DUE = "due"
    OVERDUE = "overdue"
    NOT_APPLICABLE = "not_applicable"


_MONTHS = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6, PeriodKind.YEAR: 12}


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar period; `end` is inclusive."""

    start: date
    end: date
    kind: PeriodKind

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def key(self) -> str:
        """Return a short stable key for callback_data: 2026-11, 2026-Q4, 2026-H2 or 2026."""
        number = (self.start.month - 1) // _MONTHS[self.kind] + 1
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year:04d}-{number:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year:04d}-Q{number}"
        if self.kind is PeriodKind.HALF:
            return f"{self.start.year:04d}-H{number}"
        return f"{self.start.year:04d}"


def _last_day(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


@lru_cache(maxsize=4096)
def period_containing(kind: PeriodKind, day: date) -> Period:
    """Return the month, quarter, half-year or year that contains `day`."""
    span = _MONTHS[kind]
    first_month = (day.month - 1) // span * span + 1
    return Period(date(day.year, first_month, 1), _last_day(day.year, first_month + span - 1), kind)


def quarter_of_year(year: int, quarter: int) -> Period:
    """Return quarter 1-4 of `year`."""
    return period_containing(PeriodKind.QUARTER, date(year, 3 * quarter - 2, 1))


def previous_period(period: Period) -> Period:
    """Return the period of the same kind just before `period`."""
    return period_containing(period.kind, period.start - timedelta(days=1))


def next_period(period: Period) -> Period:
    """Return the period of the same kind just after `period`."""
    return period_containing(period.kind, period.end + timedelta(days=1))


_PERIOD_KEY_RE = re.compile(r"([0-9]{4})(?:-([0-9]{2})|-Q([1-4])|-H([12]))?")


def period_from_key(key: str) -> Period | None:
    """Return the period that `Period.key` gave `key`, or None for anything else."""
    match = _PERIOD_KEY_RE.fullmatch(key)
    if match is None:
        return None
    year_text, month, quarter, half = match.groups()
    year = int(year_text)
    try:
        if month is not None:
            return period_containing(PeriodKind.MONTH, date(year, int(month), 1))
        if quarter is not None:
            return quarter_of_year(year, int(quarter))
        if half is not None:
            return period_containing(PeriodKind.HALF, date(year, 6 * int(half) - 5, 1))
        return period_containing(PeriodKind.YEAR, date(year, 1, 1))
    except ValueError:
        return None  # month 13 or year 0000


def past_month(key: str, today: date) -> Period | None:
    """The month a key names (2026-11), if it has begun by `today`; None for anything else."""
    month = period_from_key(key)
    if month is None or month.kind is not PeriodKind.MONTH or month.start > today:
        return None
    return month


def reference_day(month: Period, today: date) -> date:
    """The day whose periods are judged: today in the current month, else the month's end."""
    return today if today in month else month.end


# Days before a period ends that a branch which has not done its obligation is reminded,
# scaled to the period: a yearly obligation is first reminded two months ahead, not in the last
# week of December with every other one.
DEFAULT_LEADS: Mapping[PeriodKind, tuple[int, ...]] = {
    PeriodKind.MONTH: (7, 1),
    PeriodKind.QUARTER: (21, 7, 1),
    PeriodKind.HALF: (30, 7),
    PeriodKind.YEAR: (60, 30, 7, 1),
}
MAX_LEAD_DAYS = 180


def parse_leads(text: str) -> tuple[int, ...]:
    """Lead days typed as "21,7,1" (any order); ValueError for anything else."""
    values = sorted({int(part) for part in text.replace(" ", "").split(",") if part}, reverse=True)
    if not values:
        raise ValueError("give at least one number of days")
    return tuple(values)


@dataclass(frozen=True, slots=True)
class CalendarRule:
    """An obligation: at least `min_count` activities of `kind` per period, per scope.

    `only_quarter` (1-4, with a yearly period) narrows the window to that quarter of the year:
    only activities in it count, and before it begins the rule is not applicable.
    `lead_days` (None: by the period, `DEFAULT_LEADS`) are when it is reminded; `quorum`: an
    activity lacking more than half of its body (see bot.rules.quorum) does not count;
    `prepare_from`: the month its preparation steps are reminded from.
    """

    key: str
    kind: ActivityKind
    period: PeriodKind
    min_count: int = 1
    scope: Scope = Scope.BRANCH
    only_quarter: int | None = None
    enabled: bool = True
    lead_days: tuple[int, ...] | None = None
    quorum: bool = False
    prepare_from: int | None = None

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError(f"rule {self.key}: min_count must be at least 1 (disable it instead)")
        if self.only_quarter is not None:
            if not 1 <= self.only_quarter <= 4:
                raise ValueError(f"rule {self.key}: only_quarter must be 1-4")
            if self.period is not PeriodKind.YEAR:
                raise ValueError(f"rule {self.key}: only_quarter needs a yearly period")
        if self.lead_days is not None and (
            not self.lead_days or not all(1 <= d <= MAX_LEAD_DAYS for d in self.lead_days)
        ):
            raise ValueError(f"rule {self.key}: lead days must be 1-{MAX_LEAD_DAYS}")
        if self.prepare_from is not None and not 1 <= self.prepare_from <= 12:
            raise ValueError(f"rule {self.key}: prepare_from must be a month, 1-12")

    def leads(self) -> tuple[int, ...]:
        """The days before the period's end it is reminded, longest first."""
        if self.lead_days:
            return tuple(sorted(set(self.lead_days), reverse=True))
        return DEFAULT_LEADS[self.period]

    def window(self, on: date) -> Period:
        """Return the period of this rule that contains `on` (the quarter for `only_quarter`)."""
        if self.only_quarter is not None:
            return quarter_of_year(on.year, self.only_quarter)
        return period_containing(self.period, on)


_K = ActivityKind
_P = PeriodKind
# 支部工作条例 2018 Art. 11-19; the lecture frequency is local (default quarterly) and the life
# meeting, usually held in Q4, is modelled as yearly so that an early one still counts.
# A committee meeting needs more than half of the committee (Art. 12), a general meeting that
# elects or decides more than half of the voting members; the life meeting is prepared from
# November.
DEFAULT_RULES: tuple[CalendarRule, ...] = (
    CalendarRule("general_meeting", _K.GENERAL_MEETING, _P.QUARTER, quorum=True),
    CalendarRule("committee_meeting", _K.COMMITTEE_MEETING, _P.MONTH, quorum=True),
    CalendarRule("group_meeting", _K.GROUP_MEETING, _P.MONTH, scope=Scope.PARTY_GROUP),
    CalendarRule("lecture", _K.LECTURE, _P.QUARTER),
    CalendarRule("themed_day", _K.THEMED_DAY, _P.MONTH),
    CalendarRule("life_meeting", _K.LIFE_MEETING, _P.YEAR, prepare_from=11),
    CalendarRule("appraisal", _K.APPRAISAL, _P.YEAR),
    CalendarRule("talk", _K.TALK, _P.YEAR),
)


@dataclass(frozen=True, slots=True)
class RuleOverride:
    """An admin's change to rule `key` for the subtree of org node `node_id`.

    None leaves a field as inherited; `only_quarter=0` clears an inherited quarter, as
    `prepare_from=0` turns the preparation reminders off and empty `lead_days` goes back to the
    period's.
    """

    node_id: int
    key: str
    period: PeriodKind | None = None
    min_count: int | None = None
    scope: Scope | None = None
    only_quarter: int | None = None
    enabled: bool | None = None
    lead_days: tuple[int, ...] | None = None
    quorum: bool | None = None
    prepare_from: int | None = None

    def apply(self, rule: CalendarRule) -> CalendarRule:
        """Return `rule` with this override's fields; ValueError if the result is no rule."""
        quarter = rule.only_quarter if self.only_quarter is None else self.only_quarter or None
        prepare = rule.prepare_from if self.prepare_from is None else self.prepare_from or None
        leads = rule.lead_days if self.lead_days is None else self.lead_days or None
        return replace(
            rule,
            period=rule.period if self.period is None else self.period,
            min_count=rule.min_count if self.min_count is None else self.min_count,
            scope=rule.scope if self.scope is None else self.scope,
            only_quarter=quarter,
            enabled=rule.enabled if self.enabled is None else self.enabled,
            lead_days=leads,
            quorum=rule.quorum if self.quorum is None else self.quorum,
            prepare_from=prepare,
        )


def effective_rules(
    defaults: Sequence[CalendarRule],
    overrides_by_ancestor: Sequence[Sequence[RuleOverride]],
) -> list[CalendarRule]:
    """Return the rules in force for a branch, disabled ones included, in `defaults` order.

    `overrides_by_ancestor` runs from the root to the branch's own node; each level changes
    only the fields it names, so for every field the nearest level that sets it wins (keep
    one override per node and key: within a level the later one would win). An
    override for an unknown key, or one that would make an invalid rule (only_quarter on a
    monthly rule), is skipped so that one bad setting cannot stop a whole subtree's digest;
    admin screens validate with `RuleOverride.apply` before saving.
    """
    rules = {rule.key: rule for rule in defaults}
    for level in overrides_by_ancestor:
        for override in level:
            rule = rules.get(override.key)
            if rule is None:
                continue
            try:
                rules[override.key] = override.apply(rule)
            except ValueError:
                continue
    return list(rules.values())


@dataclass(frozen=True, slots=True)
class ActivityFact:
    """What the calendar needs to know of a logged activity."""

    id: int
    day: date
    kinds: frozenset[ActivityKind]
    party_group_id: int | None = None
    voided: bool = False
    # The kinds it lacked a quorum for (bot.rules.quorum): they count only where no rule asks.
    short_of_quorum: frozenset[ActivityKind] = frozenset()


@dataclass(frozen=True, slots=True)
class ObligationStatus:
    """How one rule stands for one branch in one period.

    `count` is the number of counting activities (for per-group rules, the smallest count
    of any party group, with the groups below `min_count` in `missing_groups`); `done_dates`
    are their distinct dates; `days_left` is `period.end - today` in days (0 on the last
    day), None once the period is over or when the rule is not applicable.
    `without_quorum` are the dates of activities that did not count for lack of a quorum.
    """

    rule: CalendarRule
    period: Period
    state: ObligationState
    done_dates: tuple[date, ...] = ()
    count: int = 0
    days_left: int | None = None
    missing_groups: tuple[int, ...] = ()
    without_quorum: tuple[date, ...] = ()


_NO_ACTIVITIES: tuple[ActivityFact, ...] = ()


class _Judge:
    """Judges branches on one reference date, sharing the period arithmetic between them."""

    def __init__(self, on: date, today: date) -> None:
        self.on = on
        self.today = today
        self.year = period_containing(PeriodKind.YEAR, on)
        self.windows: dict[tuple[PeriodKind, int | None], Period] = {}
        # Most branches of a large subtree have no activity of most kinds in a window: such a
        # branch-wide status depends on the rule alone, and statuses are immutable, so one is
        # judged per rule and shared (a city's 160,000 statuses are mostly these).
        self.none_done: dict[CalendarRule, ObligationStatus] = {}

    def window(self, rule: CalendarRule) -> Period:
        slot = (rule.period, rule.only_quarter)
        found = self.windows.get(slot)
        if found is None:
            found = self.windows[slot] = rule.window(self.on)
        return found

    def branch(
        self,
        rules: Iterable[CalendarRule],
        activities: Iterable[ActivityFact],
        party_group_ids: Collection[int],
    ) -> list[ObligationStatus]:
        # Every window lies inside the year of `on`, so one pass buckets what can count.
        first, last = self.year.start, self.year.end
        by_kind: dict[ActivityKind, list[ActivityFact]] = {}
        for activity in activities:
            if activity.voided or not first <= activity.day <= last:
                continue
            for kind in activity.kinds:
                bucket = by_kind.get(kind)
                if bucket is None:
                    by_kind[kind] = [activity]
                else:
                    bucket.append(activity)
        return [
            self.status(rule, by_kind.get(rule.kind, _NO_ACTIVITIES), party_group_ids)
            for rule in rules
            if rule.enabled
        ]

    def status(
        self,
        rule: CalendarRule,
        candidates: Sequence[ActivityFact],
        party_group_ids: Collection[int],
    ) -> ObligationStatus:
        if candidates or rule.scope is Scope.PARTY_GROUP:
            return self._judged(rule, candidates, party_group_ids)
        found = self.none_done.get(rule)
        if found is None:
            found = self.none_done[rule] = self._judged(rule, candidates, party_group_ids)
        return found

    def _judged(
        self,
        rule: CalendarRule,
        candidates: Sequence[ActivityFact],
        party_group_ids: Collection[int],
    ) -> ObligationStatus:
        window = self.window(rule)
        start, end = window.start, window.end
        if self.today < start or (rule.scope is Scope.PARTY_GROUP and not party_group_ids):
            return ObligationStatus(rule, window, ObligationState.NOT_APPLICABLE)
        hits = [activity for activity in candidates if start <= activity.day <= end]
        short: tuple[date, ...] = ()
        if rule.quorum and any(rule.kind in activity.short_of_quorum for activity in hits):
            short = tuple(sorted({a.day for a in hits if rule.kind in a.short_of_quorum}))
            hits = [activity for activity in hits if rule.kind not in activity.short_of_quorum]
        missing: tuple[int, ...] = ()
        if rule.scope is Scope.PARTY_GROUP:
            per_group = dict.fromkeys(party_group_ids, 0)
            counted = []
            for activity in hits:
                group = activity.party_group_id
                # An activity of another or no party group does nothing for these groups.
                if group is not None and group in per_group:
                    per_group[group] += 1
                    counted.append(activity)
            hits = counted
            count = min(per_group.values())
            missing = tuple(sorted(g for g, n in per_group.items() if n < rule.min_count))
        else:
            count = len(hits)
        days_left = (end - self.today).days if self.today <= end else None
        if count >= rule.min_count:
            state = ObligationState.DONE
        elif days_left is None:
            state = ObligationState.OVERDUE
        else:
            state = ObligationState.DUE
        done_dates = tuple(sorted({activity.day for activity in hits}))
        return ObligationStatus(
            rule, window, state, done_dates, count, days_left, missing, without_quorum=short
        )


def compliance(
    rules: Iterable[CalendarRule],
    activities: Iterable[ActivityFact],
    party_group_ids: Collection[int],
    on: date,
    *,
    today: date | None = None,
) -> list[ObligationStatus]:
    """Judge one branch's enabled rules in the periods containing `on`, as of `today`.

    `today` defaults to `on`; to browse a past period pass a day in it as `on` and the real
    date as `today`, so a period already over is either done or overdue. Voided activities
    never count; branch-wide rules count activities of any party group too.
    """
    judge = _Judge(on, on if today is None else today)
    return judge.branch(rules, activities, party_group_ids)


_Branch = TypeVar("_Branch", bound=Hashable)


def compliance_many(
    rules_by_branch: Mapping[_Branch, Iterable[CalendarRule]],
    activities_by_branch: Mapping[_Branch, Iterable[ActivityFact]],
    groups_by_branch: Mapping[_Branch, Collection[int]],
    on: date,
    *,
    today: date | None = None,
) -> dict[_Branch, list[ObligationStatus]]:
    """Judge every branch of `rules_by_branch` like `compliance`; missing data means none."""
    judge = _Judge(on, on if today is None else today)
    return {
        branch: judge.branch(
            rules,
            activities_by_branch.get(branch, _NO_ACTIVITIES),
            groups_by_branch.get(branch, ()),
        )
        for branch, rules in rules_by_branch.items()
    }
