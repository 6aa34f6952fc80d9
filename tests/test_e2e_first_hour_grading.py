"""Grading met in the first hour (issue 17): finalising early names who is still answering, and
a second campaign cannot hide a finalised grade."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeUser
from storage.db import SessionFactory
from storage.models_grading import GradingCampaign
from tests.support import grading


async def _user(client: FakeTelegramClient, demo: dict[str, DemoUser], name: str) -> FakeUser:
    return await client.user(demo[name].telegram_id, name, language_code="en")


async def test_finalising_before_the_deadline_names_the_branches_still_answering(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    await grading.submit_answers(db, campaign_id, "DEMO-B1", {"leader-committee": "yes"})
    admin = await _user(client, demo, "林书记")
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, f"#{campaign_id}: progress")
    progress = await admin.wait_reply()
    await admin.press(progress, "Finalise the grades")
    confirm = await admin.wait_edit()
    assert "before the deadline" in confirm.text
    assert "Second Party Branch" in confirm.text and "Office Party Branch" in confirm.text
    assert "First Party Branch" not in confirm.text
    assert confirm.button_texts == ["Finalise"]


async def test_finalising_after_the_deadline_asks_as_before(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    await grading.close_campaign(db, campaign_id)
    admin = await _user(client, demo, "林书记")
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, f"#{campaign_id}: progress")
    progress = await admin.wait_reply()
    await admin.press(progress, "Finalise the grades")
    confirm = await admin.wait_edit()
    assert "before the deadline" not in confirm.text
    assert confirm.button_texts == ["Finalise"]


async def test_a_second_campaign_for_the_same_subtree_and_year_is_refused(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    await grading.close_campaign(db, campaign_id)
    admin = await _user(client, demo, "林书记")
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, menu.button_texts[0])
    ask = await admin.wait_edit()
    await admin.press(ask, ask.button_texts[1])  # 30 days
    question = await admin.wait_edit()
    await admin.press(question, "No")
    summary = await admin.wait_edit()
    update_id = await admin.press(summary, summary.button_texts[0])
    refusal = await admin.callback_answer(update_id)
    assert f"#{campaign_id}" in refusal["text"] and "already" in refusal["text"]
    async with db() as session:
        campaigns = await session.scalar(select(func.count()).select_from(GradingCampaign))
    assert campaigns == 1
