"""Building books: photos downloaded within a budget (the rest named as such), spot check
samples, file names safe on every system, and a collection stopped at Telegram's limit."""

from __future__ import annotations

import dataclasses
import random

import pytest

from bot.book import build
from bot.book.build import Collection, TooLarge, download_photos, entry_name, sample
from bot.book.model import BookFacts, Copy
from bot.demo import DemoUser
from storage import book_queries, queries
from storage.db import SessionFactory
from tests.support.activity import ORG_TZ, org_today
from tests.support.book import YEAR, seed_year


class Photos:
    """Telegram's side of photo downloads: sizes and bytes by file id (None: gone)."""

    def __init__(self, files: dict[str, bytes | None]) -> None:
        self.files = files
        self.fetched: list[str] = []

    async def size(self, file_id: str) -> int | None:
        data = self.files[file_id]
        return None if data is None else len(data)

    async def fetch(self, file_id: str) -> bytes | None:
        self.fetched.append(file_id)
        return self.files[file_id]


async def test_photos_past_the_budget_are_named_not_downloaded() -> None:
    source = Photos({"a": b"1" * 10, "b": b"2" * 10, "gone": None, "c": b"3" * 10})
    found, notes = await download_photos(source, ["a", "b", "gone", "c", "a"], budget=25)
    assert found == {"a": b"1" * 10, "b": b"2" * 10}
    assert notes == {"c": "limit"}  # "gone" keeps the copy's default note: not downloadable
    assert sorted(source.fetched) == ["a", "b"]


def test_a_spot_check_samples_without_repeats() -> None:
    ids = list(range(100, 200))
    drawn = sample(ids, 10, random.Random(7))
    assert len(set(drawn)) == 10 and set(drawn) <= set(ids) and drawn == sorted(drawn)
    assert sample([1, 2], 5) == [1, 2]


def test_entry_names_are_safe_files() -> None:
    facts = BookFacts(1, "B-1", 'a/b\\c:d*e?"f<g>h|', None, YEAR, org_today(), (), (), (), ())
    assert entry_name(facts, "zh_Hans") == f"B-1 a_b_c_d_e_f_g_h_ {YEAR}.docx"
    named = dataclasses.replace(facts, branch_name="第一党支部", branch_name_en="First")
    assert entry_name(named, "en") == f"B-1 First {YEAR}.docx"


async def test_a_collection_past_telegrams_limit_is_stopped(
    db: SessionFactory, demo: dict[str, DemoUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_year(db, count=3)
    async with db() as session:
        root = await queries.org_by_code(session, "DEMO")
        assert root is not None
        ids = await book_queries.branch_ids_in(session, [root.path])
    monkeypatch.setattr(build, "UPLOAD_LIMIT", 30_000)  # about one book
    monkeypatch.setattr(build, "CHUNK", 1)
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    copy = Copy("zh_Hans", "Asia/Shanghai", with_reasons=True, photo_note="collection")
    job = Collection(tuple(ids), YEAR, org_today(), copy, ORG_TZ)
    with pytest.raises(TooLarge):
        await build.build_collection(db, job, progress=progress)
    assert seen and seen[-1][0] < len(ids)
