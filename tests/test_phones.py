"""One phone parser for every place a phone is taken; ID card numbers are never taken."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.phones import InvalidPhone, PhoneProblem, looks_like_id_number, parse_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+86 138 0000 0000", "+86 138 0000 0000"),
        (" 0571-8888 1234 ", "0571-8888 1234"),
        ("", None),
    ],
)
def test_phone_numbers_are_taken(text: str, expected: str | None) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("11010519491231002X", PhoneProblem.ID_NUMBER),
        ("110105 19491231 0021", PhoneProblem.ID_NUMBER),
        ("110105491231002", PhoneProblem.ID_NUMBER),
        ("not a phone", PhoneProblem.NOT_A_PHONE),
        ("1234", PhoneProblem.NOT_A_PHONE),
        ("1" * 21, PhoneProblem.NOT_A_PHONE),
        ("+86--", PhoneProblem.NOT_A_PHONE),
    ],
)
def test_other_text_is_refused_with_its_reason(text: str, problem: PhoneProblem) -> None:
    with pytest.raises(InvalidPhone) as refused:
        parse_phone(text)
    assert refused.value.problem is problem


@given(st.text(max_size=40))
def test_nothing_taken_as_a_phone_looks_like_an_id_card(text: str) -> None:
    try:
        phone = parse_phone(text)
    except InvalidPhone:
        return
    assert phone is None or not looks_like_id_number(phone)
