"""What anyone may see of the satisfaction answers, in every place they show, and who answers.

A figure computed from the answers (a breakdown, a rate, the satisfaction indicator's score) is
shown only once the survey is closed and from five answers on; comments likewise, shuffled
and without times; mass codes are capped by the roster; a newcomer added by an invite that
named nobody after the campaign started does not answer its member survey.
"""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.enums import Role
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser
from bot.grading import rectify, results, surveys
from handlers.grading_buttons import CreateCodes, MemberAnswer, RectificationOverview
from storage import grading_queries as gq
from storage.db import SessionFactory
from storage.models import Person
from storage.models_grading import RectificationItem
from tests.support import grading
from tests.support.registration import agree_to_privacy, make_invite

B3 = ("周涛", "吴军", "孙丽", "马超", "胡婷")


async def _user(client: FakeTelegramClient, demo: dict[str, DemoUser], name: str) -> FakeUser:
    return await client.user(demo[name].telegram_id, name, language_code="en")


async def _card(user: FakeUser) -> FakeMessage:
    await user.send("/grade")
    return await user.wait_reply()


async def _report_rows(admin: FakeUser) -> tuple[str, dict[str, dict[str, object]]]:
    """The report's text with the chart's caption, and its XLSX as {branch code: {heading:
    cell}}."""
    await admin.send("/report grading")
    text = (await admin.wait_reply()).text
    text += "\n" + (await admin.wait_reply()).text  # the chart of grades
    document = await admin.wait_reply()
    assert document.document is not None
    table = list(
        load_workbook(io.BytesIO(document.document.data)).active.iter_rows(values_only=True)
    )
    header = [str(h) for h in table[0]]
    return text, {str(row[0]): dict(zip(header, row, strict=True)) for row in table[1:]}


