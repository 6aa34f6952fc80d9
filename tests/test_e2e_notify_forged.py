"""Forged notice buttons (issue 11): a button of one subtree replayed with the ids of another's
notices, copies and nodes, by a member, a secretary, the admin of a sibling committee and a
stranger. Nothing changes, nothing about the object is revealed, and the presser gets a short
refusal in their language."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from storage.models_notices import NoticeDelivery
from tests.support.notices import (
    ADMIN,
    SIBLING_ADMIN_ID,
    STRANGER_ID,
    compose,
    demo_users,
    notice_now,
    sibling_committee,
    snapshot,
    wait_status,
)

NOTICE_TEXT = "Closed meeting of the First Branch"
REFUSED = {
    "en": "Sorry, this is not available for your role. Nothing was changed.",
    "zh": "抱歉，您的角色无权进行此操作，未做任何更改。",
}
NOT_REGISTERED = "You are not registered yet"
OUTSIDE_SCOPE = "You can only send notices within your own scope."


async def _copy_of(db: SessionFactory, name: str, notice_id: int) -> int:
    async with db() as session:
        found = await session.scalar(
            select(NoticeDelivery.id)
            .join(Account, Account.id == NoticeDelivery.account_id)
            .join(Person, Person.id == Account.person_id)
            .where(Person.name == name, NoticeDelivery.notice_id == notice_id)
        )
    assert found is not None
    return found


async def _press(user: FakeUser, message: FakeMessage, data: str) -> str:
    """Press a forged button; the refusal the presser gets (an alert, or a message)."""
    update_id = await user.press_data(message, data)
    answer = await user.callback_answer(update_id)
    if answer.get("text"):
        return str(answer["text"])
    return (await user.wait_reply()).text


async def _something_to_press(user: FakeUser) -> FakeMessage:
    await user.send("/help")
    return await user.wait_reply()


async def test_forged_notice_buttons_change_nothing_and_reveal_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await sibling_committee(db)
    users = await demo_users(client, demo)
    summary = await compose(users[ADMIN], NOTICE_TEXT, audience="members", ack=True)
    await users[ADMIN].press(summary, "Confirm and send")
    await wait_status(users[ADMIN], "has gone out")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    scheduled = await notice_now(db, now=later, text=NOTICE_TEXT)
    member, secretary = users["李强"], users["王芳"]
    member_copy = await member.wait_reply()
    secretary_copy = await secretary.wait_reply()
    sibling = await client.user(SIBLING_ADMIN_ID, "Wang", language_code="en")
    stranger = await client.user(STRANGER_ID, "Stranger", language_code="en")
    theirs = await _copy_of(db, "王芳", 1)
    his = await _copy_of(db, "李强", 1)
    cases = [
        # A reader presses the acknowledge button of someone else's copy.
        (member, member_copy, f"ntc:ack:{theirs}", REFUSED["en"]),
        (member, member_copy, f"ntc:acked:{theirs}", REFUSED["en"]),
        (secretary, secretary_copy, f"ntc:ack:{his}", REFUSED["zh"]),
        # Members and secretaries manage no notices at all.
        (member, member_copy, f"ntc:stop:{scheduled}", REFUSED["en"]),
        (member, member_copy, "ntc:again:1", REFUSED["en"]),
        (member, member_copy, "ntc:list:0", REFUSED["en"]),
        (member, member_copy, "ntf:noop", REFUSED["en"]),
        (secretary, secretary_copy, f"ntc:stop:{scheduled}", REFUSED["zh"]),
        (secretary, secretary_copy, "ntc:again:1", REFUSED["zh"]),
        # The admin of the sibling committee: DEMO's notices and copies are not theirs.
        (sibling, await _something_to_press(sibling), f"ntc:stop:{scheduled}", REFUSED["en"]),
        (sibling, await sibling.last_message(), "ntc:again:1", REFUSED["en"]),
        (sibling, await sibling.last_message(), f"ntc:ack:{his}", REFUSED["en"]),
        (sibling, await sibling.last_message(), f"ntc:acked:{his}", REFUSED["en"]),
        # Someone who never registered.
        (stranger, await _something_to_press(stranger), f"ntc:ack:{his}", NOT_REGISTERED),
        (stranger, await stranger.last_message(), f"ntc:stop:{scheduled}", NOT_REGISTERED),
        (stranger, await stranger.last_message(), "ntc:again:1", NOT_REGISTERED),
        (stranger, await stranger.last_message(), "ntc:list:0", NOT_REGISTERED),
    ]
    for user, message, data, expected in cases:
        assert message is not None
        before = await snapshot(db)
        refusal = await _press(user, message, data)
        assert refusal.startswith(expected), (user, data, refusal)
        assert NOTICE_TEXT not in refusal and "#" not in refusal, (user, data, refusal)
        assert await snapshot(db) == before, (user, data)
    # The sibling admin's list shows their own subtree only: nothing of DEMO's.
    await sibling.press_data(await _something_to_press(sibling), "ntc:list:0")
    assert (await sibling.wait_edit()).text == "No notices are scheduled or going out."


async def test_a_sibling_admin_cannot_send_from_or_to_another_subtree(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    ids = await sibling_committee(db)
    sibling = await client.user(SIBLING_ADMIN_ID, "Wang", language_code="en")
    await sibling.send("/notify")
    question = await sibling.wait_reply()
    assert question.button_texts == ["SIB", "SIB-B1"]
    before = await snapshot(db)
    assert await _press(sibling, question, f"ntf:org:{ids['DEMO']}") == OUTSIDE_SCOPE
    assert await snapshot(db) == before
    await sibling.press(question, "SIB")
    await sibling.wait_edit()
    await sibling.send("Sibling notice")
    await sibling.press(await sibling.wait_reply(), data="ntf:second:skip")
    await sibling.press(await sibling.wait_edit(), data="ntf:aud:branches")
    picker = await sibling.wait_edit()
    assert [b.split()[0] for b in picker.button_texts] == ["SIB-B1", "Done"]
    # Another committee's branch, and a node of their own that is not a branch.
    for forged in (ids["DEMO-B1"], ids["SIB"]):
        before = await snapshot(db)
        assert await _press(sibling, picker, f"ntf:br:{forged}") == OUTSIDE_SCOPE
        assert await snapshot(db) == before
    await sibling.press(picker, picker.button_texts[0])
    assert "Chosen: 1" in (await sibling.wait_edit()).text
    # Outside the conversation, its buttons are only stale.
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    before = await snapshot(db)
    refusal = await _press(member, await _something_to_press(member), f"ntf:br:{ids['DEMO-B1']}")
    assert refusal == "This button is no longer active."
    assert await snapshot(db) == before
    async with db() as session:
        assert await queries.org_by_code(session, "SIB") is not None
