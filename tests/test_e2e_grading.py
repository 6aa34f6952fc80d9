"""A whole grading campaign through the fake Bot API: admin, secretaries, members, masses."""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import inspect, select

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser
from bot.grading import mass_codes, questionnaire, service
from storage import grading_queries as gq
from storage import queries
from storage.db import SessionFactory
from storage.models_grading import GradingAssessment, MassSurveyCode, SatisfactionResponse
from tests.support import grading
from tests.support.bot import running_bot

ORG_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def generous_bot(settings: Settings) -> AsyncIterator[ZhibuApp]:
    """The bot allowing two unused mass codes per member, so that the demo's small branches
    may be given five."""
    async with running_bot(settings.model_copy(update={"mass_codes_per_member": 2.0})) as app:
        yield app


async def _user(
    client: FakeTelegramClient, demo: dict[str, DemoUser], name: str, language: str = "en"
) -> FakeUser:
    return await client.user(demo[name].telegram_id, name, language_code=language)


async def _skip_to(user: FakeUser, question: FakeMessage, position: int) -> FakeMessage:
    """Press Skip until the question at `position` (1-based) shows."""
    message = question
    while f" {position}/27" not in message.text:
        await user.press(message, "Skip ▶")
        message = await user.wait_edit()
    return message


async def _open_questionnaire(
    user: FakeUser, label: str = "Answer the questionnaire"
) -> FakeMessage:
    await user.send("/grade")
    card = await user.wait_reply()
    await user.press(card, label)
    return await user.wait_reply()


async def _admin_starts(admin: FakeUser, *, rule: str = "No") -> FakeMessage:
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, menu.button_texts[0])
    ask = await admin.wait_edit()
    await admin.press(ask, ask.button_texts[1])  # 30 days
    question = await admin.wait_edit()
    await admin.press(question, rule)
    summary = await admin.wait_edit()
    await admin.press(summary, summary.button_texts[0])
    return await admin.wait_edit()


def _codes(message: FakeMessage) -> list[str]:
    return re.findall(r"start=s-([A-Z0-9]+)", message.text)


