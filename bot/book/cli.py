"""`zhibu book --org CODE --year YEAR [--out DIR]`: record books written to files.

A branch's code writes its book; any other node's writes one book per branch below it. The
command line has no bot to download photos with, so each photo is named, not embedded. The
operator reads the database anyway, so the copies name absence reasons.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.book.build import entry_name
from bot.book.document import render_book
from bot.book.gather import gather
from bot.book.model import BookFacts, Copy
from bot.config import Settings
from bot.enums import OrgKind
from storage import book_queries, queries
from storage.db import create_engine, session_factory

FIRST_YEAR = 2000


class BookCommandError(Exception):
    """Why no book was written, for the operator."""


async def book_facts(settings: Settings, *, org_code: str, year: int) -> list[BookFacts]:
    """The facts of the books of the node's branches for `year`."""
    today = settings.now().astimezone(settings.tz).date()
    if not FIRST_YEAR <= year <= today.year:
        raise BookCommandError(f"the year must be {FIRST_YEAR}-{today.year}, not {year}")
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            node = await queries.org_by_code(session, org_code)
            if node is None:
                raise BookCommandError(f"no organisation node with code {org_code!r}")
            if node.kind is OrgKind.BRANCH:
                branches = [node]
            else:
                ids = await book_queries.branch_ids_in(session, [node.path])
                branches = await book_queries.branches_by_ids(session, ids)
            if not branches:
                raise BookCommandError(f"{org_code} has no branches")
            return await gather(
                session,
                branches,
                year=year,
                today=today,
                zone=settings.tz,
                locale=settings.default_locale,
            )
    finally:
        await engine.dispose()


def write_books(settings: Settings, *, org_code: str, year: int, out_dir: Path) -> list[Path]:
    """Write the books of the node's branches for `year` into `out_dir`; their paths."""
    facts = asyncio.run(book_facts(settings, org_code=org_code, year=year))
    copy = Copy(settings.default_locale, settings.timezone, with_reasons=True, photo_note="cli")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for book in facts:
        path = out_dir / entry_name(book, settings.default_locale)
        path.write_bytes(render_book(book, copy))
        written.append(path)
    return written


def book_command(settings: Settings, *, org_code: str, year: int, out_dir: Path) -> int:
    """Run `zhibu book`: print each file written; exit code 1 with the reason otherwise."""
    try:
        paths = write_books(settings, org_code=org_code, year=year, out_dir=out_dir)
    except BookCommandError as exc:
        print(f"zhibu: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0
