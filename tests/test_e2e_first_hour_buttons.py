"""Stale buttons met in the first hour (issue 17): a step that moves on to a question waiting
for typed text takes the buttons off the question before it, so the chat does not pile up
buttons that no longer apply."""

from __future__ import annotations

import pytest

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeUser
from tests.support.activity import as_user, pin_clock


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock(monkeypatch)


async def _markup_of(user: FakeUser, message_id: int) -> object:
    [message] = [m for m in await user.messages() if m.message_id == message_id]
    return message.reply_markup


async def test_a_typed_answer_to_a_question_with_buttons_takes_them_off(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/log")
    kinds = await secretary.wait_reply()
    await secretary.press(kinds, "Party lecture")
    await secretary.press(await secretary.wait_edit(), "Done")
    when = await secretary.wait_edit()
    assert when.button_texts == ["Today", "Yesterday"]
    await secretary.send("11-18")  # typed instead of pressed
    topic = await secretary.wait_reply()
    assert "topic" in topic.text and topic.reply_markup is None
    # The date question's buttons were taken off before the topic was asked.
    assert await _markup_of(secretary, when.message_id) is None


async def test_a_pressed_button_leading_to_a_typed_question_takes_the_buttons_off(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    member = await as_user(client, demo, "李强")
    await member.send("/relink")
    kinds = await member.wait_reply()
    if not kinds.buttons:  # the outcome of an earlier request comes first
        kinds = await member.wait_reply()
    await member.press(kinds, "1. Report as a mobile member")
    year = await member.wait_reply()
    assert year.reply_markup is None  # a question that waits for typed text
    assert await _markup_of(member, kinds.message_id) is None
    # A question with buttons of its own keeps them until it is answered.
    await member.send("2005")
    where = await member.wait_reply()
    assert where.button_texts == ["Skip"]
    assert await _markup_of(member, where.message_id) is not None
