"""The dues and study-hours charts of /report read naturally to a Chinese reader: the title,
the legend and the bars' labels (branch names, groups) in Chinese, drawn with the CJK font's
glyphs; and they are drawn off the event loop, like every other report's chart."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw

from bot import charts, fonts
from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.dues.ledger import record_payment, set_standard
from bot.dues.report import CollectionWords, collection_chart
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeUser
from bot.rules.dues import month_index
from handlers import dues_report
from storage.db import SessionFactory
from tests.support.debian import unavailable
from tests.support.dues import branch, person
from tests.support.reminders import at

NOW = at("2026-11-20 10:00")
NOV = month_index(2026, 11)
# The first bar's label: below the title and one line of legend.
FIRST_LABEL_Y = charts.MARGIN + charts.TITLE + 20 + charts.LINE


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings, "now", lambda self: NOW)


@pytest.fixture
def cjk() -> None:
    if fonts.cjk_font_file() is None:
        unavailable(f"no CJK font on this machine ({fonts.INSTALL_HINT}; the test command does)")


@pytest.fixture
def png_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """For every PNG Pillow writes: whether it was written on the event loop's thread."""
    loop_thread = threading.get_ident()
    seen: list[bool] = []
    save = Image.Image.save

    def recording(self: Image.Image, fp: Any, format: str | None = None, **params: Any) -> None:
        if (format or "").upper() == "PNG":
            seen.append(threading.get_ident() == loop_thread)
        save(self, fp, format, **params)

    monkeypatch.setattr(Image.Image, "save", recording)
    yield seen


def _drawn(png: bytes, text: str, y: int, size: int) -> bool:
    """Whether the band of the chart at `y` shows exactly `text` in the CJK font at `size`."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    expected = Image.new("RGB", image.size, "white")
    ImageDraw.Draw(expected).text((charts.MARGIN, y), text, fill="black", font=fonts.font(size))
    band = (0, y, image.width, y + size + 12)
    return ImageChops.difference(image.crop(band), expected.crop(band)).getbbox() is None


async def _ledger(db: SessionFactory) -> None:
    """November's standards for two members of DEMO-B1; one of them paid."""
    async with db.begin() as session:
        for name in ("王芳", "李强"):
            who = await person(db, name)
            await set_standard(session, person=who, from_month=NOV, fen=1000, actor=None, now=NOW)
        await record_payment(
            session,
            branch=await branch(db, "DEMO-B1"),
            person=await person(db, "王芳"),
            month=NOV,
            latest=NOV,
            actor=None,
            today=dt.date(2026, 11, 20),
        )


async def _chart(user: FakeUser, command: str) -> bytes:
    chart = await _photo(user, command)
    assert chart.photo is not None
    return chart.photo.data


async def _photo(user: FakeUser, command: str) -> FakeMessage:
    await user.skip_pending()
    await user.send(command)
    await user.wait_reply()
    chart = await user.wait_reply()
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")
    await user.wait_reply()
    return chart


async def _admin(client: FakeTelegramClient, demo: dict[str, DemoUser]) -> FakeUser:
    return await client.user(demo["林书记"].telegram_id, "林书记", language_code="zh-hans")


async def test_the_dues_chart_is_chinese_and_drawn_off_the_event_loop(
    cjk: None,
    png_threads: list[bool],
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    b1 = await branch(db, "DEMO-B1")
    await _ledger(db)
    png = await _chart(await _admin(client, demo), "/report dues")
    assert _drawn(png, "2026年11月党费收缴情况", charts.MARGIN, charts.TITLE)
    # The first branch by code, by its Chinese name (not its code).
    assert _drawn(png, b1.name, FIRST_LABEL_Y, charts.TEXT)
    assert png_threads and not any(png_threads)


async def test_the_study_hours_chart_is_chinese_and_drawn_off_the_event_loop(
    cjk: None,
    png_threads: list[bool],
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    png = await _chart(await _admin(client, demo), "/report training")
    assert _drawn(png, "2026年学时完成情况", charts.MARGIN, charts.TITLE)
    assert _drawn(png, "书记和支部委员", FIRST_LABEL_Y, charts.TEXT)
    assert png_threads and not any(png_threads)


async def test_beyond_what_fits_the_dues_chart_shows_all_together_then_the_branches_behind(
    cjk: None,
    monkeypatch: pytest.MonkeyPatch,
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    # Two bars fit: the subtree's three branches together, then DEMO-B1, the one behind.
    monkeypatch.setattr(dues_report, "CHART_MAX_BRANCHES", 2)
    await _ledger(db)
    chart = await _photo(await _admin(client, demo), "/report dues")
    assert chart.photo is not None
    assert "图中先显示全部 3 个支部的合计，再按代码显示未收齐的 1 个支部中的 1 个" in chart.text
    assert _drawn(chart.photo.data, "全部 3 个支部", FIRST_LABEL_Y, charts.TEXT)
    second = FIRST_LABEL_Y + charts.LINE + charts.BAR + 16
    assert _drawn(chart.photo.data, (await branch(db, "DEMO-B1")).name, second, charts.TEXT)


def test_the_most_branches_a_dues_chart_shows_fit_telegrams_photo_limits() -> None:
    bars = [
        (f"第{n}党支部（街道机关第{n}网格）", n % 7, 6)
        for n in range(dues_report.CHART_MAX_BRANCHES)
    ]
    png = collection_chart(bars, CollectionWords("2026年11月党费收缴情况", "已交", "未交"))
    image = Image.open(io.BytesIO(png))
    assert image.width == charts.WIDTH and image.width + image.height <= 10_000
    assert len(png) < 10_000_000
