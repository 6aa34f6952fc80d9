"""The checklist of a branch of twelve: ten members a page, a tick keeps its page, and "all
remaining paid" after a confirmation covers the members of every page."""

from __future__ import annotations

import pytest

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.dues.ledger import set_standard
from bot.fake_telegram import FakeMessage, FakeTelegramClient
from bot.rules.dues import month_index
from storage.db import SessionFactory
from tests.support.dues import add_member, in_force_total, ledger_rows, person
from tests.support.reminders import at

NOW = at("2026-11-20 10:00")
NOV = month_index(2026, 11)
NEW = [f"成员{n:02d}" for n in range(1, 9)]
ROSTER = ("王芳", "李强", "张伟", "刘洋", *NEW)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings, "now", lambda self: NOW)


def _members(message: FakeMessage) -> list[str]:
    """The names on a checklist page (▫️ to tick, ✅ paid)."""
    return [
        label.split(" ", 1)[1].split(" · ")[0]
        for label in message.button_texts
        if label.startswith(("▫️", "✅"))
    ]


async def test_the_checklist_shows_ten_a_page_and_all_remaining_covers_every_page(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    for n, name in enumerate(NEW):
        await add_member(db, "DEMO-B1", name, 900_200 + n)
    async with db.begin() as session:
        for name in ROSTER:
            member = await person(db, name)
            await set_standard(
                session, person=member, from_month=NOV, fen=1000, actor=None, now=NOW
            )
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await secretary.send("/dues")
    view = await secretary.wait_reply()
    await secretary.press(view, "✔ Tick who paid")
    first = await secretary.wait_edit()
    assert "page 1 of 2" in first.text
    assert len(_members(first)) == 10
    assert "›" in first.button_texts and "‹" not in first.button_texts
    await secretary.press(first, "›")
    second = await secretary.wait_edit()
    assert "page 2 of 2" in second.text and "‹" in second.button_texts
    on_second = _members(second)
    assert len(on_second) == 2
    assert sorted(_members(first) + on_second) == sorted(ROSTER)

    # A tick on the second page records that member and shows the second page again.
    await secretary.press(second, next(b for b in second.button_texts if on_second[0] in b))
    ticked = await secretary.wait_edit()
    assert "page 2 of 2" in ticked.text
    assert f"✅ {on_second[0]} · 10.00 yuan" in ticked.button_texts

    await secretary.press(ticked, "All remaining paid")
    confirm = await secretary.wait_edit()
    assert (
        "Record November 2026 as paid for the 11 members who have not paid yet (110.00 yuan in "
        "all)?" in confirm.text
    )
    await secretary.press(confirm, "Yes, all 11 paid")
    assert "Recorded: 11 members paid for November 2026." in (await secretary.wait_edit()).text
    _standards, payments = await ledger_rows(db)
    assert sorted(p.month for p in payments) == [NOV] * 12
    assert len({p.person_id for p in payments}) == 12
    assert await in_force_total(db) == 12_000
