"""End to end through the fake Bot API with a moving clock, in English and in Chinese: standards
imported; three months of payments ticked and imported; a member in arrears reminded every
month and shown to the secretary; the yearly account published; a member absent from
organisational life and dues for three months warned about once to the secretary, at five
months once to the admin, and taking part ends the episode; a mobile member away with an
accepted report is never warned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.dues.importing import import_dues_file
from bot.fake_telegram import FakeMessage, FakeTelegramClient, FakeUser
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from storage.db import SessionFactory
from tests.support.bot import running_bot
from tests.support.dues import add_member, arrived, away_as_mobile, meeting, write_csv
from tests.support.reminders import Clock, at

ZHAO = 900099
TEXTS = {
    "en": {
        "paid_none": "Paid: 0 of 5 members · 0.00 yuan of 56.50 yuan",
        "tick": "✔ Tick who paid",
        "li": "▫️ 李强 · 12.50 yuan",
        "li_paid": "✅ 李强 · 12.50 yuan",
        "wang": "▫️ 王芳 · 20.00 yuan",
        "all": "All remaining paid",
        "confirm": "Record August 2026 as paid for the 4 members who have not paid yet "
        "(44.00 yuan in all)?",
        "yes": "Yes, all 4 paid",
        "recorded": "Recorded: 4 members paid for August 2026.",
        "september": "Party dues for September 2026: 10.00 yuan, to be paid to your branch, "
        "First Party Branch.",
        "october": "Party dues for October 2026: 10.00 yuan",
        "november": "Party dues for November 2026: 10.00 yuan",
        "owed": "2 earlier months are not paid yet either.",
        "reminder": "Party dues for",
        "arrears": "张伟: 2 months (September 2026 to October 2026), 20.00 yuan",
        "own": "In arrears: 2 months, 20.00 yuan (September 2026, October 2026).",
        "due": "⏳ Party dues (November 2026): 1 of 5 paid, 7 days left · /dues",
        "digest": "the Party dues for November 2026 are not all recorded yet",
        "lapse": "刘洋 (First Party Branch) has had no organisational life and no Party dues "
        "for 3 whole months, since September 2026.",
        "talk": "Suggestion: have a heart-to-heart talk with them soon.",
        "lapse_any": "has had no organisational life and no Party dues",
        "lapse_admin": "for 5 whole months, since September 2026.",
        "told": "The branch secretary was told earlier.",
        "publish": "Publish the 2026 account",
        "publish_ask": "members who paid: 5 of 5; months in arrears: 10",
        "publish_yes": "Publish",
        "published": "Published: the 2026 account goes to 5 members.",
        "account": "First Party Branch: the Party dues account for 2026. Collected: 146.50 "
        "yuan. Members who paid: 5 of 5. Months in arrears: 10. No individual amounts are "
        "published.",
        "again": "since March 2027",
    },
    "zh-hans": {
        "paid_none": "已交：0 / 5 名党员 · 已收 0.00 元，应收 56.50 元",
        "tick": "✔ 勾选已交党员",
        "li": "▫️ 李强 · 12.50 元",
        "li_paid": "✅ 李强 · 12.50 元",
        "wang": "▫️ 王芳 · 20.00 元",
        "all": "其余全部已交",
        "confirm": "将尚未交纳的 4 名党员记为已交2026年8月党费（合计 44.00 元）吗？",
        "yes": "是，4 人均已交",
        "recorded": "已记录：4 名党员已交2026年8月党费。",
        "september": "请交纳2026年9月的党费：10.00 元，交至您所在的第一党支部。",
        "october": "请交纳2026年10月的党费：10.00 元",
        "november": "请交纳2026年11月的党费：10.00 元",
        "owed": "此前还有 2 个月的党费尚未交纳。",
        "reminder": "请交纳",
        "arrears": "张伟：2 个月（2026年9月至2026年10月），20.00 元",
        "own": "欠缴：2 个月，共 20.00 元（2026年9月, 2026年10月）。",
        "due": "⏳ 党费（2026年11月）：已交 1 / 5，还剩 7 天 · /dues",
        "digest": "2026年11月的党费尚未收齐",
        "lapse": "刘洋（第一党支部）自2026年9月起已连续 3 个整月未参加组织生活、未交纳党费。",
        "talk": "建议：尽快与其谈心谈话。",
        "lapse_any": "未参加组织生活、未交纳党费",
        "lapse_admin": "自2026年9月起已连续 5 个整月",
        "told": "此前已告知支部书记。",
        "publish": "公布 2026 年党费收缴情况",
        "publish_ask": "交纳党费的党员 5 / 5 名；欠缴月数合计 10",
        "publish_yes": "公布",
        "published": "已公布：2026 年党费收缴情况将发送给 5 名党员。",
        "account": "第一党支部：2026 年党费收缴情况。共收缴：146.50 元。交纳党费的党员：5 / 5 "
        "名。欠缴月数合计：10。不公布个人交纳金额。",
        "again": "自2027年3月起",
    },
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Every Settings.now() in the bot reads this clock: Monday 2026-08-03 10:00 in Shanghai."""
    moving = Clock(at("2026-08-03 10:00"))
    monkeypatch.setattr(Settings, "now", lambda self: moving())
    return moving


