"""Admin commands by buttons (issue 17): /report offers its reports as buttons."""

from __future__ import annotations

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import OrgKind
from bot.fake_telegram import FakeTelegramClient
from storage import queries
from storage.db import SessionFactory


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
        "Party dues",
        "Training and study hours",
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


async def test_an_admins_due_offers_the_branches_of_the_subtree(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    await admin.send("/lang")
    await admin.press(await admin.wait_reply(), "English")
    await admin.wait_edit()
    await admin.send("/due")
    picker = await admin.wait_reply()
    assert picker.button_texts == [
        "First Party Branch",
        "Second Party Branch",
        "Office Party Branch",
    ]
    await admin.press(picker, "Second Party Branch")
    assert "What is due: Second Party Branch" in (await admin.wait_edit()).text
    # Searchable: part of a name finds the branch.
    await admin.send("/due Office")
    assert "What is due: Office Party Branch" in (await admin.wait_reply()).text
    await admin.send("/due Party")
    assert len((await admin.wait_reply()).button_texts) == 3


async def test_a_large_subtree_comes_in_pages_in_due(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        root = await queries.org_by_code(session, "DEMO")
        for n in range(10):
            await queries.add_org_unit(
                session,
                code=f"DEMO-X{n:02d}",
                kind=OrgKind.BRANCH,
                name=f"新支部{n:02d}",
                parent=root,
            )
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="zh-hans")
    await admin.send("/due")
    first = await admin.wait_reply()
    assert len(first.button_texts) == 9 and first.button_texts[-1] == "▶"
    await admin.press(first, "▶")
    second = await admin.wait_edit()
    assert second.button_texts[-1] == "◀" and len(second.button_texts) == 6
    assert "新支部09" in second.button_texts
