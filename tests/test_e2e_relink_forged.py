"""Forged relink buttons through the fake Bot API: every card button of a DEMO-B1 request,
pressed by a secretary of another branch, a member, an admin of a sibling committee and a
stranger, changes nothing, reveals nothing, and gets the same short refusal as an id that
does not exist. A decider's forged register row or unit is refused too."""

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import func, select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import RequestType
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeUser
from bot.relink import service
from bot.relink.model import Accept, AskMore, IssueLetter, Reject
from handlers import relink_buttons as rb
from handlers.buttons import Button
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, AuditEntry, ConversationRecord, Person, RoleAssignment
from storage.models_relink import (
    LostContactEntry,
    RelinkLetter,
    RelinkRequest,
    RelinkStep,
)
from tests.support.registration import relink_as_stranger
from tests.support.relink import (
    SIBLING_ADMIN,
    THROTTLE,
    account_of,
    act,
    add_register_rows,
    sibling_committee,
)

NOT_VISIBLE = "This request does not exist or is not visible to you."
NOW = dt.datetime.now(dt.UTC)


async def _file(
    db: SessionFactory,
    telegram_id: int,
    kind: RequestType,
    name: str,
    receiving: str | None = None,
) -> int:
    account, _ = await account_of(db, telegram_id)
    async with db.begin() as session:
        home = await queries.org_by_code(session, "DEMO-B1")
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
            now=NOW,
            throttle=THROTTLE,
        )
    assert outcome.request is not None
    return outcome.request.id


async def _requests(db: SessionFactory, demo: dict[str, DemoUser]) -> dict[str, int]:
    """DEMO-B1 requests, each in a state where its buttons work for the right person."""
    secretary = demo["王芳"].telegram_id
    ids = {
        "submitted": await _file(db, 78001, RequestType.MOBILE, "Member One"),
        "reconnect": await _file(db, 78002, RequestType.RECONNECT, "黄小明"),
        "letter": await _file(db, 78003, RequestType.TRANSFER, "Member Three", "DEMO-B2"),
        "accepted": await _file(db, 78004, RequestType.TRANSFER, "Member Four", "DEMO-B2"),
        "active": await _file(db, 78005, RequestType.MOBILE, "Member Five"),
        "rejected": await _file(db, 78006, RequestType.MOBILE, "Member Six"),
        "asked": await _file(db, 78007, RequestType.MOBILE, "Member Seven"),
        "claim": await _file(db, 78008, RequestType.MOBILE, "赵六"),
    }
    for key in ("reconnect", "letter", "accepted", "active"):
        assert (await act(db, secretary, ids[key], Accept(), NOW)).ok
    assert (await act(db, secretary, ids["letter"], IssueLetter("(2026) 5", 30), NOW)).ok
    assert (await act(db, secretary, ids["rejected"], Reject("no"), NOW)).ok
    assert (await act(db, secretary, ids["asked"], AskMore("where?"), NOW)).ok
    return ids


async def _setting(db: SessionFactory) -> dict[str, int]:
    """The organisation around the requests: a sibling committee, register rows, a roster
    entry that a request claims by name."""
    await sibling_committee(db)
    await add_register_rows(db, ("黄小明", "DEMO-B1", 2005))
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        sibling = await queries.org_by_code(session, "SIB-B1")
        assert branch is not None and sibling is not None
        session.add(Person(name="赵六", branch_id=branch.id))
        entries = {e.branch_code: e.id for e in await session.scalars(select(LostContactEntry))}
    return {
        "branch": branch.id,
        "sibling_branch": sibling.id,
        "entry": entries["DEMO-B1"],
        "sibling_entry": entries["SIB-B1"],
    }


def _cases(ids: dict[str, int], org: dict[str, int]) -> dict[str, list[Button]]:
    """For each card button family, forged presses naming DEMO-B1's objects."""
    return {
        "rl:v": [rb.ViewRequest(ids["submitted"])],
        "rl:acc": [rb.AcceptRequest(ids["submitted"])],
        "rl:ask": [rb.AskMoreRequest(ids["submitted"])],
        "rl:rej": [rb.RejectRequest(ids["submitted"])],
        "rl:reo": [rb.ReopenRequest(ids["rejected"])],
        "rl:let": [rb.IssueLetterRequest(ids["accepted"])],
        "rl:xfr": [rb.AcceptTransferRequest(ids["letter"])],
        "rl:idn": [
            rb.IdentityStep(ids["reconnect"]),
            rb.IdentityStep(ids["reconnect"], org["entry"]),
            rb.IdentityStep(ids["reconnect"], 0),
        ],
        "rl:tlk": [rb.TalkStep(ids["reconnect"])],
        "rl:due": [rb.DuesStep(ids["reconnect"])],
        "rl:asg": [rb.AssignStep(ids["reconnect"])],
        "rl:asu": [rb.AssignUnit(ids["reconnect"], org["branch"])],
        "rl:sys": [rb.SystemFlagStep(ids["reconnect"])],
        "rl:fin": [rb.CompleteRequest(ids["active"])],
        "rl:can": [rb.CancelRequest(ids["accepted"])],
        "rl:ans": [rb.AnswerRequest(ids["asked"])],
        "rl:wd": [rb.WithdrawRequest(ids["submitted"])],
        "rl:rep": [rb.ReportPlace(ids["active"])],
        "rl:idp": [rb.ClaimedIdentity(ids["claim"]), rb.ClaimedIdentity(ids["claim"], True)],
    }


