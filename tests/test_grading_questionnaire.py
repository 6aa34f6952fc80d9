"""Questionnaire files: the shipped default, line-exact validation, prefill rules."""

from pathlib import Path

import pytest

from bot.grading import (
    ACTIVITY_KINDS,
    AnswerType,
    IndicatorSource,
    PrefillPer,
    PrefillRule,
    QuestionnaireError,
    Text,
    evaluate_prefill,
    load_default,
    load_questionnaire,
    parse_questionnaire,
    questionnaire,
    suggest_prefill,
)
from bot.grading.questionnaire import DEFAULT_QUESTIONNAIRE
from tests.support.grading import SECOND_QUESTIONNAIRE, write_two_questionnaires

VALID = """\
id = "t"
version = "1"
zh = "测试"
en = "Test"

[[indicators]]
id = "a"
zh = "甲"
en = "A"
points = 60

[[indicators]]
id = "mass"
zh = "群众评价"
en = "Mass evaluation"
points = 40
source = "satisfaction"

[[items]]
id = "a-1"
indicator = "a"
type = "yes_partly_no"
points = 30
zh = "问题一"
en = "Question one"
prefill = { kind = "themed_day", per = "month", min = 1, period = "year" }

[[items]]
id = "a-2"
indicator = "a"
type = "choice"
points = 20
zh = "问题二"
en = "Question two"
options = [
  { id = "x", zh = "好", en = "Good", points = 20 },
  { id = "y", zh = "差", en = "Poor", points = 0 },
]

[[items]]
id = "a-3"
indicator = "a"
type = "number"
points = 10
zh = "问题三"
en = "Question three"
thresholds = [{ at_least = 4, points = 10 }, { at_least = 2, points = 5 }]

[[items]]
id = "a-4"
indicator = "a"
type = "text"
zh = "备注"
en = "Notes"
"""


def problems(tmp_path: Path, text: str, name: str = "t.toml") -> list[str]:
    """Write text to a file, load it, and return the problems as printed."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    return [str(p) for p in info.value.problems]


def edit(old: str, new: str, text: str = VALID) -> str:
    """Replace one exact, unique fragment of the template."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


# --- the shipped questionnaire -------------------------------------------------------------------


def test_default_questionnaire_is_the_2012_template() -> None:
    q = load_default()
    assert q.id == "default-2012"
    assert q.version
    assert [(i.id, i.name.zh, i.points) for i in q.indicators] == [
        ("leader", "带头人", 15),
        ("plan", "工作思路", 10),
        ("rules", "工作制度", 10),
        ("venue", "活动阵地", 10),
        ("support", "保障机制", 10),
        ("performance", "工作业绩", 20),
        ("mass", "群众评价", 25),
    ]
    assert q.satisfaction_indicator is not None
    assert q.satisfaction_indicator.id == "mass"
    assert q.satisfaction_indicator.source is IndicatorSource.SATISFACTION
    assert 20 <= len(q.items) <= 30
    assert not any(item.points for item in q.items_of("mass"))
    for ind in q.indicators:
        if ind.source is IndicatorSource.ITEMS:
            assert sum(item.points for item in q.items_of(ind.id)) == ind.points
    for item in q.items:
        assert item.text.zh and item.text.en
        assert (item.points == 0) == (item.type is AnswerType.TEXT)


def test_default_questionnaire_prefills_what_the_activity_log_knows() -> None:
    q = load_default()
    rules = {item.id: item.prefill for item in q.items if item.prefill}
    assert rules["rules-themed-day"] == PrefillRule("themed_day", PrefillPer.MONTH, 1)
    assert rules["rules-lectures"] == PrefillRule("lecture", count_at_least=4)
    assert {rule.kind for rule in rules.values()} >= {
        "general_meeting",
        "committee_meeting",
        "themed_day",
        "life_meeting",
    }


def test_activity_kinds_match_the_activity_log() -> None:
    kinds = pytest.importorskip("bot.rules.kinds")
    assert {kind.value for kind in kinds.ActivityKind} - {"other"} == ACTIVITY_KINDS


