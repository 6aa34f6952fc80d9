"""Registration by invite through the fake Bot API, and in-bot invites."""

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import Role
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, ConversationRecord, Invite, Person, RoleAssignment
from tests.support.bot import running_bot
from tests.support.registration import agree_to_privacy, make_invite

_invite = make_invite


async def test_newcomer_registers_with_name_and_phone(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await _invite(db, Role.MEMBER, "DEMO-B2")
    user = await client.user(42, "Xu", language_code="zh-CN")
    await user.send(f"/start {code}")
    await agree_to_privacy(user)
    assert "请问您的姓名" in (await user.wait_reply()).text
    await user.send_sticker()
    assert "这不是我需要的内容" in (await user.wait_reply()).text
    assert "姓名" in (await user.wait_reply()).text  # the question is asked again
    await user.send("许  文 ")
    ask_phone = await user.wait_reply()
    assert "电话" in ask_phone.text and ask_phone.button_texts == ["跳过"]
    await user.send("not a phone")
    assert "不是电话号码" in (await user.wait_reply()).text
    await user.send("+86 138 0000 0000")
    welcome = (await user.wait_reply()).text
    assert "欢迎，许 文" in welcome and "第二党支部" in welcome
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 42)
        assert account is not None and account.person is not None
        assert (account.person.name, account.person.phone) == ("许 文", "+86 138 0000 0000")
        assert account.person.branch is not None and account.person.branch.code == "DEMO-B2"
        assert (await session.scalar(select(Invite.uses))) == 1
    # The same single-use code again, from someone else.
    other = await client.user(43, "Other", language_code="en")
    await other.send(f"/start {code}")
    assert "already been used" in (await other.wait_reply()).text


