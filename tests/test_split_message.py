"""Long replies are cut into messages Telegram accepts, at line breaks, without breaking HTML."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from bot.fake_telegram.server import parse_html
from bot.telegram_text import split_message, utf16_length


def _words(text: str) -> str:
    return re.sub(r"\s", "", text)


def test_a_short_text_is_left_alone() -> None:
    assert split_message("<b>Notices</b>\n#1 · hello") == ["<b>Notices</b>\n#1 · hello"]


def test_lines_are_kept_whole_when_they_fit() -> None:
    lines = [f"<b>{n:03d}</b> " + "x" * 90 for n in range(100)]
    parts = split_message("\n".join(lines), limit=1000)
    assert len(parts) > 1
    assert [line for part in parts for line in part.split("\n")] == lines
    assert all(utf16_length(parse_html(part)[0]) <= 1000 for part in parts)


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    parts = split_message("😀" * 600, limit=1000)
    assert [utf16_length(p) for p in parts] == [1000, 200]


def test_an_overlong_line_of_chinese_is_cut_outside_entities() -> None:
    line = html.escape("支部&委员会" * 400)
    parts = split_message(line, limit=1000)
    assert "".join(parts) == line
    for part in parts:
        parse_html(part)  # raises on a broken entity, as Telegram would


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300).map(
            lambda s: "<b>" + html.escape(s.replace("\n", " ")) + "</b>"
        ),
        max_size=40,
    ),
    st.integers(min_value=60, max_value=500),
)
def test_every_part_fits_is_well_formed_and_nothing_is_lost(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    parts = split_message(text, limit=limit)
    # parse_html raises on a broken tag or entity, as Telegram would. What Telegram counts is
    # the text after parsing: tags closed and opened again at a cut add nothing to it.
    assert all(utf16_length(parse_html(part)[0]) <= limit for part in parts)
    plain = "".join(parts).replace("<b>", "").replace("</b>", "")
    assert _words(plain) == _words(text.replace("<b>", "").replace("</b>", ""))


def test_a_cut_never_leaves_a_part_with_only_tags() -> None:
    line = "<b> " + "x" * 2000 + "</b>"
    parts = split_message(line, limit=1000)
    assert all(parse_html(part)[0].strip() for part in parts)
    assert _words("".join(parts).replace("<b>", "").replace("</b>", "")) == "x" * 2000


def test_entities_count_as_the_character_they_show() -> None:
    # 3,000 ampersands are 15,000 characters of HTML but 3,000 of text: one message.
    text = "<b>Minutes</b>\n" + html.escape("&" * 3000)
    assert split_message(text) == [text]