def test_valid_template_loads(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(VALID, encoding="utf-8")
    q = load_questionnaire(path)
    assert [item.id for item in q.items] == ["a-1", "a-2", "a-3", "a-4"]
    assert q.item("a-1").line == 19
    assert q.item("a-3").thresholds[0].bound == 4
    assert q.source == "t.toml"


def test_text_for_locale() -> None:
    text = Text("带头人", "Leader")
    assert text.for_locale("zh_Hans") == "带头人"
    assert text.for_locale("en") == "Leader"


# --- line-exact errors ---------------------------------------------------------------------------


def test_item_points_must_be_positive(tmp_path: Path) -> None:
    # One problem, one error: the indicator's sum is not checked again on top of it.
    assert problems(tmp_path, edit("points = 30", "points = 0")) == [
        't.toml:23: item "a-1": points must be > 0'
    ]


def test_duplicate_item_id(tmp_path: Path) -> None:
    found = problems(tmp_path, edit('id = "a-2"', 'id = "a-1"'))
    assert 't.toml:29: item "a-1": duplicate id (first defined on line 19)' in found


def test_unknown_indicator_and_answer_type(tmp_path: Path) -> None:
    text = edit('indicator = "a"\ntype = "choice"', 'indicator = "b"\ntype = "choice"')
    text = edit('type = "number"', 'type = "bool"', text)
    found = problems(tmp_path, text)
    assert 't.toml:30: item "a-2": unknown indicator "b"' in found
    assert found[-1] == (
        't.toml:43: item "a-3": unknown answer type "bool" '
        "(expected yes_partly_no, scale_1_5, number, choice, text)"
    )


def test_missing_language_points_at_the_table_or_the_key(tmp_path: Path) -> None:
    text = edit('en = "Question one"\n', "")
    text = edit('zh = "问题二"', 'zh = "  "', text)
    found = problems(tmp_path, text)
    assert found == [
        't.toml:19: item "a-1": missing en text',
        't.toml:32: item "a-2": missing zh text',
    ]


def test_indicator_points_must_sum_to_100(tmp_path: Path) -> None:
    assert problems(tmp_path, edit("points = 40", "points = 30")) == [
        "t.toml:6: indicator points sum to 90, expected 100"
    ]


def test_indicator_items_must_sum_to_its_points(tmp_path: Path) -> None:
    text = edit(
        "{ at_least = 4, points = 10 }, { at_least = 2, points = 5 }",
        "{ at_least = 4, points = 8 }, { at_least = 2, points = 5 }",
    )
    text = edit("points = 10\nzh", "points = 8\nzh", text)
    assert problems(tmp_path, text) == [
        't.toml:10: indicator "a": item points sum to 58, expected 60'
    ]


def test_version_is_required(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('version = "1"\n', "")) == [
        't.toml:1: version is required (e.g. version = "2012.1")'
    ]
    assert problems(tmp_path, edit('version = "1"', "version = 1")) == [
        't.toml:2: version must be a non-empty string (e.g. "2012.1")'
    ]


def test_options_must_be_well_formed(tmp_path: Path) -> None:
    text = edit('en = "Good", points = 20 }', 'en = "Good", points = 25 }')
    assert problems(tmp_path, text) == [
        't.toml:36: item "a-2": option "x": points must be between 0 and 20'
    ]
    text = edit('points = 20 },\n  { id = "y"', 'points = 20 },\n  { id = "x"')
    assert problems(tmp_path, text) == ['t.toml:37: item "a-2": duplicate option id "x"']
    text = edit('en = "Good", points = 20 }', 'en = "Good", points = 15 }')
    text = edit('en = "Poor", points = 0 }', 'en = "Poor", points = 5 }', text)
    assert problems(tmp_path, text) == ['t.toml:35: item "a-2": no option gives the full 20 points']
    text = edit('  { id = "y", zh = "差", en = "Poor", points = 0 },\n', "")
    assert problems(tmp_path, text) == [
        't.toml:35: item "a-2": a choice item needs at least two options'
    ]
    text = edit('{ id = "y", zh = "差", en = "Poor",', '{ id = "y", zh = "差",')
    assert problems(tmp_path, text) == ['t.toml:37: item "a-2": option "y": missing en text']


def test_thresholds_must_be_well_formed(tmp_path: Path) -> None:
    old = "thresholds = [{ at_least = 4, points = 10 }, { at_least = 2, points = 5 }]"
    cases = {
        "thresholds = [{ at_least = 4, points = 5 }, { at_least = 2, points = 10 }]": (
            't.toml:47: item "a-3": a better number must not earn fewer points'
        ),
        "thresholds = [{ at_least = 4, points = 10 }, { at_most = 2, points = 5 }]": (
            't.toml:47: item "a-3": mix of at_least and at_most thresholds'
        ),
        "thresholds = [{ at_least = 4, points = 11 }]": (
            't.toml:47: item "a-3": threshold points must be > 0 and at most 10'
        ),
        "thresholds = [{ at_least = 4 }]": (
            't.toml:47: item "a-3": a threshold is { at_least = N, points = P } '
            "or { at_most = N, points = P }"
        ),
        "thresholds = []": 't.toml:47: item "a-3": a number item needs thresholds',
    }
    for new, expected in cases.items():
        assert problems(tmp_path, edit(old, new)) == [expected], new


def test_prefill_rule_must_be_well_formed(tmp_path: Path) -> None:
    old = 'prefill = { kind = "themed_day", per = "month", min = 1, period = "year" }'
    cases = {
        'prefill = { kind = "themed_day", per = "week", min = 1 }': (
            't.toml:26: item "a-1": prefill: per must be "month" or "quarter"'
        ),
        'prefill = { kind = "bowling", count_at_least = 2 }': (
            't.toml:26: item "a-1": prefill: unknown activity kind "bowling" (known: '
            + ", ".join(sorted(ACTIVITY_KINDS))
            + ")"
        ),
        'prefill = { kind = "lecture", count_at_least = 2, per = "month" }': (
            't.toml:26: item "a-1": prefill: give either per (with min) or count_at_least'
        ),
        'prefill = { kind = "lecture", count_at_least = 0 }': (
            't.toml:26: item "a-1": prefill: count_at_least must be a whole number >= 1'
        ),
        'prefill = { kind = "lecture", count_at_least = 2, period = "month" }': (
            't.toml:26: item "a-1": prefill: period must be "year"'
        ),
        'prefill = { kind = "lecture", count_at_least = 2, every = 3 }': (
            't.toml:26: item "a-1": prefill: unknown key "every"'
        ),
    }
    for new, expected in cases.items():
        assert problems(tmp_path, edit(old, new)) == [expected], new


def test_prefill_only_on_items_it_can_answer(tmp_path: Path) -> None:
    text = edit(
        'en = "Question two"\n',
        'en = "Question two"\nprefill = { kind = "talk", count_at_least = 1 }\n',
    )
    assert problems(tmp_path, text) == [
        't.toml:35: item "a-2": prefill is only for yes_partly_no and number items'
    ]


def test_prefill_as_a_sub_table_is_located_too(tmp_path: Path) -> None:
    old = 'prefill = { kind = "themed_day", per = "month", min = 1, period = "year" }'
    new = '[items.prefill]\nkind = "themed_day"\nper = "month"\nmin = 0'
    # Lines 26-29: header, kind, per, min.
    assert problems(tmp_path, edit(old, new)) == [
        't.toml:29: item "a-1": prefill: min must be a whole number >= 1'
    ]


def test_free_text_items_carry_no_points(tmp_path: Path) -> None:
    text = edit('type = "text"\n', 'type = "text"\npoints = 1\n')
    assert problems(tmp_path, text) == ['t.toml:53: item "a-4": free-text items carry no points']


def test_satisfaction_indicator_takes_no_scored_items(tmp_path: Path) -> None:
    text = edit(
        'indicator = "a"\ntype = "text"', 'indicator = "mass"\ntype = "scale_1_5"\npoints = 1'
    )
    found = problems(tmp_path, text)
    assert found == [
        't.toml:51: item "a-4": indicator "mass" is scored from satisfaction surveys; '
        "only free-text items may belong to it"
    ]


def test_unknown_keys_are_reported(tmp_path: Path) -> None:
    text = edit('en = "Question one"', 'en = "Question one"\npointz = 3')
    text = edit('en = "Test"', 'en = "Test"\nauthor = "me"', text)
    assert problems(tmp_path, text) == [
        't.toml:5: unknown key "author"',
        't.toml:27: item "a-1": unknown key "pointz"',
    ]


def test_bad_ids(tmp_path: Path) -> None:
    text = edit('id = "a-2"', 'id = "A 2"')
    found = problems(tmp_path, text)
    assert found[-1] == 't.toml:29: item id "A 2" must be 1-32 characters of a-z, 0-9, "-" or "_"'


def test_every_problem_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    text = edit('version = "1"\n', "")
    text = edit("points = 30", "points = -1", text)
    text = edit('type = "number"', 'type = "numeric"', text)
    found = problems(tmp_path, text)
    assert [line.split(":")[1] for line in found] == sorted(
        (line.split(":")[1] for line in found), key=int
    )
    assert found[0].startswith("t.toml:1: version is required")
    assert 't.toml:22: item "a-1": points must be > 0' in found
    assert any(line.startswith('t.toml:42: item "a-3": unknown answer type') for line in found)


def test_invalid_toml_gives_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, edit('en = "Question two"', 'en = "Question two'))
    assert len(found) == 1
    assert found[0].startswith("t.toml:34: invalid TOML: ")


