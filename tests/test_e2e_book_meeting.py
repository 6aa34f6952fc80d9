"""A meeting called with /meet, held and logged from its prompt, appears in the record book
from /book with its time of day (an activity logged by hand has only its date)."""

from __future__ import annotations

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.i18n import Translator
from storage.db import SessionFactory
from tests.support.book import open_docx
from tests.support.meetings import call_meeting, has, until
from tests.support.reminders import Clock, at

# Building runs in a worker process that starts on first use: allow for a loaded machine.
BUILD_WAIT = 90.0


async def test_a_meeting_called_with_meet_is_recorded_with_its_time(
    bot_at: ZhibuApp,
    clock: Clock,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans")
    preview = await call_meeting(
        secretary,
        kinds=("committee_meeting",),
        when="2026-11-20 19:30",
        place="党员活动室",
        agenda="研究发展党员工作",
    )
    await secretary.press(preview, data="meet:send")
    invitation = await until(secretary, has("邀请您参加会议"), edits=False)
    clock.set(at("2026-11-20 19:35"))
    await secretary.press(invitation, data="mt:here:1")
    await secretary.wait_edit()
    # Once someone signed in, the caller's card offers to log it.
    card = await until(secretary, has("已签到（1）"))
    clock.set(at("2026-11-20 22:00"))
    await secretary.press(card, "📝 记录这次会议")
    summary = await until(secretary, has("议题"))
    await secretary.press(summary, data="lg:save")
    await until(secretary, has("已保存："))

    await secretary.skip_pending()
    await secretary.send("/book 2026")
    sent = await until(secretary, lambda m: m.document is not None, edits=False, within=BUILD_WAIT)
    assert sent.document is not None
    document = open_docx(sent.document.data)
    tr = Translator("zh_Hans")
    [record] = [
        {row.cells[0].text: row.cells[1].text for row in table.rows}
        for table in document.tables
        if table.rows[0].cells[0].text == tr._("Kind")
    ]
    assert record[tr._("Date")] == "2026年11月20日 19:30"
    assert record[tr._("Topic")] == "研究发展党员工作"
