"""Building books off the event loop: one book in a shared worker process, a collection of
many (a subtree, a spot check) in a worker process of its own, streamed into one ZIP.

Every DOCX is written in another process, below the bot's priority, so other users' replies
do not wait for a thousand books; a subtree's worker even reads the database itself. The bot's
event loop reads what a single book or a spot check needs and talks to Telegram.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import random
import re
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from telegram import Bot, File
from telegram.constants import FileSizeLimit
from telegram.error import TelegramError

from bot.book.document import render_book, render_books
from bot.book.gather import gather
from bot.book.model import BookFacts, Copy, PhotoNote
from bot.workers import SharedWorker, database_url, own_worker, reading
from storage import book_queries
from storage.db import SessionFactory

log = logging.getLogger(__name__)

# What a bot may upload to Telegram, less room for the ZIP's and DOCX's own structure.
UPLOAD_LIMIT = int(FileSizeLimit.FILESIZE_UPLOAD) - 2_000_000
# Photos are downloaded up to this many bytes a book; the rest are named, not embedded.
PHOTO_BUDGET = 40_000_000
# A collection is refused beyond this many branches (ask for a smaller subtree).
MAX_COLLECTION = 1_000
SPOT_CHECK_SIZES = (3, 5, 10)
# Branches gathered and rendered per round trip to the worker.
CHUNK = 25
DOWNLOADS_AT_ONCE = 4

T = TypeVar("T")


class TooLarge(Exception):
    """The result would pass Telegram's upload limit for bots."""


class PhotoSource(Protocol):
    """Where photo bytes come from (the bot's Telegram files)."""

    async def size(self, file_id: str) -> int | None:
        """The photo's size in bytes, or None when Telegram no longer has it."""

    async def fetch(self, file_id: str) -> bytes | None:
        """The photo's bytes, or None when they cannot be had."""


class TelegramPhotos:
    """Photos the bot can download: attachments store Telegram file ids, not bytes."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._files: dict[str, File] = {}

    async def size(self, file_id: str) -> int | None:
        """The file's size as Telegram reports it."""
        try:
            found = self._files[file_id] = await self.bot.get_file(file_id)
        except TelegramError:
            log.warning("getFile failed for a photo of the record book", exc_info=True)
            return None
        return found.file_size or 0

    async def fetch(self, file_id: str) -> bytes | None:
        """Download the file."""
        try:
            found = self._files.pop(file_id, None) or await self.bot.get_file(file_id)
            return bytes(await found.download_as_bytearray())
        except (TelegramError, OSError):
            log.warning("a photo of the record book could not be downloaded", exc_info=True)
            return None


async def download_photos(
    source: PhotoSource, file_ids: Sequence[str], *, budget: int = PHOTO_BUDGET
) -> tuple[dict[str, bytes], dict[str, PhotoNote]]:
    """The photos' bytes, a few downloads at a time, in book order until `budget` bytes; the
    photos past the budget are noted as such."""
    photos: dict[str, bytes] = {}
    notes: dict[str, PhotoNote] = {}
    wanted = list(dict.fromkeys(file_ids))
    sizes = await _bounded([source.size(file_id) for file_id in wanted])
    chosen, used = [], 0
    for file_id, size in zip(wanted, sizes, strict=True):
        if size is None:
            continue
        if used + size > budget:
            notes[file_id] = "limit"
            continue
        used += size
        chosen.append(file_id)
    for file_id, data in zip(
        chosen, await _bounded([source.fetch(f) for f in chosen]), strict=True
    ):
        if data is not None:
            photos[file_id] = data
    return photos, notes


async def _bounded(calls: Sequence[Awaitable[T]]) -> list[T]:
    gate = asyncio.Semaphore(DOWNLOADS_AT_ONCE)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return list(await asyncio.gather(*(one(call) for call in calls)))


# ---- worker processes ------------------------------------------------------------------------

SHARED = SharedWorker()


