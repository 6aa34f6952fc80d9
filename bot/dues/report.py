"""The admins' dues collection report: per branch of their subtrees, for one month.

Figures come from one set-based query per subtree (storage.dues_reports); amounts stay integer
fen until shown, and rates are exact decimals. Branches are listed by code, never ranked.
The chart is a PNG with ASCII labels (no CJK font is assumed); the caller localises captions.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.ext.asyncio import AsyncSession

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


BAR_HEIGHT, GAP, LABEL_WIDTH, CHART_WIDTH, MARGIN = 18, 4, 150, 400, 12
PAID, UNPAID = (46, 139, 87), (220, 220, 220)


def collection_chart(lines: Sequence[BranchLine], title: str) -> bytes:
    """One bar per branch (by code): the share of its members who paid, and the figure."""
    font = ImageFont.load_default(size=14)
    height = MARGIN * 3 + 16 + max(1, len(lines)) * (BAR_HEIGHT + GAP)
    image = Image.new("RGB", (MARGIN * 2 + LABEL_WIDTH + CHART_WIDTH + 90, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, MARGIN), title.encode("ascii", "replace").decode(), fill="black", font=font)
    top = MARGIN * 2 + 16
    for index, line in enumerate(lines):
        y = top + index * (BAR_HEIGHT + GAP)
        label = line.branch.code.encode("ascii", "replace").decode()[:18]
        draw.text((MARGIN, y + BAR_HEIGHT / 2), label, fill="black", font=font, anchor="lm")
        left = MARGIN + LABEL_WIDTH
        draw.rectangle((left, y, left + CHART_WIDTH - 1, y + BAR_HEIGHT - 1), fill=UNPAID)
        if line.due_members:
            width = CHART_WIDTH * line.paid_members // line.due_members
            if width:
                draw.rectangle((left, y, left + width - 1, y + BAR_HEIGHT - 1), fill=PAID)
        figure = f"{line.paid_members}/{line.due_members}"
        draw.text(
            (left + CHART_WIDTH + 6, y + BAR_HEIGHT / 2),
            figure,
            fill="black",
            font=font,
            anchor="lm",
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


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
    """Per group (ASCII label, [(hours, target)]), a bar stacked by the share of the target
    reached: red (under a quarter) to green (reached)."""
    font = ImageFont.load_default(size=14)
    height = MARGIN * 4 + 32 + max(1, len(groups)) * (BAR_HEIGHT * 2 + GAP)
    image = Image.new("RGB", (MARGIN * 2 + LABEL_WIDTH + CHART_WIDTH + 90, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, MARGIN), title.encode("ascii", "replace").decode(), fill="black", font=font)
    x = MARGIN
    for band, colour in zip(HOUR_BANDS, BAND_COLOURS, strict=True):
        draw.rectangle((x, MARGIN + 22, x + 12, MARGIN + 34), fill=colour)
        draw.text((x + 16, MARGIN + 28), band_label(band), fill="black", font=font, anchor="lm")
        x += 100
    top = MARGIN * 3 + 32
    for index, (label, people) in enumerate(groups):
        y = top + index * (BAR_HEIGHT * 2 + GAP)
        draw.text((MARGIN, y + BAR_HEIGHT / 2), label, fill="black", font=font, anchor="lm")
        counts = [0] * len(HOUR_BANDS)
        for hours, target in people:
            counts[HOUR_BANDS.index(hours_band(hours, target))] += 1
        left = MARGIN + LABEL_WIDTH
        total = max(1, len(people))
        for count, colour in zip(counts, BAND_COLOURS, strict=True):
            width = CHART_WIDTH * count // total
            if width:
                draw.rectangle((left, y, left + width - 1, y + BAR_HEIGHT - 1), fill=colour)
            left += width
        draw.text(
            (left + 6, y + BAR_HEIGHT / 2), str(len(people)), fill="black", font=font, anchor="lm"
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
