"""Rough edges a new user meets in the first hour (issue 17), each through the real application
and the fake Bot API."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient


async def test_a_transfer_whose_branch_search_finds_nothing_says_so_and_stays(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    member = await client.user(demo["张伟"].telegram_id, "张伟", language_code="en")
    await member.send("/relink")
    kinds = await member.wait_reply()
    await member.press(kinds, "2. Transfer my ties")
    await member.wait_reply()  # year of joining
    await member.send("2005")
    await member.wait_reply()  # where now
    await member.send("Shenzhen")
    employer = await member.wait_reply()
    await member.press(employer, "Skip")
    phone = await member.wait_reply()
    await member.press(phone, "Skip")
    await member.wait_reply()  # the receiving branch
    await member.send("no such branch anywhere")
    nothing = await member.wait_reply()
    assert "No branch matches" in nothing.text
    # Still on the question: a branch that exists is found next.
    await member.send("DEMO-B3")
    found = await member.wait_reply()
    assert any(label.startswith("DEMO-B3") for label in found.button_texts)


def test_no_message_counts_with_a_parenthesised_plural() -> None:
    """ "3 branch(es)" reads badly and has no Chinese equivalent: counts go through ngettext."""
    template = Path(__file__).resolve().parents[1] / "locales" / "messages.pot"
    with template.open("rb") as handle:
        catalog = read_po(handle)
    bad = [m.id for m in catalog if m.id and re.search(r"\w\((?:s|es)\)", str(m.id))]
    assert bad == []


async def test_me_names_the_branch_and_the_language_in_the_readers_words(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await secretary.send("/lang")
    await secretary.press(await secretary.wait_reply(), "English")
    await secretary.wait_edit()
    await secretary.send("/me")
    card = (await secretary.wait_reply()).text
    assert "Roles: branch secretary of First Party Branch, member" in card
    assert "DEMO-B1" not in card
    await secretary.send("/lang")
    await secretary.press(await secretary.wait_reply(), "中文（简体）")
    await secretary.wait_edit()
    await secretary.send("/me")
    card = (await secretary.wait_reply()).text
    assert "第一党支部支部书记、党员" in card and "语言：中文" in card
    assert "DEMO" not in card and "English" not in card
