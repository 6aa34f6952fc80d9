"""/notify end to end through the fake Bot API: compose, preview, send, acknowledge, re-send."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import DeliveryState, NoticeAudience, NoticeState, OrgKind, PersonStatus, Role
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from bot.notice_service import CONFIRM_HOLD, confirm_notice
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_notices import Notice, NoticeDelivery
from tests.support.bot import running_bot
from tests.support.notices import (
    ADMIN,
    compose,
    delivery,
    demo_users,
    notice_now,
    wait_status,
    with_clock,
)

SECRETARIES = {"王芳", "陈静", "周涛"}
MEMBERS = SECRETARIES | {"李强", "张伟", "刘洋", "杨磊", "赵敏", "吴军", "孙丽", "马超", "胡婷"}


async def _recipients(db: SessionFactory, notice_id: int) -> dict[str, NoticeDelivery]:
    async with db() as session:
        rows = await session.execute(
            select(Person.name, NoticeDelivery)
            .join(Account, Account.id == NoticeDelivery.account_id)
            .join(Person, Person.id == Account.person_id)
            .where(NoticeDelivery.notice_id == notice_id)
        )
        return {name: row for name, row in rows}


async def test_notice_to_members_with_acknowledgement_and_resend(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    summary = await compose(admin, "Meeting <b>tomorrow</b> & bring notes", ack=True)
    assert "Recipients: 12" in summary.text and "Acknowledgement: required" in summary.text
    # The preview is the copy exactly as an English reader gets it.
    previews = [m for m in await admin.messages() if m.button_texts == ["Acknowledge"]]
    assert previews[-1].text.startswith("📢 Notice from Demo Sub-district Committee")
    await admin.press(summary, "Confirm and send")
    final = await wait_status(admin, "has gone out")
    assert "Sent 12" in final.text and "acknowledged 0" in final.text
    member = users["李强"]
    copy = await member.wait_reply()
    assert "Meeting <b>tomorrow</b> & bring notes" in copy.text
    assert copy.source_text is not None and "&lt;b&gt;tomorrow&lt;/b&gt; &amp;" in copy.source_text
    assert copy.button_texts == ["Acknowledge"]
    update_id = await member.press(copy, "Acknowledge")
    assert "recorded" in (await member.callback_answer(update_id))["text"]
    edited = await member.wait_edit()
    assert edited.button_texts[0].startswith("✓ Acknowledged")
    # Pressing again changes nothing: the first time stays.
    update_id = await member.press(edited, edited.button_texts[0])
    assert "You acknowledged" in (await member.callback_answer(update_id))["text"]
    secretary = users["王芳"]
    copy = await secretary.wait_reply()
    assert copy.text.startswith("📢 示范街道党工委通知") and copy.button_texts == ["已阅"]
    rows = await _recipients(db, 1)
    assert set(rows) == MEMBERS and rows["李强"].acknowledged_at is not None
    assert all(r.state is DeliveryState.SENT for r in rows.values())
    # Re-send to the eleven who have not acknowledged.
    await admin.send("/start")
    await admin.wait_reply()
    status = await admin.last_message()
    assert status is not None
    final = next(m for m in await admin.messages() if "has gone out" in m.text)
    await admin.press(final, "Re-send to those who have not acknowledged")
    again = await wait_status(admin, "has gone out")
    assert "acknowledged 1" in again.text and "of 12" in again.text
    second = await secretary.wait_reply()
    await secretary.press(second, "已阅")
    assert (await secretary.wait_edit()).button_texts[0].startswith("✓ 已阅")
    assert len(await member.messages()) == 1
    async with db() as session:
        rounds = list(await session.scalars(select(NoticeDelivery.round)))
    assert sorted(rounds) == [1] * 12 + [2] * 11
    rows = await _recipients(db, 1)
    assert rows["王芳"].acknowledged_at is not None


@pytest.mark.parametrize("admin_language", ["en", "zh-hans"])
async def test_every_audience_in_both_languages(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    admin_language: str,
) -> None:
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        li = await session.scalar(select(Person).where(Person.name == "李强"))
        zhang = await session.scalar(select(Person).where(Person.name == "张伟"))
        assert b1 is not None and li is not None and zhang is not None
        await queries.grant_role(session, person=li, org_unit=b1, role=Role.DEPUTY)
        zhang.status = PersonStatus.MOBILE
    users = await demo_users(client, demo, admin_language=admin_language)
    admin = users[ADMIN]
    chinese = admin_language != "en"
    first, second = ("支部通知", "Branch notice") if chinese else ("Branch notice", "支部通知")
    expected = {
        "everyone": MEMBERS | {ADMIN},
        "secretaries": SECRETARIES,
        "committee": SECRETARIES | {"李强"},
        "members": MEMBERS,
        "mobile": {"张伟"},
        "branches": {"陈静", "杨磊", "赵敏"},
    }
    for number, (audience, names) in enumerate(expected.items(), start=1):
        text = f"{first} {number}"
        summary = await compose(
            admin,
            text,
            second=f"{second} {number}",
            audience=audience,
            branches=("DEMO-B2",),
        )
        count = len(names)
        assert (f"接收人数：{count}" if chinese else f"Recipients: {count}") in summary.text
        await admin.press(summary, data="ntf:confirm")
        await wait_status(admin, "已发送完毕" if chinese else "has gone out")
        rows = await _recipients(db, number)
        assert set(rows) == names, audience
        for name in names - {ADMIN}:
            copy = await users[name].wait_reply()
            if demo[name].language_code == "en":
                assert f"Branch notice {number}" in copy.text and "Notice from" in copy.text
            else:
                assert f"支部通知 {number}" in copy.text and "通知</b>" not in copy.text


async def test_scheduling_listing_and_cancelling(
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
) -> None:
    from tests.support.bot import settings_for

    settings = with_clock(settings_for(database_url, telegram))
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    async with running_bot(settings) as app:
        # 02:00 UTC is 10:00 in Shanghai.
        summary = await compose(admin, "Lecture at three", at="2026-11-21 15:00")
        assert "Sending: at" in summary.text
        await admin.press(summary, "Confirm and send")
        scheduled = await admin.wait_edit()
        assert "Notice #1 is scheduled for" in scheduled.text
        summary = await compose(admin, "Themed Party day", at="16:30")
        await admin.press(summary, "Confirm and send")
        await admin.wait_edit()
        await admin.send("/notices")
        listing = await admin.wait_reply()
        assert "#1" in listing.text and "#2" in listing.text
        assert listing.button_texts == ["Cancel #2", "Cancel #1"]
        await admin.press(listing, "Cancel #1")
        cancelled = await admin.wait_edit()
        assert "Cancelled before it went out" in cancelled.text
        assert "Notice #1 was cancelled" in cancelled.text and "Sent" not in cancelled.text
        # Nothing goes out before its time.
        await delivery(app).drained()
        assert not await users["李强"].messages()
        settings.advance(dt.timedelta(hours=7))
        await delivery(app).drained()
        await wait_status(admin, "Notice #2 has gone out")
        copies = await users["李强"].messages()
        assert [c.text.split("\n\n")[1] for c in copies] == ["Themed Party day"]
        await admin.send("/notices")
        assert "No notices" in (await admin.wait_reply()).text
    async with db() as session:
        states = dict((await session.execute(select(Notice.id, Notice.state))).all())
    assert states == {1: NoticeState.CANCELLED, 2: NoticeState.DONE}


async def test_a_long_list_of_scheduled_notices_comes_in_pages(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    ids = [await notice_now(db, now=later, text=f"Notice number {n}") for n in range(1, 11)]
    await admin.send("/notices")
    first = await admin.wait_reply()
    assert "page 1 of 2" in first.text
    # Newest first, eight to a page, and a way to the rest.
    assert first.button_texts == [f"Cancel #{i}" for i in reversed(ids[2:])] + ["Older ›"]
    await admin.press(first, "Older ›")
    second = await admin.wait_edit()
    assert "page 2 of 2" in second.text and "Notice number 1" in second.text
    assert second.button_texts == [f"Cancel #{ids[1]}", f"Cancel #{ids[0]}", "‹ Newer"]
    # A page that no longer exists shows the last one; someone else's press is refused.
    await admin.send("/notices")
    await admin.press_data(await admin.wait_reply(), "ntc:list:9")
    assert "page 2 of 2" in (await admin.wait_edit()).text
    await users["王芳"].send("/notices")
    refused = await users["王芳"].wait_reply()
    assert "无权" in refused.text
    update_id = await users["王芳"].press_data(refused, "ntc:list:0")
    assert "无权" in (await users["王芳"].callback_answer(update_id))["text"]
    # Two cancelled: the rest fit on one page.
    for notice_id in ids[:2]:
        await admin.send("/notices")
        await admin.press_data(await admin.wait_reply(), f"ntc:stop:{notice_id}")
        assert "Cancelled before it went out" in (await admin.wait_edit()).text
    await admin.send("/notices")
    listing = await admin.wait_reply()
    assert "page" not in listing.text and len(listing.button_texts) == 8


async def test_a_committee_with_many_branches_picks_them_page_by_page(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        assert committee is not None
        # With the three demo branches, 123: more than one keyboard may hold.
        for n in range(120):
            await queries.add_org_unit(
                session,
                code=f"DEMO-X{n:03d}",
                kind=OrgKind.BRANCH,
                name=f"第{n}支部",
                name_en=f"Branch {n}",
                parent=committee,
            )
    await admin.send("/notify")
    await admin.wait_reply()
    await admin.send("Only two branches")
    await admin.press(await admin.wait_reply(), data="ntf:second:skip")
    await admin.press(await admin.wait_edit(), data="ntf:aud:branches")
    picker = await admin.wait_edit()
    assert "page 1 of 13" in picker.text
    assert len(picker.button_texts) == 10 + 1 + 1  # ten branches, ›, Done
    assert picker.button_texts[0].startswith("DEMO-B1 ")
    await admin.press(picker, picker.button_texts[0])
    picker = await admin.wait_edit()
    assert picker.button_texts[0].startswith("✓ DEMO-B1 ") and "Chosen: 1" in picker.text
    # Forward two pages, choose one there; the choice on page 1 is kept.
    for _ in range(2):
        await admin.press(picker, "›")
        picker = await admin.wait_edit()
    assert "page 3 of 13" in picker.text
    label = next(b for b in picker.button_texts if b.startswith("DEMO-X017 "))
    await admin.press(picker, label)
    picker = await admin.wait_edit()
    assert "page 3 of 13" in picker.text and "Chosen: 2" in picker.text
    await admin.press(picker, "‹")
    picker = await admin.wait_edit()
    assert "page 2 of 13" in picker.text
    await admin.press(picker, data="ntf:br:done")
    await admin.press(await admin.wait_edit(), data="ntf:ack:0")
    await admin.press(await admin.wait_edit(), data="ntf:when:now")
    summary = await admin.wait_reply()
    while "Recipients" not in summary.text:  # after the preview
        summary = await admin.wait_reply()
    # 王芳 and her three members; the new branch has nobody yet.
    assert "Recipients: 4" in summary.text, summary.text


async def test_too_long_text_and_photo_caption_limit(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    await admin.send("/notify")
    await admin.wait_reply()
    await admin.send("长" * 4096)
    refusal = await admin.wait_reply()
    assert "That is too long: 4096 characters" in refusal.text
    await admin.send_photo(b"\x89PNG\r\n\x1a\n" + b"\0" * 32, caption="图" * 1000)
    refusal = await admin.wait_reply()
    assert "with a photo or document can have at most" in refusal.text
    await admin.send("A short notice with the photo")
    question = await admin.wait_reply()
    assert question.button_texts[0] == "Add a Chinese text"
    await admin.press(question, data="ntf:second:skip")
    audiences = await admin.wait_edit()
    await admin.press(audiences, data="ntf:aud:secretaries")
    await admin.press(await admin.wait_edit(), data="ntf:ack:0")
    await admin.press(await admin.wait_edit(), data="ntf:when:now")
    replies = await admin.wait_replies(3)
    assert replies[1].photo is not None and "A short notice" in replies[1].text
    await admin.press(replies[2], "Confirm and send")
    await wait_status(admin, "has gone out")
    copy = await users["周涛"].wait_reply()
    assert copy.photo is not None and "A short notice with the photo" in copy.text


async def test_blocked_readers_are_counted_and_skipped(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    await users["杨磊"].block()
    await users["赵敏"].deactivate()
    summary = await compose(admin, "Dues are due", audience="branches", branches=("DEMO-B2",))
    await admin.press(summary, "Confirm and send")
    final = await wait_status(admin, "has gone out")
    assert "Sent 1 · failed 0 · unreachable 2" in final.text
    summary = await compose(admin, "Dues reminder", audience="branches", branches=("DEMO-B2",))
    assert "Recipients: 1" in summary.text and "2 more have blocked the bot" in summary.text


async def test_members_cannot_notify_and_forged_buttons_change_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    # Members send no notices (secretaries send to their own branch: issue 12).
    await users["李强"].send("/notify")
    assert "not available" in (await users["李强"].wait_reply()).text
    admin = users[ADMIN]
    summary = await compose(admin, "Only for B1", audience="branches", branches=("DEMO-B1",))
    await admin.press(summary, "Confirm and send")
    await wait_status(admin, "has gone out")
    copy = await users["李强"].wait_reply()
    # Someone else's copy, and a secretary trying to stop the notice.
    others = (await _recipients(db, 1))["王芳"].id
    update_id = await users["李强"].press_data(copy, f"ntc:ack:{others}")
    assert "not available" in (await users["李强"].callback_answer(update_id))["text"]
    update_id = await users["李强"].press_data(copy, "ntc:stop:1")
    assert "not available" in (await users["李强"].callback_answer(update_id))["text"]
    rows = await _recipients(db, 1)
    assert all(r.acknowledged_at is None for r in rows.values())


async def test_cancelling_a_notice_while_it_goes_out(
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
) -> None:
    from tests.support.bot import settings_for

    users = await demo_users(client, demo)
    admin = users[ADMIN]
    # The bot's clock stands still, so the copies Telegram answers with a 5xx wait out their
    # backoff for good: the notice stays half sent until the admin stops it, whatever the
    # speed of the machine. Progress is shown on every change.
    settings = with_clock(
        settings_for(database_url, telegram, delivery_concurrency=1),
        delivery_progress_seconds=0,
    )
    async with running_bot(settings) as app:
        summary = await compose(admin, "Postponed: see the next notice")
        telegram.fail_next("sendMessage", status=500, count=4)
        await admin.press(summary, "Confirm and send")
        status = await admin.wait_edit()
        assert status.button_texts == ["Cancel this notice"]
        # The positive signal: the admin's status shows the eight delivered, four waiting.
        status = await wait_status(admin, "Sent 8 · failed 0")
        assert "is going out" in status.text and status.button_texts == ["Cancel this notice"]
        await admin.press(status, "Cancel this notice")
        cancelled = await wait_status(admin, "was cancelled")
        assert "Cancelled: 4 copies will not be sent" in cancelled.text
        await delivery(app).drained()
    rows = await _recipients(db, 1)
    states = {r.state for r in rows.values()}
    assert states == {DeliveryState.SENT, DeliveryState.CANCELLED}
    delivered = sum(r.state is DeliveryState.SENT for r in rows.values())
    assert 3 <= delivered < 12
    received = 0
    for name in MEMBERS:
        received += len(await users[name].messages())
    assert received == delivered


async def test_document_goes_out_with_the_notice_as_its_caption(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    users = await demo_users(client, demo)
    admin = users[ADMIN]
    await admin.send("/notify")
    await admin.wait_reply()
    await admin.send_document(b"%PDF-1.4 plan", "plan.pdf", caption="The 2027 study plan")
    question = await admin.wait_reply()
    await admin.press(question, data="ntf:second:skip")
    await admin.press(await admin.wait_edit(), data="ntf:aud:secretaries")
    await admin.press(await admin.wait_edit(), data="ntf:ack:1")
    await admin.press(await admin.wait_edit(), data="ntf:when:now")
    heading, preview, summary = await admin.wait_replies(3)
    assert heading.text == "Preview (English):"
    assert preview.document is not None and preview.button_texts == ["Acknowledge"]
    await admin.press(summary, "Confirm and send")
    await wait_status(admin, "has gone out")
    copy = await users["陈静"].wait_reply()
    assert copy.document is not None and copy.document.data == b"%PDF-1.4 plan"
    assert "The 2027 study plan" in copy.text and copy.button_texts == ["已阅"]
    await users["陈静"].press(copy, "已阅")
    assert (await users["陈静"].wait_edit()).button_texts[0].startswith("✓ 已阅")


async def test_a_notice_held_at_confirmation_goes_out_after_the_hold_if_never_released(
    telegram: FakeTelegramServer,
    client: FakeTelegramClient,
    db: SessionFactory,
    database_url: str,
    demo: dict[str, DemoUser],
) -> None:
    from tests.support.bot import settings_for

    # Confirmed and committed, then the bot died before the admin's message showed it (and so
    # before the release): the notice still goes, one hold later, and not before.
    settings = with_clock(settings_for(database_url, telegram))
    users = await demo_users(client, demo)
    async with db.begin() as session:
        org = await queries.org_by_code(session, "DEMO")
        assert org is not None
        confirmed = await confirm_notice(
            session,
            org=org,
            actor=None,
            audience=NoticeAudience.MEMBERS,
            branch_ids=[],
            texts={"en": "Held until shown"},
            primary_locale="en",
            require_ack=False,
            media_kind=None,
            media_file_id=None,
            send_at=None,
            now=settings.now(),
            chat_id=None,
            message_id=None,
        )
    assert confirmed.held and confirmed.goes_at == settings.now()
    async with running_bot(settings) as app:
        await delivery(app).drained()
        assert not await users["李强"].messages()
        settings.advance(CONFIRM_HOLD)
        await delivery(app).drained()
        assert "Held until shown" in (await users["李强"].wait_reply()).text
