"""Refused answers in the self-assessment say what is expected (issue 17): the range of a
number, the choices of a question; 99999 study hours are refused."""

from __future__ import annotations

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from storage.db import SessionFactory
from tests.support import grading


async def test_a_refused_answer_says_what_is_expected(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    secretary = await client.user(demo["陈静"].telegram_id, "陈静", language_code="zh-hans")
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    await secretary.press(card, "填写自评表")
    question = await secretary.wait_reply()
    await secretary.press(question, "是")
    question = await secretary.wait_edit()
    await secretary.press(question, "部分")
    question = await secretary.wait_edit()
    assert " 3/27" in question.text  # the secretary's study hours
    await secretary.send("99999")
    refusal = (await secretary.wait_reply()).text
    assert "0 到 2928" in refusal, refusal
    await secretary.send("很多")
    assert "0 到 2928" in (await secretary.wait_reply()).text
    row = await grading.assessment(db, campaign_id, "DEMO-B2")
    assert "leader-study" not in row.answers
    await secretary.send("60")
    question = await secretary.wait_reply()
    assert " 4/27" in question.text
    # A yes/partly/no question answered by typing says which answers there are.
    await secretary.send("也许")
    assert "是、部分、否" in (await secretary.wait_reply()).text
