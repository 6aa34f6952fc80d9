"""Subtrees of the organisation as index ranges over materialised paths ("/1/4/9/").

Every query about "a node and everything below it" goes through `subtree_of`: a range
`path >= '/1/4/' AND path < '/1/40'` rather than `path LIKE '/1/4/%'`. The range serves an
ordinary index on SQLite and on PostgreSQL whatever the server's locale, because the path
column is compared byte by byte (BINARY on SQLite, COLLATE "C" on PostgreSQL), and it does so
with bound parameters too: PostgreSQL can't use an index for `LIKE $1` in a generic plan, and
SQLite only for a LIKE with case_sensitive_like.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true


def path_end(path: str) -> str:
    """The first string after every path that starts with `path` (paths end with "/")."""
    if not path:
        raise ValueError("an empty path names no subtree")
    return path[:-1] + chr(ord(path[-1]) + 1)


def subtree_of(column: Any, path: str) -> ColumnElement[bool]:
    """`column` (a path column) lies in the subtree whose root has this path."""
    return and_(column >= path, column < path_end(path))


def subtrees_of(column: Any, paths: Iterable[str]) -> ColumnElement[bool]:
    """`column` lies in one of the subtrees (none: false)."""
    ranges = [subtree_of(column, path) for path in paths]
    if not ranges:
        return false()
    return ranges[0] if len(ranges) == 1 else or_(*ranges)


def ancestors_of(path: str) -> list[int]:
    """The ids on a path, root first: the node and those above it (as many as the tree is deep)."""
    return [int(part) for part in path.strip("/").split("/") if part]


@dataclass(frozen=True, slots=True)
class BranchScope:
    """The branches a planning pass covers: every one (the default), those with ids in
    [low, high] (a slice of the tree), or a few named ones (a batch of marked branches)."""

    low: int | None = None
    high: int | None = None
    ids: tuple[int, ...] | None = None

    def on(self, column: Any) -> ColumnElement[bool]:
        """`column` (a branch id) lies in the scope."""
        if self.ids is not None:
            # A batch of marks, bounded by the caller (storage.planner_queries.claim_marks).
            return column.in_(self.ids) if self.ids else false()
        conditions = []
        if self.low is not None:
            conditions.append(column >= self.low)
        if self.high is not None:
            conditions.append(column <= self.high)
        return and_(true(), *conditions)

    def holds(self, branch_id: int) -> bool:
        """The same test in Python."""
        if self.ids is not None:
            return branch_id in self.ids
        return (self.low is None or branch_id >= self.low) and (
            self.high is None or branch_id <= self.high
        )


EVERY_BRANCH = BranchScope()
