"""The date of an activity as secretaries type it, and the late-entry rule.

Accepted forms (full-width digits and punctuation too):
- relative: 今天/今日/today, 昨天/昨日/yesterday, 前天/(the) day before yesterday, 大前天;
- with a year: 2026-11-20, 2026/11/20, 2026.11.20, 2026年11月20日 (日/号 optional);
- year last: 20.11.2026, 11/20/2026, 20-11-2026, read day-first or month-first, whichever
  gives a real date; when both do and differ (05/11/2026) it is refused as unrecognised;
- without a year: 11-20, 11/20, 11月20日 (and 11.20 when it is the whole input): this year,
  unless that is still to come, then last year (12-30 typed on 2026-01-05 is 2025-12-30).
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

LATE_AFTER_DAYS = 7


class DateError(StrEnum):
    """Why a text gave no activity date; the UI translates the code."""

    EMPTY = "empty"
    UNRECOGNISED = "unrecognised"
    INVALID = "invalid"
    FUTURE = "future"


@dataclass(frozen=True, slots=True)
class DateParse:
    """Either a date (`value`) or the reason there is none (`error`)."""

    value: date | None = None
    error: DateError | None = None

    @property
    def ok(self) -> bool:
        """Tell whether a date was found."""
        return self.value is not None


@dataclass(frozen=True, slots=True)
class DateToken:
    """A date written somewhere inside a longer text, with its span.

    `bare` marks a year-less `a/b`, which in a quick log may be attendance instead.
    """

    start: int
    end: int
    parse: DateParse
    bare: bool


# Full-width ASCII (０-９, ／, ：, Ａ-ｚ) and the ideographic space map one to one onto ASCII,
# so spans found in the folded text are valid in the original.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_width(text: str) -> str:
    """Return `text` with full-width ASCII folded to ASCII; the length never changes."""
    return text.translate(_FULLWIDTH)


_RELATIVE_DAYS = {
    "大前天": 3,
    "前天": 2,
    "昨天": 1,
    "昨日": 1,
    "今天": 0,
    "今日": 0,
    "the day before yesterday": 2,
    "day before yesterday": 2,
    "yesterday": 1,
    "today": 0,
}

# [0-9] rather than \d: int() would accept other scripts' digits we never meant to read.
_NUMERIC = r"""
    (?<![0-9])(?<![0-9][-/.])
    (?:
        (?P<cy>[0-9]{4})\s*年\s*(?P<cm>[0-9]{1,2})\s*月\s*(?P<cd>[0-9]{1,2})(?![0-9])\s*[日号]?
      | (?P<y>[0-9]{4})(?P<s1>[-/.])(?P<m>[0-9]{1,2})(?P=s1)(?P<d>[0-9]{1,2})(?![0-9])
      | (?P<a>[0-9]{1,2})(?P<s2>[-/.])(?P<b>[0-9]{1,2})(?P=s2)(?P<ty>[0-9]{4})(?![0-9])
      | (?P<mm>[0-9]{1,2})\s*月\s*(?P<md>[0-9]{1,2})(?![0-9])\s*[日号]?
      | (?P<bm>[0-9]{1,2})(?P<s3>[-/])(?P<bd>[0-9]{1,2})(?![0-9]|[-/.][0-9])
      {extra}
    )
"""
_RELATIVE = r"""
    (?P<rel>大前天|前天|昨天|昨日|今天|今日
      |(?<![a-z])(?:(?:the\s+)?day\s+before\s+)?yesterday(?![a-z])
      |(?<![a-z])today(?![a-z]))
