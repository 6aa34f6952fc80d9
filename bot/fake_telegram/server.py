"""An offline fake of the Telegram Bot API that speaks real HTTP, with simulated users."""

# ruff: noqa: ASYNC109
# The waits take a timeout because the fake answers "nothing yet" on timeout (as getUpdates
# does) instead of raising, and the same value travels over HTTP for clients in other processes.

from __future__ import annotations

import asyncio
import base64
import bisect
import collections
import contextlib
import dataclasses
import itertools
import json
import logging
import math
import mimetypes
import re
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any, TypeVar

import httpx
import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web
from telegram.constants import (
    BotCommandLimit,
    CallbackQueryLimit,
    FloodLimit,
    InlineKeyboardButtonLimit,
    MessageLimit,
)

logger = logging.getLogger(__name__)

JSON = dict[str, Any]

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Methods Telegram counts against the flood limits; reads, answers and chat actions are not.
FLOOD_LIMITED_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendsticker",
        "sendvideo",
        "sendaudio",
        "sendanimation",
        "sendvoice",
        "sendmediagroup",
        "sendlocation",
        "sendcontact",
        "sendpoll",
        "senddice",
        "copymessage",
        "copymessages",
        "forwardmessage",
        "forwardmessages",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
        "editmessagemedia",
    }
)

_TRANSIENT_DESCRIPTIONS = {500: "Internal Server Error", 502: "Bad Gateway"}
_WEBHOOK_ATTEMPTS = 3
_WEBHOOK_BACKOFF = 0.05  # seconds before the first retry, doubled for each further one
_WEBHOOK_TIMEOUT = 10.0
# A photo whose header we cannot read still needs a size; Telegram's own thumbnails are 320 wide.
_UNKNOWN_PHOTO_SIDE = 320
_STICKER_SIDE = 512
# A 1x1 lossless WebP, so a downloaded sticker is a real image.
_STICKER_BYTES = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
    b"/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]+")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class ApiError(Exception):
    """A Bot API error, answered to the bot exactly as Telegram words it."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        """Return the JSON body Telegram sends with this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class FakeUsageError(AssertionError):
    """A simulated user tried something a real client could not do (e.g. press a missing button)."""


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# --------------------------------------------------------------------------------------------
# Telegram's HTML parse mode


class HtmlParseError(ValueError):
    """The text is not valid in Telegram's HTML parse mode; the message is Telegram's."""


_TAG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,10}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});")
_NAME_TOKEN_RE = re.compile(r"[A-Za-z0-9.-]*")


def utf16_length(text: str) -> int:
    """Length of text in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(body: str) -> str | None:
    if not body.startswith("#"):
        return _NAMED_ENTITIES.get(body)
    code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


@dataclasses.dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the parsed text where the tag's content starts


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Parse Telegram's HTML subset into plain text and entities, failing with Telegram's words.

    Follows tdlib's parser. One deliberate difference: an unknown named or invalid numeric
    entity such as ``&foo;`` is rejected (Telegram would show it literally), so that a bot
    that forgot to escape user text fails in tests instead of in front of users.
    """
    out: list[str] = []
    length = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i, n = 0, len(source)

    def at(pos: int) -> str:
        return f"at byte offset {len(source[:pos].encode())}"

    def emit(piece: str) -> None:
        nonlocal length
        out.append(piece)
        length += utf16_length(piece)

    while i < n:
        ch = source[i]
        if ch == "&":
            match = _ENTITY_RE.match(source, i)
            if match:
                decoded = _decode_entity(match.group(1))
                if decoded is None:
                    raise HtmlParseError(f'Unsupported HTML entity "{match.group(0)}" {at(i)}')
                emit(decoded)
                i = match.end()
                continue
        if ch != "<":
            emit(ch)
            i += 1
            continue

        begin = i
        i += 1
        if i < n and source[i] == "/":
            if not stack:
                raise HtmlParseError(f"Unexpected end tag {at(begin)}")
            j = i + 1
            while j < n and not source[j].isspace() and source[j] != ">":
                j += 1
            end_name = source[i + 1 : j].lower()
            while j < n and source[j].isspace():
                j += 1
            if j == n or source[j] != ">":
                raise HtmlParseError(f"Unclosed end tag {at(begin)}")
            tag = stack.pop()
            if end_name and end_name != tag.name:
                raise HtmlParseError(
                    f'Unmatched end tag {at(begin)}, expected "</{tag.name}>", '
                    f'found "</{end_name}>"'
                )
            _close_tag(tag, stack, length, entities)
            i = j + 1
            continue

        j = i
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        if j == n:
            raise HtmlParseError(f"Unclosed start tag {at(begin)}")
        name = source[i:j].lower()
        if name not in _TAG_ENTITY_TYPES:
            raise HtmlParseError(f'Unsupported start tag "{name}" {at(begin)}')
        attrs, j = _parse_attributes(source, j, name, at(begin))
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" {at(begin)}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise HtmlParseError(f'Tag "tg-emoji" must have attribute "emoji-id" {at(begin)}')
        stack.append(_OpenTag(name, attrs, length))
        i = j + 1

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_attributes(source: str, j: int, name: str, where: str) -> tuple[dict[str, str], int]:
    """Read a start tag's attributes from j; return them and the index of the closing '>'."""
    n = len(source)
    attrs: dict[str, str] = {}
    while True:
        while j < n and source[j].isspace():
            j += 1
        if j == n:
            raise HtmlParseError(f"Unclosed start tag {where}")
        if source[j] == ">":
            return attrs, j
        start = j
        while j < n and not source[j].isspace() and source[j] not in "=>":
            j += 1
        attribute = source[start:j].lower()
        if not attribute:
            raise HtmlParseError(f'Empty attribute name in the tag "{name}" {where}')
        while j < n and source[j].isspace():
            j += 1
        if j == n or source[j] != "=":
            if name == "blockquote" and attribute == "expandable":
                attrs[attribute] = ""
                continue
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" {where}'
            )
        j += 1
        while j < n and source[j].isspace():
            j += 1
        if j == n:
            raise HtmlParseError(f'Unclosed start tag "{name}" {where}')
        if source[j] in "'\"":
            quote = source[j]
            end = source.find(quote, j + 1)
            if end < 0:
                raise HtmlParseError(f"Unclosed start tag {where}")
            value = _ENTITY_RE.sub(
                lambda m: _decode_entity(m.group(1)) or m.group(0), source[j + 1 : end]
            )
            j = end + 1
        else:
            token = _NAME_TOKEN_RE.match(source, j)
            end = token.end() if token else j
            value = source[j:end].lower()
            if end == n or not (source[end].isspace() or source[end] == ">"):
                offset = len(source[:j].encode())
                raise HtmlParseError(f"Unexpected end of name token at byte offset {offset}")
            j = end
        attrs[attribute] = value


