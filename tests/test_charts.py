"""Charts a Chinese reader reads: the CJK font draws every label (no tofu boxes), a Chinese
title is drawn with that font's glyphs (the compliance grid, and the grading, relink and
notice charts), and the charts stay phone-legible and within Telegram's photo limits for 10
and for 1,000 branches."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from bot import charts, fonts
from bot.activities import KIND_LABELS
from bot.charts import ChartWords, compliance_charts
from bot.grading.chart import grade_bars
from bot.i18n import Translator
from bot.rules.calendar import ObligationState
from tests.support.debian import unavailable

S = ObligationState
STATE_WORDS = {
    S.DONE: "done",
    S.DUE: "due",
    S.OVERDUE: "overdue",
    S.NOT_APPLICABLE: "not applicable",
}


@pytest.fixture
def cjk() -> None:
    if fonts.cjk_font_file() is None:
        unavailable(f"no CJK font on this machine ({fonts.INSTALL_HINT}; the test command does)")


def _words(locale: str, title: str) -> ChartWords:
    tr = Translator(locale)
    return ChartWords(
        title=title,
        columns=[tr._(label) for label in KIND_LABELS.values()][:8],
        legend={state: tr._(word) for state, word in STATE_WORDS.items()},
    )


def _rows(count: int) -> list[tuple[str, list[ObligationState]]]:
    chooser = random.Random(count)
    return [
        (f"第{n}党支部（街道机关第{n}网格）", [chooser.choice(list(S)) for _ in range(8)])
        for n in range(count)
    ]


def test_tofu_is_recognised() -> None:
    # Pillow's own font has no Chinese: the check must say so, or it proves nothing.
    assert not fonts.draws(ImageFont.load_default(size=34), "支部")


def test_the_cjk_font_draws_every_chinese_label(cjk: None) -> None:
    words = _words("zh_Hans", "示范街道党工委 2026年11月 履职情况")
    labels = "".join([words.title, *words.columns, *words.legend.values()])
    assert any("\u4e00" <= char <= "\u9fff" for char in labels)
    for size in (charts.MIN_TEXT, charts.TEXT, charts.TITLE):
        assert fonts.draws(fonts.font(size), labels)


def test_a_chinese_title_is_drawn_with_the_fonts_glyphs(cjk: None) -> None:
    title = "示范街道党工委 2026年11月 履职情况"
    png = compliance_charts(_rows(3), _words("zh_Hans", title)).images[0]
    drawn = Image.open(io.BytesIO(png)).convert("RGB")
    expected = Image.new("RGB", drawn.size, "white")
    ImageDraw.Draw(expected).text(
        (charts.MARGIN, charts.MARGIN), title, fill="black", font=fonts.font(charts.TITLE)
    )
    band = (0, 0, drawn.width, charts.MARGIN + charts.TITLE + 16)
    assert ImageChops.difference(drawn.crop(band), expected.crop(band)).getbbox() is None
    # ...and it is not what tofu looks like.
    tofu = Image.new("RGB", drawn.size, "white")
    ImageDraw.Draw(tofu).text(
        (charts.MARGIN, charts.MARGIN),
        "\U0010fffd" * len(title),
        fill="black",
        font=fonts.font(charts.TITLE),
    )
    assert ImageChops.difference(drawn.crop(band), tofu.crop(band)).getbbox() is not None


def _relink_like(title: str) -> bytes:
    bars = [
        charts.Bar("待支部审核", [(3, (46, 139, 87)), (2, (200, 40, 40))], "5"),
        charts.Bar("2026年重新联系上", [(4, (40, 90, 180))], "4"),
    ]
    return charts.bar_chart(title, bars, [("0-7天", (46, 139, 87)), ("91+天", (200, 40, 40))])


@pytest.mark.parametrize(
    "draw",
    [
        lambda title: grade_bars(title, [("好", 3), ("较好", 5), ("一般", 1), ("未评定", 2)]),
        _relink_like,
        lambda title: charts.bar_chart(
            title, [charts.Bar("#3 关于开展主题党日", [(0.5, (200, 30, 30))], "50%")], scale=1.0
        ),
    ],
    ids=["grading", "relink", "notices"],
)
def test_the_other_reports_charts_draw_chinese_with_the_fonts_glyphs(
    cjk: None, draw: Callable[[str], bytes]
) -> None:
    title = "示范街道党工委 评定结果"
    png = draw(title)
    drawn = _within_telegram_limits(png).convert("RGB")
    assert drawn.width == charts.WIDTH
    expected = Image.new("RGB", drawn.size, "white")
    ImageDraw.Draw(expected).text(
        (charts.MARGIN, charts.MARGIN), title, fill="black", font=fonts.font(charts.TITLE)
    )
    band = (0, 0, drawn.width, charts.MARGIN + charts.TITLE + 16)
    assert ImageChops.difference(drawn.crop(band), expected.crop(band)).getbbox() is None


def _within_telegram_limits(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    width, height = image.size
    assert (
        len(png) < 10_000_000
        and width + height <= 10_000
        and max(width, height) / min(width, height) <= 20
    )
    return image


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_ten_branches_fit_one_legible_grid(locale: str) -> None:
    made = compliance_charts(_rows(10), _words(locale, "Compliance"))
    assert len(made.images) == 1 and made.branches_in_grids == 10
    image = _within_telegram_limits(made.images[0])
    # Shown about 360 points wide on a phone, text of MIN_TEXT pixels is ~10 points or more.
    assert image.width == charts.WIDTH and charts.MIN_TEXT * 360 / charts.WIDTH >= 10


def test_a_thousand_branches_get_a_summary_and_the_branches_behind() -> None:
    rows = _rows(1000)
    captions: list[tuple[int, int]] = []

    def caption(page: int, pages: int) -> str:
        captions.append((page, pages))
        return f"{page}/{pages}"

    made = compliance_charts(rows, _words("zh_Hans", "履职情况"), caption)
    assert len(made.images) == 1 + charts.MAX_GRID_PAGES
    assert made.branches_in_grids == charts.GRID_ROWS * charts.MAX_GRID_PAGES
    assert captions == [(1, 2), (2, 2)]
    for png in made.images:
        image = _within_telegram_limits(png)
        assert image.width == charts.WIDTH
    # A grid page holds at most GRID_ROWS rows of CELL pixels.
    grid = Image.open(io.BytesIO(made.images[1]))
    assert grid.height < charts.CELL * (charts.GRID_ROWS + 10)
