"""The activity calendar: periods, rules with overrides, and compliance."""

import random
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.calendar import (
    DEFAULT_RULES,
    ActivityFact,
    CalendarRule,
    ObligationState,
    ObligationStatus,
    Period,
    PeriodKind,
    RuleOverride,
    Scope,
    compliance,
    compliance_many,
    effective_rules,
    next_period,
    period_containing,
    period_from_key,
    previous_period,
    quarter_of_year,
)
from bot.rules.kinds import ActivityKind

K = ActivityKind
P = PeriodKind
S = ObligationState
FAST = settings(max_examples=150, deadline=None, database=None)
RULES = {rule.key: rule for rule in DEFAULT_RULES}


def fact(
    day: date,
    *kinds: ActivityKind,
    group: int | None = None,
    voided: bool = False,
    id: int = 0,
) -> ActivityFact:
    return ActivityFact(id, day, frozenset(kinds), group, voided)


def by_key(statuses: list[ObligationStatus]) -> dict[str, ObligationStatus]:
    return {status.rule.key: status for status in statuses}


# --- periods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "day", "start", "end", "key"),
    [
        (P.MONTH, date(2028, 2, 10), date(2028, 2, 1), date(2028, 2, 29), "2028-02"),
        (P.MONTH, date(2026, 2, 28), date(2026, 2, 1), date(2026, 2, 28), "2026-02"),
        (P.MONTH, date(2026, 12, 31), date(2026, 12, 1), date(2026, 12, 31), "2026-12"),
        (P.QUARTER, date(2026, 11, 20), date(2026, 10, 1), date(2026, 12, 31), "2026-Q4"),
        (P.QUARTER, date(2026, 4, 1), date(2026, 4, 1), date(2026, 6, 30), "2026-Q2"),
        (P.HALF, date(2026, 6, 30), date(2026, 1, 1), date(2026, 6, 30), "2026-H1"),
        (P.HALF, date(2026, 7, 1), date(2026, 7, 1), date(2026, 12, 31), "2026-H2"),
        (P.YEAR, date(2026, 5, 5), date(2026, 1, 1), date(2026, 12, 31), "2026"),
    ],
)
def test_period_containing(kind: PeriodKind, day: date, start: date, end: date, key: str) -> None:
    period = period_containing(kind, day)
    assert period == Period(start, end, kind)
    assert day in period
    assert period.key == key
    assert period_from_key(key) == period


def test_previous_and_next_cross_the_year() -> None:
    q1 = quarter_of_year(2026, 1)
    assert previous_period(q1) == quarter_of_year(2025, 4)
    assert next_period(quarter_of_year(2025, 4)) == q1
    jan = period_containing(P.MONTH, date(2026, 1, 15))
    assert previous_period(jan).key == "2025-12"


@pytest.mark.parametrize("key", ["", "2026-13", "2026-Q5", "2026-H3", "0000", "26", "2026-q4", "x"])
def test_period_from_key_refuses_junk(key: str) -> None:
    assert period_from_key(key) is None


@FAST
@given(
    kind=st.sampled_from(list(P)), day=st.dates(min_value=date(2, 1, 1), max_value=date(9998, 1, 1))
)
def test_periods_tile_the_calendar(kind: PeriodKind, day: date) -> None:
    period = period_containing(kind, day)
    assert day in period
    assert period_from_key(period.key) == period
    assert previous_period(period).end + timedelta(days=1) == period.start
    assert next_period(period).start - timedelta(days=1) == period.end


# --- rules and overrides ---------------------------------------------------------------


def test_default_rules_follow_the_domain_calendar() -> None:
    expected = {
        "general_meeting": (K.GENERAL_MEETING, P.QUARTER, Scope.BRANCH),
        "committee_meeting": (K.COMMITTEE_MEETING, P.MONTH, Scope.BRANCH),
        "group_meeting": (K.GROUP_MEETING, P.MONTH, Scope.PARTY_GROUP),
        "lecture": (K.LECTURE, P.QUARTER, Scope.BRANCH),
        "themed_day": (K.THEMED_DAY, P.MONTH, Scope.BRANCH),
        "life_meeting": (K.LIFE_MEETING, P.YEAR, Scope.BRANCH),
        "appraisal": (K.APPRAISAL, P.YEAR, Scope.BRANCH),
        "talk": (K.TALK, P.YEAR, Scope.BRANCH),
    }
    assert {r.key: (r.kind, r.period, r.scope) for r in DEFAULT_RULES} == expected
    assert all(r.min_count == 1 and r.enabled and r.only_quarter is None for r in DEFAULT_RULES)


