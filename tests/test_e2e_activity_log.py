"""/log through the fake Bot API: the guided flow, quick logs, late entries, cancelling."""

import datetime as dt

import pytest

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from storage import queries
from storage.db import SessionFactory
from tests.support.activity import activities, as_user, org_today, pin_clock
from tests.support.bot import running_bot

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's clock stands still (a run across midnight in Shanghai must not matter)."""
    pin_clock(monkeypatch)


async def test_guided_flow_in_english(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/log")
    kinds = await secretary.wait_reply()
    assert "What did the branch hold?" in kinds.text
    await secretary.press(kinds, "Done")
    answer = await secretary.callback_answer(await secretary.press(kinds, "Done"))
    assert "at least one" in answer["text"]
    await secretary.press(kinds, "branch general meeting")
    kinds = await secretary.wait_edit()
    assert "✓ branch general meeting" in kinds.button_texts
    await secretary.press(kinds, "Party lecture")
    kinds = await secretary.wait_edit()
    await secretary.press(kinds, "Done")
    date = await secretary.wait_edit()
    assert "When was it?" in date.text and date.button_texts == ["Today", "Yesterday"]
    await secretary.press(date, "Yesterday")
    topic = await secretary.wait_edit()
    assert "topic" in topic.text
    await secretary.send("Studying the branch work regulations")
    attendance = await secretary.wait_reply()
    assert "4 are on the roster" in attendance.text
    assert attendance.button_texts == ["All 4 present"]
    await secretary.send("5/4")
    assert "no more than expected" in (await secretary.wait_reply()).text
    await secretary.send("3")
    absent = await secretary.wait_reply()
    assert "Who was absent" in absent.text
    assert set(absent.button_texts) == {"刘洋", "张伟", "李强", "王芳", "Done"}
    await secretary.press(absent, "张伟")
    reason = await secretary.wait_edit()
    await secretary.press(reason, "sick leave")
    absent = await secretary.wait_edit()
    assert "张伟 (sick leave)" in absent.text and "张伟" not in absent.button_texts
    await secretary.press(absent, "Done")
    place = await secretary.wait_edit()
    assert "Where" in place.text
    await secretary.send("Room 3")
    minutes = await secretary.wait_reply()
    await secretary.press(minutes, "Skip")
    files = await secretary.wait_edit()
    await secretary.send_photo(PNG)
    files = await secretary.wait_reply()
    assert "Attached so far: 1" in files.text
    await secretary.send_document(b"minutes", "minutes.txt", mime_type="text/plain")
    files = await secretary.wait_reply()
    await secretary.press(files, "Done")
    summary = await secretary.wait_edit()
    yesterday = org_today() - dt.timedelta(days=1)
    assert "Kind: branch general meeting, Party lecture" in summary.text
    assert "Attendance: 3 present out of 4 expected" in summary.text
    assert "Absent: 张伟 (sick leave)" in summary.text
    assert "Photos and documents: 2" in summary.text
    assert "logged late" not in summary.text
    await secretary.press(summary, "Save")
    saved = await secretary.wait_edit()
    assert "Saved: branch general meeting, Party lecture" in saved.text
    [activity] = await activities(db)
    assert activity.kinds == ["general_meeting", "lecture"]
    assert activity.day == yesterday and activity.present == 3 and activity.expected == 4
    assert activity.place == "Room 3" and activity.minutes is None and not activity.late
    assert [a["type"] for a in activity.attachments] == ["photo", "document"]
    assert activity.absences[0]["name"] == "张伟" and activity.absences[0]["reason"] == "sick"
    async with db() as session:
        entries = await queries.audit_entries(session, action="activity.logged")
    assert [e.target_id for e in entries] == [activity.id]
    # The attachments are kept as Telegram file ids and can be sent again from the log.
    await secretary.send("/activities")
    listing = await secretary.wait_reply()
    await secretary.press(listing, listing.button_texts[0])
    view = await secretary.wait_edit()
    await secretary.press(view, "Show photos and documents")
    photo, document = await secretary.wait_replies(2)
    assert photo.photo is not None and photo.photo.data == PNG
    assert document.document is not None and document.document.data == b"minutes"


async def test_quick_log_in_english_saves_after_confirmation(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "陈静")
    await secretary.send("committee meeting yesterday 7/9 topic: new applicants")
    summary = await secretary.wait_reply()
    assert "Kind: branch committee meeting" in summary.text
    assert "Attendance: 7 present out of 9 expected" in summary.text
    assert "Topic: new applicants" in summary.text
    assert await activities(db) == []  # nothing is saved before the secretary confirms
    await secretary.press(summary, "Save")
    assert "Saved: branch committee meeting" in (await secretary.wait_edit()).text
    [activity] = await activities(db)
    assert activity.kinds == ["committee_meeting"] and activity.topic == "new applicants"
    assert activity.day == org_today() - dt.timedelta(days=1)
    assert (activity.present, activity.expected) == (7, 9)


async def test_quick_log_asks_for_what_it_could_not_read(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "周涛")
    tomorrow = org_today() + dt.timedelta(days=1)
    await secretary.send(f"committee meeting {tomorrow.isoformat()} 5/6 topic: planning")
    assert "in the future" in (await secretary.wait_reply()).text
    assert "When was it?" in (await secretary.wait_reply()).text
    await secretary.send("/cancel")
    await secretary.press(await secretary.wait_reply(), "Discard draft")
    await secretary.wait_edit()
    # `11/20` alone is attendance 11 of 20: the date and topic are still missing.
    await secretary.send("支委会 11/20")
    date = await secretary.wait_reply()
    assert "When was it?" in date.text
    late_day = org_today() - dt.timedelta(days=10)
    await secretary.send((org_today() + dt.timedelta(days=1)).isoformat())
    assert "in the future" in (await secretary.wait_reply()).text
    await secretary.send(late_day.isoformat())
    topic = await secretary.wait_reply()
    assert "topic" in topic.text
    await secretary.send("Reviewing applicants")
    summary = await secretary.wait_reply()
    assert "Attendance: 11 present out of 20 expected" in summary.text
    assert "(logged late)" in summary.text
    await secretary.press(summary, "Save")
    saved = await secretary.wait_edit()
    assert "logged late" in saved.text
    [activity] = await activities(db)
    assert activity.late and activity.day == late_day


async def test_cancel_asks_before_discarding(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "王芳")
    await secretary.send("/log")
    kinds = await secretary.wait_reply()
    await secretary.press(kinds, "themed Party day")
    await secretary.wait_edit()
    # Other features' buttons keep working while the draft is open.
    await secretary.send("/due")
    due = await secretary.wait_reply()
    await secretary.press(due, "‹ Previous period")
    assert "Periods containing" in (await secretary.wait_edit()).text
    await secretary.send("/cancel")
    confirm = await secretary.wait_reply()
    assert confirm.button_texts == ["Discard draft", "Keep editing"]
    await secretary.press(confirm, "Keep editing")
    kinds = await secretary.wait_edit()
    assert "✓ themed Party day" in kinds.button_texts  # the draft is as it was
    await secretary.send("/cancel")
    confirm = await secretary.wait_reply()
    await secretary.press(confirm, "Discard draft")
    assert "discarded" in (await secretary.wait_edit()).text
    await secretary.send("/cancel")
    assert "nothing to cancel" in (await secretary.wait_reply()).text
    assert await activities(db) == []


async def test_draft_survives_a_restart(
    settings: Settings, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "王芳")
    async with running_bot(settings):
        await secretary.send("/log")
        kinds = await secretary.wait_reply()
        await secretary.press(kinds, "Party lecture")
        kinds = await secretary.wait_edit()
        await secretary.press(kinds, "Done")
        date = await secretary.wait_edit()
    async with running_bot(settings):
        await secretary.press(date, "Today")
        topic = await secretary.wait_edit()
        assert "topic" in topic.text
        await secretary.send("/log")
        assert "unfinished draft" in (await secretary.wait_reply()).text
        assert "topic" in (await secretary.wait_reply()).text
        await secretary.send("Lecture on the Party constitution")
        attendance = await secretary.wait_reply()
        await secretary.press(attendance, "All 4 present")
        place = await secretary.wait_edit()
        await secretary.press(place, "Skip")
        assert "minutes" in (await secretary.wait_edit()).text
        await secretary.send("Line one\nLine two")
        files = await secretary.wait_reply()
        await secretary.press(files, "Done")
        summary = await secretary.wait_edit()
        assert "Kind: Party lecture" in summary.text and "Line one" in summary.text
        await secretary.press(summary, "Save")
        await secretary.wait_edit()
    [activity] = await activities(db)
    assert activity.kinds == ["lecture"] and activity.day == org_today()
    assert activity.minutes == "Line one\nLine two" and activity.absences == []


async def test_guided_flow_in_chinese(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "周涛", "zh-hans")
    await secretary.send("/log")
    kinds = await secretary.wait_reply()
    assert "支部开展了什么活动" in kinds.text
    await secretary.press(kinds, "主题党日")
    kinds = await secretary.wait_edit()
    await secretary.press(kinds, "完成")
    date = await secretary.wait_edit()
    assert date.button_texts == ["今天", "昨天"]
    await secretary.send("前天")
    assert "议题" in (await secretary.wait_reply()).text
    await secretary.send("重温入党誓词")
    attendance = await secretary.wait_reply()
    await secretary.press(attendance, "5 人全部到会")
    place = await secretary.wait_edit()
    await secretary.send("党员活动室")
    minutes = await secretary.wait_reply()
    await secretary.send("集体重温入党誓词。")
    files = await secretary.wait_reply()
    await secretary.press(files, "完成")
    summary = await secretary.wait_edit()
    assert "类型：主题党日" in summary.text
    assert "到会：应到 5 人，实到 5 人" in summary.text
    assert "地点：党员活动室" in summary.text
    assert place.text and minutes.text
    await secretary.press(summary, "保存")
    assert "已保存" in (await secretary.wait_edit()).text
    [activity] = await activities(db)
    assert activity.kinds == ["themed_day"] and activity.day == org_today() - dt.timedelta(days=2)


async def test_quick_log_in_chinese_with_several_kinds(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "王芳", "zh-hans")
    await secretary.send("支部党员大会+党课 今天 4/4 议题：学习党章 地点：会议室")
    summary = await secretary.wait_reply()
    assert "类型：支部党员大会、党课" in summary.text
    assert "到会：应到 4 人，实到 4 人" in summary.text
    assert "议题：学习党章" in summary.text and "地点：会议室" in summary.text
    # Change the topic from the summary, then save.
    await secretary.press(summary, "议题")
    await secretary.wait_edit()
    await secretary.send("学习新党章")
    summary = await secretary.wait_reply()
    assert "议题：学习新党章" in summary.text
    await secretary.press(summary, "保存")
    assert "已保存" in (await secretary.wait_edit()).text
    [activity] = await activities(db)
    assert activity.kinds == ["general_meeting", "lecture"] and activity.day == org_today()
    assert activity.topic == "学习新党章" and activity.place == "会议室"


async def test_quick_log_in_chinese(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await as_user(client, demo, "陈静", "zh-hans")
    await secretary.send("支委会 今天 7/9 议题：讨论发展对象")
    summary = await secretary.wait_reply()
    assert "请核对" in summary.text and "类型：支部委员会会议" in summary.text
    assert "到会：应到 9 人，实到 7 人" in summary.text
    assert "议题：讨论发展对象" in summary.text
    assert summary.button_texts[-2:] == ["保存", "放弃"]
    await secretary.press(summary, "放弃")
    confirm = await secretary.wait_edit()
    await secretary.press(confirm, "继续编辑")
    summary = await secretary.wait_edit()
    await secretary.press(summary, "保存")
    assert "已保存：" in (await secretary.wait_edit()).text
    [activity] = await activities(db)
    assert activity.kinds == ["committee_meeting"] and activity.topic == "讨论发展对象"
    assert (activity.present, activity.expected, activity.day) == (7, 9, org_today())
