"""Grading fixtures: campaigns started directly, and answering a questionnaire by buttons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from bot.enums import OrgKind, Role
from bot.fake_telegram.client import FakeMessage, FakeUser
from bot.grading import results, service
from bot.grading.questionnaire import DEFAULT_QUESTIONNAIRE, QUESTIONNAIRE_DIR
from storage import grading_queries as gq
from storage import queries
from storage.db import SessionFactory
from storage.models_grading import GradingAssessment, GradingCampaign


async def start_campaign(
    db: SessionFactory,
    *,
    root: str = "DEMO",
    days: int = 30,
    floor: float | None = None,
    now: dt.datetime | None = None,
    year: int | None = None,
) -> int:
    """Start a campaign for the subtree of `root` as the CLI would (now, or at `now`; for
    this year, or `year`); returns its id."""
    now = now or dt.datetime.now(dt.UTC)
    async with db.begin() as session:
        org = await queries.org_by_code(session, root)
        assert org is not None
        campaign, _ = await service.start_campaign(
            session,
            root=org,
            deadline=now + dt.timedelta(days=days),
            config=service.make_config(satisfaction_floor=floor),
            now=now,
            year=year,
        )
    return campaign.id


async def assessment(db: SessionFactory, campaign_id: int, branch: str) -> GradingAssessment:
    """The assessment of a branch (by code)."""
    async with db() as session:
        org = await queries.org_by_code(session, branch)
        assert org is not None
        found = await gq.assessment_for(session, campaign_id=campaign_id, branch_id=org.id)
    assert found is not None
    return found


async def campaign(db: SessionFactory, campaign_id: int) -> GradingCampaign:
    """The campaign row as it is now."""
    async with db() as session:
        found = await gq.campaign_by_id(session, campaign_id)
    assert found is not None
    return found


async def close_campaign(db: SessionFactory, campaign_id: int) -> None:
    """Move the deadline into the past."""
    async with db.begin() as session:
        found = await gq.campaign_by_id(session, campaign_id)
        assert found is not None
        found.deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def first_button(message: FakeMessage, index: int = 0) -> str:
    """The label of the first answer button on a question (after the confirm button, if any)."""
    return message.buttons[index][0][0]


async def answer_all(user: FakeUser, question: FakeMessage, button: str) -> FakeMessage:
    """Answer every remaining item: `button` where it exists, a number or text otherwise."""
    message = question
    for _ in range(40):
        if "review" in message.text.lower() or "核对" in message.text:
            return message
        labels = message.button_texts
        if button in labels:
            await user.press(message, button)
            message = await user.wait_edit()
        elif any(label.isdigit() for label in labels):
            await user.press(message, "5")
            message = await user.wait_edit()
        elif any(d and d.startswith("gq:a:") for row in message.buttons for _, d in row):
            data = next(d for row in message.buttons for _, d in row if d and d.startswith("gq:a:"))
            await user.press(message, data=data)
            message = await user.wait_edit()
        else:
            await user.send(
                "100" if "Type the number" in message.text or "数字" in message.text else "ok"
            )
            message = await user.wait_reply()
    raise AssertionError(f"questionnaire did not reach the review: {message}")


async def log_activity(db: SessionFactory, branch: str, day: dt.date, kinds: list[str]) -> None:
    """An activity in the log, as if the secretary had logged it."""
    from storage.models_activity import Activity

    async with db.begin() as session:
        org = await queries.org_by_code(session, branch)
        assert org is not None
        session.add(
            Activity(branch_id=org.id, kinds=kinds, day=day, topic="学习", present=3, expected=4)
        )


async def submit_answers(
    db: SessionFactory,
    campaign_id: int,
    branch: str,
    answers: dict[str, str | int],
    now: dt.datetime | None = None,
) -> None:
    """Answer and submit a self-assessment directly (for tests about what comes after)."""
    now = now or dt.datetime.now(dt.UTC)
    async with db.begin() as session:
        found = await gq.campaign_by_id(session, campaign_id)
        org = await queries.org_by_code(session, branch)
        assert found is not None and org is not None
        row = await gq.assessment_for(session, campaign_id=campaign_id, branch_id=org.id)
        assert row is not None
        for item_id, value in answers.items():
            refusal = await service.record_answer(
                session, campaign=found, assessment=row, item_id=item_id, answer=value, now=now
            )
            assert refusal is None, (item_id, refusal)
        assert (
            await service.submit(session, campaign=found, assessment=row, actor=None, now=now)
            is None
        )


async def set_superior(db: SessionFactory, campaign_id: int, branch: str, total: float) -> None:
    """The superior's total for a branch, as the admin would enter it."""
    async with db.begin() as session:
        found = await gq.campaign_by_id(session, campaign_id)
        org = await queries.org_by_code(session, branch)
        assert found is not None and org is not None
        row = await gq.assessment_for(session, campaign_id=campaign_id, branch_id=org.id)
        assert row is not None
        problem = await results.set_superior(
            session, campaign=found, assessment=row, value=total, actor=None
        )
        assert problem is None


