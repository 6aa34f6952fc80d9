"""Activity kinds and the words secretaries use for them in free text."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class ActivityKind(StrEnum):
    """What a logged activity was; the values are stable keys for callback_data and the DB."""

    GENERAL_MEETING = "general_meeting"
    COMMITTEE_MEETING = "committee_meeting"
    GROUP_MEETING = "group_meeting"
    LECTURE = "lecture"
    THEMED_DAY = "themed_day"
    LIFE_MEETING = "life_meeting"
    APPRAISAL = "appraisal"
    TALK = "talk"
    OTHER = "other"


# Matched case-insensitively; English words also match with "-"/spaces between them and a
# plural "s". Longer keywords win over the shorter ones they contain (支部党员大会 > 党员大会).
# No bare "谈话" (an 教育谈话 is not a heart-to-heart talk) and no bare "other"/"其他", which
# are too common in ordinary text to route a message to the quick log.
KIND_KEYWORDS: Mapping[ActivityKind, tuple[str, ...]] = MappingProxyType(
    {
        ActivityKind.GENERAL_MEETING: (
            "支部党员大会",
            "全体党员大会",
            "党员大会",
            "支部大会",
            "branch general meeting",
            "general meeting",
            "general assembly",
        ),
        ActivityKind.COMMITTEE_MEETING: (
            "支部委员会会议",
            "支部委员会",
            "委员会会议",
            "支委会议",
            "支委会",
            "branch committee meeting",
            "committee meeting",
            "committee",
        ),
        ActivityKind.GROUP_MEETING: (
            "党小组会议",
            "党小组会",
            "小组会",
            "party group meeting",
            "group meeting",
        ),
        ActivityKind.LECTURE: ("党课", "party lecture", "party class", "lecture"),
        ActivityKind.THEMED_DAY: (
            "主题党日",
            "党日活动",
            "themed party day",
            "themed day",
            "theme day",
            "party day",
        ),
        ActivityKind.LIFE_MEETING: (
            "组织生活会",
            "organisational life meeting",
            "organizational life meeting",
            "life meeting",
        ),
        ActivityKind.APPRAISAL: (
            "民主评议党员",
            "民主评议",
            "democratic appraisal",
            "appraisal",
        ),
        ActivityKind.TALK: ("谈心谈话", "谈心", "heart-to-heart talk", "heart-to-heart", "talk"),
        ActivityKind.OTHER: ("其他活动", "其它活动", "other activity"),
    }
)

# "Party committee" is the higher level (党委) and "committee members" are people, neither is
# a branch committee meeting: "talks between committee members" must stay a talk only.
_COMMITTEE_GUARD = r"(?<!party\s)"
_COMMITTEE_TAIL = r"(?!\s+members?\b)"


@dataclass(frozen=True, slots=True)
class KindMatch:
    """One kind keyword found in a text, with its span."""

    kind: ActivityKind
    start: int
    end: int


def _normalise_keyword(text: str) -> str:
    return " ".join(re.split(r"[\s\-]+", text.strip().lower()))


def _keyword_pattern(keyword: str) -> str:
    if not keyword.isascii():
        return re.escape(keyword)
    words = r"[\s\-]+".join(re.escape(word) for word in re.split(r"[\s\-]+", keyword))
    guard = _COMMITTEE_GUARD if keyword == "committee" else ""
    tail = _COMMITTEE_TAIL if keyword == "committee" else ""
    return rf"(?<![a-z0-9]){guard}{words}s?(?![a-z0-9]){tail}"


_KIND_BY_KEYWORD: dict[str, ActivityKind] = {
    _normalise_keyword(keyword): kind
    for kind, keywords in KIND_KEYWORDS.items()
    for keyword in keywords
}
_KIND_RE = re.compile(
    "|".join(
        _keyword_pattern(keyword)
        for keyword in sorted(
            (keyword for keywords in KIND_KEYWORDS.values() for keyword in keywords),
            key=len,
            reverse=True,
        )
    ),
    re.IGNORECASE,
)


def _kind_of(matched: str) -> ActivityKind:
    key = _normalise_keyword(matched)
    # Only the plural "s" the pattern allows can make the lookup miss.
    return _KIND_BY_KEYWORD.get(key) or _KIND_BY_KEYWORD[key[:-1]]


def find_kinds(text: str) -> list[KindMatch]:
    """Return the kind keywords in `text`, left to right, without overlaps."""
    return [
        KindMatch(_kind_of(match.group()), match.start(), match.end())
        for match in _KIND_RE.finditer(text)
    ]
