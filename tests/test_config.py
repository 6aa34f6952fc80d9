"""Settings: defaults, validation messages that name the variable, secrets kept secret."""

import logging

import pytest

from bot.config import DEFAULT_SQLITE_URL, SettingsError, load_settings
from bot.logs import RedactSecrets


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("ZHIBU_BOT_TOKEN", "ZHIBU_DATABASE_URL", "ZHIBU_DEFAULT_LOCALE", "ZHIBU_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.database_url == DEFAULT_SQLITE_URL
    assert settings.default_locale == "zh_Hans"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.file_url == "https://api.telegram.org/file/bot"


def test_every_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIBU_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("ZHIBU_DEFAULT_LOCALE", "fr")
    monkeypatch.setenv("ZHIBU_DATABASE_URL", "mysql://x")
    monkeypatch.setenv("ZHIBU_WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    for name in (
        "ZHIBU_TIMEZONE",
        "ZHIBU_DEFAULT_LOCALE",
        "ZHIBU_DATABASE_URL",
        "ZHIBU_WEBHOOK_SECRET",
    ):
        assert name in message


def test_dotenv_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZHIBU_BOT_TOKEN", raising=False)
    (tmp_path / ".env").write_text("ZHIBU_BOT_TOKEN=42:from-dotenv\n", encoding="utf-8")
    settings = load_settings()
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "42:from-dotenv"
    assert "from-dotenv" not in repr(settings)


def test_token_is_redacted_from_log_lines() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST %s", ("https://x/bot42:SECRET/getMe",), None
    )
    assert RedactSecrets(["42:SECRET"]).filter(record)
    assert record.getMessage() == "POST https://x/bot<redacted>/getMe"


def test_letter_validity_default_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.relink_review import _letter_day_choices

    monkeypatch.setenv("ZHIBU_RELINK_LETTER_DAYS", "20")
    assert _letter_day_choices(load_settings().relink_letter_days) == [10, 20, 90]
    monkeypatch.setenv("ZHIBU_RELINK_LETTER_DAYS", "120")
    with pytest.raises(SettingsError, match="ZHIBU_RELINK_LETTER_DAYS"):
        load_settings()
