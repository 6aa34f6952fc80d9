"""Forged buttons of access management, privacy and invites: DEMO-B1's secretary, her role,
an invite into DEMO-B1, a member's deletion request, the branch itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from bot.enums import Role
from bot.fake_telegram import FakeMessage
from handlers.access_texts import (
    AccessConfirm,
    AccessPerson,
    AccessRemove,
    AccessRevokeInvite,
    AccessRevokeRole,
    AccessUnlink,
)
from handlers.invite import OrgButton, RoleButton
from handlers.privacy_texts import DeletionAsk, DeletionCard, DeletionConfirm, DeletionDecline
from storage import queries
from storage.models import DeletionRequest, Invite, Person, RoleAssignment
from tests.support.forged import (
    Area,
    B,
    Case,
    Persona,
    Reply,
    World,
    lead_another_branch,
    no_object,
)
from tests.support.registration import make_invite


@dataclass(frozen=True)
class Targets:
    person: int
    role: int
    invite: int
    request: int
    branch: int


async def setup(world: World) -> Targets:
    """王芳 (DEMO-B1's secretary), her role, an open invite into DEMO-B1, and 李强's open
    deletion request."""
    async with world.db.begin() as session:
        wang = await session.scalar(select(Person).where(Person.name == "王芳"))
        li = await session.scalar(select(Person).where(Person.name == "李强"))
        b1 = await queries.org_by_code(session, B)
        assert wang is not None and li is not None and b1 is not None
        role = await session.scalar(
            select(RoleAssignment).where(RoleAssignment.person_id == wang.id)
        )
        assert role is not None
        request = DeletionRequest(
            person_id=li.id, org_unit_id=b1.id, requested_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        )
        session.add(request)
        await session.flush()
        found = (wang.id, role.id, request.id, b1.id)
    await make_invite(world.db, Role.MEMBER, B, uses=5)
    async with world.db() as session:
        invite_id = await session.scalar(
            select(Invite.id).join(Invite.org_unit).where(Invite.max_uses == 5)
        )
    assert invite_id is not None
    person, role_id, request_id, branch = found
    return Targets(person, role_id, invite_id, request_id, branch)


def markers(t: Targets) -> list[str]:
    return ["王芳", "李强", B, "第一党支部", "First Party Branch"]


async def _access(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """/access (admins only; the others are refused there already)."""
    await persona.user.send("/access")
    return await persona.user.wait_reply()


async def _invite(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """/invite, asking which node for a secretary of two branches or an admin."""
    if persona.kind == "secretary":
        await lead_another_branch(world, persona)
    await persona.user.send("/invite")
    return await persona.user.wait_reply()


async def _invite_role(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """/invite: the secretary of one branch is asked the role at once."""
    await persona.user.send("/invite")
    return await persona.user.wait_reply()


def _outside_scope_for_the_secretary(persona: Persona, reply: Reply | None) -> None:
    """The secretary, asked the role, is told why; the others never got that far."""
    if persona.kind == "secretary":
        assert reply is not None and reply.text == persona.tr._(OUTSIDE_SCOPE), reply


def _in_access(prefix: str, buttons: object) -> Case[Targets]:
    return Case(prefix, buttons, member="same branch", enter=_access)  # type: ignore[arg-type]


OUTSIDE_SCOPE = "You can only invite people within your own scope."
PAGE = "a page of the admin's own results (searched in their own subtrees)"
INVITE = "an answer in the presser's own /invite draft (its node and role are checked again)"

AREA = Area(
    "access",
    setup,
    markers,
    cases=[
        _in_access("acs:p", lambda t: [AccessPerson(t.person)]),
        _in_access("acs:r", lambda t: [AccessRevokeRole(t.role)]),
        _in_access("acs:u", lambda t: [AccessUnlink(t.person)]),
        _in_access("acs:x", lambda t: [AccessRemove(t.person)]),
        _in_access("acs:ri", lambda t: [AccessRevokeInvite(t.invite)]),
        _in_access(
            "acs:ok",
            lambda t: [
                AccessConfirm("role", t.role),
                AccessConfirm("unlink", t.person),
                AccessConfirm("remove", t.person),
                AccessConfirm("invite", t.invite),
            ],
        ),
        Case("pv:card", lambda t: [DeletionCard(t.request)], member="same branch"),
        Case("pv:del", lambda t: [DeletionAsk(t.request)], member="same branch"),
        Case("pv:yes", lambda t: [DeletionConfirm(t.request)], member="same branch"),
        Case("pv:dec", lambda t: [DeletionDecline(t.request)], member="same branch"),
        Case("inv:org", lambda t: [OrgButton(t.branch)], member="same branch", enter=_invite),
        *(
            no_object(prefix, PAGE, harmless="the admin's own subtree", enter=_access)
            for prefix in ("acs:pg", "acs:inv", "acs:dr")
        ),
        Case(
            "inv:role",
            # A role above the secretary's own, on their own /invite draft.
            lambda t: [RoleButton(Role.ADMIN)],
            no_object=INVITE + "; forged: a role the presser may not give",
            member="same branch",
            enter=_invite_role,
            check=_outside_scope_for_the_secretary,
        ),
        *(no_object(prefix, INVITE) for prefix in ("inv:uses", "inv:exp")),
        no_object(
            "pv:ok",
            "the presser's consent to the privacy notice",
            harmless="the presser's own consent",
            own_changes="a stranger's account starts with their consent",
        ),
        no_object("pv:no", "declining the privacy notice", harmless="nothing is stored"),
        no_object(
            "pv:fg",
            "files the presser's own deletion request",
            harmless="the presser's own request",
            own_changes="the presser's own deletion request (and its audit entry)",
        ),
        no_object("pv:keep", "not filing a deletion request", harmless="nothing is filed"),
    ],
)
