"""Forged record book buttons: DEMO-B1's book, and the ZIP and spot check of DEMO's subtree."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.book_picker import BookBranch, BookSample, BookSubtree
from tests.support.book import YEAR
from tests.support.forged import Area, B, Case, World, no_object


@dataclass(frozen=True)
class Targets:
    branch: int
    committee: int


async def setup(world: World) -> Targets:
    """DEMO-B1 and the committee above it (its book and its subtree's books)."""
    return Targets(world.nodes[B], world.nodes["DEMO"])


def markers(t: Targets) -> list[str]:
    # A book or a ZIP would carry the branch's names; the roster's names come with them.
    return [B, "第一党支部", "First Party Branch", "王芳", "李强", "Demo Sub-district Committee"]


AREA = Area(
    "book",
    setup,
    markers,
    cases=[
        # A member of B1 itself is refused as well: members get no book, not even their own.
        Case("bk:b", lambda t: [BookBranch(t.branch, YEAR)], member="same branch"),
        Case("bk:t", lambda t: [BookSubtree(t.committee, YEAR)], member="same branch"),
        Case(
            "bk:s",
            # A size the picker never offers is refused like a forged node.
            lambda t: [BookSample(t.committee, 3, YEAR), BookSample(t.committee, 4, YEAR)],
            member="same branch",
        ),
        no_object(
            "bk:p",
            "a page of the admin's own picker (the branches of their own subtrees)",
            harmless="the sibling admin sees a page of their own subtree",
        ),
    ],
)
