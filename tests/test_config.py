"""Settings: defaults, validation messages that name the variable, secrets kept secret."""

import logging

import pytest

from bot.config import DEFAULT_SQLITE_URL, Settings, SettingsError, load_settings
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.logs import RedactSecrets
from tests.support.bot import TOKEN, running_bot


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


def test_the_bot_api_url_takes_either_convention(monkeypatch: pytest.MonkeyPatch) -> None:
    # A local Bot API server's documentation gives its base URL; PTB's convention ends in /bot.
    for given in ("http://127.0.0.1:8081", "http://127.0.0.1:8081/", "http://127.0.0.1:8081/bot"):
        monkeypatch.setenv("ZHIBU_BOT_API_URL", given)
        settings = load_settings()
        assert settings.bot_api_url == "http://127.0.0.1:8081/bot"
        assert settings.file_url == "http://127.0.0.1:8081/file/bot"
    monkeypatch.setenv("ZHIBU_BOT_API_URL", "127.0.0.1:8081")
    with pytest.raises(SettingsError, match="ZHIBU_BOT_API_URL: must be an http"):
        load_settings()


async def test_the_bot_starts_and_answers_on_a_servers_base_url(
    database_url: str, telegram: FakeTelegramServer, client: FakeTelegramClient
) -> None:
    # This used to crash at start-up with InvalidUrlClientError (the token glued to the port).
    for base in (telegram.url, telegram.base_url):
        settings = Settings(bot_token=TOKEN, database_url=database_url, bot_api_url=base)  # type: ignore[arg-type]
        async with running_bot(settings):
            user = await client.user(31, "Base", language_code="en")
            await user.send("/help")
            assert "What you can do" in (await user.wait_reply()).text


def test_a_delivery_rate_above_telegrams_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIBU_TELEGRAM_RATE_LIMIT", "30")
    monkeypatch.setenv("ZHIBU_DELIVERY_RATE", "300")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "ZHIBU_DELIVERY_RATE (300/s) is above ZHIBU_TELEGRAM_RATE_LIMIT (30/s)" in str(
        info.value
    )
    monkeypatch.setenv("ZHIBU_DELIVERY_RATE", "30")
    assert load_settings().delivery_rate == 30
    monkeypatch.setenv("ZHIBU_PAID_BROADCAST_LIMIT", "500")
    monkeypatch.setenv("ZHIBU_PAID_BROADCAST_RATE", "800")
    with pytest.raises(SettingsError, match="ZHIBU_PAID_BROADCAST_RATE"):
        load_settings()


def test_a_short_webhook_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIBU_WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.setenv("ZHIBU_WEBHOOK_SECRET", "s3cret-Token")
    with pytest.raises(SettingsError, match="ZHIBU_WEBHOOK_SECRET: must be at least 32"):
        load_settings()
    monkeypatch.setenv("ZHIBU_WEBHOOK_SECRET", "a" * 64)
    assert load_settings().webhook_secret is not None
    monkeypatch.delenv("ZHIBU_WEBHOOK_SECRET")
    with pytest.raises(SettingsError, match="without ZHIBU_WEBHOOK_SECRET"):
        load_settings()


def test_a_url_through_pgbouncer_needs_the_direct_url_beside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pooled = "postgresql+asyncpg://zhibu:pw@127.0.0.1:6432/zhibu?pooler=pgbouncer"
    direct = "postgresql+asyncpg://zhibu:pw@127.0.0.1:5432/zhibu"
    monkeypatch.setenv("ZHIBU_DATABASE_URL", pooled)
    monkeypatch.delenv("ZHIBU_DATABASE_DIRECT_URL", raising=False)
    with pytest.raises(SettingsError, match="ZHIBU_DATABASE_DIRECT_URL"):
        load_settings()
    monkeypatch.setenv("ZHIBU_DATABASE_DIRECT_URL", direct)
    settings = load_settings()
    assert settings.pooled
    # Migrations, pg_dump and pg_restore need a session of their own: the direct URL.
    assert settings.session_url == direct
    for variable, url in (
        ("ZHIBU_DATABASE_URL", pooled.replace("pgbouncer", "pgpool")),
        ("ZHIBU_DATABASE_URL", "sqlite+aiosqlite:///x.sqlite3?pooler=pgbouncer"),
        ("ZHIBU_DATABASE_DIRECT_URL", pooled),
    ):
        monkeypatch.setenv("ZHIBU_DATABASE_URL", pooled)
        monkeypatch.setenv("ZHIBU_DATABASE_DIRECT_URL", direct)
        monkeypatch.setenv(variable, url)
        with pytest.raises(SettingsError, match=variable):
            load_settings()
    monkeypatch.setenv("ZHIBU_DATABASE_URL", direct)
    monkeypatch.delenv("ZHIBU_DATABASE_DIRECT_URL")
    settings = load_settings()
    assert not settings.pooled and settings.session_url == direct