SECOND_QUESTIONNAIRE = ("county-2026", "2026.1")


def write_two_questionnaires(directory: Path) -> Path:
    """The shipped default and a valid second questionnaire (another id, version and titles)."""
    default = (QUESTIONNAIRE_DIR / DEFAULT_QUESTIONNAIRE).read_text(encoding="utf-8")
    (directory / DEFAULT_QUESTIONNAIRE).write_text(default, encoding="utf-8")
    second = (
        default.replace('id = "default-2012"', 'id = "county-2026"', 1)
        .replace('version = "2012.1"', 'version = "2026.1"', 1)
        .replace('zh = "党支部分类定级评分表（2012 年模板）"', 'zh = "县委党支部评分表"', 1)
        .replace(
            'en = "Party branch classification and grading (2012 template)"',
            'en = "County branch questionnaire"',
            1,
        )
    )
    assert second.count("county-2026") == 1 and "County branch questionnaire" in second
    (directory / "county-2026.toml").write_text(second, encoding="utf-8")
    return directory


async def members_answer(
    db: SessionFactory, campaign_id: int, answers: dict[str, tuple[str, str | None]]
) -> None:
    """Member survey answers (value, comment) by person name, as if given in the bot."""
    from bot.grading import surveys
    from storage.models import Person

    now = dt.datetime.now(dt.UTC)
    for name, (value, comment) in answers.items():
        async with db.begin() as session:
            found = await gq.campaign_by_id(session, campaign_id)
            person = await session.scalar(select(Person).where(Person.name == name))
            assert found is not None and person is not None and person.branch_id is not None
            outcome = await surveys.answer_member_survey(
                session,
                campaign=found,
                person_id=person.id,
                branch_id=person.branch_id,
                value=value,
                comment=comment,
                now=now,
            )
            assert outcome is surveys.SurveyOutcome.RECORDED, (name, outcome)


async def masses_answer(
    db: SessionFactory, campaign_id: int, branch: str, answers: list[tuple[str, str | None]]
) -> None:
    """Answers of the masses (value, comment) about a branch, each with a code of its own."""
    from bot.grading import mass_codes

    now = dt.datetime.now(dt.UTC)
    async with db.begin() as session:
        found = await gq.campaign_by_id(session, campaign_id)
        org = await queries.org_by_code(session, branch)
        assert found is not None and org is not None
        codes = await mass_codes.create_mass_codes(
            session,
            campaign=found,
            branch_id=org.id,
            count=len(answers),
            actor=None,
            now=now,
            per_member=10,
        )
    for code, (value, comment) in zip(codes, answers, strict=True):
        async with db.begin() as session:
            outcome = await mass_codes.answer_mass_survey(
                session,
                code_hash=mass_codes.hash_mass_code(code),
                value=value,
                comment=comment,
                now=now,
            )
            assert outcome is mass_codes.CodeOutcome.VALID


async def add_person(
    db: SessionFactory,
    name: str,
    telegram_id: int,
    *,
    role: Role | None = None,
    at: str | None = None,
    branch: str | None = None,
) -> None:
    """Someone with an account: on a branch's roster and/or with a role at a node."""
    from storage.models import Account, Person

    async with db.begin() as session:
        branch_unit = await queries.org_by_code(session, branch) if branch else None
        person = Person(name=name, branch_id=branch_unit.id if branch_unit else None)
        session.add(person)
        await session.flush()
        session.add(Account(telegram_id=telegram_id, person_id=person.id, telegram_language="en"))
        if role is not None and at is not None:
            node = await queries.org_by_code(session, at)
            assert node is not None
            await queries.grant_role(session, person=person, org_unit=node, role=role)


async def add_sibling_committee(db: SessionFactory) -> None:
    """A second committee beside DEMO (code OTHER) with one branch (OTHER-B1) and its admin
    王敏 (telegram id 910001)."""
    async with db.begin() as session:
        committee = await queries.add_org_unit(
            session, code="OTHER", kind=OrgKind.COMMITTEE, name="另一街道党工委", name_en="Other"
        )
        await queries.add_org_unit(
            session,
            code="OTHER-B1",
            kind=OrgKind.BRANCH,
            name="另一党支部",
            name_en="Other Branch",
            parent=committee,
        )
    await add_person(db, "王敏", 910001, role=Role.ADMIN, at="OTHER")