async def test_named_invite_links_at_once_and_grants_role(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B3")
        session.add(Person(name="郑新", branch_id=branch.id))
    code = await _invite(db, Role.SECRETARY, "DEMO-B3", person="郑新")
    user = await client.user(44, "Zheng", language_code="en")
    await user.send(f"/start {code}")
    await agree_to_privacy(user)
    text = (await user.wait_reply()).text
    assert "Welcome, 郑新" in text and "branch secretary" in text
    async with db() as session:
        roles = list(
            await session.scalars(
                select(RoleAssignment.role).join(Person).where(Person.name == "郑新")
            )
        )
    assert roles == [Role.SECRETARY]


async def test_expired_and_wrong_codes(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await _invite(db, Role.MEMBER, "DEMO-B1", valid_for=dt.timedelta(minutes=1))
    async with db.begin() as session:
        invite = await session.scalar(select(Invite))
        invite.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    user = await client.user(45, "Late", language_code="en")
    await user.send(f"/start {code}")
    assert "expired" in (await user.wait_reply()).text
    await user.send("/start WRONGCODE123")
    assert "not valid" in (await user.wait_reply()).text


async def test_brute_force_is_slowed_down(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    good = await _invite(db, Role.MEMBER, "DEMO-B1")
    guesser = await client.user(46, "Guesser", language_code="en")
    for attempt in range(5):
        await guesser.send(f"/start GUESS{attempt:07d}")
        assert "not valid" in (await guesser.wait_reply()).text
    await guesser.send(f"/start {good}")
    assert "Too many wrong codes" in (await guesser.wait_reply()).text
    async with db() as session:
        assert (await session.scalar(select(Invite.uses))) == 0  # the good code was not spent
    # Another account is not affected.
    honest = await client.user(47, "Honest", language_code="en")
    await honest.send(f"/start {good}")
    await agree_to_privacy(honest)
    assert "What is your full name" in (await honest.wait_reply()).text


async def test_secretary_creates_invite_in_bot(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    telegram: FakeTelegramServer,
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await secretary.send("/invite")
    roles = await secretary.wait_reply()
    assert roles.button_texts == ["branch secretary", "deputy secretary", "member"]
    await secretary.press(roles, "member")
    uses = await secretary.wait_edit()
    await secretary.press(uses, "5")
    expiry = await secretary.wait_edit()
    await secretary.press(expiry, "7 days")
    created = await secretary.wait_edit()
    assert (
        "Invite created" in created.text
        and f"https://t.me/{telegram.bot_username}?start=" in created.text
    )
    code = created.text.split("?start=")[1].split()[0]
    newcomer = await client.user(48, "New", language_code="en")
    await newcomer.send(f"/start {code}")
    await agree_to_privacy(newcomer)
    assert "full name" in (await newcomer.wait_reply()).text
    async with db() as session:
        invite = await session.scalar(select(Invite))
        assert invite.max_uses == 5 and invite.role is Role.MEMBER
        assert [e.action for e in await queries.audit_entries(session)] == ["invite.create"]


async def test_invite_refused_outside_role_and_scope(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    await member.send("/invite")
    assert "not available for your role" in (await member.wait_reply()).text
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await secretary.send("/invite")
    roles = await secretary.wait_reply()
    # A forged button asking for an admin invite is refused and changes nothing.
    update_id = await secretary.press_data(roles, "inv:role:admin")
    assert "within your own scope" in (await secretary.callback_answer(update_id))["text"]
    stranger = await client.user(49, "Nobody", language_code="en")
    await stranger.send("/invite")
    assert "not registered" in (await stranger.wait_reply()).text


async def test_admin_searches_branch_by_name(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    admin = await client.user(demo["林书记"].telegram_id, "Lin", language_code="zh-hans")
    await admin.send("/invite")
    ask = await admin.wait_reply()
    assert ask.button_texts == ["DEMO"]
    await admin.send("机关")
    found = await admin.wait_reply()
    assert found.button_texts == ["DEMO-B3 机关党支部"]
    await admin.press(found, "DEMO-B3 机关党支部")
    roles = await admin.wait_edit()
    assert roles.button_texts == ["管理员", "支部书记", "支部副书记", "党员"]


async def test_error_handler_apologises_without_internals(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    telegram: FakeTelegramServer,
    demo: dict[str, DemoUser],
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    telegram.fail_next("sendMessage", status=500, count=1)
    with caplog.at_level(logging.ERROR):
        await user.send("/me")
        apology = await user.wait_reply()
    assert apology.text.startswith("Sorry, something went wrong")
    assert "Traceback" not in apology.text and "500" not in apology.text
    assert any("error while handling update" in r.getMessage() for r in caplog.records)


async def test_nothing_is_stored_about_a_stranger_until_they_agree(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    user = await client.user(50, "Once", username="once", language_code="en")
    for _ in range(3):
        await user.send("/me")
        await user.wait_reply()
    code = await _invite(db, Role.MEMBER, "DEMO-B1")
    await user.send(f"/start {code}")
    notice = await user.wait_reply()
    assert "What Zhibu stores" in notice.text and "Who sees it" in notice.text
    assert "/mydata" in notice.text and "/forgetme" in notice.text
    async with db() as session:
        assert await queries.account_by_telegram_id(session, 50) is None
        assert list(await session.scalars(select(ConversationRecord))) == []
    await user.press(notice, "I agree")
    assert "recorded" in (await user.wait_edit()).text
    assert "full name" in (await user.wait_reply()).text
    async with db() as session:
        accounts = list(await session.scalars(select(Account).where(Account.telegram_id == 50)))
        assert len(accounts) == 1 and accounts[0].consented_at is not None
        assert accounts[0].username == "once"


async def test_declining_the_notice_stores_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await _invite(db, Role.MEMBER, "DEMO-B1")
    user = await client.user(51, "No", language_code="zh-hans")
    await user.send(f"/start {code}")
    notice = await user.wait_reply()
    assert "隐私" in notice.text
    await user.press(notice, "不同意")
    assert "没有保存" in (await user.wait_edit()).text
    async with db() as session:
        assert await queries.account_by_telegram_id(session, 51) is None
        assert (await session.scalar(select(Invite.uses))) == 0
        assert list(await session.scalars(select(ConversationRecord))) == []


async def test_a_withdrawn_invite_is_refused(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await _invite(db, Role.MEMBER, "DEMO-B1")
    user = await client.user(52, "Late", language_code="en")
    await user.send(f"/start {code}")
    notice = await user.wait_reply()
    async with db.begin() as session:
        invite = await session.scalar(select(Invite))
        invite.revoked_at = dt.datetime.now(dt.UTC)
    await user.press(notice, "I agree")  # pressed after the invite was withdrawn
    assert "withdrawn" in (await user.wait_edit()).text
    await user.send(f"/start {code}")
    assert "withdrawn" in (await user.wait_reply()).text
    async with db() as session:
        assert await queries.account_by_telegram_id(session, 52) is None


async def test_a_deputy_invites_members_only(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        deputy = await queries.person_in_branch(session, branch=branch, name="张伟")
        await queries.grant_role(session, person=deputy, org_unit=branch, role=Role.DEPUTY)
    user = await client.user(demo["张伟"].telegram_id, "Zhang", language_code="en")
    await user.send("/invite")
    roles = await user.wait_reply()
    assert roles.button_texts == ["member"]
    update_id = await user.press_data(roles, "inv:role:deputy")
    assert "within your own scope" in (await user.callback_answer(update_id))["text"]
    async with db() as session:
        assert list(await session.scalars(select(Invite))) == []


async def test_the_bot_offers_no_more_uses_or_days_than_configured(
    settings, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    capped = settings.model_copy(update={"invite_max_uses": 5, "invite_max_days": 7})
    async with running_bot(capped):
        secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
        await secretary.send("/invite")
        await secretary.press(await secretary.wait_reply(), "member")
        uses = await secretary.wait_edit()
        assert uses.button_texts == ["1", "5"]
        update_id = await secretary.press_data(uses, "inv:uses:20")  # forged, above the cap
        assert "not available" in (await secretary.callback_answer(update_id))["text"]
        await secretary.press(uses, "5")
        expiry = await secretary.wait_edit()
        assert expiry.button_texts == ["1 day", "7 days"]


async def test_an_id_card_number_is_refused_at_the_phone_step(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await _invite(db, Role.MEMBER, "DEMO-B2")
    user = await client.user(44, "Zhou", language_code="en")
    await user.send(f"/start {code}")
    await agree_to_privacy(user)
    await user.wait_reply()
    await user.send("Zhou Min")
    await user.wait_reply()
    await user.send("11010519491231002X")
    assert "ID card number" in (await user.wait_reply()).text
    await user.send("13800000000")
    assert "Welcome, Zhou Min" in (await user.wait_reply()).text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 44)
        assert account is not None and account.person is not None
        assert account.person.phone == "13800000000"
