"""Matching a lost-contact member against the register: pure ranking of possible rows.

The secretary confirms; the bot only proposes, best first, with the reasons it proposes.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """A member as listed in the register (only what matching needs)."""

    person_id: int
    name: str
    branch_code: str | None = None
    join_year: int | None = None


class MatchReason(StrEnum):
    """Why a register row was proposed."""

    NAME_EXACT = "name_exact"
    SURNAME_AND_SIMILAR_GIVEN_NAME = "surname_and_similar_given_name"
    NAME_ONE_EDIT = "name_one_edit"
    SAME_BRANCH = "same_branch"
    SAME_JOIN_YEAR = "same_join_year"
    JOIN_YEAR_OFF_BY_ONE = "join_year_off_by_one"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A register row that may be the lost-contact member; the secretary confirms."""

    row: RegisterRow
    score: float  # 0..1; name tiers never overlap: exact >= 0.7 > similar >= 0.4 > one edit
    reasons: tuple[MatchReason, ...]


# Two-character surnames seen often enough that splitting after one character would be wrong.
COMPOUND_SURNAMES: Final = frozenset(
    [
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "司徒",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "夏侯",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "轩辕",
        "呼延",
        "澹台",
        "公冶",
        "太史",
        "申屠",
        "闻人",
        "濮阳",
        "钟离",
        "宗政",
        "万俟",
    ]
)
_NAME_TIERS: Final = {
    MatchReason.NAME_EXACT: 0.7,
    MatchReason.SURNAME_AND_SIMILAR_GIVEN_NAME: 0.4,
    MatchReason.NAME_ONE_EDIT: 0.1,
}
_SIMILAR_GIVEN_NAME: Final = 0.5  # difflib ratio; "小明" vs "晓明" is 0.5
_SEPARATORS: Final = frozenset("·•・.-‧")


def normalise_name(name: str) -> str:
    """Fold width and case and drop spaces and name dots, so "张　三" == "张 三" == "张三"."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in folded if not c.isspace() and c not in _SEPARATORS)


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _split_surname(name: str) -> tuple[str, str]:
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def _within_one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def _name_tier(query: str, other: str) -> MatchReason | None:
    if not query or not other:
        return None
    if query == other:
        return MatchReason.NAME_EXACT
    if _is_cjk(query[0]) and _is_cjk(other[0]):
        surname, given = _split_surname(query)
        other_surname, other_given = _split_surname(other)
        if surname == other_surname and given and other_given:
            ratio = difflib.SequenceMatcher(None, given, other_given).ratio()
            if ratio >= _SIMILAR_GIVEN_NAME:
                return MatchReason.SURNAME_AND_SIMILAR_GIVEN_NAME
    if _within_one_edit(query, other):
        return MatchReason.NAME_ONE_EDIT
    return None


def match_lost_contact(
    name: str,
    branch_code: str | None,
    join_year: int | None,
    register_rows: Iterable[RegisterRow],
    *,
    limit: int = 5,
) -> list[Candidate]:
    """Rank register rows that may be the member who lost contact, best first.

    A row needs a name match (exact, same surname with a similar given name, or one character
    off); the same branch (+0.2) and join year (+0.1, or +0.05 one year off) then rank rows of the
    same name tier. Traditional/simplified variants are not matched.
    """
    query = normalise_name(name)
    ranked: list[tuple[int, float, int, Candidate]] = []
    for row in register_rows:
        tier = _name_tier(query, normalise_name(row.name))
        if tier is None:
            continue
        reasons = [tier]
        score = _NAME_TIERS[tier]
        if branch_code and row.branch_code == branch_code:
            reasons.append(MatchReason.SAME_BRANCH)
            score += 0.2
        if join_year is not None and row.join_year is not None:
            if row.join_year == join_year:
                reasons.append(MatchReason.SAME_JOIN_YEAR)
                score += 0.1
            elif abs(row.join_year - join_year) == 1:
                reasons.append(MatchReason.JOIN_YEAR_OFF_BY_ONE)
                score += 0.05
        rank = -list(_NAME_TIERS).index(tier)
        candidate = Candidate(row, round(score, 4), tuple(reasons))
        ranked.append((rank, candidate.score, -row.person_id, candidate))
    ranked.sort(key=lambda entry: entry[:3], reverse=True)
    return [entry[3] for entry in ranked[:limit]]
