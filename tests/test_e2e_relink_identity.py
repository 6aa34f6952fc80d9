"""Who a relink requester is, and what they must tell, through the fake Bot API: a name that
matches the roster is shown as unverified until the deciders confirm it, whereabouts are
optional and say why they are asked, and filing is limited."""

import datetime as dt

from sqlalchemy import update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import RequestType
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser
from bot.relink import service
from bot.relink.model import Withdraw
from storage import queries
from storage.db import SessionFactory
from storage.models import Account, Person
from tests.support.registration import relink_as_stranger
from tests.support.relink import THROTTLE, account_of, act, request_row


async def _in_english(db: SessionFactory) -> None:
    async with db.begin() as session:
        await session.execute(update(Account).values(locale="en"))


async def _file_mobile(user: FakeUser, name: str) -> FakeMessage:
    """/relink as a mobile member of DEMO-B1; returns the summary before sending."""
    await user.press(await relink_as_stranger(user), "1. Report as a mobile member")
    await user.wait_reply()
    await user.send(name)
    await user.wait_reply()
    await user.send("DEMO-B1")
    await user.press(await user.wait_reply(), "DEMO-B1 First Party Branch")
    await user.wait_reply()
    await user.send("2005")
    await user.wait_reply()
    await user.send("Shenzhen")
    await user.press(await user.wait_reply(), "Skip")  # employer
    await user.press(await user.wait_reply(), "Skip")  # phone
    await user.press(await user.wait_reply(), "Skip")  # a local branch
    return await user.wait_reply()


async def test_a_name_matching_the_roster_is_unverified_until_the_secretary_confirms(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _in_english(db)
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        person = Person(name="赵六", branch_id=branch.id, joined_on=dt.date(2005, 7, 1))
        session.add(person)
        await session.flush()
        zhao = person.id
    member = await client.user(79100, "Zhao", language_code="en")
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    summary = await _file_mobile(member, "赵六")
    await member.press(summary, "Send the request")
    await member.wait_edit()
    notice = await secretary.wait_reply()
    assert (
        "⚠ Unverified: the name matches 赵六 on the roster of First Party Branch (DEMO-B1)"
        in notice.text
    )
    assert notice.button_texts == ["Confirm identity", "Accept", "Ask for more", "Reject"]
    # Accepting does not make the stranger that person.
    await secretary.press(notice, "Accept")
    accepted = await secretary.wait_edit()
    assert "Unverified" in accepted.text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 79100)
        assert account is not None and account.person_id is None
    await secretary.press(accepted, "Confirm identity")
    question = await secretary.wait_edit()
    assert "The member says they are 赵六, joined the Party in 2005" in question.text
    assert "joined the Party on Jul 1, 2005" in question.text
    assert question.button_texts == ["Yes, the same person", "No, someone else"]
    await secretary.press(question, "Yes, the same person")
    confirmed = await secretary.wait_edit()
    assert confirmed.text.startswith("Identity confirmed")
    assert "Unverified" not in confirmed.text
    assert "Confirm identity" not in confirmed.button_texts
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 79100)
        assert account is not None and account.person_id == zhao
    assert (await request_row(db)).person_id == zhao


async def test_whereabouts_are_optional_and_say_why_they_are_asked(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _in_english(db)
    member = await client.user(79101, "Qian", language_code="en")
    await member.press(await relink_as_stranger(member), "1. Report as a mobile member")
    await member.wait_reply()
    await member.send("钱七")
    await member.wait_reply()
    await member.send("DEMO-B1")
    await member.press(await member.wait_reply(), "DEMO-B1 First Party Branch")
    await member.wait_reply()
    await member.send("2005")
    city = await member.wait_reply()
    assert "optional" in city.text and "only those handling your request" in city.text
    assert city.button_texts == ["Skip"]
    await member.press(city, "Skip")
    employer = await member.wait_reply()
    assert "optional" in employer.text and "only those handling your request" in employer.text
    await member.press(employer, "Skip")
    await member.press(await member.wait_reply(), "Skip")  # phone
    await member.press(await member.wait_reply(), "Skip")  # a local branch
    summary = await member.wait_reply()
    assert "Now in: (none)" in summary.text
    await member.press(summary, "Send the request")
    await member.wait_edit()
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    notice = await secretary.wait_reply()
    assert "钱七" in notice.text and "Now in" not in notice.text
    row = await request_row(db)
    assert (row.city, row.employer) == (None, None)


async def test_filing_too_often_is_refused_with_when_to_come_back(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    li = demo["李强"].telegram_id
    now = dt.datetime.now(dt.UTC)
    account, _ = await account_of(db, li)
    for _ in range(3):
        async with db.begin() as session:
            home = await queries.org_by_code(session, "DEMO-B1")
            stored = await session.get(Account, account.id)
            assert home is not None and stored is not None
            outcome = await service.submit_request(
                session,
                account=stored,
                new=service.NewRequest(
                    type=RequestType.MOBILE,
                    name="李强",
                    home_id=home.id,
                    receiving_id=None,
                    join_year=2005,
                ),
                now=now,
                throttle=THROTTLE,
            )
        assert outcome.request is not None
        assert (await act(db, li, outcome.request.id, Withdraw(), now)).ok
    member = await client.user(li, "李强", language_code="en")
    await member.send("/relink")
    refused = await member.wait_reply()
    assert refused.text.startswith(
        "You have filed or withdrawn several requests in a short time. Please try again after"
    )
    assert refused.buttons == []
    async with db() as session:
        draft = await queries.load_conversation(
            session, name="relink", chat_id=member.chat_id, user_id=member.user_id
        )
    assert draft is None