@pytest.mark.parametrize(
    "make",
    [
        lambda: CalendarRule("x", K.TALK, P.YEAR, min_count=0),
        lambda: CalendarRule("x", K.TALK, P.YEAR, only_quarter=5),
        lambda: CalendarRule("x", K.TALK, P.MONTH, only_quarter=4),
    ],
)
def test_invalid_rules_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()


def test_nearest_override_wins() -> None:
    committee = [RuleOverride(1, "lecture", period=P.YEAR)]
    general_branch = [RuleOverride(2, "lecture", period=P.HALF, min_count=2)]
    branch = [RuleOverride(3, "lecture", min_count=3)]
    rules = by_key_rules(effective_rules(DEFAULT_RULES, [committee, general_branch, branch]))
    # period from the general branch, min_count from the branch itself.
    assert rules["lecture"] == CalendarRule("lecture", K.LECTURE, P.HALF, min_count=3)
    assert rules["general_meeting"] == RULES["general_meeting"]


def by_key_rules(rules: list[CalendarRule]) -> dict[str, CalendarRule]:
    return {rule.key: rule for rule in rules}


def test_override_can_disable_and_a_nearer_one_re_enable() -> None:
    disabled = effective_rules(DEFAULT_RULES, [[RuleOverride(1, "talk", enabled=False)]])
    assert not by_key_rules(disabled)["talk"].enabled
    again = effective_rules(
        DEFAULT_RULES,
        [[RuleOverride(1, "talk", enabled=False)], [RuleOverride(2, "talk", enabled=True)]],
    )
    assert by_key_rules(again)["talk"].enabled


def test_only_quarter_set_and_cleared() -> None:
    q4 = effective_rules(DEFAULT_RULES, [[RuleOverride(1, "life_meeting", only_quarter=4)]])
    assert by_key_rules(q4)["life_meeting"].only_quarter == 4
    cleared = effective_rules(
        DEFAULT_RULES,
        [
            [RuleOverride(1, "life_meeting", only_quarter=4)],
            [RuleOverride(2, "life_meeting", only_quarter=0)],
        ],
    )
    assert by_key_rules(cleared)["life_meeting"].only_quarter is None


def test_unknown_and_invalid_overrides_are_skipped() -> None:
    overrides = [
        [RuleOverride(1, "dues", min_count=2)],
        [RuleOverride(2, "committee_meeting", only_quarter=4)],  # a monthly rule has no quarter
    ]
    assert effective_rules(DEFAULT_RULES, overrides) == list(DEFAULT_RULES)
    with pytest.raises(ValueError):
        overrides[1][0].apply(RULES["committee_meeting"])


def test_effective_rules_keep_the_defaults_order_and_do_not_mutate() -> None:
    defaults = list(DEFAULT_RULES)
    result = effective_rules(defaults, [[RuleOverride(1, "talk", min_count=2)]])
    assert [rule.key for rule in result] == [rule.key for rule in DEFAULT_RULES]
    assert defaults == list(DEFAULT_RULES)


OVERRIDES = st.builds(
    RuleOverride,
    node_id=st.integers(1, 5),
    key=st.sampled_from([rule.key for rule in DEFAULT_RULES]),
    period=st.none() | st.just(P.YEAR) | st.just(P.HALF),
    min_count=st.none() | st.integers(1, 4),
    scope=st.none(),
    only_quarter=st.none() | st.integers(0, 4),
    enabled=st.none() | st.booleans(),
)


@FAST
@given(
    levels=st.lists(
        st.lists(OVERRIDES, max_size=6).map(lambda level: list({o.key: o for o in level}.values())),
        max_size=4,
    ),
    seed=st.integers(),
)
def test_order_of_unrelated_overrides_does_not_matter(
    levels: list[list[RuleOverride]], seed: int
) -> None:
    shuffled = [
        random.Random(seed + depth).sample(level, len(level)) for depth, level in enumerate(levels)
    ]
    assert effective_rules(DEFAULT_RULES, levels) == effective_rules(DEFAULT_RULES, shuffled)


