"""Charts a phone can read: the reader's language, branch names, the CJK font; the compliance
grid and summary, and the bar charts of the grading, relink and notice reports.

Sized for a phone: an image 1,080 pixels wide shows at about a third of that on a phone's
screen, so no text is drawn smaller than MIN_TEXT pixels (about 11 points there). Up to
GRID_ROWS branches fit one grid; beyond that a summary per obligation comes first, then grid
pages of the branches that have an overdue obligation (the spreadsheet has every branch).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.fonts import Font, font
from bot.rules.calendar import ObligationState

WIDTH = 1080
MARGIN = 28
TEXT = 34
MIN_TEXT = 30
TITLE = 42
CELL = 60
LINE = 50
GRID_ROWS = 25
MAX_GRID_PAGES = 2
BAR = 56

# Colour and shape both tell the state (colour-blind readers see the shape).
STATE_COLOURS = {
    ObligationState.DONE: (46, 139, 87),
    ObligationState.DUE: (230, 160, 20),
    ObligationState.OVERDUE: (200, 40, 40),
    ObligationState.NOT_APPLICABLE: (205, 205, 205),
}
STATES = tuple(STATE_COLOURS)


@dataclass(frozen=True, slots=True)
class ChartWords:
    """What a chart writes, already in the reader's language."""

    title: str
    columns: Sequence[str]
    legend: Mapping[ObligationState, str]
    # "{page}/{pages}" style caption of a grid page, e.g. "page 1 of 2".
    page: str = ""


@dataclass(frozen=True, slots=True)
class ChartSet:
    """The images to send and how many branches the grids show."""

    images: list[bytes]
    branches_in_grids: int


def _fit(draw: ImageDraw.ImageDraw, text: str, face: Font, width: float) -> str:
    """The text, cut with … to fit `width` pixels."""
    if draw.textlength(text, font=face) <= width:
        return text
    while text and draw.textlength(text + "…", font=face) > width:
        text = text[:-1]
    return text + "…"


def _mark(
    draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], state: ObligationState
) -> None:
    """A coloured cell with its state's shape: ✓ done, ○ due, ✗ overdue, – not applicable."""
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=STATE_COLOURS[state])
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * 0.28
    ink = "white" if state is not ObligationState.NOT_APPLICABLE else (90, 90, 90)
    if state is ObligationState.DONE:
        draw.line(
            [(cx - r, cy), (cx - r / 3, cy + r * 0.7), (cx + r, cy - r * 0.7)], fill=ink, width=5
        )
    elif state is ObligationState.DUE:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=5)
    elif state is ObligationState.OVERDUE:
        draw.line([(cx - r, cy - r), (cx + r, cy + r)], fill=ink, width=5)
        draw.line([(cx - r, cy + r), (cx + r, cy - r)], fill=ink, width=5)
    else:
        draw.line([(cx - r, cy), (cx + r, cy)], fill=ink, width=5)


def _legend(draw: ImageDraw.ImageDraw, y: float, words: ChartWords) -> float:
    """The four states in one or two lines; the y below them."""
    face = font(MIN_TEXT)
    x: float = MARGIN
    for state in STATES:
        label = words.legend[state]
        width = 44 + draw.textlength(label, font=face) + 30
        if x + width > WIDTH - MARGIN:
            x, y = MARGIN, y + LINE
        _mark(draw, (x, y, x + 36, y + 36), state)
        draw.text((x + 44, y + 18), label, fill="black", font=face, anchor="lm")
        x += width
    return y + LINE


