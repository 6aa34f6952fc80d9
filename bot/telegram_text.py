"""Telegram's text limits: measuring a reply as Telegram counts it and cutting one that is too
long into messages it accepts."""

from __future__ import annotations

import html
import re

from telegram.constants import MessageLimit


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def fits_one_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> bool:
    """Whether Telegram takes the HTML text as one message."""
    return _shown_length(text) <= limit


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Cut a long reply into messages Telegram accepts, at line breaks.

    Reports and lists grow with the organisation; one of them passing Telegram's limit must
    arrive in parts, not fail. Our HTML never spans lines, so every part stays well-formed.
    What is measured is what Telegram counts: the text once tags and entities are parsed.
    """
    if fits_one_message(text, limit):
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while _shown_length(line) > limit:
            # One overlong line (a user's long text): cut at the last space that fits (in raw
            # HTML, which is never shorter than what it shows).
            head = _fitting_prefix(line, limit)
            cut = head.rfind(" ")
            if not _visible(head[: max(cut, 0)]):
                cut = _outside_markup(head)
            if not _visible(head[:cut]):
                cut = len(head)  # a tag longer than a message: progress matters more
            if current:
                parts.append(current)
                current = ""
            # Tags open at the cut are closed at the end of this part and opened again in the
            # next, so that each part is valid HTML on its own.
            opened = _open_tags(line[:cut])
            parts.append(line[:cut] + "".join(f"</{name}>" for name, _ in reversed(opened)))
            line = "".join(tag for _, tag in opened) + line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if _shown_length(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = line
    if current or not parts:
        parts.append(current)
    return [part for part in parts if _visible(part)] or [text[:limit]]


def _shown_length(html_text: str) -> int:
    return utf16_length(html.unescape(_TAG.sub("", html_text)))


def _visible(html_text: str) -> bool:
    """Whether there is text once the tags are gone (Telegram refuses an empty message)."""
    return bool(_TAG.sub("", html_text).strip())


_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")


def _open_tags(fragment: str) -> list[tuple[str, str]]:
    """The tags left open at the end of the fragment, outermost first: (name, opening tag)."""
    stack: list[tuple[str, str]] = []
    for match in _TAG.finditer(fragment):
        closing, name = match.group(1), match.group(2).lower()
        if not closing:
            stack.append((name, match.group(0)))
        elif stack and stack[-1][0] == name:
            stack.pop()
    return stack


def _outside_markup(head: str) -> int:
    """Where to cut a line with no space in it (Chinese text) without splitting a tag or an
    entity such as &amp;."""
    cut = len(head)
    opened = head.rfind("<")
    if opened > head.rfind(">"):
        cut = opened
    entity = head.rfind("&", 0, cut)
    if entity > head.rfind(";", 0, cut):
        cut = entity
    return cut if cut > 0 else len(head)


def _fitting_prefix(line: str, limit: int) -> str:
    size = 0
    for index, char in enumerate(line):
        size += 2 if ord(char) > 0xFFFF else 1
        if size > limit:
            return line[:index]
    return line
