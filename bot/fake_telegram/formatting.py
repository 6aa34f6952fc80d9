"""Telegram's text formatting as the fake applies it: HTML parse mode, entities, keyboards."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from telegram.constants import InlineKeyboardButtonLimit

from bot.fake_telegram.api import JSON, bad_request

PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
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
MAX_INLINE_BUTTONS = 100


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
    return _HtmlParser(source).run()


class _HtmlParser:
    """One pass over the source: text out, open tags on a stack, an entity as each closes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.out: list[str] = []
        self.length = 0  # of the text so far, in UTF-16 code units
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def run(self) -> tuple[str, list[JSON]]:
        source, n = self.source, len(self.source)
        while self.pos < n:
            ch = source[self.pos]
            if ch == "&" and self._entity():
                continue
            if ch != "<":
                self._emit(ch)
                self.pos += 1
            elif self.pos + 1 < n and source[self.pos + 1] == "/":
                self._end_tag()
            else:
                self._start_tag()
        if self.stack:
            name = self.stack[-1].name
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _at(self, pos: int) -> str:
        return f"at byte offset {len(self.source[:pos].encode())}"

    def _emit(self, piece: str) -> None:
        self.out.append(piece)
        self.length += utf16_length(piece)

    def _entity(self) -> bool:
        """Decode the character reference at pos, if it is one."""
        match = _ENTITY_RE.match(self.source, self.pos)
        if not match:
            return False
        decoded = _decode_entity(match.group(1))
        if decoded is None:
            raise HtmlParseError(f'Unsupported HTML entity "{match.group(0)}" {self._at(self.pos)}')
        self._emit(decoded)
        self.pos = match.end()
        return True

    def _end_tag(self) -> None:
        source, begin = self.source, self.pos
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag {self._at(begin)}")
        j = _name_end(source, begin + 2)
        end_name = source[begin + 2 : j].lower()
        j = _skip_space(source, j)
        if j == len(source) or source[j] != ">":
            raise HtmlParseError(f"Unclosed end tag {self._at(begin)}")
        tag = self.stack.pop()
        if end_name and end_name != tag.name:
            raise HtmlParseError(
                f'Unmatched end tag {self._at(begin)}, expected "</{tag.name}>", '
                f'found "</{end_name}>"'
            )
        _close_tag(tag, self.stack, self.length, self.entities)
        self.pos = j + 1

    def _start_tag(self) -> None:
        source, begin = self.source, self.pos
        j = _name_end(source, begin + 1)
        where = self._at(begin)
        if j == len(source):
            raise HtmlParseError(f"Unclosed start tag {where}")
        name = source[begin + 1 : j].lower()
        if name not in _TAG_ENTITY_TYPES:
            raise HtmlParseError(f'Unsupported start tag "{name}" {where}')
        attrs, j = _parse_attributes(source, j, name, where)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" {where}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise HtmlParseError(f'Tag "tg-emoji" must have attribute "emoji-id" {where}')
        self.stack.append(_OpenTag(name, attrs, self.length))
        self.pos = j + 1


def _name_end(source: str, j: int) -> int:
    """The index after a tag name starting at j (at whitespace, '>' or the end)."""
    n = len(source)
    while j < n and not source[j].isspace() and source[j] != ">":
        j += 1
    return j


def _skip_space(source: str, j: int) -> int:
    while j < len(source) and source[j].isspace():
        j += 1
    return j


def _parse_attributes(source: str, j: int, name: str, where: str) -> tuple[dict[str, str], int]:
    """Read a start tag's attributes from j; return them and the index of the closing '>'."""
    n = len(source)
    attrs: dict[str, str] = {}
    while True:
        j = _skip_space(source, j)
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
        j = _skip_space(source, j)
        if j == n or source[j] != "=":
            if name == "blockquote" and attribute == "expandable":
                attrs[attribute] = ""
                continue
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" {where}'
            )
        j = _skip_space(source, j + 1)
        if j == n:
            raise HtmlParseError(f'Unclosed start tag "{name}" {where}')
        attrs[attribute], j = _attribute_value(source, j, where)


def _attribute_value(source: str, j: int, where: str) -> tuple[str, int]:
    """A quoted (entities decoded) or bare (lower-cased) value at j, and the index after it."""
    if source[j] in "'\"":
        end = source.find(source[j], j + 1)
        if end < 0:
            raise HtmlParseError(f"Unclosed start tag {where}")
        value = _ENTITY_RE.sub(
            lambda m: _decode_entity(m.group(1)) or m.group(0), source[j + 1 : end]
        )
        return value, end + 1
    token = _NAME_TOKEN_RE.match(source, j)
    end = token.end() if token else j
    if end == len(source) or not (source[end].isspace() or source[end] == ">"):
        offset = len(source[:j].encode())
        raise HtmlParseError(f"Unexpected end of name token at byte offset {offset}")
    return source[j:end].lower(), end


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


def strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
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


def command_entities(text: str) -> list[JSON]:
    """The bot_command entity Telegram clients add to a message starting with /command."""
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"offset": 0, "length": utf16_length(match.group(0)), "type": "bot_command"}]


def validate_inline_keyboard(rows: Any) -> None:
    """Reject inline keyboards Telegram rejects, with its error texts."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            "can't parse inline keyboard button: "
            'field "inline_keyboard" must be an Array of Arrays'
        )
    # Telegram refuses an inline keyboard of more than 100 buttons (an unpaged list of a large
    # organisation's branches would be one).
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _validate_button(button)


def _validate_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode("utf-8"))
        low, high = (
            InlineKeyboardButtonLimit.MIN_CALLBACK_DATA,
            InlineKeyboardButtonLimit.MAX_CALLBACK_DATA,
        )
        if not low <= size <= high:
            raise bad_request("BUTTON_DATA_INVALID")
    elif "url" in button:
        if not str(button["url"]).startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    elif not any(action in button for action in _BUTTON_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
