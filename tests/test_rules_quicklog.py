"""Quick log: one free-text message becomes a draft activity, never with invented content."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.dates import DateError
from bot.rules.kinds import KIND_KEYWORDS, ActivityKind, find_kinds
from bot.rules.quicklog import (
    MAX_ATTENDANCE,
    QuickLogDraft,
    looks_like_quick_log,
    parse_quick_log,
)

TODAY = date(2026, 11, 20)
K = ActivityKind
FAST = settings(max_examples=150, deadline=None, database=None)
HOSTILE = [
    "",
    "   ",
    "🎉支委会🎉 今天 7/9 🎉",
    "<b>支委会</b> <i>11/20</i>",
    "<script>alert('议题：x')</script>",
    "支委会'; DROP TABLE activities; -- 7/9",
    "committee meeting 1 OR 1=1 of 9",
    "党课 2026-02-30",
    "支委会 9999999999999/99999999999999",
    "议题：" * 1000,
    "地点：议题：地点：",
    "7/9/" * 1000,
    "到会" * 2500,
    "支委会 " * 700,
    "1" * 5000,
]


def test_chinese_issue_example() -> None:
    assert parse_quick_log("支委会 今天 7/9 议题：讨论发展对象", TODAY) == QuickLogDraft(
        kinds=(K.COMMITTEE_MEETING,),
        date=TODAY,
        present=7,
        expected=9,
        topic="讨论发展对象",
    )


def test_english_issue_example() -> None:
    text = "committee meeting yesterday 7/9 topic: new applicants"
    assert parse_quick_log(text, TODAY) == QuickLogDraft(
        kinds=(K.COMMITTEE_MEETING,),
        date=date(2026, 11, 19),
        present=7,
        expected=9,
        topic="new applicants",
    )


def test_everything_at_once() -> None:
    text = "支部党员大会+党课 2026年11月18日 到会30人，应到32人 地点：三楼会议室 议题：学习条例。"
    draft = parse_quick_log(text, TODAY)
    assert draft.kinds == (K.GENERAL_MEETING, K.LECTURE)
    assert draft.date == date(2026, 11, 18)
    assert (draft.present, draft.expected) == (30, 32)
    assert draft.place == "三楼会议室"
    assert draft.topic == "学习条例"
    assert draft.unparsed == ""


@pytest.mark.parametrize(
    "text",
    [
        "支委会 7/9",
        "支委会 ７／９",
        "支委会 7 / 9",
        "支委会 到会7人应到9人",
        "支委会 实到7人，应到9人",
        "支委会 应到9人 出席7人",
        "支委会 出席：7/9",
        "支委会 7/9人",
        "committee meeting 7 of 9",
        "committee meeting 7 out of 9",
        "committee meeting attendance: 7/9",
    ],
)
def test_attendance_forms(text: str) -> None:
    draft = parse_quick_log(text, TODAY)
    assert (draft.present, draft.expected) == (7, 9)
    assert draft.date is None
    assert draft.unparsed == ""


@pytest.mark.parametrize(
    "text",
    [
        "支委会 到会9人应到7人",
        "支委会 到会0人应到9人",
        "支委会 到会2000人应到3000人",
        "talk 9 of 7",
    ],
)
def test_impossible_attendance_is_left_empty_and_shown(text: str) -> None:
    draft = parse_quick_log(text, TODAY)
    assert (draft.present, draft.expected) == (None, None)
    assert draft.unparsed != ""


def test_attendance_bounds() -> None:
    assert parse_quick_log(f"党课 1/{MAX_ATTENDANCE}", TODAY).expected == MAX_ATTENDANCE
    assert parse_quick_log(f"党课 1/{MAX_ATTENDANCE + 1}", TODAY).expected is None


@pytest.mark.parametrize(
    ("text", "day", "attendance"),
    [
        # a ≤ b alone is attendance; a > b cannot be, so it is a month/day.
        ("支委会 11/20", None, (11, 20)),
        ("支委会 12/5", date(2025, 12, 5), None),
        # Labels decide.
        ("支委会 日期：11/20", date(2026, 11, 20), None),
        ("committee meeting on 11/20", date(2026, 11, 20), None),
        ("committee meeting date: 11/20 7/9", date(2026, 11, 20), (7, 9)),
        ("支委会 到会 11/20", None, (11, 20)),
        # Two bare pairs and nothing else: date first, attendance second.
        ("支委会 11/20 7/9", date(2026, 11, 20), (7, 9)),
        # A date known from elsewhere makes the pair attendance, and the reverse.
        ("支委会 今天 11/20", TODAY, (11, 20)),
        ("支委会 11-19 11/20", date(2026, 11, 19), (11, 20)),
        ("支委会 11月19日 7/9", date(2026, 11, 19), (7, 9)),
        ("支委会 到会7人应到9人 11/20", date(2026, 11, 20), (7, 9)),
        # Years and dashes are always dates.
        ("支委会 2026/11/20 7/9", date(2026, 11, 20), (7, 9)),
        ("支委会 11-20", date(2026, 11, 20), None),
    ],
)
def test_date_or_attendance(
    text: str, day: date | None, attendance: tuple[int, int] | None
) -> None:
    draft = parse_quick_log(text, TODAY)
    assert draft.date == day
    assert (draft.present, draft.expected) == (attendance or (None, None))


def test_second_date_stays_visible() -> None:
    draft = parse_quick_log("支委会 昨天 11-01", TODAY)
    assert draft.date == date(2026, 11, 19)
    assert draft.unparsed == "11-01"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("谈心谈话 2026-02-30", DateError.INVALID),
        ("组织生活会 2026-11-21", DateError.FUTURE),
        ("党课 13/45/2026", DateError.INVALID),
    ],
)
def test_date_errors_are_reported(text: str, error: DateError) -> None:
    draft = parse_quick_log(text, TODAY)
    assert draft.date is None
    assert draft.date_error is error


def test_nothing_said_means_nothing_filled() -> None:
    assert parse_quick_log("支委会", TODAY) == QuickLogDraft(kinds=(K.COMMITTEE_MEETING,))
    assert parse_quick_log("hello there", TODAY) == QuickLogDraft(unparsed="hello there")


def test_leftover_words_are_reported_not_used_as_topic() -> None:
    draft = parse_quick_log("支委会 今天 讨论发展对象", TODAY)
    assert draft.topic is None
    assert draft.unparsed == "讨论发展对象"


@pytest.mark.parametrize(
    ("text", "topic", "place"),
    [
        ("党课 议题：学习党章 地点：会议室", "学习党章", "会议室"),
        ("党课 地点：会议室，议题：学习党章", "学习党章", "会议室"),
        (
            "lecture place: room 3; topic: the Party constitution",
            "the Party constitution",
            "room 3",
        ),
        ("lecture Subject: budget", "budget", None),
        ("党课 主题:  学习党章  ", "学习党章", None),
        ("党课 议题：", None, None),
        ("lecture venue: hall", None, "hall"),
    ],
)
def test_topic_and_place(text: str, topic: str | None, place: str | None) -> None:
    draft = parse_quick_log(text, TODAY)
    assert (draft.topic, draft.place) == (topic, place)


def test_topic_is_not_read_for_kinds_dates_or_attendance() -> None:
    draft = parse_quick_log("支委会 议题：学习谈心谈话制度 2026-01-01 7/9", TODAY)
    assert draft.kinds == (K.COMMITTEE_MEETING,)
    assert draft.date is None
    assert draft.present is None
    assert draft.topic == "学习谈心谈话制度 2026-01-01 7/9"


def test_themed_day_is_not_a_topic_marker() -> None:
    draft = parse_quick_log("主题党日 前天 主题：参观纪念馆", TODAY)
    assert draft.kinds == (K.THEMED_DAY,)
    assert draft.date == date(2026, 11, 18)
    assert draft.topic == "参观纪念馆"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("支部委员会会议", (K.COMMITTEE_MEETING,)),
        ("委员会会议", (K.COMMITTEE_MEETING,)),
        ("Branch Committee Meeting", (K.COMMITTEE_MEETING,)),
        ("committee", (K.COMMITTEE_MEETING,)),
        ("党员大会 党课", (K.GENERAL_MEETING, K.LECTURE)),
        ("党课 党员大会", (K.GENERAL_MEETING, K.LECTURE)),
        ("general meeting with a Party lecture", (K.GENERAL_MEETING, K.LECTURE)),
        ("党小组会", (K.GROUP_MEETING,)),
        ("party group meeting", (K.GROUP_MEETING,)),
        ("theme day", (K.THEMED_DAY,)),
        ("themed Party day", (K.THEMED_DAY,)),
        ("组织生活会和民主评议党员", (K.LIFE_MEETING, K.APPRAISAL)),
        ("organizational life meeting", (K.LIFE_MEETING,)),
        ("heart to heart talks", (K.TALK,)),
        ("谈心", (K.TALK,)),
        ("talks between committee members", (K.TALK,)),
        ("lecture by the Party committee secretary", (K.LECTURE,)),
        ("其他活动", (K.OTHER,)),
        ("talked about lectureships", ()),
        ("教育谈话", ()),
    ],
)
def test_kind_keywords(text: str, kinds: tuple[ActivityKind, ...]) -> None:
    assert parse_quick_log(text, TODAY).kinds == kinds
    assert looks_like_quick_log(text) == bool(kinds)


def test_every_keyword_finds_its_kind() -> None:
    for kind, keywords in KIND_KEYWORDS.items():
        for keyword in keywords:
            assert [found.kind for found in find_kinds(keyword)] == [kind], keyword


def test_looks_like_quick_log_ignores_the_topic() -> None:
    assert not looks_like_quick_log("topic: a talk")
    assert not looks_like_quick_log("what is due this month?")
    assert looks_like_quick_log("支委会 议题：x")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_never_raises(text: str) -> None:
    draft = parse_quick_log(text, TODAY)
    looks_like_quick_log(text)
    _assert_consistent(text, draft, TODAY)


def five_thousand(piece: str) -> str:
    """Repeat `piece` up to exactly 5,000 characters (empty stays empty)."""
    return (piece * (5000 // max(len(piece), 1) + 1))[:5000]


def _assert_consistent(text: str, draft: QuickLogDraft, today: date) -> None:
    assert draft.date is None or draft.date <= today
    assert draft.date is None or draft.date_error is None
    assert (draft.present is None) == (draft.expected is None)
    if draft.present is not None and draft.expected is not None:
        assert 1 <= draft.present <= draft.expected <= MAX_ATTENDANCE
    assert len(set(draft.kinds)) == len(draft.kinds)
    # Never invent: every piece of text in the draft was written by the secretary.
    for written in (draft.topic, draft.place):
        assert written is None or (written and written in text)
    for word in draft.unparsed.split():
        assert word in text


@FAST
@given(text=st.text(), today=st.dates(min_value=date(1900, 1, 1)))
def test_any_text_gives_a_consistent_draft(text: str, today: date) -> None:
    _assert_consistent(text, parse_quick_log(text, today), today)
    assert looks_like_quick_log(text) == bool(parse_quick_log(text, today).kinds)


FRAGMENTS = st.sampled_from(
    [
        "支委会",
        "党课",
        "committee meeting",
        "今天",
        "yesterday",
        "11/20",
        "7/9",
        "12/5",
        "2026-02-30",
        "11月20日",
        "到会7人应到9人",
        "7 of 9",
        "议题：",
        "topic:",
        "地点：",
        "place:",
        " ",
        "，",
        "🎉",
        "<b>",
        "'; DROP TABLE x; --",
    ]
)


@FAST
@given(parts=st.lists(st.one_of(FRAGMENTS, st.text(max_size=5)), max_size=12))
def test_mixed_fragments_give_a_consistent_draft(parts: list[str]) -> None:
    text = "".join(parts)
    _assert_consistent(text, parse_quick_log(text, TODAY), TODAY)


@settings(max_examples=20, deadline=None, database=None)
@given(parts=st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), min_size=1))
def test_long_text_gives_a_consistent_draft(parts: list[str]) -> None:
    text = five_thousand("".join(parts))
    _assert_consistent(text, parse_quick_log(text, TODAY), TODAY)