def test_multiline_strings_and_comments_do_not_confuse_lines(tmp_path: Path) -> None:
    text = edit(
        'zh = "问题一"',
        '# [[items]] points = 0 in a comment\nzh = """问题一\n[[items]]\npoints = 0\n"""',
    )
    text = edit("points = 20\n", "points = 0\n", text)
    found = problems(tmp_path, text)
    # Four lines were added above item a-2, whose points moved from line 32 to 36.
    assert 't.toml:36: item "a-2": points must be > 0' in found


def test_parse_questionnaire_names_the_source() -> None:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(edit('version = "1"\n', ""), "campaign-2025.toml")
    assert str(info.value) == 'campaign-2025.toml:1: version is required (e.g. version = "2012.1")'


# --- prefill -------------------------------------------------------------------------------------

MONTHLY = PrefillRule("themed_day", PrefillPer.MONTH, 1)


def test_monthly_rule_met_partly_and_not() -> None:
    q = load_default()
    item = q.item("rules-themed-day")
    every_month = {("themed_day", m): 1 for m in range(1, 13)}
    suggestion = suggest_prefill(item, every_month)
    assert suggestion is not None
    assert (suggestion.answer, suggestion.met) == ("yes", True)
    assert suggestion.evidence.periods_met == 12
    assert suggestion.evidence.target == 12

    missing_june = {key: n for key, n in every_month.items() if key[1] != 6}
    suggestion = suggest_prefill(item, missing_june)
    assert suggestion is not None
    assert (suggestion.answer, suggestion.evidence.periods_met) == ("partly", 11)
    assert suggestion.evidence.per_period[5] == 0

    suggestion = suggest_prefill(item, {("lecture", 3): 2})
    assert suggestion is not None
    assert suggestion.answer == "no"


