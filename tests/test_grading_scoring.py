"""Scoring: item points, satisfaction, renormalisation, bands, the cap rule, properties."""

import random
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.grading import (
    DEFAULT_CONFIG,
    Answer,
    AnswerType,
    Band,
    Component,
    Grade,
    GradingConfig,
    Item,
    Questionnaire,
    SatisfactionCounts,
    SatisfactionScale,
    check_answer,
    grade_branch,
    grade_for,
    load_default,
    participation,
    round_score,
    satisfaction_mean,
    satisfaction_rate,
    score_item,
)

Q = load_default()
GRADE_ORDER = [Grade.WEAK, Grade.ORDINARY, Grade.FAIRLY_GOOD, Grade.GOOD]


def best_answers(q: Questionnaire = Q) -> dict[str, Answer]:
    """Answers that earn every item's full points."""
    answers: dict[str, Answer] = {}
    for item in q.items:
        if item.type is AnswerType.YES_PARTLY_NO:
            answers[item.id] = "yes"
        elif item.type is AnswerType.SCALE_1_5:
            answers[item.id] = 5
        elif item.type is AnswerType.NUMBER:
            answers[item.id] = 0 if item.lower_is_better else (item.maximum or 1000)
        elif item.type is AnswerType.CHOICE:
            answers[item.id] = max(item.options, key=lambda o: o.points).id
        else:
            answers[item.id] = "free text"
    return answers


ALL_SATISFIED = SatisfactionCounts(satisfied=20)


# --- items ---------------------------------------------------------------------------------------


def test_yes_partly_no_and_scale() -> None:
    committee = Q.item("leader-committee")  # 4 points
    assert [score_item(committee, a) for a in ("yes", "partly", "no", None)] == [4, 2, 0, 0]
    assert score_item(committee, "partly", partly_share=0.25) == 1
    ability = Q.item("leader-ability")  # 2 points
    assert [score_item(ability, v) for v in range(1, 6)] == [0, 0.5, 1, 1.5, 2]


def test_number_thresholds_both_directions() -> None:
    study = Q.item("leader-study")  # 56 -> 3, 40 -> 2, 20 -> 1
    assert [score_item(study, h) for h in (0, 19.5, 20, 39, 40, 56, 80)] == [0, 0, 1, 1, 2, 3, 3]
    complaints = Q.item("perf-complaints")  # at most 0 -> 2, at most 2 -> 1
    assert [score_item(complaints, n) for n in (0, 1, 2, 3)] == [2, 1, 1, 0]


def test_choice_and_text() -> None:
    tasks = Q.item("plan-tasks")
    assert [score_item(tasks, o) for o in ("all", "most", "some", "none")] == [3, 2, 1, 0]
    assert score_item(Q.item("perf-highlights"), "We did a lot") == 0


def test_invalid_answers_are_named() -> None:
    cases: list[tuple[str, Answer, str]] = [
        ("leader-committee", "maybe", "not_yes_partly_no"),
        ("leader-ability", 6, "out_of_range"),
        ("leader-ability", 2.5, "not_a_whole_number"),
        ("leader-study", -1, "out_of_range"),
        ("leader-study", "many", "not_a_number"),
        ("plan-tasks", "everything", "unknown_option"),
        ("perf-highlights", 3, "not_text"),
    ]
    for item_id, answer, code in cases:
        assert check_answer(Q.item(item_id), answer) == code
        with pytest.raises(ValueError, match=code):
            score_item(Q.item(item_id), answer)
    assert check_answer(Q.item("leader-ability"), True) == "not_a_whole_number"


def test_answers_to_unknown_items_are_refused() -> None:
    with pytest.raises(KeyError):
        grade_branch(Q, answers={"no-such-item": "yes"})


# --- satisfaction --------------------------------------------------------------------------------


def test_satisfaction_rate_and_mean() -> None:
    counts = SatisfactionCounts(
        satisfied=6, fairly_satisfied=2, basically_satisfied=1, dissatisfied=1
    )
    assert satisfaction_rate(counts) == pytest.approx(0.9)
    assert satisfaction_mean(counts, SatisfactionScale()) == pytest.approx((6 + 1.6 + 0.6) / 10)
    assert satisfaction_rate(SatisfactionCounts()) is None
    custom = SatisfactionScale(1.0, 0.9, 0.5, 0.0)
    assert satisfaction_mean(counts, custom) == pytest.approx((6 + 1.8 + 0.5) / 10)
    with pytest.raises(ValueError):
        SatisfactionScale(0.8, 1.0, 0.6, 0.0)
    with pytest.raises(ValueError):
        SatisfactionCounts(satisfied=-1)


