"""What an import did, and its audit record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.imports.reading import Table
from storage import queries


@dataclass
class ImportSummary:
    """What an import did, row by row."""

    what: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored_columns: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(self.created or self.updated)

    def __str__(self) -> str:
        text = f"{self.what}: {self.created} created, {self.updated} updated, "
        text += f"{self.unchanged} unchanged"
        if self.ignored_columns:
            text += f" (ignored columns: {', '.join(self.ignored_columns)})"
        return text


async def finish(
    session: AsyncSession,
    summary: ImportSummary,
    table: Table,
    known: Sequence[str],
    action: str,
) -> ImportSummary:
    """Name the ignored columns and audit an import that changed something."""
    # Shown in the summary so a misspelt header doesn't drop a column unnoticed.
    summary.ignored_columns = tuple(table.label(c) for c in table.columns if c not in known)
    if summary.changed:
        await queries.audit(
            session,
            action=action,
            actor_label="cli",
            details={
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "file": table.source,
            },
        )
    return summary