def test_rule_judges_only_months_so_far() -> None:
    counts = {("themed_day", m): 1 for m in range(1, 5)}
    evidence = evaluate_prefill(MONTHLY, counts, through_month=4)
    assert (evidence.periods_met, evidence.target, evidence.total) == (4, 4, 4)
    with pytest.raises(ValueError):
        evaluate_prefill(MONTHLY, counts, through_month=13)


def test_quarter_rule_judges_ended_quarters() -> None:
    rule = PrefillRule("general_meeting", PrefillPer.QUARTER, 1)
    counts = {("general_meeting", 2): 1, ("general_meeting", 4): 1}
    assert evaluate_prefill(rule, counts, through_month=7).per_period == (1, 1)
    assert evaluate_prefill(rule, counts, through_month=2).per_period == (1,)
    full = evaluate_prefill(rule, counts)
    assert (full.per_period, full.periods_met, full.target) == ((1, 1, 0, 0), 2, 4)


def test_count_rule_on_a_number_item_suggests_the_count() -> None:
    item = load_default().item("rules-lectures")
    suggestion = suggest_prefill(item, {("lecture", 3): 1, ("lecture", 9): 2})
    assert suggestion is not None
    assert (suggestion.answer, suggestion.met, suggestion.evidence.target) == (3, False, 4)
    assert suggest_prefill(load_default().item("plan-annual"), {}) is None