def test_satisfaction_indicator_from_both_groups_or_the_one_present() -> None:
    members = SatisfactionCounts(satisfied=10)  # mean 1.0
    masses = SatisfactionCounts(basically_satisfied=2)  # mean 0.6
    both = grade_branch(Q, answers={}, members=members, masses=masses)
    assert both.indicators[-1].score == pytest.approx(25 * 0.8)
    only_members = grade_branch(Q, answers={}, members=members)
    assert only_members.indicators[-1].score == pytest.approx(25)
    assert Component.SATISFACTION not in only_members.missing
    weighted = GradingConfig(member_weight=0.7, mass_weight=0.3)
    result = grade_branch(Q, answers={}, members=members, masses=masses, config=weighted)
    assert result.indicators[-1].score == pytest.approx(25 * (0.7 + 0.18))


# --- totals and renormalisation ------------------------------------------------------------------


def test_full_example() -> None:
    answers = best_answers()
    answers["leader-committee"] = "partly"  # -2
    answers["venue-use"] = "occasional"  # -2
    members = SatisfactionCounts(satisfied=8, fairly_satisfied=2)  # mean 0.96
    masses = SatisfactionCounts(satisfied=3, fairly_satisfied=1)  # mean 0.95
    result = grade_branch(
        Q, answers=answers, superior=85, members=members, masses=masses, member_count=10
    )
    mass_points = 25 * (0.96 + 0.95) / 2
    assert result.self_total == pytest.approx(75 - 4 + mass_points)
    assert result.superior_total == 85
    expected = 0.4 * (71 + mass_points) + 0.6 * 85
    assert result.final_score == round_score(expected) == 89.0  # 88.95 rounds half up
    assert result.grade == Grade.FAIRLY_GOOD
    assert not result.renormalised and not result.capped_by_satisfaction
    assert result.missing == frozenset()
    assert result.participation is not None
    assert result.participation.members_met and result.participation.masses_met
    scores = {s.indicator_id: s.score for s in result.indicators}
    assert scores["leader"] == 13 and scores["venue"] == 8


def test_no_superior_yet_means_self_only() -> None:
    result = grade_branch(Q, answers=best_answers(), members=ALL_SATISFIED)
    assert result.final_score == 100.0
    assert result.renormalised
    assert result.missing == {Component.SUPERIOR}


def test_superior_only() -> None:
    result = grade_branch(Q, answers=None, superior=72.25)
    assert result.final_score == 72.3
    assert result.grade == Grade.ORDINARY
    assert result.self_total is None and result.indicators == ()
    assert result.renormalised
    assert result.missing == {Component.SELF, Component.SATISFACTION}


def test_nothing_yet_means_no_grade() -> None:
    result = grade_branch(Q, answers=None)
    assert (result.final_score, result.grade, result.renormalised) == (None, None, False)


def test_no_satisfaction_renormalises_over_the_other_indicators() -> None:
    answers = best_answers()
    answers["perf-central-work"] = "not-done"  # -5 of the 75 self-answered points
    result = grade_branch(Q, answers=answers)
    assert result.indicators[-1].score is None
    assert result.self_total == pytest.approx(70 / 75 * 100)
    assert result.renormalised
    assert Component.SATISFACTION in result.missing


def test_superior_per_indicator() -> None:
    per_indicator = {
        "leader": 15,
        "plan": 10,
        "rules": 8,
        "venue": 10,
        "support": 10,
        "performance": 20,
    }
    # Without the mass-evaluation indicator the measured satisfaction fills it in.
    result = grade_branch(
        Q, answers=None, superior=per_indicator, members=SatisfactionCounts(fairly_satisfied=5)
    )
    assert result.superior_total == pytest.approx(73 + 20)
    # With no satisfaction either, the superior's total is renormalised like the self total.
    result = grade_branch(Q, answers=None, superior=per_indicator)
    assert result.superior_total == pytest.approx(73 / 75 * 100)
    assert result.renormalised
    result = grade_branch(Q, answers=None, superior={**per_indicator, "mass": 10})
    assert result.superior_total == 83
    with pytest.raises(ValueError, match="lacks"):
        grade_branch(Q, answers=None, superior={"leader": 15})
    with pytest.raises(ValueError, match="within"):
        grade_branch(Q, answers=None, superior={**per_indicator, "leader": 16})
    with pytest.raises(ValueError, match="unknown"):
        grade_branch(Q, answers=None, superior={**per_indicator, "bonus": 1})
    with pytest.raises(ValueError):
        grade_branch(Q, answers=None, superior=101)


