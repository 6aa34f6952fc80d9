"""Why an import is refused: every problem of every row, collected and reported at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.imports.reading import Row, Table


@dataclass(frozen=True)
class Problem:
    """One reason a file can't be imported, located as precisely as possible."""

    line: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        prefix = "" if self.line is None else f"line {self.line}: "
        if self.column is not None:
            prefix += f"{self.column}: "
        return prefix + self.reason


class ImportFailed(Exception):
    """The file was refused and nothing was written; `problems` says why, one line each."""

    def __init__(self, problems: Iterable[Problem | str]) -> None:
        self.problems = [str(p) for p in problems]
        super().__init__("\n".join(self.problems))


class CellError(ValueError):
    """A cell's value is unacceptable; the message is the reason shown to the user."""


class Problems:
    """Problems found while checking a table, reported all at once, in line order."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.items: list[Problem] = []

    def add(self, line: int | None, column: str | None, reason: str) -> None:
        """Record a problem; `column` is the canonical name, shown as the file's header."""
        label = None if column is None else self.table.label(column)
        self.items.append(Problem(line, label, reason))

    def require_columns(self, required: Iterable[str]) -> None:
        """Record every required column the header lacks."""
        for column in required:
            if column not in self.table.labels:
                self.add(self.table.header_line, column, "required column is missing")

    def parse(
        self, row: Row, parsers: Mapping[str, Callable[[str], object]]
    ) -> dict[str, Any] | None:
        """Each column's parsed value, or None when any cell is bad (each one recorded)."""
        values: dict[str, Any] = {}
        ok = True
        for column, parser in parsers.items():
            try:
                values[column] = parser(row[column])
            except CellError as exc:
                self.add(row.line, column, str(exc))
                ok = False
        return values if ok else None

    def raise_if_any(self) -> None:
        """Refuse the file if anything was recorded."""
        if self.items:
            # Stable sort: cross-row problems found later still sit with their line.
            ordered: list[Problem] = sorted(self.items, key=lambda p: p.line or 0)
            raise ImportFailed(ordered)
