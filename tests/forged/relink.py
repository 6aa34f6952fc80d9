"""Forged relink buttons: DEMO-B1's requests in every state, its register row and roster
entry, and the questions of a request being written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from bot.enums import OrgKind, RequestType
from bot.fake_telegram import FakeMessage
from bot.relink import service
from bot.relink.model import Accept, AskMore, IssueLetter, Reject
from handlers import relink_buttons as rb
from handlers.buttons import Button
from handlers.relink_questions import CITY, EMPLOYER, HOME, NAME, ORDER, OTHER, PHONE, TYPE, YEAR
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_relink import LostContactEntry
from tests.support.activity import NOW
from tests.support.forged import (
    A,
    Area,
    B,
    Case,
    Enter,
    Forged,
    Persona,
    Reply,
    World,
    no_object,
    settle,
)
from tests.support.registration import relink_as_stranger
from tests.support.relink import THROTTLE, account_of, act, add_register_rows

NOT_VISIBLE = "This request does not exist or is not visible to you."
NOT_FOR_ROLE = "Sorry, this is not available for your role. Nothing was changed."
STALE = "This button is no longer active."
OWN_HOME = "The other branch must not be your home branch."
# Whoever files DEMO-B1's requests, and the branch a transfer goes to: neither is a persona's.
RECEIVING = "DEMO-B3"


@dataclass(frozen=True)
class Requests:
    """DEMO-B1's requests by state, and the register rows and units around them."""

    ids: dict[str, int]
    branch: int
    group: int
    committee: int
    sibling_branch: int
    entry: int
    sibling_entry: int
    # The personas' own branch (DEMO-B2): the home of the requests they write.
    own_home: int


async def _file(
    db: SessionFactory,
    telegram_id: int,
    kind: RequestType,
    name: str,
    now: dt.datetime,
    receiving: str | None = None,
) -> int:
    account, _ = await account_of(db, telegram_id)
    async with db.begin() as session:
        home = await queries.org_by_code(session, B)
        other = await queries.org_by_code(session, receiving) if receiving else None
        stored = await session.get(Account, account.id)
        assert home is not None and stored is not None
        outcome = await service.submit_request(
            session,
            account=stored,
            new=service.NewRequest(
                type=kind,
                name=name,
                home_id=home.id,
                receiving_id=other.id if other else None,
                join_year=2005,
            ),
            now=now,
            throttle=THROTTLE,
        )
    assert outcome.request is not None
    return outcome.request.id


async def relink_objects(db: SessionFactory, secretary: int, now: dt.datetime) -> Requests:
    """DEMO-B1's requests, each in a state where its buttons work for the right person (the
    sibling committee SIB must exist: its register has a row of its own); `secretary` is the
    Telegram id of DEMO-B1's secretary, who decides them."""
    await add_register_rows(db, ("黄小明", B, 2005))
    async with db.begin() as session:
        branch = await queries.org_by_code(session, B)
        committee = await queries.org_by_code(session, "DEMO")
        sibling = await queries.org_by_code(session, "SIB-B1")
        group = await queries.org_by_code(session, "B1-RG")
        own_home = await queries.org_by_code(session, A)
        assert (
            own_home is not None
            and branch is not None
            and committee is not None
            and sibling is not None
        )
        if group is None:
            group = await queries.add_org_unit(
                session, code="B1-RG", kind=OrgKind.PARTY_GROUP, name="一支部小组", parent=branch
            )
        session.add(Person(name="赵六", branch_id=branch.id))
        entries = {e.branch_code: e.id for e in await session.scalars(select(LostContactEntry))}
        units = (branch.id, group.id, committee.id, sibling.id)
        own_home_id = own_home.id
    ids = {
        "submitted": await _file(db, 78001, RequestType.MOBILE, "Member One", now),
        "reconnect": await _file(db, 78002, RequestType.RECONNECT, "黄小明", now),
        "letter": await _file(db, 78003, RequestType.TRANSFER, "Member Three", now, RECEIVING),
        "accepted": await _file(db, 78004, RequestType.TRANSFER, "Member Four", now, RECEIVING),
        "active": await _file(db, 78005, RequestType.MOBILE, "Member Five", now),
        "rejected": await _file(db, 78006, RequestType.MOBILE, "Member Six", now),
        "asked": await _file(db, 78007, RequestType.MOBILE, "Member Seven", now),
        "claim": await _file(db, 78008, RequestType.MOBILE, "赵六", now),
    }
    for key in ("reconnect", "letter", "accepted", "active"):
        assert (await act(db, secretary, ids[key], Accept(), now)).ok
    assert (await act(db, secretary, ids["letter"], IssueLetter("(2026) 5", 30), now)).ok
    assert (await act(db, secretary, ids["rejected"], Reject("no"), now)).ok
    assert (await act(db, secretary, ids["asked"], AskMore("where?"), now)).ok
    return Requests(ids, *units, entries[B], entries["SIB-B1"], own_home_id)


async def setup(world: World) -> Requests:
    async with world.db() as session:
        secretary = await session.scalar(
            select(Account.telegram_id).join(Person).where(Person.name == "王芳")
        )
    assert secretary is not None
    return await relink_objects(world.db, secretary, NOW)


def markers(t: Requests) -> list[str]:
    names = ("One", "Three", "Four", "Five", "Six", "Seven")
    return [*(f"Member {n}" for n in names), "黄小明", "赵六", "(2026) 5", "where?"]


def _not_visible(persona: Persona, reply: Reply | None) -> None:
    """The same alert as for a request that does not exist."""
    assert reply is not None and reply.alert, (persona, reply)
    assert reply.text == persona.tr._(NOT_VISIBLE), (persona, reply)