def test_weights_are_configurable() -> None:
    config = GradingConfig(self_weight=0.3, superior_weight=0.7)
    result = grade_branch(
        Q, answers=best_answers(), superior=50, members=ALL_SATISFIED, config=config
    )
    assert result.final_score == 65.0
    superior_only = GradingConfig(self_weight=0, superior_weight=1)
    result = grade_branch(Q, answers=best_answers(), superior=50, config=superior_only)
    assert result.final_score == 50.0
    result = grade_branch(Q, answers=best_answers(), config=superior_only)
    assert result.final_score is None


# --- bands and rounding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "rounded", "grade"),
    [
        (100, 100.0, Grade.GOOD),
        (90, 90.0, Grade.GOOD),
        (89.99, 90.0, Grade.GOOD),  # rounded to one decimal before banding
        (89.95, 90.0, Grade.GOOD),
        (89.94, 89.9, Grade.FAIRLY_GOOD),
        (80, 80.0, Grade.FAIRLY_GOOD),
        (79.94, 79.9, Grade.ORDINARY),
        (60, 60.0, Grade.ORDINARY),
        (59.99, 60.0, Grade.ORDINARY),
        (59.94, 59.9, Grade.WEAK),
        (0, 0.0, Grade.WEAK),
    ],
)
def test_band_edges(raw: float, rounded: float, grade: Grade) -> None:
    assert round_score(raw) == rounded
    assert grade_for(rounded) == grade
    # The same through the whole pipeline, with the superior's total as the only component.
    result = grade_branch(Q, answers=None, superior=raw)
    assert (result.final_score, result.grade) == (rounded, grade)


def test_local_bands() -> None:
    bands = (Band("advanced", 85), Band("ordinary", 60), Band("backward", 0))
    config = GradingConfig(bands=bands, barred_grades=frozenset({"advanced"}))
    assert grade_for(84.9, bands) == "ordinary"
    assert grade_branch(Q, answers=None, superior=85, config=config).grade == "advanced"
    with pytest.raises(ValueError):
        GradingConfig(bands=(Band("a", 50), Band("b", 60), Band("c", 0)))
    with pytest.raises(ValueError):
        GradingConfig(bands=(Band("a", 50), Band("b", 10)))
    with pytest.raises(ValueError):
        GradingConfig(self_weight=0, superior_weight=0)


# --- the satisfaction cap ------------------------------------------------------------------------

CAP = GradingConfig(mass_rate_floor=0.9)


def test_low_mass_satisfaction_caps_at_ordinary() -> None:
    masses = SatisfactionCounts(satisfied=8, dissatisfied=2)  # rate 0.8
    result = grade_branch(
        Q, answers=best_answers(), superior=95, members=ALL_SATISFIED, masses=masses, config=CAP
    )
    assert result.final_score is not None and result.final_score >= 90
    assert (result.grade, result.uncapped_grade) == (Grade.ORDINARY, Grade.GOOD)
    assert result.capped_by_satisfaction
    # The rule is off by default.
    result = grade_branch(
        Q, answers=best_answers(), superior=95, members=ALL_SATISFIED, masses=masses
    )
    assert result.grade == Grade.GOOD and not result.capped_by_satisfaction


def test_cap_edges() -> None:
    exactly_90 = SatisfactionCounts(satisfied=9, dissatisfied=1)
    result = grade_branch(Q, answers=None, superior=95, masses=exactly_90, config=CAP)
    assert result.grade == Grade.GOOD and not result.capped_by_satisfaction
    # Without mass responses the rule can't be checked and does not cap.
    result = grade_branch(Q, answers=None, superior=95, config=CAP)
    assert result.grade == Grade.GOOD and not result.capped_by_satisfaction
    # An ordinary or weak grade is not touched.
    low = SatisfactionCounts(dissatisfied=3)
    result = grade_branch(Q, answers=None, superior=50, masses=low, config=CAP)
    assert result.grade == Grade.WEAK and not result.capped_by_satisfaction


# --- participation -------------------------------------------------------------------------------


def test_participation_targets() -> None:
    p = participation(30, 30, 3)
    assert (p.members_required, p.masses_required, p.members_met, p.masses_met) == (
        30,
        3,
        True,
        True,
    )
    p = participation(31, 29, 3)
    assert (p.masses_required, p.members_met, p.masses_met) == (4, False, False)
    p = participation(3, 3, 0)
    assert p.masses_required == 1
    local = participation(30, 27, 6, GradingConfig(member_target=0.9, mass_target_ratio=0.2))
    assert local.members_met and local.masses_met
    result = grade_branch(Q, answers={}, members=SatisfactionCounts(satisfied=2), member_count=4)
    assert result.participation == participation(4, 2, 0)


