"""Typed callback data: building, parsing and the anchored patterns handlers use."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.app  # noqa: F401  (importing the application declares every button family)
from bot.enums import Role
from handlers.buttons import Button, Token, family_pattern


class Page(Button, prefix="tst:page"):
    org_id: int
    page: int | None = None


class Pick(Button, prefix="tst:pick"):
    role: Role
    mark: bool
    verb: Literal["ok", "no"]
    code: Annotated[str, Token(r"[0-9a-z-]{1,8}", "2026-q4")]


def test_data_round_trips_and_optional_fields_may_be_left_out() -> None:
    assert Page(7).data == "tst:page:7"
    assert Page(7, 2).data == "tst:page:7:2"
    assert Page.parse("tst:page:7") == Page(7)
    assert Page.parse("tst:page:7:2") == Page(7, 2)
    pick = Pick(Role.DEPUTY, True, "no", "2026-q4")
    assert pick.data == "tst:pick:deputy:1:no:2026-q4"
    assert Pick.parse(pick.data) == pick


@pytest.mark.parametrize(
    "data",
    [
        "tst:page:",
        "tst:page:x",
        "tst:page:7:",
        "tst:page:7:2:3",
        "xtst:page:7",
        "tst:page:7\n",
        "tst:page:-1",
        "tst:pick:king:1:no:a",
        "tst:pick:admin:2:no:a",
        "tst:pick:admin:1:maybe:a",
        "tst:pick:admin:1:ok:UPPER",
        "",
        None,
    ],
)
def test_malformed_or_forged_shapes_do_not_parse(data: str | None) -> None:
    assert Page.parse(data) is None and Pick.parse(data) is None


def test_patterns_are_anchored_and_the_64_byte_limit_is_checked() -> None:
    assert re.match(Page.pattern, "tst:page:7") and not re.match(Page.pattern, "tst:page:7:x")
    assert not re.match(Page.pattern, "tst:page:78" + "9" * 20)
    both = family_pattern(Page, Pick)
    assert re.match(both, "tst:page:1") and re.match(both, "tst:pick:member:0:ok:x")
    with pytest.raises(TypeError):
        _ = Page(10**13).data  # more digits than an id has: a bug, never user input


def test_every_family_has_a_well_formed_example() -> None:
    for family in Button.registry.values():
        example = family.example()
        assert family.parse(example.data) == example


def test_a_prefix_is_declared_once() -> None:
    with pytest.raises(TypeError):

        class Again(Button, prefix="tst:page"):
            org_id: int


@given(st.text(max_size=80))
def test_no_text_crashes_the_parser(data: str) -> None:
    parsed = Pick.parse(data)
    assert parsed is None or parsed.data == data
