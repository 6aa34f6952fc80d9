"""Typed settings read from the environment (prefix ZHIBU_) and an optional .env file."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import clock

SUPPORTED_LOCALES = ("zh_Hans", "en")
DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///data/zhibu.sqlite3"
MIN_WEBHOOK_SECRET = 32


class Settings(BaseSettings):
    """Everything the bot reads from its environment, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="ZHIBU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_SQLITE_URL
    bot_api_url: str = "https://api.telegram.org/bot"
    bot_file_url: str | None = None
    default_locale: str = "zh_Hans"
    timezone: str = "Asia/Shanghai"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8443"
    bot_username: str | None = None
    # Invite codes: how many wrong codes an account may try in the window before it must wait.
    invite_max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    invite_failure_window_minutes: Annotated[int, Field(ge=1, le=1440)] = 10
    # Caps on what one invite may allow (the CLI refuses more; the bot offers no more).
    invite_max_days: Annotated[int, Field(ge=1, le=365)] = 30
    invite_max_uses: Annotated[int, Field(ge=1, le=1000)] = 100
    # Keys the hashes of invite codes and of senders' ids in throttling records, so a copy of
    # the database alone does not allow guessing codes offline. Required with a bot token.
    secret_key: SecretStr | None = None
    # Abandoned conversation drafts and accounts of people who never registered are deleted
    # after this many days.
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    log_level: str = "INFO"
    # json: one object a line with the process and the update being handled (id, chat, handler).
    log_format: Literal["text", "json"] = "text"
    # /metrics (Prometheus) and /healthz on a port of their own; with several processes on
    # PostgreSQL and a webhook they are also on the webhook port.
    metrics_listen: str | None = None
    # PostgreSQL only: a connection that bypasses a transaction-pooling PgBouncer (whose URL
    # ends in ?pooler=pgbouncer, storage.db), for what needs a session of its own: LISTEN (new
    # updates wake the workers at once), migrations, pg_dump and pg_restore.
    database_direct_url: str | None = None
    # Updates of one chat waiting for their turn; beyond this they are dropped (and the chat
    # is asked once to slow down), so one chat cannot bury the bot in work.
    chat_backlog: Annotated[int, Field(ge=1, le=1000)] = 20
    # Local rule: a transfer letter is valid 10 days in the city, 30 outside, 3 months at most.
    relink_letter_days: Annotated[int, Field(ge=1, le=90)] = 30
    # Relink requests an account may file or withdraw in the window: each reaches secretaries.
    relink_request_limit: Annotated[int, Field(ge=1, le=100)] = 6
    relink_request_window_hours: Annotated[int, Field(ge=1, le=720)] = 24
    # Unused mass-survey codes a branch may hold, per person on its roster.
    mass_codes_per_member: Annotated[float, Field(gt=0, le=10)] = 1.0
    # Notices: Telegram allows about 30 messages a second overall (paid broadcasts up to 1,000)
    # and one a second per chat; broadcasts leave room for interactive replies.
    telegram_rate_limit: Annotated[int, Field(ge=1, le=1000)] = 30
    delivery_rate: Annotated[float, Field(gt=0, le=1000)] = 25
    paid_broadcast: bool = False
    paid_broadcast_limit: Annotated[int, Field(ge=1, le=1000)] = 1000
    paid_broadcast_rate: Annotated[float, Field(gt=0, le=1000)] = 1000
    delivery_concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    # A paid broadcast needs more copies in flight to keep 1,000 a second going while each
    # waits for its answer. Each is a copy a crash could leave unconfirmed.
    paid_broadcast_concurrency: Annotated[int, Field(ge=1, le=256)] = 32
    # Longer than any HTTP call may take: a copy still 'sending' after this was interrupted.
    delivery_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 30
    delivery_poll_seconds: Annotated[float, Field(gt=0, le=600)] = 2
    delivery_progress_seconds: Annotated[float, Field(ge=0, le=600)] = 3
    delivery_max_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    delivery_backoff_seconds: Annotated[float, Field(ge=0, le=600)] = 2
    # Reminders: quiet hours (HH:MM, the recipient's time zone) hold back non-urgent ones;
    # the tick claims due reminders, the planner derives them from the rules.
    reminder_quiet_start: str = "22:00"
    reminder_quiet_end: str = "08:00"
    reminder_escalation_days: Annotated[int, Field(ge=1, le=365)] = 7
    reminder_digest_weekday: Annotated[int, Field(ge=1, le=7)] = 1
    reminder_digest_hour: Annotated[int, Field(ge=0, le=23)] = 9
    reminder_tick_seconds: Annotated[float, Field(gt=0, le=3600)] = 30
    reminder_plan_minutes: Annotated[float, Field(gt=0, le=1440)] = 15
    # Plan and send what is due at start-up, not one planning interval later.
    reminder_plan_at_start: bool = True
    # A reminder whose moment passed longer ago than this is not planned any more.
    reminder_catch_up_days: Annotated[int, Field(ge=0, le=60)] = 7
    term_years: Annotated[int, Field(ge=1, le=10)] = 3
    term_years_village_community: Annotated[int, Field(ge=1, le=10)] = 5
    induction_months: Annotated[int, Field(ge=1, le=24)] = 6
    # Party dues (local rules): the day of the month a branch collects when it set none, and how
    # many months ahead a member may prepay.
    dues_collection_day: Annotated[int, Field(ge=1, le=28)] = 5
    dues_prepay_months: Annotated[int, Field(ge=0, le=24)] = 12
    # Six months without organisational life or dues count as leaving the Party: the
    # secretary is warned after this many, the admin above after the second number.
    lapse_warn_months: Annotated[int, Field(ge=1, le=5)] = 3
    lapse_escalate_months: Annotated[int, Field(ge=2, le=6)] = 5
    # Class hours (学时): a full day of training, and a Party lecture logged without its own.
    training_class_hours: Annotated[int, Field(ge=1, le=24)] = 8
    lecture_class_hours: Annotated[int, Field(ge=1, le=24)] = 4
    # Yearly study targets (local; a subtree may set its own with `zhibu hours target`).
    study_hours_leader: Annotated[int, Field(ge=0, le=1000)] = 56
    study_hours_member: Annotated[int, Field(ge=0, le=1000)] = 32

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. openssl rand -hex 32)")
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("reminder_quiet_start", "reminder_quiet_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, sep, minutes = value.partition(":")
        ok = sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
        if not ok or not (0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
            raise ValueError("must be HH:MM, for example 22:00")
        return value

    @field_validator("lapse_escalate_months")
    @classmethod
    def _escalate_after_warning(cls, value: int, info: ValidationInfo) -> int:
        warn = info.data.get("lapse_warn_months")
        if isinstance(warn, int) and value <= warn:
            raise ValueError(f"must be more than ZHIBU_LAPSE_WARN_MONTHS ({warn})")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not an IANA time zone such as Asia/Shanghai") from exc
        return value

    @field_validator("database_direct_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must start with postgresql+asyncpg://")
        if value is not None and _pooler(value) is not None:
            raise ValueError("is the URL that bypasses the pooler: no ?pooler= here")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        pooler = _pooler(value)
        if pooler is not None and (pooler != "pgbouncer" or value.startswith("sqlite")):
            raise ValueError("?pooler= takes one value, pgbouncer, on PostgreSQL only")
        return value

    @field_validator("webhook_listen", "metrics_listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, for example 127.0.0.1:8443")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_alphabet(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - in secret_token; the
        # secret is all that keeps forged updates out, so it must not be guessable.
        if value is None:
            return None
        secret = value.get_secret_value()
        if not len(secret) <= 256 or not all(
            c.isascii() and (c.isalnum() or c in "_-") for c in secret
        ):
            raise ValueError("must be up to 256 characters of A-Z, a-z, 0-9, _ and -")
        if len(secret) < MIN_WEBHOOK_SECRET:
            raise ValueError(
                f"must be at least {MIN_WEBHOOK_SECRET} characters "
                "(for example the output of: openssl rand -hex 32)"
            )
        return value

    @field_validator("bot_api_url")
    @classmethod
    def _bot_api_base(cls, value: str) -> str:
        # Both conventions: a Bot API server's own base URL (as a local server's documentation
        # gives it: http://127.0.0.1:8081) and PTB's, which ends in /bot (the token follows).
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "must be an http(s) URL such as https://api.telegram.org or http://127.0.0.1:8081"
            )
        return url if url.endswith("/bot") else f"{url}/bot"

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        problems = []
        if self.delivery_rate > self.telegram_rate_limit:
            problems.append(
                f"ZHIBU_DELIVERY_RATE ({self.delivery_rate:g}/s) is above "
                f"ZHIBU_TELEGRAM_RATE_LIMIT ({self.telegram_rate_limit}/s): broadcasts cannot go "
                "faster than Telegram allows; lower it (the default, 25, leaves room for replies)"
            )
        if self.paid_broadcast_rate > self.paid_broadcast_limit:
            problems.append(
                f"ZHIBU_PAID_BROADCAST_RATE ({self.paid_broadcast_rate:g}/s) is above "
                f"ZHIBU_PAID_BROADCAST_LIMIT ({self.paid_broadcast_limit}/s): lower it"
            )
        if self.pooled and self.database_direct_url is None:
            problems.append(
                "ZHIBU_DATABASE_URL goes through PgBouncer (?pooler=pgbouncer) without "
                "ZHIBU_DATABASE_DIRECT_URL: set it to the PostgreSQL server itself (LISTEN, "
                "migrations and backups need a session of their own)"
            )
        if self.webhook_url and self.webhook_secret is None:
            problems.append("ZHIBU_WEBHOOK_URL is set without ZHIBU_WEBHOOK_SECRET, which it needs")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The organisation's default time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def file_url(self) -> str:
        """Base URL for file downloads, derived from the API URL unless given."""
        if self.bot_file_url:
            return self.bot_file_url
        base = self.bot_api_url.rstrip("/")
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"

    @property
    def several_processes(self) -> bool:
        """PostgreSQL: any number of bot processes share the database (SQLite: one)."""
        return self.database_url.startswith("postgresql")

    @property
    def pooled(self) -> bool:
        """ZHIBU_DATABASE_URL goes through a transaction-pooling PgBouncer."""
        return _pooler(self.database_url) is not None

    @property
    def session_url(self) -> str:
        """The URL for what needs a session of its own (LISTEN, migrations, pg_dump): the
        direct one when the bot's goes through PgBouncer."""
        return self.database_direct_url or self.database_url

    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for other databases."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        return Path(self.database_url[len(prefix) :])

    @property
    def signing_key(self) -> bytes:
        """The secret for keyed hashes (invite codes, throttling records)."""
        if self.secret_key is None:
            raise SettingsError("ZHIBU_SECRET_KEY is not set")
        return self.secret_key.get_secret_value().encode()

    def now(self) -> dt.datetime:
        """The current UTC time on the bot's one clock (bot.clock; tests replace this seam)."""
        return clock.now()


class SettingsError(Exception):
    """Settings failed validation; the message names every bad variable."""


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings, turning pydantic's report into one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["loc"]:
                lines.append(f"ZHIBU_{str(error['loc'][0]).upper()}: {message}")
            else:  # settings that contradict each other; the message names them
                lines.append(message)
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None


def with_secret_key(settings: Settings, directory: Path = Path("data")) -> Settings:
    """The settings with a secret key: ZHIBU_SECRET_KEY, required when serving Telegram; else
    (the sandbox, trying the CLI) one generated once into `directory`, readable by the owner."""
    if settings.secret_key is not None:
        return settings
    if settings.bot_token is not None:
        raise SettingsError(
            "ZHIBU_SECRET_KEY is required with ZHIBU_BOT_TOKEN (generate one with "
            "`openssl rand -hex 32`, keep it with the token, and never change it: invites "
            "created with one key are unknown to another)"
        )
    path = directory / "secret_key"
    if not path.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32))
    key = SecretStr(path.read_text(encoding="ascii").strip())
    return settings.model_copy(update={"secret_key": key})


def _pooler(url: str) -> str | None:
    """The ?pooler= of a database URL (storage.db reads the same marker)."""
    values = parse_qs(urlsplit(url).query).get("pooler")
    return values[-1] if values else None
