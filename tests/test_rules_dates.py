"""Activity dates as secretaries type them, and the late-entry flag."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.dates import (
    DateError,
    DateParse,
    find_dates,
    fold_width,
    is_late,
    parse_activity_date,
    parse_future_datetime,
)

TODAY = date(2026, 11, 20)
# No example database: other engineers share the checkout and the suite must stay fast.
FAST = settings(max_examples=150, deadline=None, database=None)
HOSTILE = [
    "",
    " ",
    "\n\t",
    "🎉🎉🎉",
    "<b>2026-11-20</b>",
    "<script>alert(1)</script>",
    "'; DROP TABLE activities; --",
    "1 OR 1=1",
    "2026-02-30",
    "2026-13-01",
    "0000-01-01",
    "99999999-99-99",
    "9" * 5000,
    "/" * 5000,
    "11/20/" * 800,
    "昨天" * 2000,
    "\x00\ud7ff\ufeff",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", date(2026, 11, 20)),
        ("11-20", date(2026, 11, 20)),
        ("11/20", date(2026, 11, 20)),
        ("11月20日", date(2026, 11, 20)),
        ("11月20号", date(2026, 11, 20)),
        ("11 月 20 日", date(2026, 11, 20)),
        ("11.20", date(2026, 11, 20)),
        ("昨天", date(2026, 11, 19)),
        ("昨日", date(2026, 11, 19)),
        ("前天", date(2026, 11, 18)),
        ("大前天", date(2026, 11, 17)),
        ("yesterday", date(2026, 11, 19)),
        ("Yesterday", date(2026, 11, 19)),
        ("the day before yesterday", date(2026, 11, 18)),
        ("today", date(2026, 11, 20)),
        ("今天", date(2026, 11, 20)),
        ("2026/11/20", date(2026, 11, 20)),
        ("2026.11.20", date(2026, 11, 20)),
        ("2026年11月20日", date(2026, 11, 20)),
        ("2026年11月20", date(2026, 11, 20)),
        ("20.11.2026", date(2026, 11, 20)),
        ("11/20/2026", date(2026, 11, 20)),
        ("05.05.2026", date(2026, 5, 5)),
        ("  2026-1-5  ", date(2026, 1, 5)),
        ("２０２６－１１－１９", date(2026, 11, 19)),
        ("１１／２０", date(2026, 11, 20)),
        ("1999-12-31", date(1999, 12, 31)),
    ],
)
def test_accepted_forms(text: str, expected: date) -> None:
    assert parse_activity_date(text, TODAY) == DateParse(expected)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", DateError.EMPTY),
        ("   ", DateError.EMPTY),
        ("soon", DateError.UNRECOGNISED),
        ("明天", DateError.UNRECOGNISED),
        ("2026-11", DateError.UNRECOGNISED),
        ("26-11-20", DateError.UNRECOGNISED),
        ("2026-11-20 and more", DateError.UNRECOGNISED),
        ("05.11.2026", DateError.UNRECOGNISED),  # 5 Nov or 11 May: refused, not guessed
        ("2026-02-30", DateError.INVALID),
        ("2026-13-01", DateError.INVALID),
        ("2026年2月31日", DateError.INVALID),
        ("0000-01-01", DateError.INVALID),
        ("31.31.2026", DateError.INVALID),
        ("13/45", DateError.INVALID),
        ("2026-11-21", DateError.FUTURE),
        ("21.11.2026", DateError.FUTURE),
        ("9999-12-31", DateError.FUTURE),
    ],
)
def test_refused_forms(text: str, error: DateError) -> None:
    assert parse_activity_date(text, TODAY) == DateParse(error=error)


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("12-30", date(2026, 1, 5), date(2025, 12, 30)),
        ("12月30日", date(2026, 1, 5), date(2025, 12, 30)),
        ("01-05", date(2026, 1, 5), date(2026, 1, 5)),
        ("1/6", date(2026, 1, 5), date(2025, 1, 6)),
        ("昨天", date(2026, 1, 1), date(2025, 12, 31)),
        ("前天", date(2028, 3, 1), date(2028, 2, 28)),
    ],
)
def test_year_boundary(text: str, today: date, expected: date) -> None:
    assert parse_activity_date(text, today).value == expected


def test_leap_day() -> None:
    assert parse_activity_date("2028-02-29", date(2028, 3, 1)).value == date(2028, 2, 29)
    assert parse_activity_date("2026-02-29", date(2026, 3, 1)).error is DateError.INVALID
    assert parse_activity_date("02-29", date(2028, 3, 1)).value == date(2028, 2, 29)
    # The year is chosen before validation: 2029-02-29 is still to come, so 2028.
    assert parse_activity_date("02-29", date(2029, 1, 10)).value == date(2028, 2, 29)
    assert parse_activity_date("02-29", date(2026, 3, 1)).error is DateError.INVALID


def test_relative_day_at_the_start_of_time_is_an_error() -> None:
    assert parse_activity_date("昨天", date.min).error is DateError.INVALID
    assert parse_activity_date("12-30", date(1, 1, 5)).error is DateError.INVALID


def test_is_late_after_exactly_seven_days() -> None:
    assert not is_late(date(2026, 11, 20), date(2026, 11, 20))
    assert not is_late(date(2026, 11, 13), date(2026, 11, 20))
    assert is_late(date(2026, 11, 12), date(2026, 11, 20))
    assert is_late(date(2025, 12, 31), date(2026, 1, 8))
    assert not is_late(date(2026, 11, 12), date(2026, 11, 20), late_after_days=10)


def test_find_dates_gives_spans_and_marks_bare_slashes() -> None:
    text = "支委会 11/20 昨天 2026-11-01 到会 7/9人"
    tokens = find_dates(text, TODAY)
    assert [text[token.start : token.end] for token in tokens] == [
        "11/20",
        "昨天",
        "2026-11-01",
        "7/9",
    ]
    assert [token.bare for token in tokens] == [True, False, False, True]
    assert tokens[2].parse == DateParse(date(2026, 11, 1))


def test_find_dates_ignores_dotted_decimals_and_digit_runs() -> None:
    assert find_dates("学习 1.5 小时, 共 12345 字, 版本 1.2.3, 1-2-3", TODAY) == []


def test_fold_width_keeps_length() -> None:
    text = "２０２６／１１：　ａＢ中"
    assert fold_width(text) == "2026/11: aB中"
    assert len(fold_width(text)) == len(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_never_raises(text: str) -> None:
    result = parse_activity_date(text, TODAY)
    assert (result.value is None) != (result.error is None)
    find_dates(text, TODAY)


@FAST
@given(text=st.text(), today=st.dates())
def test_any_text_gives_a_date_or_an_error_never_in_the_future(text: str, today: date) -> None:
    result = parse_activity_date(text, today)
    assert (result.value is None) != (result.error is None)
    if result.value is not None:
        assert result.value <= today
    for token in find_dates(text, today):
        assert 0 <= token.start < token.end <= len(text)
        assert token.parse.value is None or token.parse.value <= today


def five_thousand(piece: str) -> str:
    """Repeat `piece` up to exactly 5,000 characters (empty stays empty)."""
    return (piece * (5000 // max(len(piece), 1) + 1))[:5000]


# Hypothesis refuses to draw 5,000 random characters cheaply, so a random piece is repeated.
LONG_TEXT = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE)), min_size=1).map(
    lambda parts: five_thousand("".join(parts))
)


@settings(max_examples=20, deadline=None, database=None)
@given(text=LONG_TEXT)
def test_long_text_never_raises(text: str) -> None:
    parse_activity_date(text, TODAY)
    find_dates(text, TODAY)


@FAST
@given(
    year=st.integers(0, 9999),
    month=st.integers(0, 99),
    day=st.integers(0, 99),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_numeric_dates_are_exact_or_refused(year: int, month: int, day: int, today: date) -> None:
    result = parse_activity_date(f"{year:04d}-{month}-{day}", today)
    try:
        real = date(year, month, day)
    except ValueError:
        assert result.error is DateError.INVALID
        return
    assert result == (DateParse(error=DateError.FUTURE) if real > today else DateParse(real))


@FAST
@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(9990, 12, 31)), back=st.integers(0, 400)
)
def test_month_day_is_the_latest_such_day_not_after_today(day: date, back: int) -> None:
    today = day + timedelta(days=back)
    result = parse_activity_date(f"{day.month}-{day.day}", today)
    assert result.value is not None or (day.month, day.day) == (2, 29)
    if result.value is not None:
        assert result.value <= today
        assert (result.value.month, result.value.day) == (day.month, day.day)
        assert (today - result.value).days < 366


@FAST
@given(day=st.dates(max_value=date(9990, 12, 31)), offset=st.integers(0, 30))
def test_late_iff_more_than_seven_days(day: date, offset: int) -> None:
    logged = day + timedelta(days=offset)
    assert is_late(day, logged) == ((logged - day).days > 7)


# ---- future moments typed by admins --------------------------------------------------------

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-21 15:00", datetime(2026, 11, 21, 7, 0, tzinfo=UTC)),
        ("11-22 9:30", datetime(2026, 11, 22, 1, 30, tzinfo=UTC)),
        ("11月25日 14:00", datetime(2026, 11, 25, 6, 0, tzinfo=UTC)),
        ("11月25日14点", datetime(2026, 11, 25, 6, 0, tzinfo=UTC)),
        ("2026/11/25 14:00", datetime(2026, 11, 25, 6, 0, tzinfo=UTC)),
        ("16：30", datetime(2026, 11, 21, 8, 30, tzinfo=UTC)),
        ("09:00", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),  # past today: tomorrow
        ("01-05 10:00", datetime(2027, 1, 5, 2, 0, tzinfo=UTC)),  # no year: the next one
        ("2026-11-20 09:00", None),  # past
        ("2026-02-30 09:00", None),  # no such day
        ("25:00", None),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_future_moments_in_the_admins_zone(text: str, expected: datetime | None) -> None:
    assert parse_future_datetime(text, _NOW, _SHANGHAI) == expected


@FAST
@given(st.text(max_size=200))
def test_future_moment_never_raises_and_is_never_past(text: str) -> None:
    moment = parse_future_datetime(text, _NOW, _SHANGHAI)
    assert moment is None or moment > _NOW
