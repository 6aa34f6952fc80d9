"""Forged grading buttons: another branch's or subtree's ids change nothing and reveal nothing.

Every button family of grading (found in the registry, so a new one without a case fails
here) is pressed with the ids of objects that are not the presser's: as the secretary of
another branch, a member of another branch, the admin of a sibling committee and a stranger.
Each gets a short refusal in their language (an alert, or the stranger's "not registered"),
and every table is the same afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeUser
from bot.grading import rectify, results
from bot.grading.satisfaction import Satisfaction
from handlers import grading_buttons as b
from handlers.buttons import Button
from storage import grading_queries as gq
from storage import queries
from storage.db import SessionFactory
from tests.support import grading

GRADING_PREFIXES = ("gq", "gm", "gr", "ga", "sv", "sm", "sr")
REFUSALS = {
    "en": (
        "Sorry, this is not available for your role. Nothing was changed.",
        "This button is no longer active.",
    ),
    "zh-hans": ("抱歉，您的角色无权进行此操作，未做任何更改。", "这个按钮已失效。"),
}
NOW = dt.datetime.now(dt.UTC)


async def _targets(db: SessionFactory) -> dict[str, Button]:
    """One forged button per grading family, naming DEMO-B3's objects, DEMO's campaigns and
    node, and the sibling committee's campaign."""
    finalised = await grading.start_campaign(db)
    await grading.submit_answers(db, finalised, "DEMO-B3", {"leader-committee": "no"})
    await grading.set_superior(db, finalised, "DEMO-B3", 30)
    weak = await grading.assessment(db, finalised, "DEMO-B3")
    async with db.begin() as session:
        campaign = await gq.campaign_by_id(session, finalised)
        found = await gq.assessment_by_id(session, weak.id)
        assert campaign is not None and found is not None
        await results.finalise(session, campaign=campaign, actor=None, now=NOW)
        item = await rectify.add_rectification(
            session,
            assessment=found,
            problem="三会一课不经常",
            measures="每月固定主题党日",
            due_on=NOW.date(),
            responsible="周涛",
            actor=None,
        )
        assert await rectify.complete_rectification(session, item=item, actor=None, now=NOW)
        demo_node = await queries.org_by_code(session, "DEMO")
        assert demo_node is not None
    running = await grading.start_campaign(db)
    b3 = (await grading.assessment(db, running, "DEMO-B3")).id
    other = await grading.start_campaign(db, root="OTHER")
    node = demo_node.id
    satisfied = Satisfaction.SATISFIED
    return {
        "gq:o": b.OpenQuestionnaire(b3),
        "gq:a": b.AnswerItem(0, "yes"),
        "gq:c": b.ConfirmItem(0),
        "gq:g": b.GoToItem(1),
        "gq:rv": b.ReviewAnswers(),
        "gq:sub": b.SubmitAnswers(),
        "gq:v": b.ViewAnswers(b3),
        "gm:n": b.AskCodes(b3),
        "gm:c": b.CreateCodes(b3, 1),
        "gm:m": b.InviteMembers(b3),
        "gr:l": b.RectificationList(weak.id),
        "gr:add": b.AddProblem(weak.id),
        "gr:d": b.MarkDone(item.id),
        "gr:due": b.DueIn(1),
        "ga:n": b.NewCampaign(),
        "ga:d": b.CampaignRoot(node),
        "ga:c": b.CampaignDeadline(node, 30),
        "ga:y": b.CampaignChoices(node, 30, False),
        "ga:go": b.StartCampaign(node, 30, False, 0, 0, 0),
        "ga:p": b.Progress(running),
        "ga:s": b.AskSuperior(b3),
        "ga:x": b.ImportSuperior(running),
        "ga:f": b.AskFinalise(running),
        "ga:fy": b.Finalise(running),
        "ga:r": b.Report(running),
        "ga:rc": b.RectificationOverview(finalised),
        "sv": b.MemberAnswer(other, satisfied),
        "sv:skip": b.SkipComment(),
        "sm": b.MassAnswer(satisfied),
        "sr": b.CheckAnswer(item.id, satisfied),
    }


async def _everything(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""

    def names(sync: Any) -> list[str]:
        return list(inspect(sync).get_table_names())

    def plain(value: object) -> object:
        return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value

    async with engine.connect() as conn:
        return {
            table: sorted(
                (
                    tuple(map(plain, row))
                    for row in await conn.execute(text(f'SELECT * FROM "{table}"'))
                ),
                key=repr,
            )
            for table in await conn.run_sync(names)
        }


async def test_forged_grading_buttons_are_refused_and_change_nothing(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await grading.add_sibling_committee(db)
    targets = await _targets(db)
    families = {p for p in Button.registry if p.split(":")[0] in GRADING_PREFIXES}
    assert set(targets) == families, "every grading button family needs a forged case"
    personas: list[tuple[str, FakeUser]] = [
        (
            "secretary of DEMO-B1",
            await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans"),
        ),
        (
            "member of DEMO-B1",
            await client.user(demo["李强"].telegram_id, "李强", language_code="en"),
        ),
        ("admin of OTHER", await client.user(910001, "王敏", language_code="en")),
        ("stranger", await client.user(5999, "Stranger", language_code="en")),
    ]
    for _who, user in personas:
        await user.send("/help")
        await user.wait_reply()
    engine = db.kw["bind"]
    before = await _everything(engine)
    for who, user in personas:
        seen = len(await user.messages())
        message = await user.last_message()
        assert message is not None
        for prefix, button in targets.items():
            if who == "admin of OTHER" and prefix == "ga:n":
                continue  # starting a campaign of their own is theirs to do
            update_id = await user.press_data(message, button.data)
            answer = await user.callback_answer(update_id)
            if who == "stranger" and not answer.get("show_alert"):
                notice = await user.wait_reply()
                assert "not registered" in notice.text, (who, prefix, notice.text)
                seen += 1
                continue
            assert answer.get("show_alert"), (who, prefix, answer)
            assert answer["text"] in REFUSALS[user.language_code or "en"], (who, prefix, answer)
        # Nothing was revealed: no message beyond the refusals.
        assert len(await user.messages()) == seen, who
    assert await _everything(engine) == before