def _close_tag(tag: _OpenTag, stack: list[_OpenTag], end: int, entities: list[JSON]) -> None:
    """Turn a closed tag into its entity, merging <pre><code class="language-x"> like Telegram."""
    length = end - tag.offset
    if length <= 0:
        return
    entity: JSON = {"type": _TAG_ENTITY_TYPES[tag.name], "offset": tag.offset, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].attrs["language"] = language.removeprefix("language-")
            return
    elif tag.name == "pre" and tag.attrs.get("language"):
        entity["language"] = tag.attrs["language"]
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    entities.append(entity)


def _strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim surrounding whitespace as Telegram does, keeping the entities on the same characters."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_length(text[: len(text) - len(text.lstrip())])
    limit = utf16_length(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------------------------
# Request parameters


@dataclasses.dataclass
class UploadedFile:
    """A file sent in a multipart request."""

    filename: str
    data: bytes
    content_type: str


class Params:
    """Request parameters from a JSON, urlencoded or multipart body, read by type as Telegram does.

    Form bodies carry every value as a string (PTB JSON-encodes nested objects inside form
    fields), while JSON bodies carry native values; the accessors accept both.
    """

    def __init__(self, values: JSON, files: dict[str, UploadedFile] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def raw(self, name: str) -> Any:
        """Return the value as received, or None."""
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        """Return a string parameter."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def integer(self, name: str) -> int | None:
        """Return an integer parameter; a malformed one is a Bad Request."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        raise _bad_request(f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        """Return a numeric parameter (timeouts may be fractional)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        """Return a boolean parameter, false when absent."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str, what: str | None = None) -> Any:
        """Return a JSON-object parameter, decoding it when it came JSON-encoded in a form field."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad_request(f"can't parse {what or name} JSON object") from None
        return value

    def file(self, name: str) -> UploadedFile | str | None:
        """Return an uploaded file (directly or via attach://) or a file_id/URL string."""
        if name in self.files:
            return self.files[name]
        value = self.text(name)
        if value and value.startswith("attach://"):
            attached = self.files.get(value.removeprefix("attach://"))
            if attached is None:
                raise _bad_request(f"file {value} not found in the request")
            return attached
        return value or None


# --------------------------------------------------------------------------------------------
# State


@dataclasses.dataclass
class SimulatedUser:
    """A person talking to the bot in a private chat."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    blocked: bool = False
    deactivated: bool = False

    def to_api(self) -> JSON:
        """Return the Bot API User object."""
        data: JSON = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_api(self) -> JSON:
        """Return the Bot API Chat object of the private chat with this user."""
        data: JSON = {"id": self.user_id, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        data["type"] = "private"
        return data

    def to_json(self) -> JSON:
        """Return the user as the control API shows it."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class StoredFile:
    """A file known to the fake server, with its bytes."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    emoji: str | None = None

    def info(self) -> JSON:
        """Return the file's metadata (not its bytes)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "width": self.width,
            "height": self.height,
        }

    def photo_size(self) -> JSON:
        """Return the Bot API PhotoSize object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "width": self.width or _UNKNOWN_PHOTO_SIDE,
            "height": self.height or _UNKNOWN_PHOTO_SIDE,
        }

    def document(self) -> JSON:
        """Return the Bot API Document object."""
        data: JSON = {}
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        data.update(
            file_id=self.file_id, file_unique_id=self.file_unique_id, file_size=len(self.data)
        )
        return data

    def sticker(self) -> JSON:
        """Return the Bot API Sticker object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "type": "regular",
            "width": _STICKER_SIDE,
            "height": _STICKER_SIDE,
            "is_animated": False,
            "is_video": False,
            "emoji": self.emoji,
            "file_size": len(self.data),
        }


@dataclasses.dataclass
class StoredMessage:
    """A message in a chat, sent by the bot or by the user, with its edit history."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    text: str | None = None
    source_text: str | None = None
    parse_mode: str | None = None
    entities: list[JSON] = dataclasses.field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = dataclasses.field(default_factory=list)
    reply_markup: JSON | None = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    sticker: StoredFile | None = None
    reply_to: int | None = None
    edits: list[JSON] = dataclasses.field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    seq: int = 0  # the event that created it, so readers can tell what they have seen

    def inline_markup(self) -> JSON | None:
        """The inline keyboard, the only markup that is part of a message (and of its edits)."""
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup
        return None

    def version(self) -> JSON:
        """Return the editable content as it is now."""
        return {
            "text": self.text,
            "source_text": self.source_text,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
        }

    def record(self) -> JSON:
        """Return the message as the control API reports it (JSON-able; files by metadata)."""
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "seq": self.seq,
            "date": self.date,
            "from_bot": self.from_bot,
            "text": self.text,
            "source_text": self.source_text,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
            "photo": self.photo.info() if self.photo else None,
            "document": self.document.info() if self.document else None,
            "sticker": self.sticker.info() if self.sticker else None,
            "reply_to_message_id": self.reply_to,
            "edits": list(self.edits),
            "edit_date": self.edit_date,
            "deleted": self.deleted,
        }


@dataclasses.dataclass
class _Chat:
    user: SimulatedUser
    messages: dict[int, StoredMessage] = dataclasses.field(default_factory=dict)
    last_message_id: int = 0

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclasses.dataclass
class _CallbackQuery:
    query_id: str
    update_id: int
    user_id: int
    message_id: int
    data: str
    answer: JSON | None = None


@dataclasses.dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclasses.dataclass(frozen=True)
class FloodLimits:
    """Telegram's send limits; with enforce=False over-limit sends pass but are still counted."""

    global_per_second: int = int(FloodLimit.MESSAGES_PER_SECOND)
    per_chat_per_second: int = int(FloodLimit.MESSAGES_PER_SECOND_PER_CHAT)
    paid_broadcast_per_second: int = int(FloodLimit.PAID_MESSAGES_PER_SECOND)
    enforce: bool = True


def _retry_after(window: collections.deque[float], limit: int, now: float) -> int | None:
    """Seconds until a one-second sliding window has room, or None if it has room now."""
    while window and window[0] <= now - 1.0:
        window.popleft()
    if len(window) < limit:
        return None
    return max(1, math.ceil(window[0] + 1.0 - now))


class _FloodControl:
    """Sliding one-second windows over accepted sends, globally and per chat."""

    def __init__(self, limits: FloodLimits | None) -> None:
        self.limits = limits
        self.violations = 0
        self.send_times: list[float] = []
        self.send_chats: list[int] = []
        self._global: collections.deque[float] = collections.deque()
        self._paid: collections.deque[float] = collections.deque()
        self._chats: dict[int, collections.deque[float]] = {}

    def admit(self, chat_id: int, *, paid: bool) -> None:
        """Record a send, or refuse it with 429 when it would exceed an enforced limit."""
        now = time.monotonic()
        chat_window = self._chats.setdefault(chat_id, collections.deque())
        shared_window = self._paid if paid else self._global
        if self.limits is not None:
            shared_limit = (
                self.limits.paid_broadcast_per_second if paid else self.limits.global_per_second
            )
            waits = [
                wait
                for wait in (
                    _retry_after(shared_window, shared_limit, now),
                    _retry_after(chat_window, self.limits.per_chat_per_second, now),
                )
                if wait is not None
            ]
            if waits:
                self.violations += 1
                if self.limits.enforce:
                    retry = max(waits)
                    raise ApiError(
                        429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                    )
        shared_window.append(now)
        chat_window.append(now)
        self.send_times.append(now)
        self.send_chats.append(chat_id)

    def peak_per_second(self) -> int:
        """The most sends accepted within any one-second window."""
        peak, start = 0, 0
        for end, moment in enumerate(self.send_times):
            while self.send_times[start] <= moment - 1.0:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    def stats(self) -> JSON:
        """Return the counters benchmarks and tests read."""
        limits = dataclasses.asdict(self.limits) if self.limits else None
        return {
            "limits": limits,
            "violations": self.violations,
            "sent_count": len(self.send_times),
            "send_times": list(self.send_times),
            "send_chats": list(self.send_chats),
            "peak_per_second": self.peak_per_second(),
        }


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Read width and height from a PNG, GIF or JPEG header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 <= len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return None


