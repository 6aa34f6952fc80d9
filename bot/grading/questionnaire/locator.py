"""Finding the line of a key in questionnaire TOML, so every problem names its line.

tomllib keeps no positions, so the text that tomllib already accepted is scanned again; the
scanner only needs to follow valid TOML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")

# A key path such as ("items", 3, "points").
Path_ = tuple[str | int, ...]


class Locator:
    """Map key paths such as ``("items", 3, "points")`` to the line that defines them."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1
        self._aot: dict[Path_, int] = {}
        self.lines: dict[Path_, int] = {}
        self._scan()

    def line_of(self, path: Path_) -> int:
        """Return the line of the longest known prefix of ``path`` (1 if none)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def _peek(self, n: int = 1) -> str:
        return self._text[self._pos : self._pos + n]

    def _advance(self, n: int = 1) -> None:
        self._line += self._text.count("\n", self._pos, self._pos + n)
        self._pos += n

    def _at_end(self) -> bool:
        return self._pos >= len(self._text)

    def _skip(self, newlines: bool) -> None:
        while not self._at_end():
            c = self._text[self._pos]
            if c in " \t" or (newlines and c in "\r\n"):
                self._advance()
            elif c == "#":
                end = self._text.find("\n", self._pos)
                self._advance((len(self._text) if end < 0 else end) - self._pos)
            else:
                return

    def _record(self, path: Path_) -> None:
        for i in range(1, len(path)):
            self.lines.setdefault(path[:i], self._line)
        self.lines.setdefault(path, self._line)

    def _string(self) -> str:
        start = self._pos
        for quote in ('"""', "'''"):
            if self._peek(3) == quote:
                self._advance(3)
                while not self._at_end() and self._peek(3) != quote:
                    self._advance(2 if quote == '"""' and self._peek() == "\\" else 1)
                self._advance(3)
                # Up to two quotes may end the content right before the delimiter.
                for _ in range(2):
                    if self._peek() == quote[0]:
                        self._advance()
                return self._text[start + 3 : self._pos - 3]
        quote = self._peek()
        self._advance()
        while not self._at_end() and self._peek() not in (quote, "\n"):
            self._advance(2 if quote == '"' and self._peek() == "\\" else 1)
        self._advance()
        return self._text[start + 1 : self._pos - 1]

    def _key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self._skip(newlines=False)
            if self._peek() in ('"', "'"):
                parts.append(self._string())
            else:
                match = _BARE_KEY.match(self._text, self._pos)
                token = match.group() if match else ""
                parts.append(token)
                self._advance(max(len(token), 1))
            self._skip(newlines=False)
            if self._peek() != ".":
                return parts
            self._advance()

    def _value(self, path: Path_) -> None:
        c = self._peek()
        if c in ('"', "'"):
            self._string()
        elif c == "[":
            self._array(path)
        elif c == "{":
            self._inline_table(path)
        else:
            while not self._at_end() and self._peek() not in ",]}\r\n#":
                self._advance()

    def _array(self, path: Path_) -> None:
        self._advance()
        index = 0
        while True:
            self._skip(newlines=True)
            if self._at_end() or self._peek() == "]":
                self._advance()
                return
            self._record((*path, index))
            self._value((*path, index))
            self._skip(newlines=True)
            if self._peek() == ",":
                self._advance()
                index += 1

    def _inline_table(self, path: Path_) -> None:
        self._advance()
        while True:
            self._skip(newlines=True)
            if self._at_end() or self._peek() == "}":
                self._advance()
                return
            sub = (*path, *self._key())
            self._record(sub)
            self._advance()  # "="
            self._skip(newlines=False)
            self._value(sub)
            self._skip(newlines=True)
            if self._peek() == ",":
                self._advance()

    def _resolve(self, keys: Sequence[str]) -> Path_:
        resolved: Path_ = ()
        for key in keys:
            resolved = (*resolved, key)
            if resolved in self._aot:
                resolved = (*resolved, self._aot[resolved])
        return resolved

    def _scan(self) -> None:
        table: Path_ = ()
        while True:
            self._skip(newlines=True)
            if self._at_end():
                return
            if self._peek(2) == "[[":
                self._advance(2)
                keys = self._key()
                self._advance(2)
                name = (*self._resolve(keys[:-1]), keys[-1])
                index = self._aot.get(name, -1) + 1
                self._aot[name] = index
                table = (*name, index)
                self._record(table)
            elif self._peek() == "[":
                self._advance()
                keys = self._key()
                self._advance()
                table = self._resolve(keys)
                self._record(table)
            else:
                path = (*table, *self._key())
                self._record(path)
                self._advance()  # "="
                self._skip(newlines=False)
                self._value(path)


# --- validation ----------------------------------------------------------------------------------