async def _everything(db: SessionFactory) -> dict[str, Any]:
    """What a press could change: requests, their records, the register, the roster, roles,
    accounts, drafts and the audit log."""
    async with db() as session:

        async def count(model: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        requests = await session.scalars(select(RelinkRequest).order_by(RelinkRequest.id))
        entries = await session.scalars(select(LostContactEntry).order_by(LostContactEntry.id))
        people = await session.scalars(select(Person).order_by(Person.id))
        accounts = await session.scalars(select(Account).order_by(Account.id))
        return {
            "requests": [
                (r.id, r.state, r.version, r.person_id, r.claimed_person_id, r.register_entry_id)
                for r in requests
            ],
            "register": [(e.id, e.person_id, e.relinked_at) for e in entries],
            "people": [(p.id, p.branch_id, p.status) for p in people],
            "accounts": [(a.id, a.person_id) for a in accounts],
            "counts": [
                await count(m)
                for m in (RelinkStep, RelinkLetter, RoleAssignment, AuditEntry, ConversationRecord)
            ],
        }


async def _press(user: FakeUser, data: str) -> dict[str, Any]:
    message = await user.last_message()
    assert message is not None
    return await user.callback_answer(await user.press_data(message, data))


async def test_forged_card_buttons_change_nothing_and_reveal_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    org = await _setting(db)
    ids = await _requests(db, demo)
    cases = _cases(ids, org)
    # Every card button family has a case: a new one without a case fails here.
    families = {prefix for prefix in Button.registry if prefix.startswith("rl:")}
    assert families == set(cases)
    users = [
        await client.user(demo["周涛"].telegram_id, "周涛", language_code="en"),
        await client.user(demo["张伟"].telegram_id, "张伟", language_code="en"),
        await client.user(SIBLING_ADMIN, "邻书记", language_code="en"),
        await client.user(79999, "Stranger", language_code="en"),
    ]
    for user in users:
        await user.send("/help")
        await user.wait_reply()
    before = await _everything(db)
    sent = {user.user_id: len(await user.messages()) for user in users}
    for prefix, buttons in cases.items():
        for button in buttons:
            for user in users:
                answer = await _press(user, button.data)
                assert (answer["text"], answer["show_alert"]) == (NOT_VISIBLE, True), (
                    prefix,
                    user,
                )
            # The same answer as for a request that does not exist.
            missing = dataclasses.replace(button, request_id=999_999)  # type: ignore[type-var]
            assert (await _press(users[0], missing.data))["text"] == NOT_VISIBLE
    assert await _everything(db) == before
    for user in users:
        messages = await user.messages()
        assert len(messages) == sent[user.user_id]
        assert not any(m.edited for m in messages)


async def test_a_decider_cannot_take_a_register_row_or_unit_the_card_does_not_offer(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    org = await _setting(db)
    ids = await _requests(db, demo)
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await secretary.send("/relink")
    await secretary.wait_reply()
    before = await _everything(db)
    # Another committee's lost-contact member, pulled in with a forged identity button.
    forged = rb.IdentityStep(ids["reconnect"], org["sibling_entry"]).data
    answer = await _press(secretary, forged)
    assert answer["text"] == (
        "That register entry is not one this request's card offers. Nothing was changed."
    )
    # Another committee's branch as the assignment.
    forged = rb.AssignUnit(ids["reconnect"], org["sibling_branch"]).data
    assert (await _press(secretary, forged))["show_alert"] is True
    assert await _everything(db) == before
    # The row the card offers is taken.
    offered = await _press(secretary, rb.IdentityStep(ids["reconnect"], org["entry"]).data)
    assert offered["text"] is None
    card = await secretary.wait_edit()
    assert "✓ Identity confirmed" in card.button_texts
    async with db() as session:
        row = await session.get(RelinkRequest, ids["reconnect"])
        assert row is not None and row.register_entry_id == org["entry"]


async def test_forged_question_buttons_are_refused(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db() as session:
        committee = await queries.org_by_code(session, "DEMO")
        home = await queries.org_by_code(session, "DEMO-B1")
        assert committee is not None and home is not None
    lost = await client.user(79001, "Lost", language_code="en")
    await lost.press(await relink_as_stranger(lost), "2. Transfer my ties")
    await lost.wait_reply()
    await lost.send("Lost Member")
    asked = await lost.wait_reply()
    # A node that does not exist is no home branch.
    answer = await _press(lost, rb.HomeBranch(999_999).data)
    assert answer["show_alert"] is True
    await lost.press_data(asked, rb.HomeBranch(home.id).data)
    await lost.wait_reply()  # the year
    await lost.send("2005")
    await lost.press(await lost.wait_reply(), "Skip")  # where now
    await lost.press(await lost.wait_reply(), "Skip")  # employer
    await lost.press(await lost.wait_reply(), "Skip")  # phone
    other = await lost.wait_reply()
    assert "moving to" in other.text
    # The home branch, a committee, and skipping are no receiving branch of a transfer.
    same = await _press(lost, rb.OtherBranch(home.id).data)
    assert same["text"] == "The other branch must not be your home branch."
    assert (await _press(lost, rb.OtherBranch(committee.id).data))["show_alert"] is True
    assert (await _press(lost, rb.SkipQuestion().data))["show_alert"] is True
    # A letter's validity outside the letter question, and a member paging a leaders' list.
    assert (await _press(lost, rb.LetterDays(30).data))[
        "text"
    ] == "This button is no longer active."
    member = await client.user(demo["张伟"].telegram_id, "张伟", language_code="en")
    await member.send("/help")
    await member.wait_reply()
    assert "not available" in (await _press(member, rb.ListPage(0).data))["text"]
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(RelinkRequest)) == 0
        draft = await queries.load_conversation(
            session, name="relink", chat_id=lost.chat_id, user_id=lost.user_id
        )
    assert draft is not None and draft.state == "other" and "other_id" not in draft.data