# --- properties ----------------------------------------------------------------------------------


def answer_strategy(item: Item) -> st.SearchStrategy[Answer]:
    """Any valid answer to an item."""
    if item.type is AnswerType.YES_PARTLY_NO:
        return st.sampled_from(["yes", "partly", "no"])
    if item.type is AnswerType.SCALE_1_5:
        return st.integers(1, 5)
    if item.type is AnswerType.NUMBER:
        top = min(200, item.maximum or 200)  # valid answers only
        return st.one_of(st.integers(0, int(top)), st.floats(0, top, allow_nan=False))
    if item.type is AnswerType.CHOICE:
        return st.sampled_from([o.id for o in item.options])
    return st.text(max_size=5)


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, Answer]:
    """Answers to a random subset of the default questionnaire's items."""
    answers: dict[str, Answer] = {}
    for item in Q.items:
        if draw(st.booleans()):
            answers[item.id] = draw(answer_strategy(item))
    return answers


counts_strategy = st.builds(
    SatisfactionCounts,
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
)
optional_counts = st.one_of(st.none(), counts_strategy)
superior_strategy = st.one_of(
    st.none(),
    st.floats(0, 100, allow_nan=False),
    st.fixed_dictionaries(
        {ind.id: st.floats(0, ind.points, allow_nan=False) for ind in Q.indicators[:-1]},
        optional={"mass": st.floats(0, 25, allow_nan=False)},
    ),
)
config_strategy = st.builds(
    GradingConfig,
    self_weight=st.floats(0.05, 1),
    superior_weight=st.floats(0.05, 1),
    member_weight=st.floats(0, 1).filter(lambda w: w > 0),
    mass_weight=st.floats(0, 1),
    mass_rate_floor=st.one_of(st.none(), st.floats(0, 1)),
)


def better(item: Item, answer: Answer | None) -> st.SearchStrategy[Answer]:
    """Answers at least as good as ``answer``."""
    if answer is None:
        return answer_strategy(item)
    if item.type is AnswerType.YES_PARTLY_NO:
        order = ["no", "partly", "yes"]
        return st.sampled_from(order[order.index(str(answer)) :])
    if item.type is AnswerType.SCALE_1_5:
        return st.integers(int(answer), 5)
    if item.type is AnswerType.NUMBER:
        value = float(answer)
        if item.lower_is_better:
            return st.floats(0, value)
        top = value + 100 if item.maximum is None else item.maximum  # valid answers only
        return st.floats(value, top)
    if item.type is AnswerType.CHOICE:
        points = next(o.points for o in item.options if o.id == answer)
        return st.sampled_from([o.id for o in item.options if o.points >= points])
    return st.text(max_size=5)


@given(answer_sets(), optional_counts, optional_counts, superior_strategy, config_strategy)
@settings(max_examples=200)
def test_scores_stay_in_bounds(
    answers: dict[str, Answer],
    members: SatisfactionCounts | None,
    masses: SatisfactionCounts | None,
    superior: float | Mapping[str, float] | None,
    config: GradingConfig,
) -> None:
    result = grade_branch(
        Q,
        answers=answers,
        superior=superior,
        members=members,
        masses=masses,
        member_count=10,
        config=config,
    )
    for score in result.indicators:
        assert score.score is None or 0 <= score.score <= score.points + 1e-9
    assert result.self_total is not None and 0 <= result.self_total <= 100 + 1e-9
    assert result.final_score is not None and 0 <= result.final_score <= 100
    assert result.grade in {band.grade for band in config.bands}
    assert result.final_score == round(result.final_score, 1)
    if superior is None:
        assert result.renormalised
        assert result.final_score == round_score(result.self_total)


@given(answer_sets(), st.sampled_from(Q.items), optional_counts, superior_strategy, st.data())
def test_a_better_answer_never_lowers_a_score(
    answers: dict[str, Answer],
    item: Item,
    members: SatisfactionCounts | None,
    superior: float | Mapping[str, float] | None,
    data: st.DataObject,
) -> None:
    improved = {**answers, item.id: data.draw(better(item, answers.get(item.id)))}
    before = grade_branch(Q, answers=answers, superior=superior, members=members)
    after = grade_branch(Q, answers=improved, superior=superior, members=members)
    assert before.self_total is not None and after.self_total is not None
    assert after.self_total >= before.self_total - 1e-9
    for old, new in zip(before.indicators, after.indicators, strict=True):
        assert (new.score or 0) >= (old.score or 0) - 1e-9
    assert before.final_score is not None and after.final_score is not None
    assert after.final_score >= before.final_score


