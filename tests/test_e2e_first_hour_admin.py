"""Admin commands by buttons (issue 17): /report offers its reports as buttons."""

from __future__ import annotations

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient


async def test_report_offers_its_reports_as_buttons(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    await admin.send("/report")
    menu = await admin.wait_reply()
    assert menu.button_texts == [
        "Compliance this month",
        "Calendar rules",
        "Grading",
        "Mobile and lost-contact members",
        "Notices",
    ]
    await admin.press(menu, "Calendar rules")
    assert "Calendar rules for" in (await admin.wait_reply()).text
    await admin.press(menu, "Grading")
    assert "No campaign yet." in (await admin.wait_reply()).text
    await admin.press(menu, "Compliance this month")
    replies = await admin.wait_replies(3)
    assert any(m.document is not None for m in replies)


async def test_a_rule_is_changed_by_buttons_in_the_readers_language(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="zh-hans")
    await admin.send("/report rules")
    rules = await admin.wait_reply()
    assert "lecture" not in rules.text and "talk" not in rules.text  # no rule ids
    assert "4. 党课" in rules.button_texts
    await admin.press(rules, "4. 党课")
    changes = await admin.wait_edit()
    assert "每半年" in changes.button_texts
    await admin.press(changes, "每半年")
    saved = await admin.wait_edit()
    assert "已保存" in saved.text and "4. 党课：每半年至少 1 次" in saved.text, saved.text