async def test_admin_starts_campaign_and_secretary_answers_with_prefill(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    today = dt.datetime.now(ORG_TZ).date()
    for month in range(1, today.month + 1):
        await grading.log_activity(db, "DEMO-B1", dt.date(today.year, month, 1), ["themed_day"])
    admin = await _user(client, demo, "林书记")
    secretary = await _user(client, demo, "王芳")
    await admin.send("/grade")
    menu = await admin.wait_reply()
    assert "No campaign yet" in menu.text
    await admin.press(menu, "Start a campaign")
    ask = await admin.wait_edit()
    await admin.press(ask, "30 days")
    rule = await admin.wait_edit()
    assert "under 90 %" in rule.text
    await admin.press(rule, "Yes, apply the rule")
    summary = await admin.wait_edit()
    assert "self-assessment 40 %, superior's assessment 60 %" in summary.text
    assert "good ≥ 90, fairly good ≥ 80, ordinary ≥ 60" in summary.text
    assert "members 100 %, masses 10 % of members" in summary.text
    assert "bars the top two grades: yes" in summary.text
    # Other weights and grade limits, chosen with buttons.
    await admin.press(summary, "30/70")
    summary = await admin.wait_edit()
    assert "self-assessment 30 %, superior's assessment 70 %" in summary.text
    await admin.press(summary, "85/75/60")
    summary = await admin.wait_edit()
    assert "good ≥ 85, fairly good ≥ 75, ordinary ≥ 60" in summary.text
    assert "✓ 30/70" in summary.button_texts and "✓ 85/75/60" in summary.button_texts
    await admin.press(summary, "Start")
    started = await admin.wait_edit()
    assert "started for 3 branches" in started.text
    config = service.config_from_json((await grading.campaign(db, 1)).config)
    assert (config.self_weight, config.superior_weight, config.mass_rate_floor) == (0.3, 0.7, 0.9)
    assert [band.min_score for band in config.bands] == [85, 75, 60, 0]
    # Notified in the secretary's own language (the demo's Telegram language is Chinese).
    notice = await secretary.wait_reply()
    assert "分类定级测评已开始" in notice.text and "/grade" in notice.text

    question = await _open_questionnaire(secretary)
    assert " 1/27" in question.text and "Leader" in question.text
    assert question.button_texts[:3] == ["Yes", "Partly", "No"]
    question = await _skip_to(secretary, question, 12)
    # Pre-filled from the activity log, with its evidence, confirmed in one tap.
    months = today.month
    assert f"themed Party day held in {months} of {months} months so far" in question.text, (
        question.text
    )
    assert "Suggested answer: Yes" in question.text
    await secretary.press(question, "✓ Confirm: Yes")
    nxt = await secretary.wait_edit()
    assert " 13/27" in nxt.text and "Suggested answer: No" in nxt.text
    await secretary.press(nxt, "◀ Back")
    back = await secretary.wait_edit()
    assert " 12/27" in back.text and "Your answer: Yes" in back.text
    await secretary.press(back, "Review and submit")
    review = await secretary.wait_edit()
    assert "26 questions are unanswered" in review.text
    await secretary.press(review, "Go to the first unanswered")
    first = await secretary.wait_edit()
    assert " 1/27" in first.text
    review = await grading.answer_all(secretary, first, "Yes")
    assert "unanswered" not in review.text
    # The review lists every answer, by indicator.
    assert "Rules and systems 5/5" in review.text
    assert "12. A themed Party day was held every month: Yes" in review.text
    assert "27. This year's highlights and problems (not scored): ok" in review.text
    await secretary.press(review, "Submit")
    done = await secretary.wait_edit()
    assert "Submitted. Your self-assessment:" in done.text and "of 75 points" in done.text

    # Read-only afterwards: forged answer and open buttons change nothing.
    row = await grading.assessment(db, 1, "DEMO-B1")
    before = dict(row.answers)
    update_id = await secretary.press_data(done, "gq:a:0:no")
    assert "no longer active" in (await secretary.callback_answer(update_id))["text"]
    update_id = await secretary.press_data(done, f"gq:o:{row.id}")
    assert "read-only" in (await secretary.callback_answer(update_id))["text"]
    assert (await grading.assessment(db, 1, "DEMO-B1")).answers == before
    assert "rules-themed-day" in row.confirmed
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    assert "Self-assessment submitted" in card.text
    assert "Answer the questionnaire" not in card.button_texts
    await secretary.press(card, "View the answers")
    view = await secretary.wait_reply()
    assert "A themed Party day was held every month: <b>Yes</b>" in (view.source_text or "") or (
        "A themed Party day was held every month: Yes" in view.text
    )


async def test_resume_after_restart(
    settings: Settings, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    secretary = await _user(client, demo, "陈静", "zh-hans")
    async with running_bot(settings):
        question = await _open_questionnaire(secretary, "填写自评表")
        assert " 1/27" in question.text and "带头人" in question.text
        await secretary.press(question, "是")
        question = await secretary.wait_edit()
        await secretary.press(question, "部分")
        question = await secretary.wait_edit()
        assert " 3/27" in question.text and "请输入数字" in question.text
        await secretary.send("60")
        question = await secretary.wait_reply()
        assert " 4/27" in question.text
    # A new bot process on the same database: the answers and the open question survive.
    async with running_bot(settings):
        await secretary.press(question, "否")
        question = await secretary.wait_edit()
        assert " 5/27" in question.text
        await secretary.send("/grade")
        card = await secretary.wait_reply()
        assert "已答 4/27" in card.text
        await secretary.press(card, "填写自评表")
        resumed = await secretary.wait_reply()
        assert " 5/27" in resumed.text
        # Stopping keeps every answer; the questionnaire opens again where it was left.
        await secretary.send("/cancel")
        assert "已答的内容都已保存" in (await secretary.wait_reply()).text
        update_id = await secretary.press(resumed, "3")
        assert "已失效" in (await secretary.callback_answer(update_id))["text"]
        await secretary.send("/grade")
        card = await secretary.wait_reply()
        assert "已答 4/27" in card.text
    row = await grading.assessment(db, campaign_id, "DEMO-B2")
    assert row.answers == {
        "leader-committee": "yes",
        "leader-training": "partly",
        "leader-study": 60,
        "leader-lecture": "no",
    }


async def test_member_survey_is_anonymous_and_counted_from_five(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    values = ["satisfied", "satisfied", "fairly satisfied", "basically satisfied", "dissatisfied"]
    for name, value in zip(("周涛", "吴军", "孙丽", "马超", "胡婷"), values, strict=True):
        member = await _user(client, demo, name)
        await member.send("/survey")
        survey = await member.wait_reply()
        assert "anonymous" in survey.text
        assert survey.button_texts == [
            "satisfied",
            "fairly satisfied",
            "basically satisfied",
            "dissatisfied",
        ]
        await member.press(survey, value)
        comment = await member.wait_edit()
        if name == "吴军":
            await member.send("会议通知能再早一点")
            assert "anonymously" in (await member.wait_reply()).text
        else:
            await member.press(comment, "Skip")
            assert "recorded" in (await member.wait_edit()).text
        if name == "马超":
            # The secretary sees only that 4 answered, not even the breakdown.
            secretary = await _user(client, demo, "周涛")
            await secretary.send("/grade")
            card = await secretary.wait_reply()
            assert "Members: 4 answers; the breakdown is shown after the deadline" in card.text
            assert "会议通知" not in card.text  # comments follow the same rule
            assert "dissatisfied" not in card.text
    again = await _user(client, demo, "吴军")
    await again.send("/survey")
    assert "no survey for you" in (await again.wait_reply()).text
    update_id = await again.press_data(
        (await again.messages())[0], f"sv:{campaign_id}:dissatisfied"
    )
    assert "already answered" in (await again.callback_answer(update_id))["text"]
    # Five answers, but the survey is still open: a breakdown now and another after the next
    # answer would give that answer away, so only the number is shown until the deadline.
    secretary = await _user(client, demo, "周涛")
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    assert "Members: 5 answers; the breakdown is shown after the deadline" in card.text
    await grading.close_campaign(db, campaign_id)
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    assert (
        "Members: 5 answers — satisfied 2, fairly satisfied 1, basically satisfied 1, "
        "dissatisfied 1" in card.text
    )
    assert "Masses: 0 answers" in card.text
    assert "Comments from the surveys:\n• 会议通知能再早一点" in card.text
    # Nothing stored links an answer to a person, an account or a time.
    columns = {c.key for c in inspect(SatisfactionResponse).columns}
    assert columns == {
        "id",
        "campaign_id",
        "branch_id",
        "group",
        "rectification_id",
        "value",
        "comment",
    }
    async with db() as session:
        stored = list(await session.scalars(select(SatisfactionResponse.value)))
    assert len(stored) == 5


async def test_mass_codes_work_once(
    generous_bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    await grading.start_campaign(db)
    secretary = await _user(client, demo, "王芳")
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    await secretary.press(card, "Codes for the masses")
    ask = await secretary.wait_reply()
    await secretary.press(ask, "5")
    shown = await secretary.wait_edit()
    codes = _codes(shown)
    assert len(codes) == 5 and len(set(codes)) == 5
    async with db() as session:
        hashes = list(await session.scalars(select(MassSurveyCode.code_hash)))
    assert len(hashes) == 5 and not set(codes) & set(hashes)  # only hashes are stored

    resident = await client.user(5001, "Resident", language_code="zh-hans")
    await resident.send(f"/start s-{codes[0]}")
    survey = await resident.wait_reply()
    assert "匿名" in survey.text and "第一党支部" in survey.text
    await resident.press(survey, "比较满意")
    comment = await resident.wait_edit()
    await resident.send("服务很周到")
    assert "匿名记录" in (await resident.wait_reply()).text
    # The same code again, by someone else: refused.
    neighbour = await client.user(5002, "Neighbour", language_code="en")
    await neighbour.send(f"/start s-{codes[0]}")
    assert "already been used" in (await neighbour.wait_reply()).text
    await neighbour.send("/start s-NOTACODE99")
    assert "not valid" in (await neighbour.wait_reply()).text
    # A pressed answer of an old survey message can't be used again either.
    update_id = await resident.press_data(comment, "sm:satisfied")
    assert "已失效" in (await resident.callback_answer(update_id))["text"]
    async with db() as session:
        answers = list(await session.scalars(select(SatisfactionResponse.comment)))
    assert answers == ["服务很周到"]
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    assert "Codes for the masses: 1 of 5 used" in card.text
    assert "Masses: 1 answer;" in card.text


async def test_answers_after_the_deadline_are_refused(
    generous_bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    campaign_id = await grading.start_campaign(db)
    secretary = await _user(client, demo, "王芳")
    member = await _user(client, demo, "李强")
    question = await _open_questionnaire(secretary)
    await secretary.press(question, "Yes")
    question = await secretary.wait_edit()
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    await secretary.press(card, "Codes for the masses")
    ask = await secretary.wait_reply()
    await member.send("/survey")
    survey = await member.wait_reply()
    await secretary.press(ask, "5")
    codes = _codes(await secretary.wait_edit())

    await grading.close_campaign(db, campaign_id)
    update_id = await secretary.press(question, "No")
    assert "closed" in (await secretary.callback_answer(update_id))["text"]
    update_id = await member.press(survey, "satisfied")
    assert "closed" in (await member.callback_answer(update_id))["text"]
    resident = await client.user(5003, "Resident", language_code="en")
    await resident.send(f"/start s-{codes[0]}")
    assert "survey is closed" in (await resident.wait_reply()).text
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    assert "deadline has passed" in card.text and card.button_texts == []
    row = await grading.assessment(db, campaign_id, "DEMO-B1")
    assert row.answers == {"leader-committee": "yes"}
    async with db() as session:
        assert list(await session.scalars(select(SatisfactionResponse))) == []


async def test_superior_scores_finalise_and_report(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    admin = await _user(client, demo, "林书记")
    started = await _admin_starts(admin)
    assert "started" in started.text
    campaign_id = 1
    yes_to_all = {"leader-committee": "yes", "plan-annual": "yes", "perf-central-work": "excellent"}
    await grading.submit_answers(db, campaign_id, "DEMO-B1", yes_to_all)
    await grading.submit_answers(db, campaign_id, "DEMO-B3", {"leader-committee": "no"})
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, f"#{campaign_id}: progress")
    progress = await admin.wait_reply()
    assert "Self-assessments submitted: 2/3" in progress.text
    await admin.press(progress, "DEMO-B1: superior's score")
    ask = await admin.wait_reply()
    assert "from 0 to 100" in ask.text and "Leader (15), Work plan (10)" in ask.text
    await admin.send("120")
    assert "one total from 0 to 100, or 6 indicator points" in (await admin.wait_reply()).text
    await admin.send("16 10 10 10 10 20")  # more than the leader's 15 points
    assert "one total from 0 to 100" in (await admin.wait_reply()).text
    await admin.send("15 9 9 10 10 18")  # 71 of 75 points: 94.7 of 100
    assert "Saved: superior's score 94.7" in (await admin.wait_reply()).text
    row = await grading.assessment(db, campaign_id, "DEMO-B1")
    assert row.superior == {
        "leader": 15,
        "plan": 9,
        "rules": 9,
        "venue": 10,
        "support": 10,
        "performance": 18,
    }

    await admin.press(progress, "Import superior's scores (XLSX)")
    assert "XLSX" in (await admin.wait_reply()).text
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["code", "total"])
    sheet.append(["DEMO-B2", 85])
    sheet.append(["DEMO-B3", 20])
    buffer = io.BytesIO()
    workbook.save(buffer)
    await admin.send_document(buffer.getvalue(), "superior.xlsx")
    assert "Imported the superior's scores of 2 branches" in (await admin.wait_reply()).text

    await admin.press(progress, "Finalise the grades")
    confirm = await admin.wait_edit()
    assert "Without a self-assessment: 1" in confirm.text
    secretary = await _user(client, demo, "周涛")
    await admin.press(confirm, "Finalise")
    finalised = await admin.wait_edit()
    assert "Finalised. Grades:" in finalised.text and "weak 1" in finalised.text
    told = await secretary.wait_reply()
    assert "被评为“较差”" in told.text and "整改" in told.text
    rows = {
        r.branch_id: r
        for r in [await grading.assessment(db, campaign_id, b) for b in ("DEMO-B1", "DEMO-B3")]
    }
    assert all(r.grade is not None for r in rows.values())

    # Secretaries see their own grade, never a rank among branches.
    first = await _user(client, demo, "王芳")
    await first.send("/grade")
    # The news of her grade goes out after the commit too, and may arrive before or after the
    # card /grade answers with.
    card = await first.wait_reply()
    if "Final grade:" not in card.text:
        assert "被评为" in card.text
        card = await first.wait_reply()
    assert "Final grade:" in card.text and "rank" not in card.text.lower()

    await admin.send("/report grading")
    report = await admin.wait_reply()
    assert "Grading report" in report.text and "Participation" in report.text
    assert "DEMO-B1: members 0/4, masses 0/1" in report.text
    chart = await admin.wait_reply()
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")
    assert chart.text.startswith("Distribution of grades, 3 branches:")
    assert "weak 1" in chart.text
    document = await admin.wait_reply()
    assert document.document is not None
    sheet = load_workbook(io.BytesIO(document.document.data)).active
    table = list(sheet.iter_rows(values_only=True))
    assert len(table) == 4
    assert table[0][:2] == ("Branch code", "Branch") and table[0][-1] == "Grade"
    assert "Rank" not in table[0]
    by_code = {row[0]: row for row in table[1:]}
    assert by_code["DEMO-B3"][-1] == "weak"
    assert by_code["DEMO-B2"][-3] == 85  # superior's total; no self-assessment


async def test_weak_branch_rectification(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    await grading.submit_answers(db, campaign_id, "DEMO-B3", {"leader-committee": "no"})
    await grading.set_superior(db, campaign_id, "DEMO-B3", 30)
    admin = await _user(client, demo, "林书记", "zh-hans")
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, f"#{campaign_id}：进度")
    progress = await admin.wait_reply()
    await admin.press(progress, "评定等次")
    confirm = await admin.wait_edit()
    secretary = await _user(client, demo, "周涛")
    await admin.press(confirm, "评定")
    assert "已评定" in (await admin.wait_edit()).text
    assert "较差" in (await secretary.wait_reply()).text
    await secretary.send("/grade")
    card = await secretary.wait_reply()
    assert (
        "Final grade: <b>weak</b>" in (card.source_text or "") or "Final grade: weak" in card.text
    )
    await secretary.press(card, "Rectification")
    listing = await secretary.wait_reply()
    assert "No problem entered yet" in listing.text
    await secretary.press(listing, "Add a problem")
    assert "problem" in (await secretary.wait_reply()).text
    await secretary.send("三会一课不经常")
    assert "measures" in (await secretary.wait_reply()).text
    await secretary.send("制定年度计划，每月固定主题党日")
    due = await secretary.wait_reply()
    await secretary.send("2020-01-01")
    assert "from today on" in (await secretary.wait_reply()).text
    await secretary.press(due, "3 months")
    assert "responsible" in (await secretary.wait_reply()).text
    await secretary.send("周涛")
    saved = await secretary.wait_reply()
    assert "Members can see" in saved.text

    member = await _user(client, demo, "孙丽")
    await member.send("/survey")
    shown = await member.wait_reply()
    assert "Rectification of your branch" in shown.text and "三会一课不经常" in shown.text
    assert "open" in shown.text

    await secretary.press(saved, "Show the list")
    listing = await secretary.wait_reply()
    await secretary.press(listing, "Mark 1 done")
    assert "Marked done" in (await secretary.wait_edit()).text
    assert "机关党支部的整改：已完成 — 三会一课不经常" in (await admin.wait_reply()).text
    check = await member.wait_reply()
    assert "rectified" in check.text
    await member.press(check, "satisfied")
    assert "recorded" in (await member.wait_edit()).text
    update_id = await member.press_data(check, check.button_data("satisfied") or "")
    assert "already answered" in (await member.callback_answer(update_id))["text"]

    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, f"#{campaign_id}：进度")
    progress = await admin.wait_reply()
    await admin.press(progress, "整改")
    overview = await admin.wait_reply()
    assert "机关党支部：1 项中已完成 1 项" in overview.text
    assert "党员测评 1 份" in overview.text
    async with db() as session:
        grade = await session.scalar(
            select(GradingAssessment.grade).where(GradingAssessment.superior.is_not(None))
        )
    assert grade == "weak"


async def test_whole_campaign_in_both_languages(
    generous_bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
) -> None:
    """One campaign from start to report: three branches, members, masses, both languages."""
    admin = await _user(client, demo, "林书记", "zh-hans")
    secretaries = {
        "DEMO-B1": (await _user(client, demo, "王芳"), "Yes"),
        "DEMO-B2": (await _user(client, demo, "陈静", "zh-hans"), "是"),
        "DEMO-B3": (await _user(client, demo, "周涛"), "No"),
    }
    started = await _admin_starts(admin, rule="是，采用此规则")
    assert "已对 3 个支部发起" in started.text
    for secretary, _ in secretaries.values():
        assert "/grade" in (await secretary.wait_reply()).text

    members = {
        "DEMO-B1": ["李强", "张伟", "刘洋"],
        "DEMO-B2": ["杨磊", "赵敏"],
        "DEMO-B3": ["吴军", "孙丽", "马超", "胡婷"],
    }
    people = {
        code: [await _user(client, demo, n) for n in names] for code, names in members.items()
    }
    for number, (code, (secretary, yes)) in enumerate(secretaries.items()):
        chinese = yes == "是"
        await secretary.send("/grade")
        card = await secretary.wait_reply()
        # The secretary sends the survey to the members (the secretary is a member too).
        await secretary.press(card, "请党员参加测评" if chinese else "Ask the members to answer")
        own_survey = await secretary.wait_reply()
        sent = await secretary.wait_reply()
        assert f"{len(members[code]) + 1}" in sent.text, sent.text
        for member in people[code]:
            survey = await member.wait_reply()
            await member.press(survey, "satisfied")
            comment = await member.wait_edit()
            await member.press(comment, "Skip")
            await member.wait_edit()
        await secretary.press(own_survey, "满意" if chinese else "satisfied")
        await secretary.press(await secretary.wait_edit(), "跳过" if chinese else "Skip")
        await secretary.wait_edit()
        # Codes for the masses, one of them used by a resident.
        await secretary.press(card, "群众测评码" if chinese else "Codes for the masses")
        ask = await secretary.wait_reply()
        await secretary.press(ask, "5")
        codes = _codes(await secretary.wait_edit())
        resident = await client.user(6000 + number, "Resident", language_code="zh-hans")
        await resident.send(f"/start s-{codes[0]}")
        await resident.press(await resident.wait_reply(), "满意")
        await resident.press(await resident.wait_edit(), "跳过")
        await resident.wait_edit()
        # The self-assessment.
        await secretary.press(card, "填写自评表" if chinese else "Answer the questionnaire")
        review = await grading.answer_all(secretary, await secretary.wait_reply(), yes)
        await secretary.press(review, "提交" if chinese else "Submit")
        submitted = await secretary.wait_edit()
        assert ("已提交" if chinese else "Submitted") in submitted.text

    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, "#1：进度")
    progress = await admin.wait_reply()
    assert "已提交自评：3/3" in progress.text
    for code, score in (("DEMO-B1", "95"), ("DEMO-B2", "88"), ("DEMO-B3", "30")):
        await admin.press(progress, f"{code}：上级评定分")
        await admin.wait_reply()
        await admin.send(score)
        assert "已保存" in (await admin.wait_reply()).text
    await admin.press(progress, "评定等次")
    confirm = await admin.wait_edit()
    await admin.press(confirm, "评定")
    assert "已评定" in (await admin.wait_edit()).text
    grades = {}
    for code, (secretary, _) in secretaries.items():
        grades[code] = (await secretary.wait_reply()).text
    assert "graded good" in grades["DEMO-B1"] or "“好”" in grades["DEMO-B1"]
    assert "“较好”" in grades["DEMO-B2"] or "“好”" in grades["DEMO-B2"]
    assert "“较差”" in grades["DEMO-B3"] or "graded weak" in grades["DEMO-B3"]

    await admin.send("/report grading")
    report = await admin.wait_reply()
    assert "分类定级报表" in report.text
    assert "3 个支部中，3 个达到党员参与要求，3 个达到群众参与要求" in report.text
    chart = await admin.wait_reply()
    assert chart.photo is not None and "3 个支部的等次分布" in chart.text
    document = await admin.wait_reply()
    assert document.document is not None
    table = list(
        load_workbook(io.BytesIO(document.document.data)).active.iter_rows(values_only=True)
    )
    assert [row[0] for row in table[1:]] == ["DEMO-B1", "DEMO-B2", "DEMO-B3"]
    assert table[3][-1] == "较差"


async def test_a_member_is_refused_the_grading_menu(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    # Forged grading buttons (another branch's questionnaire, codes and rectification, an
    # admin's buttons, items and values a questionnaire does not have) are pressed by
    # tests/test_forged_buttons.py with tests/forged/grading.py.
    await grading.start_campaign(db)
    member = await _user(client, demo, "李强")
    await member.send("/grade")
    refusal = await member.wait_reply()
    assert "not available for your role" in refusal.text


async def test_mass_survey_survives_a_restart(
    settings: Settings, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    async with db.begin() as session:
        found = await gq.campaign_by_id(session, campaign_id)
        branch = await queries.org_by_code(session, "DEMO-B2")
        assert found is not None and branch is not None
        [code] = await mass_codes.create_mass_codes(
            session, campaign=found, branch_id=branch.id, count=1, actor=None, now=found.created_at
        )
    resident = await client.user(7001, "Resident", language_code="zh-hans")
    async with running_bot(settings):
        await resident.send(f"/start s-{code}")
        survey = await resident.wait_reply()
        assert "第二党支部" in survey.text
    async with running_bot(settings):
        await resident.send("挺好的")
        assert "请用上方按钮选择答案" in (await resident.wait_reply()).text
        await resident.press(survey, "基本满意")
        await resident.wait_edit()
        await resident.send("挺好的")
        assert "匿名记录" in (await resident.wait_reply()).text
    async with db() as session:
        stored = (await session.execute(select(SatisfactionResponse))).scalars().all()
    assert [(r.value, r.comment) for r in stored] == [("basically_satisfied", "挺好的")]


async def test_admin_chooses_between_two_questionnaires(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = grading.write_two_questionnaires(tmp_path)
    monkeypatch.setattr(questionnaire, "QUESTIONNAIRE_DIR", directory)
    admin = await _user(client, demo, "林书记")
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, "Start a campaign")
    ask = await admin.wait_edit()
    await admin.press(ask, "30 days")
    rule = await admin.wait_edit()
    await admin.press(rule, "No")
    step = await admin.wait_edit()
    assert "Which questionnaire should the branches answer?" in step.text
    assert step.button_texts == [
        "Party branch classification and grading (2012 template) (2012.1)",
        "County branch questionnaire (2026.1)",
    ]
    # Forged data (an index out of range) is refused and starts nothing.
    data = step.button_data("County branch questionnaire (2026.1)") or ""
    assert re.fullmatch(r"ga:y:\d+:30:0:0:0:1", data), data
    update_id = await admin.press_data(step, data[:-1] + "7")
    assert "Nothing was changed" in (await admin.callback_answer(update_id))["text"]
    update_id = await admin.press_data(step, data.replace("ga:y:", "ga:go:")[:-1] + "9")
    assert "Nothing was changed" in (await admin.callback_answer(update_id))["text"]
    await admin.press(step, "County branch questionnaire (2026.1)")
    summary = await admin.wait_edit()
    assert "Questionnaire: County branch questionnaire (2026.1)" in summary.text
    # Other weights keep the chosen questionnaire.
    await admin.press(summary, "30/70")
    summary = await admin.wait_edit()
    assert "Questionnaire: County branch questionnaire (2026.1)" in summary.text
    await admin.press(summary, "Start")
    started = await admin.wait_edit()
    assert "started for 3 branches" in started.text
    campaign = await grading.campaign(db, 1)
    assert (campaign.questionnaire_id, campaign.questionnaire_version) == (
        grading.SECOND_QUESTIONNAIRE
    )
    assert service.questionnaire_for(campaign).title.en == "County branch questionnaire"
    # The superior's score is asked for with the campaign's own questionnaire.
    await admin.send("/grade")
    menu = await admin.wait_reply()
    await admin.press(menu, "#1: progress")
    progress = await admin.wait_edit_or_reply()
    await admin.press(progress, "DEMO-B1: superior's score")
    prompt = await admin.wait_reply()
    assert "Superior's assessment of" in prompt.text and "Leader (15)" in prompt.text
    await admin.send("88")
    saved = await admin.wait_reply()
    assert "Saved: superior's score 88" in saved.text
