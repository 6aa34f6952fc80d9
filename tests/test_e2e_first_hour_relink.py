"""Relink "ask for more" met in the first hour (issue 17): the member's answer is on the card
the deciders review, and the member's confirmation speaks to them."""

from __future__ import annotations

from sqlalchemy import update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.relink.model import AskMore
from storage.db import SessionFactory
from storage.models import Account
from tests.support.relink import act, submit_mobile_request


async def _asked(db: SessionFactory, demo: dict[str, DemoUser]) -> int:
    """李强's mobile-member request, on which 王芳 asked for more (everyone reads English)."""
    request_id = await submit_mobile_request(db, demo["李强"].telegram_id)
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
