"""Logging that never prints the bot token, nor people's data.

Logs carry ids (update, chat, user, account, object ids), never message texts, names, phones
or button values. Our own log calls pass ids only; `redact_record` holds the rule for
everything else (PTB's debug lines, libraries, tracebacks) at the moment a record is made, so
it applies whichever handler writes the record:

* a Telegram object given as an argument is written as its ids;
* a container (a Bot API call's parameters, a batch of updates) as <redacted>, unless it holds
  only numbers;
* an exception, given as an argument or as the record's traceback, keeps its type and frames;
  its message only when it is Telegram's answer or the operating system's (any other message
  may quote what a user typed: a ValueError with the input, the parameters of a failed SQL
  statement).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import os
import socket
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from telegram import CallbackQuery, Chat, Message, TelegramObject, Update, User
from telegram.error import TelegramError

from bot.update_context import current

REDACTED = "<redacted>"


class WithheldError(Exception):
    """An error from another process, its message a traceback already withheld as here."""


# Exceptions whose message is safe to log: Telegram's words about a call, an OS error, or an
# error of a worker process (its messages already withheld there).
SAFE_MESSAGES: tuple[type[BaseException], ...] = (TelegramError, OSError, WithheldError)


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
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "<redacted>")
        record.msg, record.args = message, None
        return True


class RedactPersonalData(logging.Filter):
    """The personal-data rule as a filter (the record factory applies it to every record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops it."""
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Replace the record's arguments and traceback by what may be logged (idempotent)."""
    if getattr(record, "zhibu_redacted", False):
        return
    setattr(record, "zhibu_redacted", True)  # noqa: B010  (not a LogRecord field)
    if not isinstance(record.msg, str):
        record.msg = safe_value(record.msg)
    if isinstance(record.args, Mapping):
        if "%(" in record.msg:
            record.args = {key: safe_value(value) for key, value in record.args.items()}
        else:  # one dict given for a plain %s
            record.args = (safe_value(dict(record.args)),)
    elif record.args:
        record.args = tuple(safe_value(value) for value in record.args)
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = format_exception(record.exc_info[1])


def safe_value(value: Any) -> Any:
    """What a log argument may show of a value: numbers and text as given (our own calls pass
    ids and fixed words), Telegram objects by their ids, anything else by its type only."""
    if value is None or isinstance(value, bool | int | float | str | enum.Enum):
        return value
    if isinstance(value, dt.date | dt.datetime | dt.timedelta):
        return value
    if isinstance(value, BaseException):
        return exception_line(value)
    if isinstance(value, TelegramObject):
        return describe(value)
    if isinstance(value, type):
        return value.__qualname__
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, int) for v in value):
        return value
    if _counts_only(value):
        return value
    if isinstance(value, Mapping | list | tuple | set | frozenset | bytes | bytearray):
        return REDACTED
    # A library's object (a partial with its SQL parameters, say) may show anything.
    return f"<{type(value).__name__}>"


def _counts_only(value: Any) -> bool:
    """A dataclass of numbers, such as a job's report."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return False
    return all(isinstance(getattr(value, f.name), int | float) for f in dataclasses.fields(value))


def describe(obj: TelegramObject) -> str:
    """A Telegram object by its ids."""
    if isinstance(obj, Update):
        chat = obj.effective_chat.id if obj.effective_chat else None
        user = obj.effective_user.id if obj.effective_user else None
        return f"update {obj.update_id} (chat {chat}, user {user})"
    if isinstance(obj, Message):
        return f"message {obj.message_id} in chat {obj.chat_id}"
    if isinstance(obj, CallbackQuery):
        return f"callback query {obj.id} from user {obj.from_user.id}"
    if isinstance(obj, User):
        return f"user {obj.id}"
    if isinstance(obj, Chat):
        return f"chat {obj.id}"
    return f"<{type(obj).__name__}>"


def exception_line(error: BaseException) -> str:
    """`module.Type: message`, the message only when it is safe to log."""
    kind = type(error)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    if isinstance(error, SAFE_MESSAGES):
        return f"{name}: {error}"
    return f"{name} (message withheld: it may quote user input)"


def format_exception(error: BaseException) -> str:
    """A traceback as Python prints it (chained exceptions included), messages withheld."""
    parts: list[str] = []
    _format_chain(error, parts, set())
    return "".join(parts).rstrip("\n")


def _format_chain(error: BaseException, parts: list[str], seen: set[int]) -> None:
    seen.add(id(error))
    cause, context = error.__cause__, error.__context__
    if cause is not None and id(cause) not in seen:
        _format_chain(cause, parts, seen)
        parts.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and not error.__suppress_context__ and id(context) not in seen:
        _format_chain(context, parts, seen)
        parts.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if error.__traceback__ is not None:
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(error.__traceback__))
    parts.append(exception_line(error) + "\n")


class _RedactingFactory:
    """Wraps the log record factory so every record is redacted as it is made."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        redact_record(record)
        return record


def install_redaction() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(factory))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the process, and the update being
    handled (update id, chat id, handler) when there is one. The record is already redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": f"{socket.gethostname()}:{os.getpid()}",
        }
        handling = current()
        if handling is not None:
            entry["update_id"] = handling.update_id
            entry["chat_id"] = handling.chat_id
            entry["handler"] = handling.handler
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, secrets: list[str], log_format: str = "text") -> None:
    """Root logging to stderr with secrets and people's data redacted; chatter muted."""
    install_redaction()
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactPersonalData())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # APScheduler logs two lines per run of every job; the reminder tick runs twice a minute.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