def test_min_per_period_above_one() -> None:
    rule = PrefillRule("committee_meeting", PrefillPer.MONTH, 2)
    counts = {("committee_meeting", 1): 2, ("committee_meeting", 2): 1}
    evidence = evaluate_prefill(rule, counts, through_month=2)
    assert (evidence.periods_met, evidence.total) == (1, 3)


# ---- the registry of shipped questionnaires ------------------------------------------------


def test_every_shipped_questionnaire_is_valid_and_the_default_comes_first() -> None:
    registry = questionnaire.shipped()
    assert registry.default.id == load_default().id
    assert registry.default.version == load_default().version
    shipped_files = sorted(questionnaire.QUESTIONNAIRE_DIR.glob("*.toml"))
    assert len(registry.questionnaires) == len(shipped_files)


def test_registry_reads_every_file_keyed_by_id_and_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(questionnaire, "QUESTIONNAIRE_DIR", write_two_questionnaires(tmp_path))
    registry = questionnaire.shipped()
    assert [(q.id, q.version) for q in registry.questionnaires] == [
        ("default-2012", "2012.1"),
        SECOND_QUESTIONNAIRE,
    ]
    second = registry.get(*SECOND_QUESTIONNAIRE)
    assert second is not None and second.title.en == "County branch questionnaire"
    assert registry.get("county-2026", "1999") is None
    assert registry.resolve("county-2026") is second
    assert registry.resolve("county-2026@2026.1") is second
    assert registry.resolve("default-2012") is registry.default
    with pytest.raises(LookupError, match=r"available: default-2012@2012.1 \(default\), county"):
        registry.resolve("nope")
    with pytest.raises(LookupError, match="is not shipped"):
        registry.resolve("county-2026@1999")
    # Validated once per directory.
    assert questionnaire.shipped() is registry


def test_registry_refuses_an_invalid_file_with_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_two_questionnaires(tmp_path)
    (tmp_path / "broken.toml").write_text(VALID.replace("points = 30", "points = -3"), "utf-8")
    with pytest.raises(QuestionnaireError) as info:
        questionnaire.load_registry(tmp_path)
    assert [str(p) for p in info.value.problems] == [
        'broken.toml:23: item "a-1": points must be > 0'
    ]
    monkeypatch.setattr(questionnaire, "QUESTIONNAIRE_DIR", tmp_path)
    with pytest.raises(QuestionnaireError, match=r"broken\.toml:23: item"):
        questionnaire.shipped()


def test_registry_refuses_a_duplicate_and_a_missing_default(tmp_path: Path) -> None:
    write_two_questionnaires(tmp_path)
    copy = (tmp_path / "county-2026.toml").read_text("utf-8")
    (tmp_path / "county-copy.toml").write_text(copy, "utf-8")
    with pytest.raises(QuestionnaireError, match=r"also in county-2026\.toml"):
        questionnaire.load_registry(tmp_path)
    (tmp_path / "county-copy.toml").unlink()
    (tmp_path / DEFAULT_QUESTIONNAIRE).unlink()
    with pytest.raises(QuestionnaireError, match=r"default-2012\.toml:0: missing"):
        questionnaire.load_registry(tmp_path)
