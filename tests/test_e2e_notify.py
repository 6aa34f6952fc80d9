"""/notify end to end through the fake Bot API: compose, preview, send, acknowledge."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from storage.db import SessionFactory
from storage.models_notices import DeliveryState, NoticeDelivery
from tests.support.notices import ADMIN, compose, demo_users, wait_final


async def test_notice_to_members_with_acknowledgement(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    summary = await compose(admin, "Meeting <b>tomorrow</b> & bring notes", ack=True)
    assert "Recipients: 12" in summary.text
    await admin.press(summary, "Confirm and send")
    final = await wait_final(admin)
    assert "Sent 12" in final.text
    member = users["李强"]
    copy = await member.wait_reply()
    assert "Meeting <b>tomorrow</b> & bring notes" in copy.text
    assert copy.button_texts == ["Acknowledge"]
    await member.press(copy, "Acknowledge")
    edited = await member.wait_edit()
    assert edited.button_texts[0].startswith("✓ Acknowledged")
    secretary = users["王芳"]
    copy = await secretary.wait_reply()
    assert copy.text.startswith("📢 示范街道党工委通知") and copy.button_texts == ["已阅"]
    async with db() as session:
        rows = list(await session.scalars(select(NoticeDelivery)))
    assert len(rows) == 12 and all(r.state is DeliveryState.SENT for r in rows)
    assert sum(r.acknowledged_at is not None for r in rows) == 1