@pytest.fixture
async def bot_at(settings: Settings, clock: Clock) -> AsyncIterator[ZhibuApp]:
    """The real bot, started after the clock is in place."""
    async with running_bot(settings) as application:
        yield application


async def _texts(user: FakeUser) -> list[str]:
    return [message.text or "" for message in await user.messages()]


async def _count(user: FakeUser, marker: str) -> int:
    return sum(text.count(marker) for text in await _texts(user))


async def _at(clock: Clock, engine: ReminderEngine, when: str) -> None:
    """Move the clock, plan, and send what is due."""
    clock.set(at(when))
    await engine.plan()
    await engine.tick()


async def _dues(user: FakeUser) -> FakeMessage:
    await user.skip_pending()
    await user.send("/dues")
    return await user.wait_reply()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_a_year_of_dues_arrears_and_a_lapse(
    language: str,
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    settings: Settings,
    tmp_path: Path,
) -> None:
    t = TEXTS[language]
    engine: ReminderEngine = bot_at.bot_data[REMINDERS_KEY]
    await add_member(db, "DEMO-B1", "赵刚", ZHAO, language)
    await arrived(db, at("2026-01-01 10:00"))
    await away_as_mobile(db, "赵刚", "DEMO-B1")
    users = {
        name: await client.user(demo[name].telegram_id, name, language_code=language)
        for name in ("王芳", "李强", "张伟", "刘洋", "林书记")
    }
    users["赵刚"] = await client.user(ZHAO, "赵刚", language_code=language)
    secretary, admin = users["王芳"], users["林书记"]
    for user in users.values():  # each account takes the language of their Telegram
        await user.send("/help")
        await user.wait_reply()

    # August: the organisation department imports the standards; the secretary ticks one
    # member, then everyone remaining after a confirmation with the exact total.
    standards = write_csv(
        tmp_path / "standards.csv",
        ["姓名", "支部", "月缴纳额", "起始月份"],
        [
            ["王芳", "DEMO-B1", "20.00", "2026-08"],
            ["李强", "DEMO-B1", "12.50", "2026-08"],
            ["张伟", "DEMO-B1", "10", "2026-08"],
            ["刘洋", "DEMO-B1", "8", "2026-08"],
            ["赵刚", "DEMO-B1", "6", "2026-08"],
        ],
    )
    assert "5 created" in await import_dues_file(settings, "standards", standards)
    view = await _dues(secretary)
    assert t["paid_none"] in view.text
    await secretary.press(view, t["tick"])
    checklist = await secretary.wait_edit()
    await secretary.press(checklist, t["li"])
    checklist = await secretary.wait_edit()
    assert t["li_paid"] in checklist.button_texts
    await secretary.press(checklist, t["all"])
    confirm = await secretary.wait_edit()
    assert t["confirm"] in confirm.text
    await secretary.press(confirm, t["yes"])
    assert t["recorded"] in (await secretary.wait_edit()).text
    await meeting(db, "DEMO-B1", at("2026-08-20 10:00").date())

    # September: everyone owes the month; the collection day reminds them at nine. The
    # secretary ticks herself and 李强; 刘洋 and the mobile 赵刚 miss the meeting.
    await _at(clock, engine, "2026-09-05 09:30")
    assert t["september"] in (await _texts(users["张伟"]))[-1]
    view = await _dues(secretary)
    await secretary.press(view, t["tick"])
    checklist = await secretary.wait_edit()
    await secretary.press(checklist, t["wang"])
    checklist = await secretary.wait_edit()
    await secretary.press(checklist, t["li"])
    await secretary.wait_edit()
    await meeting(db, "DEMO-B1", at("2026-09-20 10:00").date(), {"刘洋": None, "赵刚": None})

    # October: the bank's export is imported (李强 pays October to December); importing it
    # again changes nothing. Only those who have not paid are reminded.
    clock.set(at("2026-10-02 10:00"))
    bank = write_csv(
        tmp_path / "bank.csv",
        ["name", "branch", "months", "amount"],
        [["王芳", "DEMO-B1", "2026-10", "20.00"], ["李强", "DEMO-B1", "2026-10~2026-12", "37.50"]],
    )
    assert "4 created" in await import_dues_file(settings, "payments", bank)
    assert "0 created, 0 updated, 4 unchanged" in await import_dues_file(settings, "payments", bank)
    li_before = await _count(users["李强"], t["reminder"])
    await _at(clock, engine, "2026-10-05 09:30")
    assert t["october"] in (await _texts(users["张伟"]))[-1]
    await meeting(db, "DEMO-B1", at("2026-10-20 10:00").date(), {"刘洋": None, "赵刚": None})

    # November: 张伟 is reminded a third time, with his arrears; 李强 paid ahead.
    await _at(clock, engine, "2026-11-05 09:30")
    last = (await _texts(users["张伟"]))[-1]
    assert t["november"] in last and t["owed"] in last
    assert await _count(users["张伟"], t["reminder"]) == 3
    assert await _count(users["李强"], t["reminder"]) == li_before
    await meeting(db, "DEMO-B1", at("2026-11-20 10:00").date(), {"刘洋": None, "赵刚": None})

    # The secretary sees who is in arrears and for how long; /due and the digest show the
    # month's collection; the member sees their own months.
    clock.set(at("2026-11-23 08:30"))
    await engine.plan()
    await _at(clock, engine, "2026-11-23 09:05")
    assert any(t["digest"] in text for text in await _texts(secretary))
    assert t["arrears"] in (await _dues(secretary)).text
    await secretary.skip_pending()
    await secretary.send("/due")
    assert t["due"] in (await secretary.wait_reply()).text
    assert t["own"] in (await _dues(users["张伟"])).text

    # December: three whole months without organisational life or dues: one warning about
    # 刘洋 to the secretary; none about 张伟 (he takes part) or 赵刚 (away as a mobile member).
    clock.set(at("2026-12-01 00:30"))
    await engine.plan()
    await _at(clock, engine, "2026-12-01 09:05")
    texts = await _texts(secretary)
    assert sum(t["lapse"] in text for text in texts) == 1
    assert sum(text.count(t["lapse_any"]) for text in texts) == 1
    assert any(t["talk"] in text for text in texts)
    assert await _count(admin, t["lapse_any"]) == 0

    # The yearly account: one confirmation, then every member gets totals only.
    clock.set(at("2026-12-10 10:00"))
    for user in users.values():
        await user.skip_pending()
    view = await _dues(secretary)
    await secretary.press(view, t["publish"])
    ask = await secretary.wait_edit()
    assert t["publish_ask"] in ask.text
    await secretary.press(ask, t["publish_yes"])
    assert t["published"] in (await secretary.wait_edit()).text
    for name in ("李强", "张伟", "刘洋", "赵刚"):
        account = await users[name].wait_reply()
        assert t["account"] in account.text
        assert "12.50" not in account.text and "李强" not in account.text

    # January: still the same episode, nobody told again; February: five months, the admin.
    await _at(clock, engine, "2027-01-01 09:05")
    clock.set(at("2027-02-01 00:30"))
    await engine.plan()
    await _at(clock, engine, "2027-02-01 09:05")
    assert sum(text.count(t["lapse_any"]) for text in await _texts(secretary)) == 1
    admin_texts = await _texts(admin)
    assert sum(t["lapse_admin"] in text for text in admin_texts) == 1
    assert any(t["told"] in text for text in admin_texts)

    # He takes part in February: the episode ends; nothing in March, April or May; a new gap
    # of three whole months (March to May) is a new episode, warned once in June.
    await meeting(db, "DEMO-B1", at("2027-02-10 10:00").date(), {"赵刚": None})
    for when in ("2027-03-01 09:05", "2027-04-01 09:05", "2027-05-01 09:05"):
        await _at(clock, engine, when)
        # The others keep taking part; 刘洋 stays away again.
        day = at(when).date().replace(day=20)
        await meeting(db, "DEMO-B1", day, {"刘洋": None, "赵刚": None})
    assert sum(text.count(t["lapse_any"]) for text in await _texts(secretary)) == 1
    assert sum(text.count(t["lapse_any"]) for text in await _texts(admin)) == 1
    await _at(clock, engine, "2027-06-01 09:05")
    texts = await _texts(secretary)
    assert sum(text.count(t["lapse_any"]) for text in texts) == 2
    assert any(t["again"] in text for text in texts)
    # Nobody was ever warned about the mobile member away with an accepted report.
    for user in (secretary, admin):
        assert not any("赵刚" in text and t["lapse_any"] in text for text in await _texts(user))