def _command_entities(text: str) -> list[JSON]:
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"offset": 0, "length": utf16_length(match.group(0)), "type": "bot_command"}]


# --------------------------------------------------------------------------------------------
# The server

_BotMethod = Callable[["FakeTelegramServer", Params], Awaitable[Any]]
_BOT_METHODS: dict[str, _BotMethod] = {}
_M = TypeVar("_M", bound=_BotMethod)
_Action = Callable[..., Awaitable[Any]]


def _bot_method(*names: str) -> Callable[[_M], _M]:
    """Register a Bot API method implementation under its (case-insensitive) names."""

    def register(implementation: _M) -> _M:
        for name in names:
            _BOT_METHODS[name.lower()] = implementation
        return implementation

    return register


class FakeTelegramServer:
    """A Telegram Bot API server for one bot, with simulated users, over real HTTP.

    Not thread-safe: drive it from the asyncio loop it was started on (or over HTTP).
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "zhibu_test_bot",
        flood_limits: FloodLimits | None = None,
        *,
        bot_first_name: str = "Zhibu Test",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self._initial_flood_limits = flood_limits
        self._clock = clock
        # Ids keep growing across reset() so a bot polling with an old offset still sees updates.
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._seq = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._inflight = 0
        self._http_server: tornado.httpserver.HTTPServer | None = None
        self._http_client: httpx.AsyncClient | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"
        self._init_state()

    def _init_state(self) -> None:
        self.users: dict[int, SimulatedUser] = {}
        self._chats: dict[int, _Chat] = {}
        self._chat_events: dict[int, list[JSON]] = {}
        self._pending: collections.deque[JSON] = collections.deque()
        # Every update ever queued, by id: tests deliver one again to play a redelivery.
        self.updates_by_id: dict[int, JSON] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._callback_by_update: dict[int, str] = {}
        self.callback_answers: list[JSON] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self.bot_settings: dict[str, Any] = {}
        self._webhook: _Webhook | None = None
        self.webhook_deliveries: list[JSON] = []
        self._flood = _FloodControl(self._initial_flood_limits)
        self._fail_next: dict[str, collections.deque[int]] = {}
        self.latency = 0.0
        self.method_calls: collections.Counter[str] = collections.Counter()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on host:port (0 picks a free port) on the running loop; return the port."""
        if self._http_server is not None:
            raise RuntimeError("FakeTelegramServer is already started")
        self._closing = False
        self._changed = asyncio.Event()
        app = tornado.web.Application(self._routes(), log_function=_log_request)
        self._http_server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(port, address=host)
        self._http_server.add_sockets(sockets)
        self._host = host
        self._port = int(sockets[0].getsockname()[1])
        self._http_client = httpx.AsyncClient(timeout=_WEBHOOK_TIMEOUT)
        self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        return self._port

    async def stop(self) -> None:
        """Answer waiting long polls, stop delivering webhooks and close every connection."""
        self._closing = True
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
            self._webhook_task = None
        if self._http_server is not None:
            self._http_server.stop()
            # Let handlers woken above write their answers before their connections go.
            await self.wait_until(lambda: self._inflight == 0, timeout=1.0)
            await self._http_server.close_all_connections()
            self._http_server = None
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. for FakeTelegramClient."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for PTB's base_url (the token is appended by PTB)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's base_file_url."""
        return f"{self.url}/file/bot"

    def reset(self) -> None:
        """Forget users, chats, updates, files, webhook, faults and flood counters."""
        self._init_state()
        self._notify()

    # -- waiting -----------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake everything waiting for a change of state."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = 5.0) -> bool:
        """Wait until predicate() holds, re-checking on every change; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not predicate():
            changed = self._changed
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True

    # -- HTTP --------------------------------------------------------------------------------

    def _routes(self) -> list[Any]:
        routes: list[Any] = [
            (r"/bot([^/]+)/([A-Za-z0-9_]+)/?", _BotApiHandler, {"server": self}),
            (r"/file/bot([^/]+)/(.+)", _FileHandler, {"server": self}),
        ]
        for pattern, actions in self._control_routes():
            options = {"server": self, "actions": actions}
            routes.append((f"/_fake/{pattern}", _ControlHandler, options))
        return routes

    async def handle_bot_request(self, token: str, method: str, params: Params) -> tuple[int, JSON]:
        """Run one Bot API call; return the HTTP status and Telegram's JSON answer."""
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").payload()
        implementation = _BOT_METHODS.get(method.lower())
        if implementation is None:
            return 404, ApiError(404, "Not Found").payload()
        self.method_calls[method.lower()] += 1
        with self._request_scope():
            try:
                self._raise_injected_failure(method.lower())
                if self.latency:
                    await asyncio.sleep(self.latency)
                result = await implementation(self, params)
            except ApiError as error:
                return error.status, error.payload()
        return 200, {"ok": True, "result": result}

    @contextlib.contextmanager
    def _request_scope(self) -> Iterator[None]:
        """Count a request as in flight, so stop() lets it answer before closing connections."""
        self._inflight += 1
        # Any call may change what a wait_until predicate looks at, including its mere arrival.
        self._notify()
        try:
            yield
        finally:
            self._inflight -= 1
            self._notify()

    # -- faults ------------------------------------------------------------------------------

    def block_user(self, user_id: int) -> None:
        """The user blocks the bot: sends answer 403 and the bot gets a my_chat_member update."""
        user = self._chat_for_user(user_id).user
        if not user.blocked:
            user.blocked = True
            self._push_member_update(user, "member", "kicked")

    def unblock_user(self, user_id: int) -> None:
        """The user unblocks (restarts) the bot."""
        user = self._chat_for_user(user_id).user
        if user.blocked:
            user.blocked = False
            self._push_member_update(user, "kicked", "member")

    def deactivate_user(self, user_id: int) -> None:
        """The user deletes their account: sends answer 403 user is deactivated."""
        self._chat_for_user(user_id).user.deactivated = True

    def fail_next(self, method: str = "*", status: int = 500, count: int = 1) -> None:
        """Answer the next count calls of method ("*" for any) with a transient 5xx."""
        if status not in _TRANSIENT_DESCRIPTIONS:
            raise ValueError(f"status must be one of {sorted(_TRANSIENT_DESCRIPTIONS)}")
        self._fail_next.setdefault(method.lower(), collections.deque()).extend([status] * count)

    def set_latency(self, seconds: float) -> None:
        """Delay every Bot API answer by this many seconds."""
        self.latency = max(0.0, seconds)

    def _raise_injected_failure(self, method: str) -> None:
        for key in (method, "*"):
            queue = self._fail_next.get(key)
            if queue:
                status = queue.popleft()
                raise ApiError(status, _TRANSIENT_DESCRIPTIONS[status])

    # -- flood control -----------------------------------------------------------------------

    def set_flood_limits(self, limits: FloodLimits | None) -> None:
        """Change (or with None, lift) the flood limits; counters are kept."""
        self._flood.limits = limits

    @property
    def flood_limits(self) -> FloodLimits | None:
        """The flood limits in force, if any."""
        return self._flood.limits

    @property
    def violations(self) -> int:
        """How many sends went over a flood limit (refused, or merely counted if not enforced)."""
        return self._flood.violations

    @property
    def sent_count(self) -> int:
        """How many flood-limited calls were accepted."""
        return len(self._flood.send_times)

    @property
    def send_times(self) -> list[float]:
        """time.monotonic() of every accepted flood-limited call, in order."""
        return list(self._flood.send_times)

    def flood_stats(self) -> JSON:
        """Limits, violations, accepted send times and peak rate."""
        return self._flood.stats()

    # -- users -------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> SimulatedUser:
        """Create the user (or update their profile) and their private chat with the bot."""
        chat = self._chats.get(user_id)
        if chat is None:
            user = SimulatedUser(user_id, first_name or f"User{user_id}")
            chat = self._chats[user_id] = _Chat(user)
            self.users[user_id] = user
        user = chat.user
        if first_name:
            user.first_name = first_name
        user.last_name = last_name
        user.username = username
        user.language_code = language_code
        return user

    def _chat_for_user(self, user_id: int) -> _Chat:
        if user_id not in self._chats:
            self.add_user(user_id)
        return self._chats[user_id]

    def user_sends_text(
        self, user_id: int, text: str, *, reply_to_message_id: int | None = None
    ) -> int:
        """The user sends a text message; a leading /command gets a bot_command entity."""
        chat = self._chat_for_user(user_id)
        message = self._add_message(
            chat,
            from_bot=False,
            text=text,
            entities=_command_entities(text),
            reply_to=reply_to_message_id,
        )
        return self._push_update({"message": self._message_api(message)})

    def user_sends_sticker(self, user_id: int, emoji: str = "👍") -> int:
        """The user sends a sticker."""
        chat = self._chat_for_user(user_id)
        sticker = self._store_file(_STICKER_BYTES, kind="sticker", mime_type="image/webp")
        sticker.emoji = emoji
        message = self._add_message(chat, from_bot=False, sticker=sticker)
        return self._push_update({"message": self._message_api(message)})

    def user_sends_photo(self, user_id: int, data: bytes, *, caption: str | None = None) -> int:
        """The user sends a photo with these bytes."""
        chat = self._chat_for_user(user_id)
        photo = self._store_file(data, kind="photo", mime_type="image/jpeg")
        message = self._add_message(chat, from_bot=False, photo=photo, caption=caption)
        return self._push_update({"message": self._message_api(message)})

    def user_sends_document(
        self,
        user_id: int,
        data: bytes,
        filename: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        """The user sends a file."""
        chat = self._chat_for_user(user_id)
        mime_type = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        document = self._store_file(data, kind="document", file_name=filename, mime_type=mime_type)
        message = self._add_message(chat, from_bot=False, document=document, caption=caption)
        return self._push_update({"message": self._message_api(message)})

    def user_presses(
        self, user_id: int, message_id: int, *, text: str | None = None, data: str | None = None
    ) -> int:
        """The user presses a button of a bot message, chosen by its text or callback_data.

        An inline button produces a callback_query update; a reply-keyboard button sends its
        text as a message, as Telegram clients do.
        """
        if (text is None) == (data is None):
            raise FakeUsageError("press a button either by text or by data")
        chat = self._chat_for_user(user_id)
        message = self._pressable_message(chat, message_id)
        markup = message.reply_markup or {}
        if text is not None and "keyboard" in markup:
            labels = [
                button if isinstance(button, str) else button.get("text")
                for row in markup["keyboard"]
                for button in row
            ]
            if text not in labels:
                raise FakeUsageError(
                    f"message {message_id} has no button {text!r}; it has {labels}"
                )
            return self.user_sends_text(user_id, text)
        buttons = [button for row in markup.get("inline_keyboard", []) for button in row]
        for button in buttons:
            if (text is not None and button.get("text") == text) or (
                data is not None and button.get("callback_data") == data
            ):
                if "callback_data" not in button:
                    raise FakeUsageError(f"button {button} has no callback_data to press")
                return self._push_callback_query(chat, message, button["callback_data"])
        wanted = f"text {text!r}" if text is not None else f"data {data!r}"
        available = [(b.get("text"), b.get("callback_data") or b.get("url")) for b in buttons]
        raise FakeUsageError(
            f"message {message_id} has no button with {wanted}; its buttons are {available}"
        )

    def user_presses_forged(self, user_id: int, message_id: int, data: str) -> int:
        """Send a callback_query with arbitrary data for a message, as a tampered client could."""
        chat = self._chat_for_user(user_id)
        return self._push_callback_query(chat, self._pressable_message(chat, message_id), data)

    def _pressable_message(self, chat: _Chat, message_id: int) -> StoredMessage:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise FakeUsageError(f"chat {chat.user.user_id} has no message {message_id} to press")
        if not message.from_bot:
            raise FakeUsageError(
                f"message {message_id} is the user's own; only bot messages have buttons"
            )
        return message

    # -- reading what the bot did ------------------------------------------------------------

    @property
    def marker(self) -> int:
        """Sequence number of the latest bot event; pass it as `since` to wait for newer ones."""
        return self._seq

    def bot_messages(self, chat_id: int, *, include_deleted: bool = True) -> list[JSON]:
        """Every message the bot sent to the chat, in order, with edits and deleted flag."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            message.record()
            for message in chat.messages.values()
            if message.from_bot and (include_deleted or not message.deleted)
        ]

    def last_bot_message(self, chat_id: int) -> JSON | None:
        """The latest message the bot sent to the chat, or None."""
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def bot_events(
        self, chat_id: int, *, since: int = 0, kinds: Iterable[str] = ("message", "edit")
    ) -> list[JSON]:
        """Bot events (message, edit, delete) in the chat after the marker `since`."""
        wanted = set(kinds)
        events = self._chat_events.get(chat_id, [])
        start = bisect.bisect_right(events, since, key=lambda event: int(event["seq"]))
        return [event for event in events[start:] if event["kind"] in wanted]

    async def wait_bot_events(
        self,
        chat_id: int,
        *,
        since: int = 0,
        count: int = 1,
        kinds: Iterable[str] = ("message", "edit"),
        timeout: float = 5.0,
    ) -> list[JSON]:
        """Wait for count bot events in the chat after `since`; on timeout return those seen."""
        wanted = tuple(kinds)
        await self.wait_until(
            lambda: (
                self._closing or len(self.bot_events(chat_id, since=since, kinds=wanted)) >= count
            ),
            timeout,
        )
        return self.bot_events(chat_id, since=since, kinds=wanted)[:count]

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes of a known file."""
        return self._files[file_id].data

    def callback_answer(self, update_id: int) -> JSON | None:
        """The bot's answerCallbackQuery for the press that created update_id, if any yet."""
        query_id = self._callback_by_update.get(update_id)
        query = self._callback_queries.get(query_id) if query_id else None
        return query.answer if query else None

    async def wait_callback_answer(self, update_id: int, timeout: float = 5.0) -> JSON | None:
        """Wait for the bot to answer the callback query of update_id."""
        await self.wait_until(
            lambda: self._closing or self.callback_answer(update_id) is not None, timeout
        )
        return self.callback_answer(update_id)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (or delivered to its webhook)."""
        return list(self._pending)

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """The bot's command list for a scope (default scope if None) and language."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

    def all_commands(self) -> list[JSON]:
        """Every stored command list with its scope and language."""
        return [
            {"scope": json.loads(scope), "language_code": language, "commands": commands}
            for (scope, language), commands in self._commands.items()
        ]

    # -- internals: messages, updates, files --------------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _push_update(self, payload: JSON) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **payload}
        self._pending.append(update)
        self.updates_by_id[update_id] = update
        self._notify()
        return update_id

    def _chat_member(self, status: str) -> JSON:
        member: JSON = {"user": self._bot_user(), "status": status}
        if status == "kicked":
            member["until_date"] = 0  # Telegram always sends it for a ban (0: forever)
        return member

    def _push_member_update(self, user: SimulatedUser, old: str, new: str) -> None:
        self._push_update(
            {
                "my_chat_member": {
                    "chat": user.chat_api(),
                    "from": user.to_api(),
                    "date": self._now(),
                    "old_chat_member": self._chat_member(old),
                    "new_chat_member": self._chat_member(new),
                }
            }
        )

    def _push_callback_query(self, chat: _Chat, message: StoredMessage, data: str) -> int:
        query_id = f"{self.bot_id}{next(self._query_ids):012d}"
        update_id = self._push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": chat.user.to_api(),
                    "message": self._message_api(message),
                    # Stable per chat, as Telegram's is.
                    "chat_instance": str((chat.user.user_id * 1_000_003 + self.bot_id) % 2**63),
                    "data": data,
                }
            }
        )
        self._callback_queries[query_id] = _CallbackQuery(
            query_id, update_id, chat.user.user_id, message.message_id, data
        )
        self._callback_by_update[update_id] = query_id
        return update_id

    def _add_message(self, chat: _Chat, *, from_bot: bool, **content: Any) -> StoredMessage:
        message = StoredMessage(
            chat_id=chat.user.user_id,
            message_id=chat.next_message_id(),
            date=self._now(),
            from_bot=from_bot,
            **content,
        )
        chat.messages[message.message_id] = message
        if from_bot:
            self._record_event("message", message)
        return message

    def _record_event(self, kind: str, message: StoredMessage) -> None:
        self._seq += 1
        if kind == "message":
            message.seq = self._seq
        event = {
            "seq": self._seq,
            "kind": kind,
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "message": message.record(),
        }
        self._chat_events.setdefault(message.chat_id, []).append(event)
        self._notify()

    def _message_api(self, message: StoredMessage, *, with_reply: bool = True) -> JSON:
        chat = self._chats[message.chat_id]
        data: JSON = {
            "message_id": message.message_id,
            "from": self._bot_user() if message.from_bot else chat.user.to_api(),
            "chat": chat.user.chat_api(),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        replied = chat.messages.get(message.reply_to) if message.reply_to else None
        if with_reply and replied is not None:
            data["reply_to_message"] = self._message_api(replied, with_reply=False)
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.photo is not None:
            data["photo"] = [message.photo.photo_size()]
        if message.document is not None:
            data["document"] = message.document.document()
        if message.sticker is not None:
            data["sticker"] = message.sticker.sticker()
        if message.caption is not None:
            data["caption"] = message.caption
            if message.caption_entities:
                data["caption_entities"] = message.caption_entities
        # Reply keyboards belong to the chat, so Telegram never echoes them in a message.
        if message.inline_markup():
            data["reply_markup"] = message.inline_markup()
        return data

    def _store_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        number = next(self._file_ids)
        default_suffix = {"photo": ".jpg", "sticker": ".webp"}.get(kind, "")
        suffix = PurePosixPath(file_name).suffix if file_name else default_suffix
        size = _image_size(data) if kind == "photo" else None
        stored = StoredFile(
            file_id=f"fake-{kind}-{number}",
            file_unique_id=f"fake-unique-{number}",
            data=data,
            file_path=f"{kind}s/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(self, params: Params, name: str, kind: str) -> StoredFile:
        """Resolve a bot's file parameter: an upload becomes a new file, a file_id is reused."""
        value = params.file(name)
        if value is None:
            raise _bad_request(f"there is no {name} in the request")
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad_request("file must be non-empty")
            mime_type = value.content_type
            if not mime_type or mime_type == "application/octet-stream":
                mime_type = mimetypes.guess_type(value.filename)[0] or mime_type
            return self._store_file(
                value.data, kind=kind, file_name=value.filename, mime_type=mime_type
            )
        stored = self._files.get(value)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def _target_chat(self, params: Params, *, sending: bool = False) -> _Chat:
        raw = params.text("chat_id")
        if not raw:
            raise _bad_request("chat_id is empty")
        try:
            chat = self._chats.get(int(raw))
        except ValueError:
            chat = None  # @usernames address channels, never private chats
        if chat is None:
            raise _bad_request("chat not found")
        if sending and chat.user.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if sending and chat.user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _formatted(
        self, params: Params, field: str, *, caption: bool
    ) -> tuple[str | None, str | None, list[JSON], str | None]:
        """Parse text or caption with its parse_mode: (plain, source, entities, parse_mode)."""
        source = params.text(field)
        raw_mode = params.text("parse_mode")
        parse_mode = None
        if raw_mode:
            parse_mode = _PARSE_MODES.get(raw_mode.lower())
            if parse_mode is None:
                raise _bad_request(f"unsupported parse_mode {raw_mode}")
        if source is None or (caption and source == ""):
            if caption:
                return None, None, [], parse_mode
            raise _bad_request("message text is empty")
        entities: list[JSON] = []
        plain = source
        if parse_mode == "HTML":
            try:
                plain, entities = parse_html(source)
            except HtmlParseError as error:
                raise _bad_request(f"can't parse entities: {error}") from None
        else:
            given = params.obj("caption_entities" if caption else "entities", "message entities")
            if isinstance(given, list):
                entities = given
        plain, entities = _strip_text(plain, entities)
        limit = MessageLimit.CAPTION_LENGTH if caption else MessageLimit.MAX_TEXT_LENGTH
        if not plain and not caption:
            raise _bad_request("message text is empty")
        if len(plain) > limit:
            raise _bad_request("message caption is too long" if caption else "message is too long")
        return plain, source, entities, parse_mode

    def _reply_markup(self, params: Params, *, inline_only: bool = False) -> JSON | None:
        markup = params.obj("reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _validate_inline_keyboard(markup["inline_keyboard"])
        elif inline_only:
            raise _bad_request("inline keyboard expected")
        elif "keyboard" in markup:
            if not isinstance(markup["keyboard"], list):
                raise _bad_request("can't parse reply keyboard markup JSON object")
        elif not ("remove_keyboard" in markup or "force_reply" in markup):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        return markup

    def _reply_to(self, params: Params, chat: _Chat) -> int | None:
        reply_parameters = params.obj("reply_parameters", "reply parameters")
        message_id: int | None
        allow_missing = params.flag("allow_sending_without_reply")
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow_missing = allow_missing or bool(
                reply_parameters.get("allow_sending_without_reply")
            )
        else:
            message_id = params.integer("reply_to_message_id")
        if message_id is None:
            return None
        replied = chat.messages.get(int(message_id))
        if replied is None or replied.deleted:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        return int(message_id)

    def _editable_message(self, params: Params) -> StoredMessage:
        if params.text("inline_message_id"):
            raise _bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message_id = params.integer("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise _bad_request("message to edit not found")
        if not message.from_bot:
            raise _bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: StoredMessage, **changes: Any) -> JSON:
        for field, value in changes.items():
            setattr(message, field, value)
        message.edit_date = self._now()
        message.edits.append({**message.version(), "edit_date": message.edit_date})
        self._record_event("edit", message)
        return self._message_api(message)

    # -- bot API methods ---------------------------------------------------------------------

    @_bot_method("getMe")
    async def _get_me(self, params: Params) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @_bot_method("logOut", "close")
    async def _log_out(self, params: Params) -> bool:
        return True

    @_bot_method("getUpdates")
    async def _get_updates(self, params: Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        self._confirm_updates(offset)
        if not self._pending and timeout > 0:
            await self.wait_until(
                lambda: bool(self._pending) or self._closing or self._webhook is not None, timeout
            )
        if self._webhook is not None:
            return []
        return list(itertools.islice(self._pending, limit))

    def _confirm_updates(self, offset: int) -> None:
        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()

    @_bot_method("sendMessage")
    async def _send_message(self, params: Params) -> JSON:
        chat = self._target_chat(params, sending=True)
        text, source, entities, parse_mode = self._formatted(params, "text", caption=False)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat)
        self._flood.admit(chat.user.user_id, paid=params.flag("allow_paid_broadcast"))
        message = self._add_message(
            chat,
            from_bot=True,
            text=text,
            source_text=source,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=markup,
            reply_to=reply_to,
        )
        return self._message_api(message)

    async def _send_media(self, params: Params, field: str) -> JSON:
        chat = self._target_chat(params, sending=True)
        caption, source, entities, parse_mode = self._formatted(params, "caption", caption=True)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat)
        stored = self._input_file(params, field, kind=field)
        self._flood.admit(chat.user.user_id, paid=params.flag("allow_paid_broadcast"))
        message = self._add_message(
            chat,
            from_bot=True,
            caption=caption,
            source_text=source,
            parse_mode=parse_mode,
            caption_entities=entities,
            reply_markup=markup,
            reply_to=reply_to,
            **{field: stored},
        )
        return self._message_api(message)

    @_bot_method("sendPhoto")
    async def _send_photo(self, params: Params) -> JSON:
        return await self._send_media(params, "photo")

    @_bot_method("sendDocument")
    async def _send_document(self, params: Params) -> JSON:
        return await self._send_media(params, "document")

    @_bot_method("sendChatAction")
    async def _send_chat_action(self, params: Params) -> bool:
        self._target_chat(params, sending=True)
        if not params.text("action"):
            raise _bad_request("wrong parameter action in request")
        return True

    @_bot_method("editMessageText")
    async def _edit_message_text(self, params: Params) -> JSON:
        message = self._editable_message(params)
        if message.text is None:
            raise _bad_request("there is no text in the message to edit")
        text, source, entities, parse_mode = self._formatted(params, "text", caption=False)
        markup = self._reply_markup(params, inline_only=True)
        if (text, entities, markup) == (message.text, message.entities, message.inline_markup()):
            raise _bad_request(NOT_MODIFIED)
        self._flood.admit(message.chat_id, paid=False)
        return self._apply_edit(
            message,
            text=text,
            source_text=source,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
        )

    @_bot_method("editMessageCaption")
    async def _edit_message_caption(self, params: Params) -> JSON:
        message = self._editable_message(params)
        if message.text is not None:
            raise _bad_request("there is no caption in the message to edit")
        caption, source, entities, parse_mode = self._formatted(params, "caption", caption=True)
        markup = self._reply_markup(params, inline_only=True)
        current = (message.caption, message.caption_entities, message.inline_markup())
        if (caption, entities, markup) == current:
            raise _bad_request(NOT_MODIFIED)
        self._flood.admit(message.chat_id, paid=False)
        return self._apply_edit(
            message,
            caption=caption,
            source_text=source,
            caption_entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
        )

    @_bot_method("editMessageReplyMarkup")
    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        message = self._editable_message(params)
        markup = self._reply_markup(params, inline_only=True)
        if markup == message.inline_markup():
            raise _bad_request(NOT_MODIFIED)
        self._flood.admit(message.chat_id, paid=False)
        return self._apply_edit(message, reply_markup=markup)

    @_bot_method("deleteMessage")
    async def _delete_message(self, params: Params) -> bool:
        chat = self._target_chat(params)
        message = chat.messages.get(params.integer("message_id") or 0)
        if message is None or message.deleted:
            raise _bad_request("message to delete not found")
        message.deleted = True
        self._record_event("delete", message)
        return True

    @_bot_method("answerCallbackQuery")
    async def _answer_callback_query(self, params: Params) -> bool:
        query = self._callback_queries.get(params.text("callback_query_id") or "")
        if query is None or query.answer is not None:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.text("text")
        if text and len(text) > CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        query.answer = {
            "callback_query_id": query.query_id,
            "update_id": query.update_id,
            "user_id": query.user_id,
            "message_id": query.message_id,
            "data": query.data,
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time") or 0,
        }
        self.callback_answers.append(query.answer)
        self._notify()
        return True

    @_bot_method("getFile")
    async def _get_file(self, params: Params) -> JSON:
        stored = self._files.get(params.text("file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    @_bot_method("setMyCommands")
    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.obj("commands", "commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > BotCommandLimit.MAX_COMMAND_NUMBER:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not (
                BotCommandLimit.MIN_COMMAND <= len(name) <= BotCommandLimit.MAX_COMMAND
                and _BOT_COMMAND_NAME_RE.fullmatch(name)
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not (
                BotCommandLimit.MIN_DESCRIPTION
                <= len(description.strip())
                <= BotCommandLimit.MAX_DESCRIPTION
            ):
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = (_scope_key(params.obj("scope", "scope")), params.text("language_code") or "")
        self._commands[key] = cleaned
        return True

    @_bot_method("getMyCommands")
    async def _get_my_commands(self, params: Params) -> list[JSON]:
        return self.commands(params.text("language_code") or "", params.obj("scope", "scope"))

    @_bot_method("deleteMyCommands")
    async def _delete_my_commands(self, params: Params) -> bool:
        key = (_scope_key(params.obj("scope", "scope")), params.text("language_code") or "")
        self._commands.pop(key, None)
        return True

    @_bot_method("setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton")
    async def _set_bot_setting(self, params: Params) -> bool:
        # Stored as given so tests can see them; what Telegram clients do with them is not faked.
        for name, value in params.values.items():
            self.bot_settings[name] = value
        return True

    @_bot_method("setWebhook")
    async def _set_webhook(self, params: Params) -> bool:
        url = params.text("url") or ""
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        if not url:
            self._webhook = None
            self._notify()
            return True
        if not url.startswith(("http://", "https://")):
            raise _bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.text("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise _bad_request("secret token contains unallowed characters")
        allowed = params.obj("allowed_updates", "allowed updates")
        self._webhook = _Webhook(
            url=url,
            secret_token=secret or None,
            max_connections=params.integer("max_connections") or 40,
            allowed_updates=allowed if isinstance(allowed, list) else None,
        )
        self._notify()
        return True

    @_bot_method("deleteWebhook")
    async def _delete_webhook(self, params: Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        self._webhook = None
        self._notify()
        return True

    @_bot_method("getWebhookInfo")
    async def _get_webhook_info(self, params: Params) -> JSON:
        info: JSON = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        webhook = self._webhook
        if webhook is not None:
            info["url"] = webhook.url
            info["max_connections"] = webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = webhook.allowed_updates
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info

    # -- webhook delivery --------------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        """Post pending updates to the webhook one at a time, in order."""
        while True:
            await self.wait_until(
                lambda: self._closing or (self._webhook is not None and bool(self._pending)),
                timeout=None,
            )
            if self._closing:
                return
            webhook, update = self._webhook, self._pending[0]
            assert webhook is not None
            await self._post_update(webhook, update)
            # Delivered or given up; it may also have been dropped meanwhile by deleteWebhook.
            if self._pending and self._pending[0] is update:
                self._pending.popleft()
            self._notify()

    async def _post_update(self, webhook: _Webhook, update: JSON) -> bool:
        """POST one update with retries and backoff, recording each attempt."""
        assert self._http_client is not None
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_TOKEN_HEADER] = webhook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        for attempt in range(1, _WEBHOOK_ATTEMPTS + 1):
            status: int | None = None
            error: str | None = None
            try:
                response = await self._http_client.post(webhook.url, content=body, headers=headers)
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason_phrase}"
            except httpx.HTTPError as exc:
                error = f"Connection failed: {exc!r}"
            self.webhook_deliveries.append(
                {
                    "update_id": update["update_id"],
                    "url": webhook.url,
                    "attempt": attempt,
                    "status_code": status,
                    "ok": error is None,
                    "error": error,
                }
            )
            self._notify()
            if error is None:
                return True
            webhook.last_error_date = self._now()
            webhook.last_error_message = error
            logger.info("webhook delivery of update %s failed: %s", update["update_id"], error)
            if self._webhook is not webhook or attempt == _WEBHOOK_ATTEMPTS:
                break
            await asyncio.sleep(_WEBHOOK_BACKOFF * 2 ** (attempt - 1))
        return False

    # -- control API ----------------------------------------------------------------------------

    def _control_routes(self) -> list[tuple[str, dict[str, _Action]]]:
        return [
            ("reset", {"POST": self._ctl_reset}),
            ("state", {"GET": self._ctl_state}),
            ("marker", {"GET": self._ctl_marker}),
            ("users", {"POST": self._ctl_add_user}),
            (r"users/(\d+)", {"GET": self._ctl_get_user}),
            (r"users/(\d+)/text", {"POST": self._ctl_text}),
            (r"users/(\d+)/sticker", {"POST": self._ctl_sticker}),
            (r"users/(\d+)/photo", {"POST": self._ctl_photo}),
            (r"users/(\d+)/document", {"POST": self._ctl_document}),
            (r"users/(\d+)/press", {"POST": self._ctl_press}),
            (r"users/(\d+)/block", {"POST": self._ctl_block}),
            (r"users/(\d+)/deactivate", {"POST": self._ctl_deactivate}),
            (r"chats/(-?\d+)/messages", {"GET": self._ctl_messages}),
            ("wait", {"POST": self._ctl_wait}),
            ("files/(.+)", {"GET": self._ctl_file}),
            ("flood", {"GET": self._ctl_flood_stats, "POST": self._ctl_set_flood}),
            ("fail_next", {"POST": self._ctl_fail_next}),
            ("latency", {"POST": self._ctl_latency}),
            ("webhook_deliveries", {"GET": self._ctl_deliveries}),
            ("callback_answers", {"GET": self._ctl_callback_answers}),
            ("callback_answers/wait", {"POST": self._ctl_wait_callback_answer}),
            ("commands", {"GET": self._ctl_commands}),
            ("updates", {"GET": self._ctl_updates}),
        ]

    async def _ctl_reset(self, body: JSON) -> bool:
        self.reset()
        return True

    async def _ctl_state(self, body: JSON) -> JSON:
        webhook = dataclasses.asdict(self._webhook) if self._webhook else None
        return {
            "marker": self._seq,
            "users": [user.to_json() for user in self.users.values()],
            "pending_updates": len(self._pending),
            "webhook": webhook,
            "method_calls": dict(self.method_calls),
            "latency": self.latency,
        }

    async def _ctl_marker(self, body: JSON) -> int:
        return self._seq

    async def _ctl_add_user(self, body: JSON) -> JSON:
        user = self.add_user(
            int(body["user_id"]),
            body.get("first_name"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code", "en"),
        )
        return {**user.to_json(), "marker": self._seq}

    async def _ctl_get_user(self, body: JSON, user_id: str) -> JSON:
        user = self.users.get(int(user_id))
        if user is None:
            raise FakeUsageError(f"no user {user_id}")
        return user.to_json()

    async def _ctl_text(self, body: JSON, user_id: str) -> int:
        return self.user_sends_text(
            int(user_id), str(body["text"]), reply_to_message_id=body.get("reply_to_message_id")
        )

    async def _ctl_sticker(self, body: JSON, user_id: str) -> int:
        return self.user_sends_sticker(int(user_id), body.get("emoji", "👍"))

    async def _ctl_photo(self, body: JSON, user_id: str) -> int:
        data = base64.b64decode(body["data_b64"])
        return self.user_sends_photo(int(user_id), data, caption=body.get("caption"))

    async def _ctl_document(self, body: JSON, user_id: str) -> int:
        return self.user_sends_document(
            int(user_id),
            base64.b64decode(body["data_b64"]),
            str(body["filename"]),
            mime_type=body.get("mime_type"),
            caption=body.get("caption"),
        )

    async def _ctl_press(self, body: JSON, user_id: str) -> int:
        message_id = int(body["message_id"])
        if body.get("forged"):
            return self.user_presses_forged(int(user_id), message_id, str(body["data"]))
        return self.user_presses(
            int(user_id), message_id, text=body.get("text"), data=body.get("data")
        )

    async def _ctl_block(self, body: JSON, user_id: str) -> bool:
        if body.get("blocked", True):
            self.block_user(int(user_id))
        else:
            self.unblock_user(int(user_id))
        return True

    async def _ctl_deactivate(self, body: JSON, user_id: str) -> bool:
        self.deactivate_user(int(user_id))
        return True

    async def _ctl_messages(self, body: JSON, chat_id: str) -> list[JSON]:
        include_deleted = str(body.get("include_deleted", "true")).lower() != "false"
        return self.bot_messages(int(chat_id), include_deleted=include_deleted)

    async def _ctl_wait(self, body: JSON) -> JSON:
        events = await self.wait_bot_events(
            int(body["chat_id"]),
            since=int(body.get("since", 0)),
            count=int(body.get("count", 1)),
            kinds=body.get("kinds", ("message", "edit")),
            timeout=float(body.get("timeout", 5.0)),
        )
        return {"events": events, "marker": self._seq}

    async def _ctl_file(self, body: JSON, file_id: str) -> bytes:
        stored = self._files.get(file_id)
        if stored is None:
            raise FakeUsageError(f"no file {file_id}")
        return stored.data

    async def _ctl_flood_stats(self, body: JSON) -> JSON:
        return self.flood_stats()

    async def _ctl_set_flood(self, body: JSON) -> JSON:
        if not body.get("enabled", True):
            self.set_flood_limits(None)
        else:
            fields = {f.name for f in dataclasses.fields(FloodLimits)}
            self.set_flood_limits(FloodLimits(**{k: v for k, v in body.items() if k in fields}))
        return self.flood_stats()

    async def _ctl_fail_next(self, body: JSON) -> bool:
        self.fail_next(
            str(body.get("method", "*")), int(body.get("status", 500)), int(body.get("count", 1))
        )
        return True

    async def _ctl_latency(self, body: JSON) -> bool:
        self.set_latency(float(body.get("seconds", 0.0)))
        return True

    async def _ctl_deliveries(self, body: JSON) -> list[JSON]:
        return list(self.webhook_deliveries)

    async def _ctl_callback_answers(self, body: JSON) -> list[JSON]:
        return list(self.callback_answers)

    async def _ctl_wait_callback_answer(self, body: JSON) -> JSON | None:
        return await self.wait_callback_answer(
            int(body["update_id"]), float(body.get("timeout", 5.0))
        )

    async def _ctl_commands(self, body: JSON) -> list[JSON]:
        return self.all_commands()

    async def _ctl_updates(self, body: JSON) -> list[JSON]:
        return self.pending_updates


def _scope_key(scope: Any) -> str:
    return json.dumps(scope if isinstance(scope, dict) else {"type": "default"}, sort_keys=True)


MAX_INLINE_BUTTONS = 100


def _validate_inline_keyboard(rows: Any) -> None:
    """Reject inline keyboards Telegram rejects, with its error texts."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request(
            "can't parse inline keyboard button: "
            'field "inline_keyboard" must be an Array of Arrays'
        )
    # Telegram refuses an inline keyboard of more than 100 buttons (an unpaged list of a large
    # organisation's branches would be one).
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise _bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not (
                    InlineKeyboardButtonLimit.MIN_CALLBACK_DATA
                    <= size
                    <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
                ):
                    raise _bad_request("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not str(button["url"]).startswith(("http://", "https://", "tg://")):
                    raise _bad_request("BUTTON_URL_INVALID")
            elif not any(action in button for action in _BUTTON_ACTIONS):
                raise _bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )


# --------------------------------------------------------------------------------------------
# Tornado handlers


def _log_request(handler: tornado.web.RequestHandler) -> None:
    logger.debug("%s %s -> %s", handler.request.method, handler.request.path, handler.get_status())


def _read_params(request: tornado.httputil.HTTPServerRequest) -> Params:
    values: JSON = {}
    for arguments in (request.query_arguments, request.body_arguments):
        for name, raw in arguments.items():
            values[name] = raw[-1].decode("utf-8", errors="replace")
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("application/json") and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise _bad_request("can't parse JSON encoded request body") from None
        if not isinstance(body, dict):
            raise _bad_request("JSON object expected in the request body")
        values.update(body)
    files = {
        name: UploadedFile(uploads[-1].filename, uploads[-1].body, uploads[-1].content_type)
        for name, uploads in request.files.items()
    }
    return Params(values, files)


class _JsonHandler(tornado.web.RequestHandler):
    def compute_etag(self) -> None:
        return None  # API answers are never cacheable

    def send_json(self, status: int, body: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))


class _BotApiHandler(_JsonHandler):
    def initialize(self, server: FakeTelegramServer) -> None:
        self.server = server

    async def get(self, *args: str, **kwargs: str) -> None:
        await self._handle(*args)

    async def post(self, *args: str, **kwargs: str) -> None:
        await self._handle(*args)

    async def _handle(self, token: str, method: str) -> None:
        try:
            params = _read_params(self.request)
        except ApiError as error:
            self.send_json(error.status, error.payload())
            return
        status, body = await self.server.handle_bot_request(token, method, params)
        self.send_json(status, body)


class _FileHandler(tornado.web.RequestHandler):
    def initialize(self, server: FakeTelegramServer) -> None:
        self.server = server

    def compute_etag(self) -> None:
        return None

    async def get(self, *args: str, **kwargs: str) -> None:
        token, path = args
        stored = self.server._files_by_path.get(path)
        if token != self.server.token or stored is None:
            self.set_status(404)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(ApiError(404, "Not Found").payload()))
            return
        self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        self.finish(stored.data)


class _ControlHandler(_JsonHandler):
    def initialize(self, server: FakeTelegramServer, actions: dict[str, _Action]) -> None:
        self.server = server
        self.actions = actions

    async def get(self, *args: str, **kwargs: str) -> None:
        query = {name: raw[-1].decode() for name, raw in self.request.query_arguments.items()}
        await self._run("GET", query, args)

    async def post(self, *args: str, **kwargs: str) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            self.send_json(400, {"ok": False, "description": "request body must be JSON"})
            return
        await self._run("POST", body if isinstance(body, dict) else {}, args)

    async def _run(self, verb: str, body: JSON, args: tuple[str, ...]) -> None:
        action = self.actions.get(verb)
        if action is None:
            self.send_json(405, {"ok": False, "description": f"{verb} not allowed here"})
            return
        try:
            with self.server._request_scope():
                result = await action(body, *args)
        except FakeUsageError as error:
            self.send_json(400, {"ok": False, "description": str(error)})
            return
        except (KeyError, TypeError, ValueError) as error:
            self.send_json(400, {"ok": False, "description": f"bad request: {error!r}"})
            return
        if isinstance(result, bytes):
            self.set_header("Content-Type", "application/octet-stream")
            self.finish(result)
            return
        self.send_json(200, {"ok": True, "result": result})