"""
# A dotted month-day (11.20) is read only when it is the whole answer: inside a sentence
# it is more often a decimal ("1.5 小时").
_DOTTED = r"| (?P<dm>[0-9]{1,2})\.(?P<dd>[0-9]{1,2})"
_SEARCH_RE = re.compile(
    _NUMERIC.replace("{extra}", "") + "|" + _RELATIVE, re.IGNORECASE | re.VERBOSE
)
_WHOLE_RE = re.compile(
    _NUMERIC.replace("{extra}", _DOTTED) + "|" + _RELATIVE, re.IGNORECASE | re.VERBOSE
)


def _full_date(year: int, month: int, day: int, today: date) -> DateParse:
    try:
        value = date(year, month, day)
    except ValueError:
        return DateParse(error=DateError.INVALID)
    if value > today:
        return DateParse(error=DateError.FUTURE)
    return DateParse(value)


def _month_day(month: int, day: int, today: date) -> DateParse:
    # Compare (month, day) rather than dates so that 02-29 picks its year before validation.
    year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
    try:
        return DateParse(date(year, month, day))
    except ValueError:
        return DateParse(error=DateError.INVALID)


def _year_last(first: int, second: int, year: int, today: date) -> DateParse:
    readings: set[date] = set()
    for month, day in ((second, first), (first, second)):
        try:
            readings.add(date(year, month, day))
        except ValueError:
            continue
    if not readings:
        return DateParse(error=DateError.INVALID)
    if len(readings) > 1:
        return DateParse(error=DateError.UNRECOGNISED)
    value = readings.pop()
    return DateParse(error=DateError.FUTURE) if value > today else DateParse(value)


def _relative(word: str, today: date) -> DateParse:
    days = _RELATIVE_DAYS[" ".join(word.lower().split())]
    try:
        return DateParse(today - timedelta(days=days))
    except OverflowError:
        return DateParse(error=DateError.INVALID)


def _resolve(match: re.Match[str], today: date) -> DateParse:
    group = match.group
    if group("rel"):
        return _relative(group("rel"), today)
    if group("cy"):
        return _full_date(int(group("cy")), int(group("cm")), int(group("cd")), today)
    if group("y"):
        return _full_date(int(group("y")), int(group("m")), int(group("d")), today)
    if group("ty"):
        return _year_last(int(group("a")), int(group("b")), int(group("ty")), today)
    if group("mm"):
        return _month_day(int(group("mm")), int(group("md")), today)
    if group("bm"):
        return _month_day(int(group("bm")), int(group("bd")), today)
    return _month_day(int(group("dm")), int(group("dd")), today)


def parse_month_day(month: int, day: int, today: date) -> DateParse:
    """Return the latest `month`-`day` that is not after `today` (this year, else last year)."""
    return _month_day(month, day, today)


def parse_activity_date(text: str, today: date) -> DateParse:
    """Read the whole of `text` as an activity date; never raises, never returns a future date."""
    cleaned = fold_width(text).strip()
    if not cleaned:
        return DateParse(error=DateError.EMPTY)
    match = _WHOLE_RE.fullmatch(cleaned)
    if match is None:
        return DateParse(error=DateError.UNRECOGNISED)
    return _resolve(match, today)


def find_dates(text: str, today: date) -> list[DateToken]:
    """Return the dates written inside `text`, left to right (dotted 11.20 is not read)."""
    return [
        DateToken(match.start(), match.end(), _resolve(match, today), match.group("s3") == "/")
        for match in _SEARCH_RE.finditer(fold_width(text))
    ]


def is_late(activity_date: date, logged_on: date, late_after_days: int = LATE_AFTER_DAYS) -> bool:
    """Tell whether an activity logged on `logged_on` is a late entry (more than N days after)."""
    return (logged_on - activity_date).days > late_after_days


# ---- a moment in the future, typed by an admin (notices, trainings) ------------------------

_MOMENT = re.compile(
    r"(?:(?:(?P<year>\d{4})\s*[-/.年]\s*)?(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*日?"
    r"\s*(?:[ T]\s*)?)?(?P<hour>\d{1,2})\s*[:：点时]\s*(?P<minute>\d{2})?\s*分?"
)


def parse_future_datetime(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """A future local moment typed as `2026-11-25 14:00`, `11-25 14:00`, `11月25日 14点` or
    `14:00`, returned in UTC; None when unreadable, impossible or not in the future.

    Without a year: the next such date. A time of day alone: today, or tomorrow once it is past.
    """
    return parse_datetime(text, now, tz)


def parse_datetime(
    text: str, now: datetime, tz: tzinfo, *, past: timedelta = timedelta(0)
) -> datetime | None:
    """A local moment typed as for `parse_future_datetime`, in UTC, that may lie up to `past`
    back (something that already happened); None when unreadable, impossible or earlier.

    Without a year: the nearest such date no more than `past` back, else the next one. A time
    of day alone: today, or tomorrow once it is past.
    """
    match = _MOMENT.fullmatch(" ".join(text.split()))
    if match is None:
        return None
    local_now = now.astimezone(tz)
    earliest = local_now - past
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    try:
        if match["month"] is None:
            moment = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if moment <= local_now:
                moment += timedelta(days=1)
        else:
            year = int(match["year"]) if match["year"] else local_now.year
            moment = datetime(year, int(match["month"]), int(match["day"]), hour, minute, tzinfo=tz)
            if match["year"] is None and moment <= earliest:
                moment = moment.replace(year=year + 1)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment > earliest else None