@FAST
@given(levels=st.lists(st.lists(OVERRIDES, max_size=4), max_size=4), min_count=st.integers(1, 9))
def test_the_branch_own_min_count_beats_all_ancestors(
    levels: list[list[RuleOverride]], min_count: int
) -> None:
    own = [RuleOverride(99, "lecture", min_count=min_count, enabled=True)]
    rules = by_key_rules(effective_rules(DEFAULT_RULES, [*levels, own]))
    assert rules["lecture"].min_count == min_count
    assert rules["lecture"].enabled


# --- compliance ------------------------------------------------------------------------

ON = date(2026, 11, 20)


def test_done_due_and_days_left() -> None:
    activities = [fact(date(2026, 11, 3), K.COMMITTEE_MEETING), fact(date(2026, 10, 9), K.LECTURE)]
    result = by_key(compliance(DEFAULT_RULES, activities, [], ON))
    committee = result["committee_meeting"]
    assert committee.state is S.DONE
    assert committee.done_dates == (date(2026, 11, 3),)
    assert committee.count == 1
    assert committee.period.key == "2026-11"
    assert result["lecture"].state is S.DONE
    themed = result["themed_day"]
    assert themed.state is S.DUE
    assert themed.days_left == 10
    assert result["general_meeting"].days_left == 41
    assert result["group_meeting"].state is S.NOT_APPLICABLE  # a branch without party groups


def test_last_day_of_the_period_has_zero_days_left() -> None:
    status = by_key(compliance(DEFAULT_RULES, [], [], date(2026, 11, 30)))["themed_day"]
    assert (status.state, status.days_left) == (S.DUE, 0)


def test_one_meeting_counts_for_each_of_its_kinds() -> None:
    meeting = fact(date(2026, 11, 10), K.GENERAL_MEETING, K.LECTURE)
    result = by_key(compliance(DEFAULT_RULES, [meeting], [], ON))
    assert result["general_meeting"].state is S.DONE
    assert result["lecture"].state is S.DONE


def test_voided_and_out_of_period_activities_do_not_count() -> None:
    activities = [
        fact(date(2026, 11, 5), K.COMMITTEE_MEETING, voided=True),
        fact(date(2026, 10, 31), K.COMMITTEE_MEETING),
        fact(date(2025, 11, 5), K.COMMITTEE_MEETING),
    ]
    status = by_key(compliance(DEFAULT_RULES, activities, [], ON))["committee_meeting"]
    assert (status.state, status.count, status.done_dates) == (S.DUE, 0, ())


def test_browsing_a_past_period_gives_done_or_overdue() -> None:
    activities = [fact(date(2026, 10, 15), K.COMMITTEE_MEETING)]
    october = by_key(compliance(DEFAULT_RULES, activities, [], date(2026, 10, 1), today=ON))
    assert october["committee_meeting"].state is S.DONE
    assert october["committee_meeting"].days_left is None
    assert october["themed_day"].state is S.OVERDUE
    assert october["general_meeting"].state is S.DUE  # Q4 is not over on ON


def test_per_group_rule_needs_every_group() -> None:
    activities = [
        fact(date(2026, 11, 2), K.GROUP_MEETING, group=1),
        fact(date(2026, 11, 9), K.GROUP_MEETING, group=1),
        fact(date(2026, 11, 9), K.GROUP_MEETING, group=7),  # not a group of this branch
        fact(date(2026, 11, 9), K.GROUP_MEETING),  # no group
    ]
    status = by_key(compliance(DEFAULT_RULES, activities, [1, 2], ON))["group_meeting"]
    assert status.state is S.DUE
    assert status.count == 0
    assert status.missing_groups == (2,)
    assert status.done_dates == (date(2026, 11, 2), date(2026, 11, 9))

    activities.append(fact(date(2026, 11, 19), K.GROUP_MEETING, group=2))
    status = by_key(compliance(DEFAULT_RULES, activities, [1, 2], ON))["group_meeting"]
    assert (status.state, status.count, status.missing_groups) == (S.DONE, 1, ())


def test_branch_rule_counts_a_party_group_activity() -> None:
    activities = [fact(date(2026, 11, 2), K.THEMED_DAY, group=1)]
    status = by_key(compliance(DEFAULT_RULES, activities, [1], ON))["themed_day"]
    assert status.state is S.DONE


