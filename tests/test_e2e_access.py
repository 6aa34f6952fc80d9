"""Admins take access away in the bot: find a person, confirm, and the next update is refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import Role
from bot.fake_telegram import FakeTelegramClient, FakeUser
from storage import queries
from storage.db import SessionFactory
from storage.models import ConversationRecord, Invite, Person, RoleAssignment
from storage.models_reminders import Reminder
from tests.support.registration import make_invite


async def _admin(client: FakeTelegramClient, demo: dict[str, DemoUser]) -> FakeUser:
    return await client.user(demo["林书记"].telegram_id, "Lin", language_code="en")


async def _card(admin: FakeUser, name: str, label: str):
    """/access, search by name, open the person's card."""
    await admin.send("/access")
    menu = await admin.wait_reply()
    assert menu.button_texts == ["Open invites", "Deletion requests"]
    await admin.send(name)
    found = await admin.wait_reply()
    await admin.press(found, label)
    return await admin.wait_edit()


async def test_taking_back_a_role_counts_from_the_next_update(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "Wang", language_code="en")
    # An open /invite conversation must not keep the role alive.
    await secretary.send("/invite")
    roles = await secretary.wait_reply()
    admin = await _admin(client, demo)
    card = await _card(admin, "王芳", "王芳 · First Party Branch")
    assert "Roles: branch secretary of First Party Branch, member" in card.text
    assert card.button_texts == [
        "Take back: branch secretary of First Party Branch",
        "Unlink Telegram account",
        "Remove from the roster of First Party Branch",
        "‹ Back to the list",
    ]
    await admin.press(card, "Take back: branch secretary of First Party Branch")
    question = await admin.wait_edit()
    assert "Take back the role branch secretary of First Party Branch from 王芳?" in question.text
    assert question.button_texts == ["Yes, take it back", "Cancel"]
    await admin.press(question, "Cancel")  # back to the card: nothing changed
    card = await admin.wait_edit()
    async with db() as session:
        assert await session.scalar(
            select(RoleAssignment.role).join(Person).where(Person.name == "王芳")
        )
    await admin.press(card, "Take back: branch secretary of First Party Branch")
    await admin.press(await admin.wait_edit(), "Yes, take it back")
    done = await admin.wait_edit()
    assert "The role branch secretary of First Party Branch was taken back." in done.text
    assert "Roles: member" in done.text and "Take back" not in " ".join(done.button_texts)

    update_id = await secretary.press(roles, "member")
    assert "not available for your role" in (await secretary.callback_answer(update_id))["text"]
    await secretary.send("/invite")
    assert "not available for your role" in (await secretary.wait_reply()).text
    async with db() as session:
        entries = await queries.audit_entries(session, action="role.revoke")
        assert [(e.details, e.actor_label) for e in entries] == [
            ({"role": "secretary", "org": "DEMO-B1"}, "account")
        ]
        assert list(await session.scalars(select(Invite))) == []


async def test_unlinking_an_account_counts_from_the_next_update(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        account = await queries.account_by_telegram_id(session, demo["李强"].telegram_id)
        assert account is not None
        session.add(
            Reminder(
                account_id=account.id,
                kind="digest",
                subject="digest",
                dedupe_key="digest:li",
                due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
            )
        )
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    await member.send("/forgetme")  # leaves a reply with buttons that must stop working
    offer = await member.wait_reply()
    admin = await _admin(client, demo)
    card = await _card(admin, "李", "李强 · First Party Branch")
    assert "Telegram account linked" in card.text
    await admin.press(card, "Unlink Telegram account")
    question = await admin.wait_edit()
    assert "Unlink the Telegram account of 李强?" in question.text
    await admin.press(question, "Yes, unlink")
    done = await admin.wait_edit()
    assert "The Telegram account was unlinked." in done.text
    assert "No Telegram account linked" in done.text
    assert "Unlink Telegram account" not in done.button_texts

    await member.send("/me")
    assert "not registered" in (await member.wait_reply()).text
    await member.send("/activities")
    assert "not registered" in (await member.wait_reply()).text
    await member.press(offer, "File the deletion request")
    assert "not registered" in (await member.wait_reply()).text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, demo["李强"].telegram_id)
        assert account is not None and account.person_id is None
        person = await session.scalar(select(Person).where(Person.name == "李强"))
        assert person is not None and person.branch_id is not None  # the record stays
        # Nothing planned for him while he was the member is sent to the account any more.
        assert list(await session.scalars(select(Reminder))) == []
        assert [e.action for e in await queries.audit_entries(session)] == ["account.unlink"]


