"""Access management seen from a sibling committee: its admin finds only their own subtree's
people, invites and deletion requests, and loses the screen with their role.

(Forged ids of access management, privacy and invites — DEMO-B1's person, her role, an
invite, a deletion request, the branch — pressed by a secretary of another branch, a member,
a sibling committee's admin and a stranger: tests/test_forged_buttons.py with
tests/forged/access.py.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import OrgKind, Role
from bot.fake_telegram import FakeTelegramClient
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, DeletionRequest, Invite, Person, RoleAssignment
from tests.support.registration import make_invite

OTHER_ADMIN, OTHER_SECRETARY = 910001, 910010


@dataclass(frozen=True)
class Targets:
    person: int
    role: int
    invite: int
    request: int
    branch: int


async def _setup(db: SessionFactory) -> Targets:
    """A sibling committee with its own admin and branch; the demo objects to attack."""
    async with db.begin() as session:
        committee = await queries.add_org_unit(
            session, code="OTHER", kind=OrgKind.COMMITTEE, name="另一党委"
        )
        branch = await queries.add_org_unit(
            session, code="OTHER-B1", kind=OrgKind.BRANCH, name="另一支部", parent=committee
        )
        admin = Person(name="外管理员")
        secretary = Person(name="外书记", branch_id=branch.id)
        session.add_all([admin, secretary])
        await session.flush()
        await queries.grant_role(session, person=admin, org_unit=committee, role=Role.ADMIN)
        await queries.grant_role(session, person=secretary, org_unit=branch, role=Role.SECRETARY)
        session.add(Account(telegram_id=OTHER_ADMIN, person_id=admin.id))
        session.add(Account(telegram_id=OTHER_SECRETARY, person_id=secretary.id))
        wang = await session.scalar(select(Person).where(Person.name == "王芳"))
        li = await session.scalar(select(Person).where(Person.name == "李强"))
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert wang is not None and li is not None and b1 is not None
        role = await session.scalar(
            select(RoleAssignment).where(RoleAssignment.person_id == wang.id)
        )
        assert role is not None
        request = DeletionRequest(
            person_id=li.id, org_unit_id=b1.id, requested_at=dt.datetime.now(dt.UTC)
        )
        session.add(request)
        await session.flush()
        targets = Targets(wang.id, role.id, 0, request.id, b1.id)
    await make_invite(db, Role.MEMBER, "DEMO-B1", uses=5)
    async with db() as session:
        invite_id = await session.scalar(select(Invite.id))
    assert invite_id is not None
    return Targets(targets.person, targets.role, invite_id, targets.request, targets.branch)


async def test_a_sibling_admin_sees_only_their_own_subtree(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _setup(db)
    admin = await client.user(OTHER_ADMIN, "Other", language_code="en")
    await admin.send("/access")
    menu = await admin.wait_reply()
    await admin.press(menu, "Open invites")
    assert "No open invites." in (await admin.wait_edit()).text
    await admin.press_data(menu, "acs:dr")
    assert "No open requests." in (await admin.wait_edit()).text
    await admin.send("王")
    assert "Nobody in your subtree" in (await admin.wait_reply()).text
    await admin.send("书记")
    found = await admin.wait_reply()
    assert found.button_texts == ["外书记 · 另一支部"]
    # A page past the end shows the last one (the same here: not an error, no alert).
    page = await admin.press_data(found, "acs:pg:999")
    assert not (await admin.callback_answer(page))["show_alert"]
    assert (await admin.last_message()).button_texts == ["外书记 · 另一支部"]


async def test_an_admin_whose_role_was_taken_back_mid_conversation_is_refused(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _setup(db)
    admin = await client.user(OTHER_ADMIN, "Other", language_code="en")
    await admin.send("/access")
    menu = await admin.wait_reply()
    async with db.begin() as session:
        person = await session.scalar(select(Person).where(Person.name == "外管理员"))
        assert person is not None
        for assignment in await queries.roles_of(session, person.id):
            await queries.revoke_role(session, assignment)
    update_id = await admin.press(menu, "Open invites")
    assert "not available for your role" in (await admin.callback_answer(update_id))["text"]
