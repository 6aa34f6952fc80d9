"""The activity log met in the first hour (issue 17): a quick log does not cut what it was
told silently, and refused answers say what is expected."""

from __future__ import annotations

import pytest

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from storage.db import SessionFactory
from tests.support.activity import activities, as_user, pin_clock


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock(monkeypatch)


async def test_a_quick_log_with_a_topic_too_long_says_so_and_asks_for_it(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "陈静")
    long_topic = "applicants " * 25  # 275 characters
    await secretary.send(f"committee meeting yesterday 7/9 topic: {long_topic}")
    said = (await secretary.wait_reply()).text
    assert "longer than 200 characters" in said
    assert "topic" in (await secretary.wait_reply()).text
    await secretary.send("New applicants")
    summary = await secretary.wait_reply()
    assert "Topic: New applicants" in summary.text
    await secretary.press(summary, "Save")
    await secretary.wait_edit()
    [activity] = await activities(db)
    assert activity.topic == "New applicants"


async def test_more_expected_than_on_the_roster_is_questioned_once(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/log")
    kinds = await secretary.wait_reply()
    await secretary.press(kinds, "Party lecture")
    await secretary.press(await secretary.wait_edit(), "Done")
    await secretary.press(await secretary.wait_edit(), "Yesterday")
    await secretary.wait_edit()
    await secretary.send("Studying the branch work regulations")
    assert "4 are on the roster" in (await secretary.wait_reply()).text
    await secretary.send("7/40")
    questioned = (await secretary.wait_reply()).text
    assert "roster has 4 people, fewer than the 40 expected" in questioned
    await secretary.send("7/40")  # confirmed: guests came
    step = await secretary.wait_reply()
    assert "Who was absent" in step.text