async def test_the_card_shows_no_breakdown_and_no_comment_from_fewer_than_five(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    await grading.members_answer(
        db,
        campaign_id,
        {
            "吴军": ("dissatisfied", "太少开会"),
            "孙丽": ("satisfied", None),
            "马超": ("satisfied", None),
            "胡婷": ("satisfied", None),
        },
    )
    await grading.close_campaign(db, campaign_id)
    card = await _card(await _user(client, demo, "周涛"))
    assert "Members: 4 answers; fewer than 5 answers, so no breakdown is shown." in card.text
    assert "dissatisfied" not in card.text and "太少开会" not in card.text


async def test_comments_come_after_the_deadline_from_five_shuffled_and_by_group(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(surveys, "rng", random.Random(3))
    campaign_id = await grading.start_campaign(db)
    # In the order they are given, which is also the alphabetical order.
    comments = [
        "a 会议通知早一点",
        "b 学习材料多一些",
        "c 活动室常开放",
        "d 党费账目公开",
        "e 多谈心",
    ]
    await grading.members_answer(
        db, campaign_id, {n: ("satisfied", c) for n, c in zip(B3, comments, strict=True)}
    )
    await grading.masses_answer(db, campaign_id, "DEMO-B3", [("dissatisfied", "z 群众的意见")])
    secretary = await _user(client, demo, "周涛")
    card = await _card(secretary)
    assert "Comments" not in card.text and not any(c in card.text for c in comments)
    await grading.close_campaign(db, campaign_id)
    lines = (await _card(secretary)).text.splitlines()
    start = lines.index("Comments from the surveys:") + 1
    shown = lines[start : start + len(comments)]
    # Every member comment, word for word and nothing else (no time, no name), in an order
    # that is not the order they were given; the one comment of the masses stays hidden.
    assert sorted(shown) == [f"• {c}" for c in comments]
    assert shown != [f"• {c}" for c in comments]
    assert "z 群众的意见" not in "\n".join(lines)
    # The admins see no comment anywhere: not in the progress, the report or its XLSX.
    admin = await _user(client, demo, "林书记")
    menu = await _card(admin)
    await admin.press(menu, f"#{campaign_id}: progress")
    progress = await admin.wait_reply()
    text, rows = await _report_rows(admin)
    seen = progress.text + text + repr(rows)
    assert not any(c in seen for c in [*comments, "z 群众的意见"])


async def test_the_xlsx_shows_satisfaction_figures_only_when_closed_from_five(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    values = ["satisfied", "satisfied", "fairly_satisfied", "basically_satisfied", "dissatisfied"]
    await grading.members_answer(
        db, campaign_id, {n: (v, None) for n, v in zip(B3, values, strict=True)}
    )
    await grading.masses_answer(db, campaign_id, "DEMO-B3", [("satisfied", None)])
    admin = await _user(client, demo, "林书记")
    text, rows = await _report_rows(admin)
    # The report's text and chart count participation and grades, never satisfaction.
    assert "satisfied" not in text and "%" not in text
    b3 = rows["DEMO-B3"]
    assert (b3["Member answers"], b3["Mass answers"]) == (5, 1)
    for heading in ("Member satisfaction rate", "Mass satisfaction rate", "Mass evaluation"):
        assert b3[heading] == "shown after the deadline", heading
    assert rows["DEMO-B1"]["Member satisfaction rate"] is None  # nobody answered there
    await grading.close_campaign(db, campaign_id)
    _text, rows = await _report_rows(admin)
    b3 = rows["DEMO-B3"]
    assert b3["Member satisfaction rate"] == 0.8
    # One mass answer: its rate, and the indicator that mixes it in, are not shown...
    assert b3["Mass satisfaction rate"] == "fewer than 5 answers"
    assert b3["Mass evaluation"] == "fewer than 5 answers"
    # ... but the scores depending on them are computed as usual.
    assert isinstance(b3["Final score"], float | type(None))


async def _weak_branch_with_a_done_item(db: SessionFactory, campaign_id: int) -> int:
    """DEMO-B3 graded weak, with one rectification item marked done; the item's id."""
    await grading.submit_answers(db, campaign_id, "DEMO-B3", {"leader-committee": "no"})
    await grading.set_superior(db, campaign_id, "DEMO-B3", 30)
    now = dt.datetime.now(dt.UTC)
    async with db.begin() as session:
        campaign = await gq.campaign_by_id(session, campaign_id)
        assert campaign is not None
        await results.finalise(session, campaign=campaign, actor=None, now=now)
        assessment = await grading.assessment(db, campaign_id, "DEMO-B3")
        found = await gq.assessment_by_id(session, assessment.id)
        assert found is not None and found.grade == "weak"
        item = await rectify.add_rectification(
            session,
            assessment=found,
            problem="三会一课不经常",
            measures="每月固定主题党日",
            due_on=now.date(),
            responsible="周涛",
            actor=None,
        )
        assert await rectify.complete_rectification(session, item=item, actor=None, now=now)
    return item.id


async def _check(db: SessionFactory, item_id: int, name: str, value: str) -> surveys.SurveyOutcome:
    async with db.begin() as session:
        item = await gq.rectification_by_id(session, item_id)
        person = await session.scalar(select(Person.id).where(Person.name == name))
        assert item is not None and person is not None
        return await rectify.answer_rectification_check(
            session, item=item, person_id=person, value=value, now=dt.datetime.now(dt.UTC)
        )


async def _check_over(db: SessionFactory, over: bool) -> None:
    """End the members' check of every item (it ends CHECK_DAYS after the item was done), or
    open it again."""
    days = rectify.CHECK_DAYS + 1 if over else 0
    async with db.begin() as session:
        await session.execute(
            update(RectificationItem).values(
                done_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
            )
        )


async def test_a_rectification_check_shows_its_breakdown_once_over_and_from_five(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    item_id = await _weak_branch_with_a_done_item(db, campaign_id)
    for name in B3[:4]:
        assert await _check(db, item_id, name, "fairly_satisfied") is surveys.SurveyOutcome.RECORDED
    admin = await _user(client, demo, "林书记")
    menu = await _card(admin)

    async def overview() -> str:
        await admin.press_data(menu, RectificationOverview(campaign_id).data)
        return (await admin.wait_reply()).text

    assert "Members' check:" not in await overview()
    await _check_over(db, over=True)
    # Over with four answers: still no breakdown, and no more answers.
    assert "4 member checks" in (text := await overview()) and "Members' check:" not in text
    assert await _check(db, item_id, "胡婷", "fairly_satisfied") is surveys.SurveyOutcome.CLOSED
    await _check_over(db, over=False)
    assert await _check(db, item_id, "胡婷", "fairly_satisfied") is surveys.SurveyOutcome.RECORDED
    # Five answers while the check runs: the number only, for the admins and the branch.
    assert "5 member checks" in (text := await overview()) and "Members' check:" not in text
    secretary = await _user(client, demo, "周涛")
    card = await _card(secretary)
    await secretary.press(card, "Rectification")
    listing = await secretary.wait_reply()
    assert "Members' check: 5 answers so far." in listing.text and "fairly" not in listing.text
    await _check_over(db, over=True)
    assert "Members' check: satisfied 0, fairly satisfied 5" in await overview()


async def test_a_branch_holds_at_most_one_unused_code_per_member_and_the_report_counts_them(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    assessment = await grading.assessment(db, campaign_id, "DEMO-B1")
    secretary = await _user(client, demo, "王芳")  # DEMO-B1 has four people on its roster
    card = await _card(secretary)
    await secretary.press(card, "Codes for the masses")
    ask = await secretary.wait_reply()
    assert ask.button_texts == ["4"]
    update_id = await secretary.press_data(ask, CreateCodes(assessment.id, 5).data)
    refusal = await secretary.callback_answer(update_id)
    assert refusal.get("show_alert") and "more codes than the branch may hold" in refusal["text"]
    await secretary.press(ask, "4")
    codes = (await secretary.wait_edit()).text.count("start=s-")
    assert codes == 4
    await secretary.press(card, "Codes for the masses")
    assert "already holds as many unused codes" in (await secretary.wait_reply()).text
    resident = await client.user(5101, "Resident", language_code="en")
    shown = next(m for m in await secretary.messages() if "start=s-" in m.text)
    code = shown.text.split("start=s-")[1].split()[0]
    await resident.send(f"/start s-{code}")
    await resident.press(await resident.wait_reply(), "satisfied")
    await resident.press(await resident.wait_edit(), "Skip")
    await resident.wait_edit()
    await secretary.press(card, "Codes for the masses")
    assert (await secretary.wait_reply()).button_texts == ["1"]
    text, rows = await _report_rows(await _user(client, demo, "林书记"))
    assert "Codes for the masses: 4 issued, 1 used." in text
    b1 = rows["DEMO-B1"]
    assert (b1["Codes for the masses issued"], b1["Codes for the masses used"]) == (4, 1)


async def _register(
    client: FakeTelegramClient, db: SessionFactory, user_id: int, name: str
) -> FakeUser:
    """Someone added to DEMO-B2's roster by an invite that named nobody."""
    code = await make_invite(db, Role.MEMBER, "DEMO-B2")
    user = await client.user(user_id, name, language_code="en")
    await user.send(f"/start {code}")
    await agree_to_privacy(user)
    await user.wait_reply()
    await user.send(name)
    await user.press(await user.wait_reply(), "Skip")
    assert "Welcome" in (await user.wait_reply()).text
    return user


async def test_a_newcomer_invited_after_the_start_does_not_answer_the_member_survey(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    early = await _register(client, db, 5201, "Early")
    campaign_id = await grading.start_campaign(db)
    late = await _register(client, db, 5202, "Late")
    await late.send("/survey")
    reply = await late.wait_reply()
    assert "no survey for you" in reply.text
    update_id = await late.press_data(reply, MemberAnswer(campaign_id, "satisfied").data)  # type: ignore[arg-type]
    refusal = await late.callback_answer(update_id)
    assert "members the branch had when the campaign started" in refusal["text"]
    for name in ("杨磊", "赵敏"):  # the branch's other members, reachable in Telegram
        await _user(client, demo, name)
    secretary = await _user(client, demo, "陈静")
    card = await _card(secretary)
    await secretary.press(card, "Ask the members to answer")
    await secretary.wait_reply()  # the secretary's own survey
    sent = await secretary.wait_reply()
    assert "sent to 4 members" in sent.text  # 陈静, 杨磊, 赵敏 and Early; not Late
    survey = await early.wait_reply()
    await early.press(survey, "satisfied")
    await early.press(await early.wait_edit(), "Skip")
    assert "recorded" in (await early.wait_edit()).text
    assert [m for m in await late.messages() if "how satisfied" in m.text] == []
