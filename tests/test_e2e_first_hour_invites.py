"""Invites met in the first hour (issue 17): someone already registered does not use up a code
meant for someone else, and a newcomer does not silently become a namesake on the roster."""

from __future__ import annotations

from sqlalchemy import func, select, update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import Role
from bot.fake_telegram import FakeTelegramClient
from storage import queries
from storage.db import SessionFactory
from storage.models import Invite, Person
from tests.support.registration import agree_to_privacy, make_invite


async def _uses(db: SessionFactory) -> int | None:
    async with db() as session:
        return await session.scalar(select(Invite.uses))


async def test_a_registered_member_opening_an_invite_to_their_own_branch_leaves_it_unused(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await make_invite(db, Role.MEMBER, "DEMO-B1")
    member = await client.user(demo["张伟"].telegram_id, "张伟", language_code="en")
    await member.send(f"/start {code}")
    said = (await member.wait_reply()).text
    assert "already registered" in said and "not used" in said
    assert await _uses(db) == 0
    # The person it was meant for can still use the single-use code.
    newcomer = await client.user(42, "Xu", language_code="en")
    await newcomer.send(f"/start {code}")
    await agree_to_privacy(newcomer)
    assert "What is your full name" in (await newcomer.wait_reply()).text


async def test_a_secretary_opening_an_invite_to_the_role_they_hold_leaves_it_unused(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await make_invite(db, Role.SECRETARY, "DEMO-B1")
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans")
    await secretary.send(f"/start {code}")
    assert "未被使用" in (await secretary.wait_reply()).text
    assert await _uses(db) == 0


async def test_a_newcomer_giving_a_name_already_on_the_roster_is_not_registered_twice(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await make_invite(db, Role.MEMBER, "DEMO-B1")
    inviter = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    async with db.begin() as session:
        account = await queries.account_by_telegram_id(session, inviter.user_id)
        assert account is not None
        account.locale = "en"
        await session.execute(update(Invite).values(created_by=account.id))
    newcomer = await client.user(42, "Liu", language_code="en")
    await newcomer.send(f"/start {code}")
    await agree_to_privacy(newcomer)
    await newcomer.wait_reply()  # the name
    await newcomer.send("刘洋")
    said = (await newcomer.wait_reply()).text
    assert "already on the roster" in said and "刘洋" in said
    async with db() as session:
        namesakes = await session.scalar(
            select(func.count()).select_from(Person).where(Person.name == "刘洋")
        )
        account = await queries.account_by_telegram_id(session, 42)
    assert namesakes == 1
    assert account is None or account.person_id is None
    assert await _uses(db) == 0
    # The inviter decides: they are told, with the name and the branch.
    told = (await inviter.wait_reply()).text
    assert "刘洋" in told and "First Party Branch" in told and "not registered" in told
