"""The distribution of grades as a bar chart in the reader's language (bot.charts)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.charts import Bar, bar_chart

# Best grade first: green, blue, amber, red; grey for "not graded".
COLOURS = ((46, 139, 87), (70, 130, 180), (240, 170, 30), (200, 40, 40), (160, 160, 160))


def grade_bars(title: str, bars: Sequence[tuple[str, int]]) -> bytes:
    """One bar per (grade's name, number of branches), best grade first."""
    return bar_chart(
        title,
        [
            Bar(label, [(count, COLOURS[min(index, len(COLOURS) - 1)])], str(count))
            for index, (label, count) in enumerate(bars)
        ],
    )
