"""Pure parts of notices: the reader's frame, the length limit, send times, the progress bar."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from telegram.constants import MessageLimit

from bot.enums import OrgKind
from bot.i18n import Translator, load_catalogs
from bot.notices import frame, progress_bar, text_limit
from storage.models import OrgUnit

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def test_admin_text_is_escaped_inside_the_readers_frame() -> None:
    load_catalogs()
    text = frame(Translator("zh_Hans"), "党委<A>", "a < b & <b>c</b>", require_ack=True)
    assert text.startswith("📢 <b>党委&lt;A&gt;通知</b>")
    assert "a &lt; b &amp; &lt;b&gt;c&lt;/b&gt;" in text and "已阅" in text
    english = frame(Translator("en"), "Committee", "Hi", require_ack=False)
    assert english == "📢 <b>Notice from Committee</b>\n\nHi"


def test_limit_leaves_room_for_the_widest_frame() -> None:
    load_catalogs()
    org = OrgUnit(code="X", kind=OrgKind.COMMITTEE, name="党委", name_en="A long committee name")
    plain = text_limit(org, require_ack=True, with_media=False)
    assert MessageLimit.MAX_TEXT_LENGTH - 120 < plain < MessageLimit.MAX_TEXT_LENGTH - 40
    assert text_limit(org, require_ack=True, with_media=True) == plain - (
        MessageLimit.MAX_TEXT_LENGTH - MessageLimit.CAPTION_LENGTH
    )


def test_progress_bar() -> None:
    assert progress_bar(0, 10) == "░░░░░░░░░░ 0%"
    assert progress_bar(5, 10) == "▓▓▓▓▓░░░░░ 50%"
    assert progress_bar(0, 0) == "▓▓▓▓▓▓▓▓▓▓ 100%"
