"""The admins' dues collection report: per branch of their subtrees, for one month.

Figures come from one set-based query per subtree (storage.dues_reports); amounts stay integer
fen until shown, and rates are exact decimals. Branches are listed by code, never ranked.
The charts are drawn by bot.charts in the reader's language (branch names, the CJK font); the
caller passes the words, and draws them off the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import Bar, bar_chart
from bot.rules.dues import Month
from storage import activity_queries
from storage import dues_reports as dr
from storage.models import OrgUnit


@dataclass(frozen=True, slots=True)
class BranchLine:
    """One branch's collection for the month."""

    branch: OrgUnit
    due_members: int = 0
    paid_members: int = 0
    due_fen: int = 0
    collected_fen: int = 0

    @property
    def rate(self) -> Decimal | None:
        """Members who paid, as an exact percentage with one decimal (None: nobody owes)."""
        return percent(self.paid_members, self.due_members)

    @property
    def complete(self) -> bool:
        """Whether everyone owing this month paid it."""
        return self.paid_members >= self.due_members


def percent(part: int, whole: int) -> Decimal | None:
    """part of whole in percent, exact to one decimal (rounded half up); None for nothing."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def yuan(fen: int) -> Decimal:
    """Fen as an exact decimal amount of yuan (for spreadsheets)."""
    return Decimal(fen).scaleb(-2)


@dataclass(frozen=True, slots=True)
class Collection:
    """Every branch of the admin's subtrees for a month, by code, and the totals."""

    month: Month
    lines: list[BranchLine]

    def total(self, field: str) -> int:
        """The sum of one figure over every branch (exact integers)."""
        return sum(int(getattr(line, field)) for line in self.lines)


async def subtree_collection(
    session: AsyncSession, roots: Sequence[OrgUnit], month: Month
) -> Collection:
    """The collection of every branch under the roots (nested roots merged by the caller)."""
    lines: list[BranchLine] = []
    for root in roots:
        figures = {
            row.branch_id: row
            for row in await dr.collection_by_branch(session, subtree_path=root.path, month=month)
        }
        for branch in await activity_queries.branches_in_subtree(session, root.path):
            row = figures.get(branch.id)
            if row is None:
                lines.append(BranchLine(branch))
            else:
                lines.append(
                    BranchLine(
                        branch,
                        row.due_members,
                        row.paid_members,
                        row.due_fen,
                        row.collected_fen,
                    )
                )
    return Collection(month, lines)


PAID, UNPAID = (46, 139, 87), (205, 205, 205)


@dataclass(frozen=True, slots=True)
class CollectionWords:
    """What the collection chart writes, already in the reader's language."""

    title: str
    paid: str
    unpaid: str


def collection_chart(bars: Sequence[tuple[str, int, int]], words: CollectionWords) -> bytes:
    """One bar per (branch's name, members who paid, members owing): the share who paid,
    and the figures after it."""
    drawn = []
    for label, paid, due in bars:
        share = min(1.0, paid / due) if due else 0.0
        parts = [(share, PAID), (1.0 - share, UNPAID)]
        drawn.append(Bar(label, parts, f"{paid}/{due}"))
    legend = [(words.paid, PAID), (words.unpaid, UNPAID)]
    return bar_chart(words.title, drawn, legend, scale=1.0)


# Share of the yearly target reached, in these bands (upper bound exclusive; the last open).
HOUR_BANDS = ((0, 25), (25, 50), (50, 75), (75, 100), (100, None))
BAND_COLOURS = ((200, 40, 40), (230, 110, 30), (240, 170, 30), (150, 190, 60), (46, 139, 87))


def band_label(band: tuple[int, int | None]) -> str:
    """`25-50%`, `100%+`: the same in every language."""
    low, high = band
    return f"{low}%+" if high is None else f"{low}-{high}%"


def hours_band(hours: int, target: int) -> tuple[int, int | None]:
    """The band of a person's hours against their target (a zero target is reached)."""
    share = 100 if target <= 0 else hours * 100 // target
    for band in HOUR_BANDS:
        low, high = band
        if share >= low and (high is None or share < high):
            return band
    return HOUR_BANDS[-1]


def hours_chart(groups: Sequence[tuple[str, Sequence[tuple[int, int]]]], title: str) -> bytes:
    """Per group (its name in the reader's language, [(hours, target)]), a bar split by the
    share of the target reached: red (under a quarter) to green (reached); the head count
    after it."""
    bars = []
    for label, people in groups:
        counts = [0] * len(HOUR_BANDS)
        for hours, target in people:
            counts[HOUR_BANDS.index(hours_band(hours, target))] += 1
        total = max(1, len(people))
        parts = [
            (count / total, colour) for count, colour in zip(counts, BAND_COLOURS, strict=True)
        ]
        bars.append(Bar(label, parts, str(len(people))))
    legend = [
        (band_label(band), colour) for band, colour in zip(HOUR_BANDS, BAND_COLOURS, strict=True)
    ]
    return bar_chart(title, bars, legend, scale=1.0)