def _card(prefix: str, buttons: Callable[[Requests], list[Button]]) -> Case[Requests]:
    return Case(prefix, buttons, member="same branch", check=_not_visible)


async def _draft_state(world: World, persona: Persona) -> str | None:
    async with world.db() as session:
        draft = await queries.load_conversation(
            session, name="relink", chat_id=persona.user.chat_id, user_id=persona.user.user_id
        )
    return draft.state if draft is not None else None


def _question(target: str) -> Enter:
    """Write a transfer request (home: DEMO-B2) up to the question `target`, or as far as
    the persona gets: what the roster knows about them is not asked."""

    async def enter(world: World, persona: Persona, _t: Requests) -> FakeMessage:
        user = persona.user
        if persona.kind == "stranger":
            message = await relink_as_stranger(user)
        else:
            await user.send("/relink")
            message = await user.wait_reply()
            if rb.StartRequest().data in (data for row in message.buttons for _, data in row):
                # A leader's list: a request of their own starts from its button.
                await user.press(message, data=rb.StartRequest().data)
                message = await user.wait_reply()
        answers = {
            TYPE: rb.RequestKind(RequestType.TRANSFER).data,
            NAME: "Persona",
            HOME: rb.HomeBranch(world.nodes[A]).data,
            YEAR: "2005",
            CITY: rb.SkipQuestion().data,
            EMPLOYER: rb.SkipQuestion().data,
            PHONE: rb.SkipQuestion().data,
        }
        while True:
            # Each answer is handled completely (its question sent, the draft stored) before
            # the reply to /help: the draft's state is then the question asked.
            message = ([message, *await settle(persona)])[-1]
            state = await _draft_state(world, persona)
            if state not in answers or ORDER.index(state) >= ORDER.index(target):
                return message
            if ":" in answers[state]:
                await user.press_data(message, answers[state])
            else:
                await user.send(answers[state])

    return enter


def _member_not_available(persona: Persona, reply: Reply | None) -> None:
    """Only leaders have a list: a member paging it is refused."""
    if persona.kind == "member":
        assert reply is not None and reply.alert, reply
        assert reply.text == persona.tr._(NOT_FOR_ROLE), reply


DRAFT = "an answer to a question of the presser's own request draft"

AREA = Area(
    "relink",
    setup,
    markers,
    cases=[
        _card("rl:v", lambda t: [rb.ViewRequest(t.ids["submitted"])]),
        _card("rl:acc", lambda t: [rb.AcceptRequest(t.ids["submitted"])]),
        _card("rl:ask", lambda t: [rb.AskMoreRequest(t.ids["submitted"])]),
        _card("rl:rej", lambda t: [rb.RejectRequest(t.ids["submitted"])]),
        _card("rl:reo", lambda t: [rb.ReopenRequest(t.ids["rejected"])]),
        _card("rl:let", lambda t: [rb.IssueLetterRequest(t.ids["accepted"])]),
        _card("rl:xfr", lambda t: [rb.AcceptTransferRequest(t.ids["letter"])]),
        _card(
            "rl:idn",
            lambda t: [
                rb.IdentityStep(t.ids["reconnect"]),
                rb.IdentityStep(t.ids["reconnect"], t.entry),
                rb.IdentityStep(t.ids["reconnect"], 0),
            ],
        ),
        _card("rl:tlk", lambda t: [rb.TalkStep(t.ids["reconnect"])]),
        _card("rl:due", lambda t: [rb.DuesStep(t.ids["reconnect"])]),
        _card("rl:asg", lambda t: [rb.AssignStep(t.ids["reconnect"])]),
        _card("rl:asu", lambda t: [rb.AssignUnit(t.ids["reconnect"], t.branch)]),
        _card("rl:sys", lambda t: [rb.SystemFlagStep(t.ids["reconnect"])]),
        _card("rl:fin", lambda t: [rb.CompleteRequest(t.ids["active"])]),
        _card("rl:can", lambda t: [rb.CancelRequest(t.ids["accepted"])]),
        _card("rl:ans", lambda t: [rb.AnswerRequest(t.ids["asked"])]),
        _card("rl:wd", lambda t: [rb.WithdrawRequest(t.ids["submitted"])]),
        _card("rl:rep", lambda t: [rb.ReportPlace(t.ids["active"])]),
        _card(
            "rl:idp",
            lambda t: [
                rb.ClaimedIdentity(t.ids["claim"]),
                rb.ClaimedIdentity(t.ids["claim"], True),
            ],
        ),
        # Any branch may be named as the home or the receiving one (a member chooses them from
        # the whole tree): forged are nodes that are no such choice.
        Case("rlq:home", lambda t: [rb.HomeBranch(t.group)], enter=_question(HOME)),
        Case(
            "rlq:other",
            lambda t: [
                rb.OtherBranch(t.committee),
                rb.OtherBranch(t.group),
                Forged(rb.OtherBranch(t.own_home), OWN_HOME),
            ],
            enter=_question(OTHER),
            differs_from_missing="the presser's own home branch is refused saying so",
        ),
        no_object(
            "rlq:skip",
            DRAFT + "; pressed where it is refused: a transfer's receiving branch",
            enter=_question(OTHER),
            refusal=NOT_FOR_ROLE,
        ),
        no_object("rlq:type", DRAFT),
        no_object("rlq:send", DRAFT),
        no_object("rlq:stop", DRAFT),
        no_object(
            "rlq:new",
            "starts a request of the presser's own",
            harmless="the presser's own new request",
            own_changes="the presser's own request draft",
        ),
        no_object(
            "rlx:days",
            "a letter's validity, in the presser's own letter question",
            refusal=STALE,
        ),
        no_object(
            "rll",
            "a page of the presser's own list (their branches and subtrees)",
            harmless="the presser's own list",
            check=_member_not_available,
        ),
    ],
)
