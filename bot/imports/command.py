"""`zhibu org|people import FILE`: one file, one transaction, the summary or the problems."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.imports.org import import_org
from bot.imports.people import import_people
from bot.imports.reading import read_table
from storage.db import transaction


async def import_file(settings: Settings, what: str, path: Path | str) -> str:
    """Import an "org" or "people" file in one transaction; the summary, or ImportFailed."""
    if what not in ("org", "people"):
        raise ValueError(f"unknown import {what!r}")
    table = read_table(path)
    today = settings.now().astimezone(settings.tz).date()
    async with transaction(settings.database_url) as session:
        if what == "org":
            summary = await import_org(session, table)
        else:
            summary = await import_people(session, table, today=today)
    return str(summary)
