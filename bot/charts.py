"""Small PNG charts drawn with Pillow; ASCII labels only (no CJK font is assumed to exist)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from bot.rules.calendar import ObligationState

# Colour-blind-safe enough: green / amber / red / grey, with a letter in each cell as well.
STATE_COLOURS = {
    ObligationState.DONE: (46, 139, 87),
    ObligationState.DUE: (240, 170, 30),
    ObligationState.OVERDUE: (200, 40, 40),
    ObligationState.NOT_APPLICABLE: (200, 200, 200),
}
STATE_LETTERS = {
    ObligationState.DONE: "D",
    ObligationState.DUE: "d",
    ObligationState.OVERDUE: "X",
    ObligationState.NOT_APPLICABLE: "-",
}
CELL = 36
LABEL_WIDTH = 150
HEADER = 64
MARGIN = 14
FONT_SIZE = 16


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def compliance_grid(
    rows: Sequence[str],
    columns: Sequence[str],
    states: Sequence[Sequence[ObligationState]],
    *,
    title: str = "",
) -> bytes:
    """A PNG grid: one row per branch (code), one column per obligation (number)."""
    font = ImageFont.load_default(size=FONT_SIZE)
    width = MARGIN * 2 + LABEL_WIDTH + CELL * max(1, len(columns))
    height = MARGIN * 2 + HEADER + CELL * max(1, len(rows))
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    top = MARGIN + HEADER
    left = MARGIN + LABEL_WIDTH
    draw.text((MARGIN, MARGIN), _ascii(title), fill="black", font=font, anchor="la")
    for index, column in enumerate(columns):
        x = left + index * CELL
        draw.text(
            (x + CELL / 2, top - CELL / 2),
            _ascii(column),
            fill="black",
            font=font,
            anchor="mm",
        )
    for row_index, label in enumerate(rows):
        y = top + row_index * CELL
        draw.text((MARGIN, y + CELL / 2), _ascii(label)[:18], fill="black", font=font, anchor="lm")
        for column_index, state in enumerate(states[row_index]):
            x = left + column_index * CELL
            draw.rectangle((x + 1, y + 1, x + CELL - 2, y + CELL - 2), fill=STATE_COLOURS[state])
            draw.text(
                (x + CELL / 2, y + CELL / 2),
                STATE_LETTERS[state],
                fill="white" if state is not ObligationState.NOT_APPLICABLE else "black",
                font=font,
                anchor="mm",
            )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