def test_min_count_and_disabled_rules() -> None:
    rules = effective_rules(
        DEFAULT_RULES,
        [
            [
                RuleOverride(1, "committee_meeting", min_count=2),
                RuleOverride(1, "talk", enabled=False),
            ]
        ],
    )
    activities = [fact(date(2026, 11, 3), K.COMMITTEE_MEETING)]
    result = by_key(compliance(rules, activities, [], ON))
    assert "talk" not in result
    assert (result["committee_meeting"].state, result["committee_meeting"].count) == (S.DUE, 1)


def test_only_quarter_window() -> None:
    rules = [CalendarRule("life_meeting", K.LIFE_MEETING, P.YEAR, only_quarter=4)]
    early = [fact(date(2026, 5, 1), K.LIFE_MEETING)]
    before = compliance(rules, early, [], date(2026, 5, 2))[0]
    assert before.state is S.NOT_APPLICABLE
    assert before.period == quarter_of_year(2026, 4)
    assert compliance(rules, early, [], ON)[0].state is S.DUE  # a May meeting is not in Q4
    in_q4 = [*early, fact(date(2026, 10, 20), K.LIFE_MEETING)]
    assert compliance(rules, in_q4, [], ON)[0].state is S.DONE
    assert compliance(rules, early, [], date(2026, 5, 2), today=date(2027, 1, 2))[0].state is (
        S.OVERDUE
    )


def test_compliance_many_matches_compliance() -> None:
    rules = {"a": DEFAULT_RULES, "b": DEFAULT_RULES[:2], "c": DEFAULT_RULES}
    activities = {
        "a": [fact(date(2026, 11, 3), K.COMMITTEE_MEETING)],
        "b": [fact(date(2026, 10, 3), K.GENERAL_MEETING)],
    }
    groups = {"c": [5]}
    result = compliance_many(rules, activities, groups, ON)
    assert result == {
        branch: compliance(rules[branch], activities.get(branch, []), groups.get(branch, []), ON)
        for branch in rules
    }


DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
FACTS = st.builds(
    ActivityFact,
    id=st.integers(0, 10**6),
    day=DAYS,
    kinds=st.frozensets(st.sampled_from(list(K)), min_size=1, max_size=3),
    party_group_id=st.none() | st.integers(1, 4),
    voided=st.booleans(),
)
RULE_SETS = st.lists(
    st.builds(
        CalendarRule,
        key=st.text(max_size=3),
        kind=st.sampled_from(list(K)),
        period=st.sampled_from(list(P)),
        min_count=st.integers(1, 3),
        scope=st.sampled_from(list(Scope)),
        enabled=st.booleans(),
    ),
    max_size=8,
)


@FAST
@given(
    rules=RULE_SETS,
    activities=st.lists(FACTS, max_size=40),
    groups=st.sets(st.integers(1, 4), max_size=3),
    on=DAYS,
    later=st.integers(0, 500),
)
def test_compliance_states_are_consistent(
    rules: list[CalendarRule],
    activities: list[ActivityFact],
    groups: set[int],
    on: date,
    later: int,
) -> None:
    today = on + timedelta(days=later)
    result = compliance(rules, activities, groups, on, today=today)
    assert [status.rule for status in result] == [rule for rule in rules if rule.enabled]
    for status in result:
        rule, period = status.rule, status.period
        assert on in period
        if status.state is S.NOT_APPLICABLE:
            assert rule.scope is Scope.PARTY_GROUP and not groups
            continue
        assert (status.state is S.DONE) == (status.count >= rule.min_count)
        assert (status.state is S.OVERDUE) == (status.count < rule.min_count and period.end < today)
        assert (status.days_left is None) == (period.end < today)
        assert list(status.done_dates) == sorted(set(status.done_dates))
        assert all(day in period for day in status.done_dates)
        counting = [
            a
            for a in activities
            if not a.voided
            and rule.kind in a.kinds
            and a.day in period
            and (rule.scope is Scope.BRANCH or a.party_group_id in groups)
        ]
        assert set(status.done_dates) == {a.day for a in counting}
        if rule.scope is Scope.BRANCH:
            assert status.count == len(counting)
        else:
            per_group = {g: sum(a.party_group_id == g for a in counting) for g in groups}
            assert status.count == min(per_group.values())
            assert status.missing_groups == tuple(
                sorted(g for g, n in per_group.items() if n < rule.min_count)
            )
