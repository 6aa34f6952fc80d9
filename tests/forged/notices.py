"""Forged notice buttons: a notice DEMO sent to DEMO-B1, 李强's copy of it, a notice of DEMO
scheduled for later, and the nodes a notice is sent from or to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from bot.enums import DeliveryState, NoticeAudience, NoticeState
from bot.fake_telegram import FakeMessage
from handlers.notice_buttons import (
    Acknowledge,
    Acknowledged,
    AudienceChoice,
    NotifyFrom,
    ResendNotice,
    SecondLanguage,
    StopNotice,
    ToggleBranch,
)
from storage import notice_queries as nq
from storage import queries
from storage.models import Account, Person
from storage.models_notices import NoticeDelivery
from tests.support.activity import NOW
from tests.support.forged import (
    SIBLING,
    A,
    Area,
    B,
    Case,
    Persona,
    Reply,
    World,
    administer_another_node,
    assert_refusal,
    lead_another_branch,
    no_object,
)

SENT_TEXT = "Closed meeting of the First Branch"
SCHEDULED_TEXT = "Closed election of the First Branch"
OUTSIDE_SCOPE = "You can only send notices within your own scope."
STALE = "This button is no longer active."
DRAFT = "an answer in the presser's own /notify draft (its node is checked again)"


@dataclass(frozen=True)
class Targets:
    sent: int
    scheduled: int
    copy: int
    branch: int
    committee: int
    sibling: int


async def setup(world: World) -> Targets:
    """A notice DEMO sent to DEMO-B1 (acknowledgement asked) with 李强's copy, and a notice
    of DEMO that goes out in three days (the delivery worker touches neither)."""
    async with world.db.begin() as session:
        demo = await queries.org_by_code(session, "DEMO")
        b1 = await queries.org_by_code(session, B)
        li = await session.scalar(
            select(Account)
            .join(Person, Person.id == Account.person_id)
            .where(Person.name == "李强")
        )
        assert demo is not None and b1 is not None and li is not None
        notices = []
        for text, send_at in ((SENT_TEXT, NOW - dt.timedelta(days=1)), (SCHEDULED_TEXT, None)):
            notices.append(
                await nq.create_notice(
                    session,
                    org=demo,
                    created_by=None,
                    audience=NoticeAudience.BRANCHES,
                    branch_ids=[b1.id],
                    texts={"zh_Hans": text, "en": text},
                    primary_locale="zh_Hans",
                    require_ack=True,
                    media_kind=None,
                    media_file_id=None,
                    send_at=send_at or NOW + dt.timedelta(days=3),
                    admin_chat_id=None,
                    progress_message_id=None,
                )
            )
        sent, scheduled = notices
        sent.state, sent.rounds = NoticeState.DONE, 1
        sent.started_at = sent.finished_at = NOW - dt.timedelta(days=1)
        copy = NoticeDelivery(
            notice_id=sent.id,
            account_id=li.id,
            branch_id=b1.id,
            state=DeliveryState.SENT,
            sent_at=NOW - dt.timedelta(days=1),
            message_id=1,
        )
        session.add(copy)
        await session.flush()
        return Targets(sent.id, scheduled.id, copy.id, b1.id, demo.id, world.nodes[SIBLING])


def markers(t: Targets) -> list[str]:
    return [SENT_TEXT, SCHEDULED_TEXT, "李强", "First Party Branch", "第一党支部"]


async def _notify(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """/notify: the admin of two nodes is asked which one (only their own), and so is the
    secretary of two branches (a leader notifies their own branch); the others are refused
    there already."""
    if persona.kind == "sibling admin":
        await administer_another_node(world, persona)
    if persona.kind == "secretary":
        await lead_another_branch(world, persona)
    await persona.user.send("/notify")
    asked = await persona.user.wait_reply()
    if persona.kind == "sibling admin":
        assert asked.button_texts == ["SIB", "SIB-B1"], asked
    if persona.kind == "secretary":
        # Their two branches (and those branches' party groups), none of B's.
        assert {A, "DEMO-B3"} <= set(asked.button_texts), asked
        assert B not in asked.button_texts, asked
    return asked


async def _branches(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """The same draft, from SIB, at the branch picker (SIB's branches only), one chosen."""
    asked = await _notify(world, persona, t)
    if persona.kind != "sibling admin":
        return asked
    user = persona.user
    await user.press(asked, data=NotifyFrom(t.sibling).data)
    await user.wait_edit()
    await user.send("Sibling notice")
    await user.press(await user.wait_reply(), data=SecondLanguage("skip").data)
    await user.press(await user.wait_edit(), data=AudienceChoice(NoticeAudience.BRANCHES).data)
    picker = await user.wait_edit()
    assert [b.split()[0] for b in picker.button_texts] == ["SIB-B1", "Done"], picker
    await user.press(picker, picker.button_texts[0])
    picker = await user.wait_edit()
    assert "Chosen: 1" in picker.text, picker
    return picker


def _outside_scope_for_the_admin(persona: Persona, reply: Reply | None) -> None:
    """The admin, in the draft, is told why; outside it, the draft's buttons are stale."""
    assert reply is not None
    if persona.kind == "sibling admin":
        assert reply.text == persona.tr._(OUTSIDE_SCOPE), reply
    elif persona.kind != "stranger":
        assert reply.text == persona.tr._(STALE), reply


def _outside_scope_for_the_senders(persona: Persona, reply: Reply | None) -> None:
    """The admin and the secretary, asked which node, are told why; the member never got
    that far."""
    assert reply is not None
    if persona.kind in ("sibling admin", "secretary"):
        assert reply.text == persona.tr._(OUTSIDE_SCOPE), reply
    elif persona.kind != "stranger":
        assert reply.text == persona.tr._(STALE), reply


def refused_unless_admin(persona: Persona, reply: Reply | None) -> None:
    """A harmless family of admins: whoever else registered presses it is refused (a
    stranger is told in a message that they are not registered)."""
    if persona.kind in ("secretary", "member"):
        assert reply is not None, persona
        assert_refusal(persona, reply, f"{persona} pressing an admin's button")


def _in_notify(prefix: str, buttons: object, enter: object) -> Case[Targets]:
    return Case(
        prefix,
        buttons,  # type: ignore[arg-type]
        enter=enter,  # type: ignore[arg-type]
        check=_outside_scope_for_the_admin,
    )


AREA = Area(
    "notices",
    setup,
    markers,
    cases=[
        # A reader presses the button of someone else's copy, from the same branch too.
        Case("ntc:ack", lambda t: [Acknowledge(t.copy)], member="same branch"),
        Case("ntc:acked", lambda t: [Acknowledged(t.copy)], member="same branch"),
        Case("ntc:stop", lambda t: [StopNotice(t.scheduled), StopNotice(t.sent)]),
        Case("ntc:again", lambda t: [ResendNotice(t.sent), ResendNotice(t.scheduled)]),
        Case(
            "ntf:org",
            lambda t: [NotifyFrom(t.committee), NotifyFrom(t.branch)],
            enter=_notify,
            check=_outside_scope_for_the_senders,
        ),
        _in_notify(
            "ntf:br",
            # Another committee's branch, and a node of the admin's own that is no branch.
            lambda t: [ToggleBranch(t.branch), ToggleBranch(t.sibling)],
            _branches,
        ),
        no_object(
            "ntc:list",
            "a page of /notices: the notices of the admin's own subtrees",
            harmless="the admin's own list",
            check=refused_unless_admin,
        ),
        no_object(
            "ntf:noop",
            "the acknowledge button of the admin's own preview",
            harmless="it only says that it is a preview",
            check=refused_unless_admin,
        ),
        *(
            no_object(prefix, DRAFT)
            for prefix in (
                "ntf:second",
                "ntf:aud",
                "ntf:br:p",
                "ntf:br:done",
                "ntf:ack",
                "ntf:when",
                "ntf:confirm",
                "ntf:cancel",
            )
        ),
    ],
)