async def test_removing_from_a_branch_keeps_the_person_in_history(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    secretary = await client.user(demo["陈静"].telegram_id, "Chen", language_code="en")
    admin = await _admin(client, demo)
    card = await _card(admin, "陈静", "陈静 · Second Party Branch")
    await admin.press(card, "Remove from the roster of Second Party Branch")
    question = await admin.wait_edit()
    assert "Remove 陈静 from the roster of Second Party Branch?" in question.text
    await admin.press(question, "Yes, remove")
    done = await admin.wait_edit()
    assert (
        "Removed from the roster" in done.text and "Removed from Second Party Branch" in done.text
    )
    assert "Roles: —" in done.text

    await secretary.send("/due")
    assert "/due is for branch secretaries" in (await secretary.wait_reply()).text
    async with db() as session:
        person = await session.scalar(select(Person).where(Person.name == "陈静"))
        branch = await queries.org_by_code(session, "DEMO-B2")
        assert person is not None and branch is not None
        assert (person.branch_id, person.left_branch_id) == (None, branch.id)
        assert person.left_at is not None
        assert await queries.roles_of(session, person.id) == []
        entries = await queries.audit_entries(session, action="person.remove")
        assert [e.details for e in entries] == [{"roles": ["secretary"]}]
    # The admin still finds them (removed, kept in history).
    await admin.send("陈")
    assert "陈静 · —" in (await admin.wait_reply()).button_texts


async def test_withdrawing_an_invite(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    code = await make_invite(db, Role.MEMBER, "DEMO-B1", uses=5)
    admin = await _admin(client, demo)
    await admin.send("/access")
    await admin.press(await admin.wait_reply(), "Open invites")
    listing = await admin.wait_edit()
    assert "member of First Party Branch, used 0 of 5" in listing.text
    (withdraw,) = listing.button_texts
    await admin.press(listing, withdraw)
    question = await admin.wait_edit()
    assert "Withdraw this invite?" in question.text
    await admin.press(question, "Yes, withdraw")
    done = await admin.wait_edit()
    assert "was withdrawn" in done.text and "No open invites." in done.text
    newcomer = await client.user(70, "New", language_code="en")
    await newcomer.send(f"/start {code}")
    assert "withdrawn" in (await newcomer.wait_reply()).text
    async with db() as session:
        invite = await session.scalar(select(Invite))
        assert invite is not None and invite.revoked_at is not None
        assert [e.action for e in await queries.audit_entries(session, action="invite.revoke")]


async def test_results_come_a_page_at_a_time(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B3")
        assert branch is not None
        for n in range(10):
            session.add(Person(name=f"测试{n:02d}", branch_id=branch.id))
    admin = await _admin(client, demo)
    await admin.send("/access")
    await admin.wait_reply()
    await admin.send("测试")
    first = await admin.wait_reply()
    assert "page 1 of 2" in first.text
    assert first.button_texts == [*(f"测试{n:02d} · Office Party Branch" for n in range(8)), "›"]
    await admin.press(first, "›")
    second = await admin.wait_edit()
    assert second.button_texts == [
        "测试08 · Office Party Branch",
        "测试09 · Office Party Branch",
        "‹",
    ]
    await admin.press(second, "测试09 · Office Party Branch")
    card = await admin.wait_edit()
    assert "No Telegram account linked" in card.text
    await admin.press(card, "‹ Back to the list")
    assert (await admin.wait_edit()).button_texts == second.button_texts
    await admin.send("/cancel")
    await admin.wait_reply()
    async with db() as session:
        assert list(await session.scalars(select(ConversationRecord))) == []


async def test_an_admin_cannot_change_their_own_access_or_a_peers(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        peer = Person(name="林同事", branch_id=None)
        session.add(peer)
        await session.flush()
        await queries.grant_role(session, person=peer, org_unit=committee, role=Role.ADMIN)
    admin = await _admin(client, demo)
    card = await _card(admin, "林", "林书记 · —")
    assert card.button_texts == ["‹ Back to the list"]
    await admin.press(card, "‹ Back to the list")
    found = await admin.wait_edit()
    await admin.press(found, "林同事 · —")
    assert (await admin.wait_edit()).button_texts == ["‹ Back to the list"]