def improve(counts: SatisfactionCounts | None, how: int) -> SatisfactionCounts:
    """Add a satisfied response, or move one response a step up the scale."""
    c = counts or SatisfactionCounts()
    s, f, b, d = c.satisfied, c.fairly_satisfied, c.basically_satisfied, c.dissatisfied
    if how == 1 and f:
        return SatisfactionCounts(s + 1, f - 1, b, d)
    if how == 2 and b:
        return SatisfactionCounts(s, f + 1, b - 1, d)
    if how == 3 and d:
        return SatisfactionCounts(s, f, b + 1, d - 1)
    return SatisfactionCounts(s + 1, f, b, d)


@given(
    answer_sets(),
    optional_counts,
    optional_counts,
    superior_strategy,
    st.booleans(),
    st.integers(0, 3),
)
def test_more_satisfaction_never_lowers_a_score(
    answers: dict[str, Answer],
    members: SatisfactionCounts | None,
    masses: SatisfactionCounts | None,
    superior: float | Mapping[str, float] | None,
    improve_masses: bool,
    how: int,
) -> None:
    better_members: SatisfactionCounts | None = members
    better_masses: SatisfactionCounts | None = masses
    if improve_masses:
        better_masses = improve(masses, how)
    else:
        better_members = improve(members, how)
    before = grade_branch(
        Q, answers=answers, superior=superior, members=members, masses=masses, config=CAP
    )
    after = grade_branch(
        Q,
        answers=answers,
        superior=superior,
        members=better_members,
        masses=better_masses,
        config=CAP,
    )
    assert before.final_score is not None and after.final_score is not None
    assert after.final_score >= before.final_score
    assert before.grade is not None and after.grade is not None
    assert GRADE_ORDER.index(Grade(after.grade)) >= GRADE_ORDER.index(Grade(before.grade))


@given(answer_sets(), counts_strategy, st.floats(0, 100, allow_nan=False))
def test_final_is_the_weighted_mean_when_everything_is_there(
    answers: dict[str, Answer], members: SatisfactionCounts, superior: float
) -> None:
    result = grade_branch(Q, answers=answers, superior=superior, members=improve(members, 0))
    assert result.self_total is not None
    assert not result.renormalised
    assert result.final_score == round_score(0.4 * result.self_total + 0.6 * superior)


@given(answer_sets())
def test_missing_satisfaction_is_renormalised_over_the_other_indicators(
    answers: dict[str, Answer],
) -> None:
    result = grade_branch(Q, answers=answers)
    answered = sum(s.score or 0 for s in result.indicators)
    assert result.self_total == pytest.approx(answered / 75 * 100)


def test_default_config_is_the_documented_one() -> None:
    assert (DEFAULT_CONFIG.self_weight, DEFAULT_CONFIG.superior_weight) == (0.4, 0.6)
    assert [b.min_score for b in DEFAULT_CONFIG.bands] == [90, 80, 60, 0]
    assert DEFAULT_CONFIG.mass_rate_floor is None


def test_ten_thousand_random_branches_each_get_a_grade_in_range() -> None:
    # How fast is benchmarks/grading.py's business; this checks every combination is graded.
    rng = random.Random(7)
    options = {item.id: item for item in Q.items}

    def random_answer(item: Item) -> Answer:
        if item.type is AnswerType.YES_PARTLY_NO:
            return rng.choice(["yes", "partly", "no"])
        if item.type is AnswerType.SCALE_1_5:
            return rng.randint(1, 5)
        if item.type is AnswerType.NUMBER:
            return rng.randint(0, 100)
        if item.type is AnswerType.CHOICE:
            return rng.choice(item.options).id
        return "text"

    branches = [
        (
            {item_id: random_answer(item) for item_id, item in options.items()},
            SatisfactionCounts(rng.randint(0, 30), rng.randint(0, 10), rng.randint(0, 5), 1),
            SatisfactionCounts(rng.randint(0, 5), 1, 0, 0),
            rng.uniform(0, 100),
        )
        for _ in range(10_000)
    ]
    results = [
        grade_branch(Q, answers=a, superior=s, members=m, masses=ms, member_count=30, config=CAP)
        for a, m, ms, s in branches
    ]
    assert len(results) == 10_000
    bands = {band.grade for band in CAP.bands}
    for result in results:
        assert result.final_score is not None and 0 <= result.final_score <= 100, result
        assert result.grade in bands, result
