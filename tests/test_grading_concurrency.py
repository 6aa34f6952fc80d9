"""Two people deciding the same thing at the same moment decide it once, and tell once:
admins finalising one campaign, leaders marking one rectification item done."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import ReminderKind, Role
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeUser
from bot.grading import rectify, results, service
from handlers.grading_buttons import Finalise, MarkDone
from storage import grading_queries as gq
from storage.db import SessionFactory
from storage.models import AuditEntry
from storage.models_reminders import Reminder
from tests.support import grading

NOW = dt.datetime.now(dt.UTC)


async def _weak_item(db: SessionFactory) -> tuple[int, int]:
    """(campaign id, item id): DEMO-B3 graded weak, with one open rectification item."""
    campaign_id = await grading.start_campaign(db)
    await grading.submit_answers(db, campaign_id, "DEMO-B3", {"leader-committee": "no"})
    await grading.set_superior(db, campaign_id, "DEMO-B3", 30)
    async with db.begin() as session:
        campaign = await gq.campaign_by_id(session, campaign_id)
        assert campaign is not None
        await results.finalise(session, campaign=campaign, actor=None, now=NOW)
        found = await gq.assessment_by_id(
            session, (await grading.assessment(db, campaign_id, "DEMO-B3")).id
        )
        assert found is not None
        item = await rectify.add_rectification(
            session,
            assessment=found,
            problem="三会一课不经常",
            measures="每月固定主题党日",
            due_on=NOW.date(),
            responsible="周涛",
            actor=None,
        )
    return campaign_id, item.id


async def _audits(db: SessionFactory, action: str) -> int:
    async with db() as session:
        count = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
    return int(count or 0)


async def test_a_campaign_loaded_by_two_admins_is_finalised_once(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    first, second = db(), db()
    try:
        one = await gq.campaign_by_id(first, campaign_id)
        other = await gq.campaign_by_id(second, campaign_id)
        assert one is not None and other is not None  # both see it open
        await results.finalise(first, campaign=one, actor=None, now=NOW)
        await first.commit()
        with pytest.raises(service.CampaignError, match="already finalised"):
            await results.finalise(second, campaign=other, actor=None, now=NOW)
        await second.rollback()
    finally:
        await first.close()
        await second.close()
    assert await _audits(db, "grading.finalise") == 1


async def test_an_item_loaded_by_two_leaders_is_marked_done_once(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    _campaign_id, item_id = await _weak_item(db)
    first, second = db(), db()
    try:
        one = await gq.rectification_by_id(first, item_id)
        other = await gq.rectification_by_id(second, item_id)
        assert one is not None and other is not None
        assert await rectify.complete_rectification(first, item=one, actor=None, now=NOW)
        await first.commit()
        assert not await rectify.complete_rectification(second, item=other, actor=None, now=NOW)
        await second.rollback()
    finally:
        await first.close()
        await second.close()
    assert await _audits(db, "grading.rectification.done") == 1


async def _press_together(users: list[FakeUser], data: str) -> list[dict[str, object]]:
    """Each user presses the same button at once (on their own last message); the answers."""
    messages = [await user.last_message() for user in users]
    update_ids = [
        await user.press_data(message or 0, data)
        for user, message in zip(users, messages, strict=True)
    ]
    return list(
        await asyncio.gather(
            *(u.callback_answer(i) for u, i in zip(users, update_ids, strict=True))
        )
    )


async def test_two_admins_pressing_finalise_at_once_finalise_once_and_tell_once(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    await grading.add_person(db, "林副书记", 900002, role=Role.ADMIN, at="DEMO")
    admins = [
        await client.user(demo["林书记"].telegram_id, "林书记", language_code="en"),
        await client.user(900002, "林副书记", language_code="en"),
    ]
    for admin in admins:
        await admin.send("/grade")
        await admin.wait_reply()
    answers = await _press_together(admins, Finalise(campaign_id).data)
    refused = [a for a in answers if a.get("show_alert")]
    assert len(refused) == 1 and "already finalised" in str(refused[0]["text"])
    assert await _audits(db, "grading.finalise") == 1
    async with db() as session:
        news = await session.scalar(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.kind == ReminderKind.GRADING, Reminder.subject.like("grd-news:%"))
            .where(Reminder.dedupe_key.like("%:graded"))
        )
    # One piece of news per branch leader (three secretaries), not two.
    assert news == 3


async def test_two_leaders_marking_an_item_done_at_once_mark_it_once_and_tell_once(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    _campaign_id, item_id = await _weak_item(db)
    await grading.add_person(
        db, "周副书记", 900045, role=Role.DEPUTY, at="DEMO-B3", branch="DEMO-B3"
    )
    leaders = [
        await client.user(demo["周涛"].telegram_id, "周涛", language_code="en"),
        await client.user(900045, "周副书记", language_code="en"),
    ]
    member = await client.user(demo["孙丽"].telegram_id, "孙丽", language_code="en")
    for leader in leaders:
        await leader.send("/grade")
        await leader.wait_reply()
    answers = await _press_together(leaders, MarkDone(item_id).data)
    refused = [a for a in answers if a.get("show_alert")]
    assert len(refused) == 1 and "already done" in str(refused[0]["text"])
    assert await _audits(db, "grading.rectification.done") == 1
    # The members are asked for their check by the one press that marked it.
    assert "rectified" in (await member.wait_reply()).text
