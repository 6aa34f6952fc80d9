"""The distribution of grades as a PNG bar chart (ASCII labels: no CJK font is assumed)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

# Best grade first: green, blue, amber, red; grey for "not graded".
COLOURS = ((46, 139, 87), (70, 130, 180), (240, 170, 30), (200, 40, 40), (160, 160, 160))
WIDTH, HEIGHT = 480, 300
MARGIN, BAR_GAP, LABEL_HEIGHT = 30, 16, 30


def grade_bars(bars: Sequence[tuple[str, int]]) -> bytes:
    """One bar per (ASCII label, count), heights relative to the largest count."""
    font = ImageFont.load_default()
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    top = MARGIN
    bottom = HEIGHT - MARGIN - LABEL_HEIGHT
    draw.line((MARGIN, bottom, WIDTH - MARGIN, bottom), fill="black")
    count = max(1, len(bars))
    slot = (WIDTH - 2 * MARGIN) / count
    largest = max((n for _, n in bars), default=0) or 1
    for index, (label, value) in enumerate(bars):
        left = MARGIN + index * slot + BAR_GAP / 2
        right = left + slot - BAR_GAP
        height = (bottom - top - 20) * value / largest
        colour = COLOURS[min(index, len(COLOURS) - 1)]
        if value:
            draw.rectangle((left, bottom - height, right, bottom - 1), fill=colour)
        centre = (left + right) / 2
        draw.text((centre, bottom - height - 10), str(value), fill="black", font=font, anchor="mm")
        ascii_label = label.encode("ascii", "replace").decode("ascii")
        draw.text((centre, bottom + 14), ascii_label, fill="black", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
