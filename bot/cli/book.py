"""`zhibu book --org CODE --year YEAR [--out DIR]`: record books written to files.

A branch's code writes its book; any other node's writes one book per branch below it. The
command line has no bot to download photos with, so each photo is named, not embedded. The
operator reads the database anyway, so the copies name absence reasons.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.book.build import entry_name
from bot.book.document import render_book
from bot.book.gather import gather
from bot.book.model import FIRST_YEAR, BookFacts, Copy
from bot.cli.common import prepare_database
from bot.config import Settings
from bot.enums import OrgKind
from bot.errors import CommandError
from storage import book_queries, queries
from storage.db import transaction


def add_parsers(sub: Any) -> None:
    """`book`."""
    book = sub.add_parser(
        "book", help="record books (DOCX): a branch's, or one per branch below a node"
    )
    book.add_argument("--org", required=True, help="code of a branch, or of a node above some")
    book.add_argument("--year", required=True, type=int)
    book.add_argument("--out", type=Path, default=Path("."), help="directory (default: here)")
    book.set_defaults(handler=book_command)


def book_command(settings: Settings, args: argparse.Namespace) -> int:
    """Write the books and print each file written."""
    prepare_database(settings)
    for path in write_books(settings, org_code=args.org, year=args.year, out_dir=args.out):
        print(path)
    return 0


async def book_facts(settings: Settings, *, org_code: str, year: int) -> list[BookFacts]:
    """The facts of the books of the node's branches for `year`."""
    today = settings.now().astimezone(settings.tz).date()
    if not FIRST_YEAR <= year <= today.year:
        raise CommandError(f"the year must be {FIRST_YEAR}-{today.year}, not {year}")
    async with transaction(settings.database_url) as session:
        node = await queries.org_by_code(session, org_code)
        if node is None:
            raise CommandError(f"no organisation node with code {org_code!r}")
        if node.kind is OrgKind.BRANCH:
            branches = [node]
        else:
            ids = await book_queries.branch_ids_in(session, [node.path])
            branches = await book_queries.branches_by_ids(session, ids)
        if not branches:
            raise CommandError(f"{org_code} has no branches")
        return await gather(
            session,
            branches,
            year=year,
            today=today,
            zone=settings.tz,
            locale=settings.default_locale,
        )


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
