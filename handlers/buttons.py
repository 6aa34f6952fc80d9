"""Typed callback data: one small codec per button family.

A family declares its prefix and typed fields once; the same class builds the data (checked
against Telegram's 64 bytes), gives its handler the anchored `pattern=`, and parses and
validates what comes back, so a handler never splits strings by hand:

    class InviteOrg(Button, prefix="inv:org"):
        org_id: int

    keyboard([[(label, InviteOrg(org.id).data)]])
    CallbackQueryHandler(org_pressed, pattern=InviteOrg.pattern)
    button = InviteOrg.read(update)          # or Refused: forged or stale data

Field types: `int` (non-negative, up to 12 digits), `bool` (0/1), a `StrEnum` (its values),
`Literal["a", "b"]` (those words), `str` (letters, digits, `_` and `-`, up to 32) and
`Annotated[str, Token(regex)]` for another alphabet. Trailing fields with a default of None
are optional in the data. Whatever parses is only well formed: the object an id names must
still be loaded and checked against the sender's role and scope.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import (
    Any,
    ClassVar,
    Literal,
    Self,
    dataclass_transform,
    get_args,
    get_origin,
    get_type_hints,
)

from telegram import Update
from telegram.constants import InlineKeyboardButtonLimit

from handlers.common import Refused

MAX_DATA_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
_INT = r"\d{1,12}"
_WORD = r"[A-Za-z0-9_-]{1,32}"
_NAMED_GROUP = re.compile(r"\?P<\w+>")


@dataclass(frozen=True, slots=True)
class Token:
    """The alphabet of a `str` field, as a regex without anchors or groups, and one value it
    matches (for tests that build every family's buttons)."""

    regex: str
    example: str


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    regex: str
    decode: Callable[[str], Any]
    encode: Callable[[Any], str]
    optional: bool
    example: Any


def _codec(name: str, hint: Any, optional: bool) -> _Field:
    """How one annotated field is written, matched and read back."""
    if get_origin(hint) is typing.Annotated:
        base, *extras = get_args(hint)
        token = next((e for e in extras if isinstance(e, Token)), None)
        if base is not str or token is None:
            raise TypeError(f"{name}: only Annotated[str, Token(...)] is supported")
        return _Field(name, token.regex, str, str, optional, token.example)
    if get_origin(hint) in (types.UnionType, typing.Union):
        inner = [a for a in get_args(hint) if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"{name}: a field is one type, or one type or None")
        return _codec(name, inner[0], True)
    if hint is bool:
        return _Field(name, "[01]", lambda s: s == "1", lambda v: "1" if v else "0", optional, True)
    if hint is int:
        return _Field(name, _INT, int, str, optional, 1)
    if hint is str:
        return _Field(name, _WORD, str, str, optional, "x")
    if get_origin(hint) is Literal:
        words = [str(a) for a in get_args(hint)]
        return _Field(name, "|".join(map(re.escape, words)), str, str, optional, words[0])
    if isinstance(hint, type) and issubclass(hint, enum.StrEnum):
        values = [m.value for m in hint]
        return _Field(name, "|".join(map(re.escape, values)), hint, str, optional, hint(values[0]))
    raise TypeError(f"{name}: unsupported button field type {hint!r}")


@dataclass_transform(frozen_default=True)
class Button:
    """Base of the button families: `class X(Button, prefix="xx:yy"): field: type`; each
    family is a frozen dataclass."""

    prefix: ClassVar[str]
    pattern: ClassVar[str]
    _fields: ClassVar[tuple[_Field, ...]]
    _regex: ClassVar[re.Pattern[str]]
    # Every family, by prefix: the forged-button test checks each has a case.
    registry: ClassVar[dict[str, type[Button]]] = {}

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not re.fullmatch(r"[a-z]{1,6}(:[a-z]{1,8})*", prefix):
            raise TypeError(f"button prefix {prefix!r}: short lower-case words joined by ':'")
        if prefix in Button.registry:
            raise TypeError(f"button prefix {prefix!r} is declared twice")
        dataclass(frozen=True)(cls)
        hints = get_type_hints(cls, include_extras=True)
        fields = [
            _codec(f.name, hints[f.name], f.default is None)
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        ]
        regex, closing, seen_optional = re.escape(prefix), "", False
        for f in fields:
            if f.optional:
                seen_optional = True
                regex += f"(?::(?P<{f.name}>{f.regex})"
                closing += ")?"
            elif seen_optional:
                raise TypeError(f"{cls.__name__}: optional fields must come last")
            else:
                regex += f":(?P<{f.name}>{f.regex})"
        cls.prefix = prefix
        cls._fields = tuple(fields)
        cls.pattern = f"^{regex}{closing}$"
        cls._regex = re.compile(cls.pattern)
        Button.registry[prefix] = cls

    @property
    def data(self) -> str:
        """The callback data; at most 64 bytes, or a TypeError (a bug, never user input)."""
        parts = [self.prefix]
        for f in self._fields:
            value = getattr(self, f.name)
            if value is None:
                break
            parts.append(f.encode(value))
        data = ":".join(parts)
        if len(data.encode()) > MAX_DATA_BYTES or not self._regex.fullmatch(data):
            raise TypeError(f"{type(self).__name__}: {data!r} is not valid callback data")
        return data

    @classmethod
    def parse(cls, data: str | None) -> Self | None:
        """The button the data describes, or None when it is not well formed."""
        match = cls._regex.fullmatch(data or "")
        if match is None:
            return None
        values = {}
        for f in cls._fields:
            raw = match.group(f.name)
            values[f.name] = None if raw is None else f.decode(raw)
        try:
            return cls(**values)
        except (TypeError, ValueError):
            return None

    @classmethod
    def example(cls) -> Self:
        """A well-formed button of this family (its ids name nothing in particular)."""
        return cls(**{f.name: f.example for f in cls._fields})

    @classmethod
    def read(cls, update: Update) -> Self:
        """The pressed button of this family; `Refused` when its data is not well formed."""
        query = update.callback_query
        button = cls.parse(query.data if query is not None else None)
        if button is None:
            raise Refused()
        return button


def family_pattern(*families: type[Button]) -> str:
    """One anchored pattern accepting any of several families (a handler for several verbs)."""
    # Named groups may repeat across families; one regex may not define a name twice.
    bare = (_NAMED_GROUP.sub("", family.pattern) for family in families)
    return "|".join(f"(?:{pattern})" for pattern in bare)