def _key(draw: ImageDraw.ImageDraw, y: float, columns: Sequence[str]) -> float:
    """ "1 name" per obligation, in two columns; the y below them."""
    face = font(MIN_TEXT)
    half = (WIDTH - 2 * MARGIN) / 2
    for index, name in enumerate(columns):
        x = MARGIN + (index % 2) * half
        line_y = y + (index // 2) * (LINE - 6)
        draw.text(
            (x, line_y), _fit(draw, f"{index + 1} {name}", face, half - 12), fill="black", font=face
        )
    return y + ((len(columns) + 1) // 2) * (LINE - 6)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def compliance_grid(
    rows: Sequence[tuple[str, Sequence[ObligationState]]], words: ChartWords
) -> bytes:
    """One grid: a row per branch (its name), a numbered column per obligation, the key."""
    columns = len(words.columns)
    label_width = WIDTH - 2 * MARGIN - CELL * max(1, columns)
    key_lines = (columns + 1) // 2
    height = (
        MARGIN * 2
        + TITLE
        + 20
        + LINE * 2
        + CELL
        + CELL * max(1, len(rows))
        + 20
        + key_lines * (LINE - 6)
    )
    image = Image.new("RGB", (WIDTH, int(height)), "white")
    draw = ImageDraw.Draw(image)
    title = font(TITLE)
    draw.text(
        (MARGIN, MARGIN),
        _fit(draw, words.title, title, WIDTH - 2 * MARGIN),
        fill="black",
        font=title,
    )
    y = _legend(draw, MARGIN + TITLE + 20, words)
    face = font(TEXT)
    left = MARGIN + label_width
    if words.page:
        draw.text(
            (MARGIN, y + CELL / 2), words.page, fill=(80, 80, 80), font=font(MIN_TEXT), anchor="lm"
        )
    for index in range(columns):
        draw.text(
            (left + index * CELL + CELL / 2, y + CELL / 2),
            str(index + 1),
            fill="black",
            font=face,
            anchor="mm",
        )
    y += CELL
    for row_index, (label, states) in enumerate(rows):
        top = y + row_index * CELL
        if row_index % 2:
            draw.rectangle((MARGIN, top, WIDTH - MARGIN, top + CELL), fill=(243, 243, 243))
        draw.text(
            (MARGIN, top + CELL / 2),
            _fit(draw, label, face, label_width - 12),
            fill="black",
            font=face,
            anchor="lm",
        )
        for column, state in enumerate(states):
            x = left + column * CELL
            _mark(draw, (x + 4, top + 4, x + CELL - 4, top + CELL - 4), state)
    _key(draw, y + CELL * max(1, len(rows)) + 20, words.columns)
    return _png(image)


def compliance_summary(counts: Sequence[Mapping[ObligationState, int]], words: ChartWords) -> bytes:
    """A bar per obligation split by state, with the number of branches in each part."""
    height = MARGIN * 2 + TITLE + 20 + LINE * 2 + len(counts) * (LINE + BAR + 16)
    image = Image.new("RGB", (WIDTH, int(height)), "white")
    draw = ImageDraw.Draw(image)
    title = font(TITLE)
    draw.text(
        (MARGIN, MARGIN),
        _fit(draw, words.title, title, WIDTH - 2 * MARGIN),
        fill="black",
        font=title,
    )
    y = _legend(draw, MARGIN + TITLE + 20, words)
    face, small = font(TEXT), font(MIN_TEXT)
    span = WIDTH - 2 * MARGIN
    for name, count in zip(words.columns, counts, strict=True):
        draw.text((MARGIN, y), _fit(draw, name, face, span), fill="black", font=face)
        y += LINE
        total = sum(count.values()) or 1
        x = float(MARGIN)
        for state in STATES:
            number = count.get(state, 0)
            if not number:
                continue
            width = span * number / total
            draw.rectangle((x, y, x + width, y + BAR), fill=STATE_COLOURS[state])
            text = str(number)
            if draw.textlength(text, font=small) + 12 < width:
                ink = "black" if state is ObligationState.NOT_APPLICABLE else "white"
                draw.text((x + width / 2, y + BAR / 2), text, fill=ink, font=small, anchor="mm")
            x += width
        y += BAR + 16
    return _png(image)


def _no_caption(page: int, pages: int) -> str:
    return ""


def compliance_charts(
    rows: Sequence[tuple[str, Sequence[ObligationState]]],
    words: ChartWords,
    page_caption: Callable[[int, int], str] = _no_caption,
) -> ChartSet:
    """One grid when the branches fit; else the summary, then grid pages (captioned by
    `page_caption(page, pages)`, from 1) of the branches with an overdue obligation."""
    if len(rows) <= GRID_ROWS:
        return ChartSet([compliance_grid(rows, words)], len(rows))
    counts = [
        Counter(states[column] for _label, states in rows) for column in range(len(words.columns))
    ]
    images = [compliance_summary(counts, words)]
    behind = [row for row in rows if ObligationState.OVERDUE in row[1]]
    shown = behind[: GRID_ROWS * MAX_GRID_PAGES]
    pages = [shown[start : start + GRID_ROWS] for start in range(0, len(shown), GRID_ROWS)]
    for index, page in enumerate(pages):
        caption = page_caption(index + 1, len(pages))
        images.append(
            compliance_grid(page, ChartWords(words.title, words.columns, words.legend, caption))
        )
    return ChartSet(images, len(shown))


# ---- bar charts of the other reports -----------------------------------------------------------

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, its parts (value, colour) stacked left to right, and what is
    written after it (the total, a percentage)."""

    label: str
    parts: Sequence[tuple[float, RGB]]
    note: str = ""


def bar_chart(
    title: str, bars: Sequence[Bar], legend: Sequence[tuple[str, RGB]] = (), *, scale: float = 0
) -> bytes:
    """Horizontal bars in the reader's language, each labelled above itself, lengths relative
    to `scale` (default: the largest bar), with a legend of the parts' colours."""
    height = MARGIN * 2 + TITLE + 20 + LINE * (2 if legend else 0) + len(bars) * (LINE + BAR + 16)
    image = Image.new("RGB", (WIDTH, int(height)), "white")
    draw = ImageDraw.Draw(image)
    heading, face, small = font(TITLE), font(TEXT), font(MIN_TEXT)
    span = WIDTH - 2 * MARGIN
    draw.text((MARGIN, MARGIN), _fit(draw, title, heading, span), fill="black", font=heading)
    y: float = MARGIN + TITLE + 20
    x: float = MARGIN
    for label, colour in legend:
        width = 44 + draw.textlength(label, font=small) + 30
        if x + width > WIDTH - MARGIN:
            x, y = MARGIN, y + LINE
        draw.rectangle((x, y, x + 36, y + 36), fill=colour)
        draw.text((x + 44, y + 18), label, fill="black", font=small, anchor="lm")
        x += width
    if legend:
        y += LINE
    notes = [draw.textlength(bar.note, font=small) for bar in bars]
    room = span - (max(notes, default=0) + 12)
    largest = scale or max((sum(v for v, _c in bar.parts) for bar in bars), default=0) or 1
    for bar, note_width in zip(bars, notes, strict=True):
        draw.text((MARGIN, y), _fit(draw, bar.label, face, span), fill="black", font=face)
        y += LINE
        x = float(MARGIN)
        for value, colour in bar.parts:
            width = room * value / largest
            if width >= 1:
                draw.rectangle((x, y, x + width, y + BAR), fill=colour)
            x += width
        if note_width:
            draw.text((x + 12, y + BAR / 2), bar.note, fill="black", font=small, anchor="lm")
        y += BAR + 16
    return _png(image)
