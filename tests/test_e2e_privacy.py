"""Privacy by default: consent before /relink stores anything, /mydata, /forgetme, retention."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import DeletionState, NoticeAudience, Role
from bot.fake_telegram import FakeTelegramClient
from bot.retention import purge
from bot.rules.kinds import ActivityKind
from storage import queries
from storage.db import SessionFactory
from storage.models import (
    Account,
    ConversationRecord,
    DeletionRequest,
    Invite,
    InviteFailure,
    Person,
)
from storage.models_activity import Activity
from storage.models_notices import Notice, NoticeDelivery
from storage.models_relink import RelinkRequest
from storage.models_reminders import Reminder
from tests.support.activity import add_activity, org_today
from tests.support.registration import make_invite


async def _person(db: SessionFactory, name: str) -> Person:
    async with db() as session:
        person = await session.scalar(select(Person).where(Person.name == name))
    assert person is not None
    return person


async def _absent(db: SessionFactory, *names_and_reasons: tuple[str, str]) -> int:
    activity_id = await add_activity(db, "DEMO-B1", org_today(), (ActivityKind.GENERAL_MEETING,))
    absences = []
    for name, reason in names_and_reasons:
        person = await _person(db, name)
        absences.append({"person_id": person.id, "name": name, "reason": reason})
    async with db.begin() as session:
        activity = await session.get(Activity, activity_id)
        assert activity is not None
        activity.absences = absences
    return activity_id


async def test_relink_asks_for_consent_before_anything_is_stored(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    lost = await client.user(71001, "Lost", language_code="en")
    await lost.send("/relink")
    notice = await lost.wait_reply()
    assert "request about your organisational ties" in notice.text
    assert notice.button_texts == ["I agree", "No, thanks"]
    await lost.press(notice, "No, thanks")
    assert "Nothing about you was stored" in (await lost.wait_edit()).text
    await lost.send("/lang")
    await lost.press(await lost.wait_reply(), "中文（简体）")
    assert "不保存任何信息" in (await lost.wait_edit()).text
    async with db() as session:
        assert await queries.account_by_telegram_id(session, 71001) is None
    await lost.send("/relink")
    await lost.press(await lost.wait_reply(), "I agree")
    assert "send /relink" in (await lost.wait_edit()).text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 71001)
        assert account is not None and account.consented_at is not None
    await lost.send("/relink")
    assert "What do you need?" in (await lost.wait_reply()).text


async def test_mydata_gives_a_person_everything_about_them_and_nothing_else(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _absent(db, ("李强", "sick"), ("张伟", "work"))
    li = await _person(db, "李强")
    async with db.begin() as session:
        account = await queries.account_by_telegram_id(session, demo["李强"].telegram_id)
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert account is not None and branch is not None
        notice = Notice(
            org_unit_id=branch.id,
            audience=NoticeAudience.EVERYONE,
            primary_locale="zh_Hans",
            send_at=dt.datetime.now(dt.UTC),
        )
        session.add(notice)
        await session.flush()
        session.add(NoticeDelivery(notice_id=notice.id, account_id=account.id, branch_id=branch.id))
        session.add(
            RelinkRequest(
                type="mobile",
                state="submitted",
                requester_account_id=account.id,
                person_id=li.id,
                home_branch_id=branch.id,
                name="李强",
                city="深圳",
                phone="13800000000",
            )
        )
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    await member.send("/mydata")
    sent = await member.wait_reply()
    assert sent.document is not None and sent.document.filename.endswith(".json")
    raw = sent.document.data.decode()
    data = json.loads(raw)
    assert data["person"]["name"] == "李强" and data["person"]["branch"]["code"] == "DEMO-B1"
    assert data["account"]["telegram_id"] == demo["李强"].telegram_id
    (activity,) = data["activities"]
    assert (activity["you"], activity["reason"]) == ("absent", "sick")
    assert len(data["notices"]) == 1
    assert [(r["type"], r["city"]) for r in data["relink_requests"]] == [("mobile", "深圳")]
    assert "张伟" not in raw and "work" not in raw  # never someone else's data
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    await secretary.send("/mydata")
    roles = json.loads((await secretary.wait_reply()).document.data)["roles"]
    assert roles == [{"role": "secretary", "org": "DEMO-B1", "since": roles[0]["since"]}]
    stranger = await client.user(71002, "Nobody", language_code="en")
    await stranger.send("/mydata")
    assert "Nothing about you is stored" in (await stranger.wait_reply()).text
    async with db() as session:
        entries = await queries.audit_entries(session, action="privacy.export")
        assert len(entries) == 2
        assert await queries.account_by_telegram_id(session, 71002) is None


async def test_forgetme_is_confirmed_by_the_branch_admin_and_erases_the_person(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _absent(db, ("李强", "sick"), ("张伟", "work"))
    li = await _person(db, "李强")
    async with db.begin() as session:
        li_row = await session.get(Person, li.id)
        assert li_row is not None
        li_row.phone = "13800000000"
    code = await make_invite(db, Role.SECRETARY, "DEMO-B1", person="李强")  # unused, names him
    assert code
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    await admin.send("/me")  # Telegram tells the bot the admin's language with each update
    await admin.wait_reply()
    await member.send("/forgetme")
    offer = await member.wait_reply()
    assert "An admin of your branch confirms it" in offer.text
    await member.press(offer, "File the deletion request")
    assert "Your request #1 was filed" in (await member.wait_edit()).text
    card = await admin.wait_reply()
    assert "Deletion request #1" in card.text and "李强" in card.text
    await admin.press(card, "Delete their data")
    question = await admin.wait_edit()
    assert "Delete the personal data of 李强 now?" in question.text
    await admin.press(question, "Yes, delete")
    assert "was deleted" in (await admin.wait_edit()).text
    assert "your personal data was deleted" in (await member.wait_reply()).text
    # Pressed again (from another copy of the card): decided already.
    update_id = await admin.press_data(question, question.button_data("Yes, delete") or "")
    assert "already decided" in (await admin.callback_answer(update_id))["text"]

    async with db() as session:
        person = await session.get(Person, li.id)
        assert person is not None
        assert (person.name, person.phone, person.branch_id) == (f"#{li.id}", None, None)
        assert await queries.account_by_telegram_id(session, demo["李强"].telegram_id) is None
        erased = await session.scalar(select(Account).where(Account.telegram_id < 0))
        assert erased is not None and erased.username is None and erased.person_id is None
        activity = await session.scalar(select(Activity))
        assert activity is not None
        names = sorted(a["name"] for a in activity.absences)
        assert names == sorted([f"#{li.id}", "张伟"])  # the record stays, without his name
        invite = await session.scalar(select(Invite))
        assert invite is not None and invite.revoked_at is not None
        request = await session.scalar(select(DeletionRequest))
        assert request is not None and request.state is DeletionState.DONE
        actions = [e.action for e in await queries.audit_entries(session)]
    assert "privacy.deletion_done" in actions and "privacy.erase" in actions
    await member.send("/me")
    assert "not registered" in (await member.wait_reply()).text


async def test_a_declined_deletion_changes_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    member = await client.user(demo["张伟"].telegram_id, "Zhang", language_code="en")
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")
    await admin.send("/me")
    await admin.wait_reply()
    await member.send("/forgetme")
    await member.press(await member.wait_reply(), "File the deletion request")
    await member.wait_edit()
    await member.send("/forgetme")  # a second time: the open request is not filed again
    await member.press(await member.wait_reply(), "File the deletion request")
    assert "#1" in (await member.wait_edit()).text
    card = await admin.wait_reply()
    await admin.press(card, "Decline")
    assert "was declined" in (await admin.wait_edit()).text
    assert "was declined" in (await member.wait_reply()).text
    async with db() as session:
        assert (await _person(db, "张伟")).branch_id is not None
        requests = list(await session.scalars(select(DeletionRequest)))
        assert [r.state for r in requests] == [DeletionState.DECLINED]


async def test_retention_purges_old_drafts_throttling_records_and_stray_accounts(
    bot: ZhibuApp, settings: Settings, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=settings.retention_days + 1)
    async with db.begin() as session:
        for user_id in (1, 2):
            await queries.save_conversation(
                session, name="register", chat_id=user_id, user_id=user_id, state="name",
                data={}, recent_updates=[],
            )  # fmt: skip
        await session.flush()
        for record in await session.scalars(select(ConversationRecord)):
            record.updated_at = old if record.user_id == 1 else now
        session.add(InviteFailure(sender_key="a" * 64, at=now - dt.timedelta(hours=1)))
        session.add(InviteFailure(sender_key="b" * 64, at=now))
        stray = Account(telegram_id=81, consented_at=old, created_at=old)
        waiting = Account(telegram_id=82, consented_at=old, created_at=old)
        recent = Account(telegram_id=83, consented_at=now, created_at=now)
        session.add_all([stray, waiting, recent])
        await session.flush()
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        session.add(
            RelinkRequest(
                type="reconnect",
                state="submitted",
                requester_account_id=waiting.id,
                home_branch_id=branch.id,
                name="等待",
                city="杭州",
            )
        )
        # A registered member's account is old too, and stays.
        member = await queries.account_by_telegram_id(session, demo["李强"].telegram_id)
        assert member is not None
        member.created_at = old
    async with db.begin() as session:
        purged = await purge(session, settings=settings, now=now)
    assert (purged.drafts, purged.failures, purged.accounts) == (1, 1, 1)
    async with db() as session:
        left = set(await session.scalars(select(Account.telegram_id)))
        assert 81 not in left and {82, 83, demo["李强"].telegram_id} <= left
        drafts = [r.user_id for r in await session.scalars(select(ConversationRecord))]
        assert drafts == [2]
        assert [e.details for e in await queries.audit_entries(session, action="retention.purge")]
    assert bot.job_queue is not None and bot.job_queue.get_jobs_by_name("retention.purge")


async def test_retention_keeps_an_unlinked_account_that_notice_copies_or_reminders_name(
    settings: Settings, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    # The outbox's and the reminders' references to the account are not checked by the
    # database (for the speed of writing a province's copies and year-end reminders):
    # retention must still see them.
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=settings.retention_days + 1)
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        reached = Account(telegram_id=84, consented_at=old, created_at=old)
        unreached = Account(telegram_id=85, consented_at=old, created_at=old)
        reminded = Account(telegram_id=86, consented_at=old, created_at=old)
        notice = Notice(
            org_unit_id=branch.id,
            audience=NoticeAudience.EVERYONE,
            primary_locale="zh_Hans",
            send_at=old,
        )
        session.add_all([reached, unreached, reminded, notice])
        await session.flush()
        session.add(NoticeDelivery(notice_id=notice.id, account_id=reached.id, branch_id=branch.id))
        session.add(
            Reminder(
                account_id=reminded.id,
                kind="mobile_report",
                subject="mob:1",
                dedupe_key=f"mob:1:{reminded.id}:d7",
                due_at=now,
            )
        )
    async with db.begin() as session:
        purged = await purge(session, settings=settings, now=now)
    assert purged.accounts == 1
    async with db() as session:
        left = set(await session.scalars(select(Account.telegram_id)))
    assert {84, 86} <= left and 85 not in left
