"""Locale resolution and Babel formatting."""

import datetime as dt

import pytest

from bot.i18n import Translator, resolve_locale


@pytest.mark.parametrize(
    ("stored", "telegram", "expected"),
    [
        ("en", "zh-hans", "en"),  # a stored preference wins
        (None, "zh", "zh_Hans"),
        (None, "zh-hans", "zh_Hans"),
        (None, "zh-CN", "zh_Hans"),
        (None, "zh-sg", "zh_Hans"),
        (None, "en", "en"),
        (None, "en-GB", "en"),
        (None, "fr", "zh_Hans"),  # unknown → default
        (None, None, "zh_Hans"),
        ("xx", "en-US", "en"),  # a stored value we don't support is ignored
    ],
)
def test_resolve_locale(stored: str | None, telegram: str | None, expected: str) -> None:
    assert resolve_locale(stored, telegram, "zh_Hans") == expected


def test_dates_in_reader_locale_and_zone() -> None:
    moment = dt.datetime(2026, 11, 20, 17, 30, tzinfo=dt.UTC)  # 01:30 next day in Shanghai
    zh = Translator("zh_Hans", "Asia/Shanghai")
    en = Translator("en", "Europe/London")
    # One date format per locale (issue 17): the date functions take no format of their own.
    assert zh.date(dt.date(2026, 11, 21)) == "2026年11月21日"
    assert en.date(dt.date(2026, 11, 21)) == "Nov 21, 2026"
    assert "01:30" in zh.datetime(moment)
    assert "5:30" in en.datetime(moment)
    assert zh.number(12345.5) == "12,345.5"
    assert en.percent(0.9) == "90%"


def test_translators_do_not_share_state() -> None:
    zh, en = Translator("zh_Hans"), Translator("en")
    assert zh._("Cancelled. Nothing was saved.") != en._("Cancelled. Nothing was saved.")