async def render(facts: BookFacts, copy: Copy) -> bytes:
    """One book, written in the shared worker process; TooLarge past Telegram's limit."""
    data = await SHARED.run(render_book, facts, copy)
    if len(data) > UPLOAD_LIMIT:
        raise TooLarge(len(data))
    return data


# ---- collections -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Collection:
    """Books of many branches for one reader: a subtree, or a spot check's sample."""

    branch_ids: tuple[int, ...]
    year: int
    today: dt.date
    copy: Copy
    zone: dt.tzinfo


Progress = Callable[[int, int], Awaitable[None]]


def sample(branch_ids: Sequence[int], size: int, rng: random.Random | None = None) -> list[int]:
    """A random sample of the branches for a spot check (all of them when there are fewer)."""
    chooser = rng or random.SystemRandom()
    return sorted(chooser.sample(list(branch_ids), min(size, len(branch_ids))))


def entry_name(facts: BookFacts, locale: str) -> str:
    """The book's file name inside the ZIP: code, name and year, safe on every system."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", facts.name(locale)).strip(" .")
    return f"{facts.branch_code} {name} {facts.year}.docx"


async def build_collection(
    db: SessionFactory,
    job: Collection,
    *,
    progress: Progress,
    photos: PhotoSource | None = None,
) -> bytes:
    """Every book of the collection in one ZIP, rendered chunk by chunk in a worker process
    of its own; `progress(done, total)` after each chunk. With `photos`, each book embeds up
    to its share of the photo budget; without, its photos are named only.
    TooLarge as soon as the ZIP would pass Telegram's limit."""
    total = len(job.branch_ids)
    buffer = io.BytesIO()
    done = 0
    loop = asyncio.get_running_loop()
    # Without photos to download, the worker reads the database itself: the bot's process
    # then only hands over ids and stores the bytes it gets back.
    url = None if photos is not None else database_url(db)
    async with own_worker() as pool:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for start in range(0, total, CHUNK):
                ids = tuple(job.branch_ids[start : start + CHUNK])
                if url is not None:
                    books = await loop.run_in_executor(pool, render_from_database, url, job, ids)
                else:
                    chunk = await _chunk_facts(db, job, ids)
                    copies = [await _copy_for(job.copy, facts, photos, total) for facts in chunk]
                    jobs = list(zip(chunk, copies, strict=True))
                    rendered = await loop.run_in_executor(pool, render_books, jobs)
                    books = [
                        (entry_name(facts, job.copy.locale), data)
                        for facts, data in zip(chunk, rendered, strict=True)
                    ]
                for name, data in books:
                    # A DOCX is already compressed: stored as it is, the ZIP costs no CPU.
                    archive.writestr(name, data)
                    if buffer.tell() > UPLOAD_LIMIT:
                        raise TooLarge(buffer.tell())
                done += len(books)
                await progress(done, total)
    return buffer.getvalue()


def render_from_database(
    url: str, job: Collection, ids: tuple[int, ...]
) -> list[tuple[str, bytes]]:
    """In the worker: read the chunk's facts and write its books; (file name, DOCX)."""

    async def read() -> list[BookFacts]:
        async with reading(url) as db:
            return await _chunk_facts(db, job, ids)

    return [
        (entry_name(facts, job.copy.locale), render_book(facts, job.copy))
        for facts in asyncio.run(read())
    ]


async def _chunk_facts(db: SessionFactory, job: Collection, ids: Sequence[int]) -> list[BookFacts]:
    async with db() as session:
        branches = await book_queries.branches_by_ids(session, ids)
        return await gather(
            session,
            branches,
            year=job.year,
            today=job.today,
            zone=job.zone,
            locale=job.copy.locale,
        )


async def _copy_for(copy: Copy, facts: BookFacts, photos: PhotoSource | None, books: int) -> Copy:
    if photos is None or not facts.photo_ids:
        return copy
    found, notes = await download_photos(photos, facts.photo_ids, budget=PHOTO_BUDGET // books)
    return replace(copy, photos=found, notes=notes)
