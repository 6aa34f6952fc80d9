"""Logging set-up that never prints the bot token (httpx logs full request URLs)."""

from __future__ import annotations

import logging


class RedactSecrets(logging.Filter):
    """Replace every configured secret in a record's final message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redact it, and drop the arguments."""
        message = record.getMessage()
        for secret in self._secrets:
            message = message.replace(secret, "<redacted>")
        record.msg, record.args = message, None
        return True


def configure_logging(level: str, secrets: list[str]) -> None:
    """Root logging to stderr with secrets redacted; per-request and per-job chatter muted."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # APScheduler logs two lines per run of every job; the reminder tick runs twice a minute.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
