"""Relink "ask for more" met in the first hour (issue 17): the member's answer is on the card
the deciders review, and the member's confirmation speaks to them."""

from __future__ import annotations

from sqlalchemy import update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import RequestType
from bot.fake_telegram import FakeTelegramClient
from bot.relink import service
from bot.relink.model import AskMore
from storage import queries
from storage.db import SessionFactory
from storage.models import Account
from tests.support.relink import NOW, THROTTLE, account_of, act


async def _asked(db: SessionFactory, demo: dict[str, DemoUser]) -> int:
    """李强's mobile-member request, on which 王芳 asked for more."""
    account, _ = await account_of(db, demo["李强"].telegram_id)
    async with db.begin() as session:
        home = await queries.org_by_code(session, "DEMO-B1")
        other = await queries.org_by_code(session, "DEMO-B2")
        account = await session.get(Account, account.id)
        assert home is not None and other is not None and account is not None
        outcome = await service.submit_request(
            session,
            account=account,
            new=service.NewRequest(
                type=RequestType.MOBILE,
                name="李强",
                home_id=home.id,
                receiving_id=other.id,
                join_year=2005,
                city="深圳",
            ),
            now=NOW,
            throttle=THROTTLE,
        )
    assert outcome.request is not None
    request_id = outcome.request.id
    async with db.begin() as session:
        await session.execute(update(Account).values(locale="en"))
    asked = await act(db, demo["王芳"].telegram_id, request_id, AskMore("Which employer?"))
    assert asked.ok
    return request_id


async def test_the_answer_is_on_the_card_and_the_member_is_told_it_was_sent(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    request_id = await _asked(db, demo)
    member = await client.user(demo["李强"].telegram_id, "李强", language_code="en")
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await member.send("/relink")
    card = await member.wait_reply()
    await member.press(card, "Answer")
    await member.wait_reply()
    await member.send("Huawei, two years")
    told = (await member.wait_reply()).text
    assert told.startswith("Your answer was sent to your branch")
    assert "the member answered" not in told
    notice = await secretary.wait_reply()
    assert "Answer: Huawei, two years" in notice.text
    # The card the secretary opens later still shows the question and the answer.
    await secretary.send("/relink")
    listed = await secretary.wait_reply()
    await secretary.press(listed, f"#{request_id} 李强")
    opened = (await secretary.wait_edit_or_reply()).text
    assert "Question: Which employer?" in opened
    assert "Answer: Huawei, two years" in opened
