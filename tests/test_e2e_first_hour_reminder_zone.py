"""A person sets their own time zone in /reminders (issue 17; the README promises it)."""

from __future__ import annotations

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from storage import queries
from storage.db import SessionFactory


async def test_a_member_sets_their_own_time_zone_in_reminders(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    member = await client.user(demo["张伟"].telegram_id, "张伟", language_code="en")
    await member.send("/lang")
    await member.press(await member.wait_reply(), "English")
    await member.wait_edit()
    await member.send("/reminders")
    settings = await member.wait_reply()
    assert "Quiet hours: 22:00–08:00 (Asia/Shanghai)" in settings.text
    await member.press(settings, "Time zone: Asia/Shanghai")
    zones = await member.wait_edit()
    assert "Choose your time zone" in zones.text and "• Asia/Shanghai" in zones.button_texts
    await member.press(zones, "Europe/Berlin")
    settings = await member.wait_edit()
    assert "Quiet hours: 22:00–08:00 (Europe/Berlin)" in settings.text
    assert "Time zone: Europe/Berlin" in settings.button_texts
    async with db() as session:
        account = await queries.account_by_telegram_id(session, member.user_id)
    assert account is not None and account.time_zone == "Europe/Berlin"
    await member.send("/me")
    assert "time zone: Europe/Berlin" in (await member.wait_reply()).text
