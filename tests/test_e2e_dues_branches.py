"""A leader of several branches: /dues offers the branches (ten a page) before a collection,
and a collection offers the way back to them."""

from __future__ import annotations

import pytest

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import COMMITTEE, DemoUser
from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeTelegramClient
from storage import queries
from storage.db import SessionFactory
from tests.support.meetings import grant
from tests.support.reminders import at

NOW = at("2026-11-20 10:00")
EXTRA = [(f"DEMO-X{n:02d}", f"第{n}支部", f"Branch {n:02d}") for n in range(1, 11)]

WORDS = {
    "en": {
        "pick": "which branch's collection?",
        "first": "First Party Branch",
        "collection": "Party dues: Branch 10",
        "back": "‹ Other branches",
        "own": "My own dues",
    },
    "zh-hans": {
        "pick": "查看哪个支部的党费收缴？",
        "first": "第一党支部",
        "collection": "党费：第10支部",
        "back": "‹ 其他支部",
        "own": "我的党费",
    },
}


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings, "now", lambda self: NOW)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_a_leader_of_twelve_branches_picks_one_ten_a_page(
    language: str,
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    words = WORDS[language]
    async with db.begin() as session:
        committee = await queries.org_by_code(session, COMMITTEE)
        for code, name, name_en in EXTRA:
            await queries.add_org_unit(
                session,
                code=code,
                kind=OrgKind.BRANCH,
                name=name,
                name_en=name_en,
                parent=committee,
            )
    # 王芳, secretary of the first branch, also leads the second as deputy and ten more.
    await grant(db, "王芳", "DEMO-B2", Role.DEPUTY)
    for code, *_ in EXTRA:
        await grant(db, "王芳", code, Role.SECRETARY)
    leader = await client.user(demo["王芳"].telegram_id, "王芳", language_code=language)

    await leader.send("/dues")
    first = await leader.wait_reply()
    assert words["pick"] in first.text
    branches = [b for b in first.button_texts if b not in ("›", words["own"])]
    assert len(branches) == 10 and words["first"] in branches
    assert "›" in first.button_texts and words["own"] in first.button_texts
    await leader.press(first, "›")
    second = await leader.wait_edit()
    rest = [b for b in second.button_texts if b not in ("‹", words["own"])]
    assert len(rest) == 2 and "‹" in second.button_texts
    assert not set(rest) & set(branches)

    # A branch on the second page opens its collection, which leads back to the branches.
    last = "Branch 10" if language == "en" else "第10支部"
    assert last in rest
    await leader.press(second, last)
    collection = await leader.wait_edit()
    assert words["collection"] in collection.text
    await leader.press(collection, words["back"])
    again = await leader.wait_edit()
    assert words["pick"] in again.text


async def test_a_leader_of_one_branch_gets_its_collection_at_once(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    leader = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await leader.send("/dues")
    view = await leader.wait_reply()
    assert "Party dues: First Party Branch" in view.text
    assert "‹ Other branches" not in view.button_texts
