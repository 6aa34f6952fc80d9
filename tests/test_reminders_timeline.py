"""Planning over the database and sending, day by day: every kind fires at the right moment in
the recipient's time zone and language, soft items wait for the digest, escalations reach the
admin, and what is done is withdrawn."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.demo import DemoUser
from bot.enums import ReminderState, RequestState, RequestType, Role, TrainingAudience, TrainingKind
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeUser
from bot.reminders.engine import ReminderEngine
from storage import queries
from storage import reminder_queries as rq
from storage import training_queries as tq
from storage.db import SessionFactory
from storage.models import Person, RoleAssignment
from storage.models_grading import GradingAssessment, GradingCampaign, SurveyParticipant
from storage.models_relink import RelinkRequest
from storage.models_reminders import Reminder
from tests.support.reminders import Clock, at


@pytest.fixture
def clock() -> Clock:
    """Tuesday 2026-11-24 10:00 in Shanghai."""
    return Clock(at("2026-11-24 10:00"))


async def _at(engine: ReminderEngine, clock: Clock, moment: dt.datetime) -> int:
    clock.set(moment)
    await engine.plan()
    return (await engine.tick()).messages


async def _setup(db: SessionFactory) -> None:
    """王芳 was appointed on 1 June (induction due by 30 November), DEMO-B1's term ends on
    31 January 2027, and a grading campaign closes at midnight before 1 December."""
    async with db.begin() as session:
        wang = await session.scalar(select(Person).where(Person.name == "王芳"))
        assert wang is not None
        await session.execute(
            update(RoleAssignment)
            .where(RoleAssignment.person_id == wang.id, RoleAssignment.role == Role.SECRETARY)
            .values(created_at=at("2026-06-01 11:00"))
        )
        b1 = await queries.org_by_code(session, "DEMO-B1")
        b2 = await queries.org_by_code(session, "DEMO-B2")
        committee = await queries.org_by_code(session, "DEMO")
        assert b1 is not None and b2 is not None and committee is not None
        await rq.set_branch_term(session, org_unit_id=b1.id, started_on=dt.date(2024, 1, 31))
        campaign = GradingCampaign(
            org_unit_id=committee.id,
            year=2026,
            questionnaire_id="national-2012",
            questionnaire_version="1",
            deadline=at("2026-12-01 00:00"),
        )
        session.add(campaign)
        await session.flush()
        session.add(
            GradingAssessment(
                campaign_id=campaign.id, branch_id=b2.id, submitted_at=at("2026-11-20 09:00")
            )
        )


async def test_each_kind_at_its_moment_in_the_recipients_language(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    await _setup(db)
    users: dict[str, FakeUser] = {}
    for name in ("王芳", "陈静", "周涛", "林书记"):
        users[name] = await client.user(demo[name].telegram_id, name, language_code="zh-hans")

    # Tue 24 Nov: 7 days before the month ends (soft: kept for the digest), 7 days before the
    # induction and grading deadlines: one coalesced message each; 陈静's branch has submitted.
    assert await _at(engine, clock, at("2026-11-24 10:00")) == 2
    wang = (await users["王芳"].wait_reply()).text
    assert (
        "2条提醒" in wang and "任职培训" in wang and "还剩7天" in wang and "2026年11月30日" in wang
    )
    assert "自评" in (await users["周涛"].wait_reply()).text
    await users["陈静"].expect_no_reply(within=0.1)
    async with db() as session:
        digested = await session.scalar(
            select(Reminder.id).where(Reminder.state == ReminderState.IN_DIGEST).limit(1)
        )
    assert digested is not None

    # Planning and ticking again later that day sends nothing twice.
    assert await _at(engine, clock, at("2026-11-24 18:00")) == 0

    # Mon 30 Nov 10:00: the digest, and the last day of the month, induction, grading and the
    # two-month term warning in one message.
    assert await _at(engine, clock, at("2026-11-30 10:00")) >= 3
    texts = [m.text for m in await users["王芳"].wait_replies(2)]
    digest = next(t for t in texts if "本周提醒" in t)
    assert "本周到期" in digest
    today = next(t for t in texts if "本周提醒" not in t)
    assert "今天是" in today and "换届" in today and "还剩1天" in today
    # The admin above the branch is warned about the term too.
    assert "换届" in (await users["林书记"].wait_reply()).text

    # Tue 1 Dec: overdue notices; the induction escalates to the admin at once.
    await _at(engine, clock, at("2026-12-01 10:00"))
    overdue = (await users["王芳"].wait_reply()).text
    assert "尚未登记" in overdue and "尚未提交" in overdue and "组织部" in overdue
    admin = (await users["林书记"].wait_reply()).text
    assert "王芳" in admin and "任职培训" in admin

    # Tue 8 Dec: seven days overdue, the missed November activities escalate too.
    await users["林书记"].skip_pending()
    await _at(engine, clock, at("2026-12-08 10:00"))
    escalation = (await users["林书记"].wait_reply()).text
    assert "第一党支部" in escalation and "逾期" in escalation


async def test_attended_induction_withdraws_its_reminders(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    await _setup(db)
    await engine.plan()
    async with db() as session:
        keys = set((await session.scalars(select(Reminder.dedupe_key))).all())
    assert any(key.startswith("ind:") for key in keys)
    async with db.begin() as session:
        committee = await queries.org_by_code(session, "DEMO")
        assert committee is not None
        training = await tq.add_training(
            session,
            org=committee,
            kind=TrainingKind.INDUCTION,
            audience=TrainingAudience.SECRETARIES,
            title="Induction",
            place="Party school",
            starts_at=at("2026-11-10 09:00"),
            created_by=None,
        )
        wang = await session.scalar(select(Person).where(Person.name == "王芳"))
        assert wang is not None
        invitee = await tq.invitee(session, training_id=training.id, person_id=wang.id)
        assert invitee is not None
        invitee.attended = True
    await engine.plan()
    async with db() as session:
        states = {
            key: state
            for key, state in await session.execute(
                select(Reminder.dedupe_key, Reminder.state).where(
                    Reminder.dedupe_key.startswith("ind:")
                )
            )
        }
    assert states and set(states.values()) == {ReminderState.CANCELLED}


async def test_mobile_member_is_reminded_of_the_yearly_report_in_english(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    user = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    async with db.begin() as session:
        account = await queries.account_by_telegram_id(session, demo["李强"].telegram_id)
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert account is not None and branch is not None
        session.add(
            RelinkRequest(
                type=RequestType.MOBILE,
                state=RequestState.ACTIVE,
                requester_account_id=account.id,
                person_id=account.person_id,
                home_branch_id=branch.id,
                name="李强",
                city="Shenzhen",
                # Last reported on 1 December 2025 (Shanghai): the next report is due by then.
                last_report_at=at("2025-12-01 15:00"),
            )
        )
    # Seven days before: "by 1 December 2026", in English, at nine in the morning.
    assert await _at(engine, clock, at("2026-11-25 08:59")) == 0
    assert await _at(engine, clock, at("2026-11-25 09:00")) == 1
    assert "yearly report to your home branch by Dec 1, 2026" in (await user.wait_reply()).text
    assert await _at(engine, clock, at("2026-12-01 09:00")) == 1
    assert "by Dec 1, 2026" in (await user.wait_reply()).text
    assert await _at(engine, clock, at("2026-12-02 09:00")) == 1
    assert "was due by Dec 1, 2026" in (await user.wait_reply()).text


async def test_members_who_have_not_answered_the_survey_get_one_reminder_on_its_last_day(
    engine: ReminderEngine,
    clock: Clock,
    db: SessionFactory,
    client: FakeTelegramClient,
    demo: dict[str, DemoUser],
) -> None:
    await _setup(db)
    yang = await client.user(demo["杨磊"].telegram_id, "Yang", language_code="en")
    zhao = await client.user(demo["赵敏"].telegram_id, "Zhao", language_code="en")
    async with db.begin() as session:
        campaign_id = await session.scalar(select(GradingCampaign.id))
        person = await session.scalar(select(Person).where(Person.name == "赵敏"))
        assert campaign_id is not None and person is not None
        session.add(
            SurveyParticipant(campaign_id=campaign_id, person_id=person.id, subject="branch")
        )
    await _at(engine, clock, at("2026-11-24 10:00"))
    await yang.expect_no_reply(within=0.1)
    await _at(engine, clock, at("2026-11-30 10:00"))
    text = (await yang.wait_reply()).text
    assert "Last day to answer the satisfaction survey" in text and "Second Party Branch" in text
    await zhao.expect_no_reply(within=0.1)
    # After the deadline the survey is closed: no "overdue" nag for members.
    await _at(engine, clock, at("2026-12-01 10:00"))
    await yang.expect_no_reply(within=0.1)
