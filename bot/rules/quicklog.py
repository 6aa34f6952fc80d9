"""One free-text message turned into a draft activity, built only from what was written.

The message is split at the first `议题：`/`主题：`/`topic:`/`subject:` and `地点：`/`place:`/
`venue:`/`location:` markers: each runs to the end or to the other marker. Kinds, the date
and attendance are read only before the first marker, so a topic that mentions 谈心谈话 or a
date stays text.

Ambiguity of `a/b` without a year or 月/日 (a "bare pair"), e.g. `11/20`:
- after a date word (`日期`, `时间`, `date`, `on`) it is a month/day; after an attendance word
  (`到会`, `出席`, `实到`, `参会`, `attendance`, `present`) or followed by 人/名 it is attendance;
- otherwise `a ≤ b` is attendance (present/expected) and `a > b` is a month/day (12/5);
- if the message has two or more bare pairs and no other date or attendance, the first is
  the date and the next the attendance (the order of `支委会 11/20 7/9`);
- once the date or attendance is known from elsewhere (今天, 11-20, 到会7人应到9人), a bare
  pair fills the other slot.
Dashes (11-20), 月/日 and years always mean a date. What is not understood stays in `unparsed`.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from bot.rules.dates import DateError, DateParse, find_dates, fold_width, parse_month_day
from bot.rules.kinds import ActivityKind, find_kinds

# Enough for the largest branch meetings; anything above is a typo, not a head count.
MAX_ATTENDANCE = 1000


@dataclass(frozen=True, slots=True)
class QuickLogDraft:
    """What a quick-log message said; None where it said nothing (the bot then asks)."""

    kinds: tuple[ActivityKind, ...] = ()
    date: dt.date | None = None
    date_error: DateError | None = None
    present: int | None = None
    expected: int | None = None
    topic: str | None = None
    place: str | None = None
    unparsed: str = ""


_TOPIC_RE = re.compile(r"(?:议题|主题|(?<![a-z])(?:topic|subject))\s*:", re.IGNORECASE)
_PLACE_RE = re.compile(r"(?:地点|(?<![a-z])(?:place|venue|location))\s*:", re.IGNORECASE)

_NUMBER = r"(?<![0-9])[0-9]{1,6}(?![0-9])"  # capped: int() refuses very long digit strings
_PRESENT_WORD = r"(?:实际到会|实际出席|实到|到会|出席|参会)"
_EXPECTED_WORD = r"(?:应到|应出席|应参会)"
_PERSONS = r"\s*[人名]?"
_SEP = r"[\s,;、]*"
_ATTENDANCE_RE = re.compile(
    rf"""
      {_PRESENT_WORD}\s*:?\s*(?P<p1>{_NUMBER}){_PERSONS}{_SEP}
        {_EXPECTED_WORD}\s*:?\s*(?P<e1>{_NUMBER}){_PERSONS}
    | {_EXPECTED_WORD}\s*:?\s*(?P<e2>{_NUMBER}){_PERSONS}{_SEP}
        {_PRESENT_WORD}\s*:?\s*(?P<p2>{_NUMBER}){_PERSONS}
    | (?P<p3>{_NUMBER})\s+(?:out\s+)?of\s+(?P<e3>{_NUMBER})
    """,
    re.IGNORECASE | re.VERBOSE,
)
_PAIR_RE = re.compile(
    r"(?<![0-9])(?<![0-9][-/.])(?P<a>[0-9]{1,6})\s*/\s*(?P<b>[0-9]{1,6})"
    r"(?![0-9]|\s*/\s*[0-9]|[-.][0-9])(?P<persons>\s*[人名])?"
)
_DATE_LABEL_RE = re.compile(r"(?:日期|时间|(?<![a-z])(?:date|on))\s*:?\s*$", re.IGNORECASE)
_ATTENDANCE_LABEL_RE = re.compile(
    r"(?:到会|出席|实到|参会|(?<![a-z])(?:attendance|present))\s*:?\s*$", re.IGNORECASE
)
# Labels are short; looking back this far is enough and keeps long inputs linear.
_LABEL_LOOKBACK = 16
_EDGE_JUNK = " \t\r\n,，;；、:：|。"


@dataclass(frozen=True, slots=True)
class _Sections:
    head_end: int
    topic: tuple[int, int] | None
    place: tuple[int, int] | None


def _sections(folded: str) -> _Sections:
    topic = _TOPIC_RE.search(folded)
    place = _PLACE_RE.search(folded)
    end = len(folded)

    def span(marker: re.Match[str] | None, other: re.Match[str] | None) -> tuple[int, int] | None:
        if marker is None:
            return None
        stop = other.start() if other is not None and other.start() > marker.start() else end
        return marker.end(), stop

    starts = [marker.start() for marker in (topic, place) if marker is not None]
    return _Sections(min(starts, default=end), span(topic, place), span(place, topic))


def _clean(text: str) -> str | None:
    return text.strip(_EDGE_JUNK) or None


def _label_start(head: str, start: int, label: re.Pattern[str]) -> int | None:
    window_start = max(0, start - _LABEL_LOOKBACK)
    found = label.search(head, window_start, start)
    return None if found is None else found.start()


def _attendance(present: int, expected: int) -> tuple[int, int] | None:
    if 1 <= present <= expected <= MAX_ATTENDANCE:
        return present, expected
    return None


class _Reader:
    """Claims spans of the head for kinds, a date and attendance, first come first served."""

    def __init__(self, head: str) -> None:
        self.head = head
        # One byte per character, set once read: overlap checks stay linear on long input.
        self.taken = bytearray(len(head))
        self.used: list[tuple[int, int]] = []  # spans that leave `unparsed`
        # The date written first wins; later ones stay visible in `unparsed`.
        self.date: tuple[int, int, DateParse] | None = None
        self.attendance: tuple[int, int] | None = None
        self.attendance_claimed = False

    def free(self, start: int, end: int) -> bool:
        return self.taken.find(1, start, end) == -1

    def take(self, start: int, end: int) -> None:
        self.taken[start:end] = b"\x01" * (end - start)

    def claim_kind(self, start: int, end: int) -> None:
        self.take(start, end)
        self.used.append((start, end))

    def claim_date(self, start: int, end: int, parse: DateParse) -> None:
        label = _label_start(self.head, start, _DATE_LABEL_RE)
        start = start if label is None else label
        self.take(start, end)
        if self.date is None or start < self.date[0]:
            self.date = (start, end, parse)

    def claim_attendance(self, start: int, end: int, present: int, expected: int) -> None:
        self.attendance_claimed = True
        self.take(start, end)
        self.attendance = _attendance(present, expected)
        if self.attendance is None:
            return  # an impossible head count stays visible in `unparsed`
        label = _label_start(self.head, start, _ATTENDANCE_LABEL_RE)
        self.used.append((start if label is None else label, end))

    def leftover(self, original: str) -> str:
        chars = list(original)
        used = self.used if self.date is None else [*self.used, self.date[:2]]
        for start, end in used:
            chars[start:end] = " " * (end - start)
        words = "".join(chars).split()
        return " ".join(word for word in words if not _is_punctuation(word))


def _is_punctuation(word: str) -> bool:
    # Joiners such as "+", "，" or "&" between kinds carry nothing the secretary must see again.
    return all(unicodedata.category(char)[0] in "PS" for char in word)


def _read_pairs(reader: _Reader, today: dt.date) -> None:
    bare: list[tuple[int, int, int, int]] = []
    for match in _PAIR_RE.finditer(reader.head):
        start, end = match.span()
        if not reader.free(start, end):
            continue
        first, second = int(match.group("a")), int(match.group("b"))
        labelled = _label_start(reader.head, start, _ATTENDANCE_LABEL_RE) is not None
        if match.group("persons") or labelled:
            if not reader.attendance_claimed:
                reader.claim_attendance(start, end, first, second)
        elif _label_start(reader.head, start, _DATE_LABEL_RE) is not None:
            reader.claim_date(start, end, parse_month_day(first, second, today))
        else:
            bare.append((start, end, first, second))
    if len(bare) >= 2 and reader.date is None and not reader.attendance_claimed:
        start, end, first, second = bare.pop(0)
        reader.claim_date(start, end, parse_month_day(first, second, today))
    for start, end, first, second in bare:
        if first <= second and not reader.attendance_claimed:
            reader.claim_attendance(start, end, first, second)
        elif reader.date is None:
            reader.claim_date(start, end, parse_month_day(first, second, today))


def parse_quick_log(text: str, today: dt.date) -> QuickLogDraft:
    """Read a one-message log such as `支委会 今天 7/9 议题：…`; never raises or invents."""
    folded = fold_width(text)
    sections = _sections(folded)
    head = folded[: sections.head_end]
    reader = _Reader(head)

    kinds: set[ActivityKind] = set()
    for found in find_kinds(head):
        kinds.add(found.kind)
        reader.claim_kind(found.start, found.end)

    for match in _ATTENDANCE_RE.finditer(head):
        if reader.attendance_claimed or not reader.free(*match.span()):
            continue
        present = match.group("p1") or match.group("p2") or match.group("p3")
        expected = match.group("e1") or match.group("e2") or match.group("e3")
        reader.claim_attendance(match.start(), match.end(), int(present), int(expected))

    for token in find_dates(head, today):
        if not token.bare and reader.free(token.start, token.end):
            reader.claim_date(token.start, token.end, token.parse)

    _read_pairs(reader, today)

    parse = reader.date[2] if reader.date is not None else DateParse()
    present, expected = reader.attendance or (None, None)
    return QuickLogDraft(
        kinds=tuple(kind for kind in ActivityKind if kind in kinds),
        date=parse.value,
        date_error=parse.error,
        present=present,
        expected=expected,
        topic=_clean(text[slice(*sections.topic)]) if sections.topic else None,
        place=_clean(text[slice(*sections.place)]) if sections.place else None,
        unparsed=reader.leftover(text[: sections.head_end]),
    )


def looks_like_quick_log(text: str) -> bool:
    """Tell whether free text names an activity kind, so the bot can offer a quick log."""
    folded = fold_width(text)
    return bool(find_kinds(folded[: _sections(folded).head_end]))
