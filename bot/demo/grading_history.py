"""The demo's finished grading campaign: three branches answered, surveyed and graded, and the
weak one in rectification. Written through the grading services at the moments they tell of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.enums import OrgKind
from bot.grading.mass_codes import answer_mass_survey, create_mass_codes, hash_mass_code
from bot.grading.questionnaire import AnswerType, Questionnaire
from bot.grading.rectify import add_rectification, complete_rectification
from bot.grading.results import finalise, set_superior
from bot.grading.satisfaction import Satisfaction
from bot.grading.service import (
    make_config,
    parse_answer,
    questionnaire_for,
    record_answer,
    start_campaign,
    submit,
)
from bot.grading.surveys import answer_member_survey
from storage import grading_queries as gq
from storage import queries
from storage.db import SessionFactory
from storage.models_grading import GradingAssessment, GradingCampaign

# How each branch did: its self-assessment, how its members and the masses judged it, and the
# committee's own score. The third is graded weak and goes into rectification.
PROFILES = {"DEMO-B1": "good", "DEMO-B2": "average", "DEMO-B3": "weak"}
SUPERIOR = {"good": 94.0, "average": 81.0, "weak": 48.0}
# Per profile: yes/partly/no, 1-5, the option's position, and a number per item.
_YPN = {"good": "yes", "average": "partly", "weak": "no"}
_SCALE = {"good": "5", "average": "4", "weak": "2"}
_CHOICE = {"good": 0, "average": 1, "weak": 2}
_NUMBERS = {
    "leader-study": {"good": "62", "average": "44", "weak": "16"},
    "rules-lectures": {"good": "4", "average": "3", "weak": "1"},
    "support-dues-arrears": {"good": "0", "average": "0", "weak": "2"},
    "perf-attendance": {"good": "93", "average": "84", "weak": "58"},
    "perf-complaints": {"good": "0", "average": "1", "weak": "3"},
}
_HIGHLIGHTS = {
    "good": "党员志愿服务队常态化服务社区老人",
    "average": "开展“三会一课”规范化建设",
}
_MEMBER_VIEWS = {
    "good": (Satisfaction.SATISFIED, Satisfaction.SATISFIED, Satisfaction.FAIRLY_SATISFIED),
    "average": (Satisfaction.FAIRLY_SATISFIED, Satisfaction.SATISFIED),
    "weak": (Satisfaction.BASICALLY_SATISFIED, Satisfaction.DISSATISFIED),
}
RECTIFICATION = (
    ("三会一课落实不到位，支委会多次未按月召开", "每月第一周固定召开支委会，书记负责提醒", "周涛"),
    ("党员活动室长期闲置", "与社区共建活动室，每月至少开展一次主题党日", "吴军"),
)


@dataclass(frozen=True, slots=True)
class GradingStory:
    """What the campaign left behind."""

    campaign_id: int
    weak_branch: str
    rectification_items: int


async def write_campaign(db: SessionFactory, now: dt.datetime) -> GradingStory:
    """Run a whole campaign in the past: start, answers, surveys, scores, grades, rectification."""
    started, deadline = now - dt.timedelta(days=100), now - dt.timedelta(days=40)
    with clock.travel(started):
        async with db.begin() as session:
            root = await queries.org_by_code(session, "DEMO")
            assert root is not None
            campaign, _count = await start_campaign(
                session, root=root, deadline=deadline, config=make_config(), now=started
            )
            campaign_id = campaign.id
            branches = await queries.subtree(session, root, kind=OrgKind.BRANCH)
    for offset, branch in enumerate(branches):
        profile = PROFILES.get(branch.code, "average")
        moment = started + dt.timedelta(days=10 + 12 * offset)
        with clock.travel(moment):
            async with db.begin() as session:
                campaign, assessment = await _load(session, campaign_id, branch.id)
                await _self_assessment(session, campaign, assessment, profile, moment)
                await _surveys(session, campaign, branch.id, profile, moment)
    graded = deadline + dt.timedelta(days=5)
    with clock.travel(graded):
        async with db.begin() as session:
            campaign = await _campaign(session, campaign_id)
            for assessment, branch in await gq.campaign_assessments(session, campaign_id):
                value = SUPERIOR[PROFILES.get(branch.code, "average")]
                await set_superior(
                    session, campaign=campaign, assessment=assessment, value=value, actor=None
                )
            results = await finalise(session, campaign=campaign, actor=None, now=graded)
    weak = next(r for r in results if PROFILES.get(r.branch.code) == "weak")
    items = await _rectification(db, campaign_id, weak.assessment.id, graded, now)
    return GradingStory(campaign_id, weak.branch.code, items)


async def _campaign(session: AsyncSession, campaign_id: int) -> GradingCampaign:
    campaign = await gq.campaign_by_id(session, campaign_id)
    assert campaign is not None
    return campaign


async def _load(
    session: AsyncSession, campaign_id: int, branch_id: int
) -> tuple[GradingCampaign, GradingAssessment]:
    campaign = await _campaign(session, campaign_id)
    assessment = await gq.assessment_for(session, campaign_id=campaign_id, branch_id=branch_id)
    assert assessment is not None
    return campaign, assessment


def _raw_answer(questionnaire: Questionnaire, item_id: str, profile: str) -> str | None:
    item = questionnaire.item(item_id)
    if item.type is AnswerType.YES_PARTLY_NO:
        return _YPN[profile]
    if item.type is AnswerType.SCALE_1_5:
        return _SCALE[profile]
    if item.type is AnswerType.CHOICE:
        options = item.options
        return options[min(_CHOICE[profile], len(options) - 1)].id
    if item.type is AnswerType.NUMBER:
        return _NUMBERS.get(item_id, {}).get(profile)
    return _HIGHLIGHTS.get(profile)


async def _self_assessment(
    session: AsyncSession,
    campaign: GradingCampaign,
    assessment: GradingAssessment,
    profile: str,
    now: dt.datetime,
) -> None:
    questionnaire = questionnaire_for(campaign)
    for item in questionnaire.items:
        raw = _raw_answer(questionnaire, item.id, profile)
        answer = parse_answer(questionnaire, item.id, raw) if raw is not None else None
        if answer is None:
            continue
        await record_answer(
            session,
            campaign=campaign,
            assessment=assessment,
            item_id=item.id,
            answer=answer,
            now=now,
            confirmed=True,
        )
    await submit(session, campaign=campaign, assessment=assessment, actor=None, now=now)


async def _surveys(
    session: AsyncSession,
    campaign: GradingCampaign,
    branch_id: int,
    profile: str,
    now: dt.datetime,
) -> None:
    """Every member on the roster answers; two people of the masses answer with codes."""
    branch = await queries.org_by_id(session, branch_id)
    assert branch is not None
    views = _MEMBER_VIEWS[profile]
    for number, person in enumerate(await queries.roster(session, branch)):
        await answer_member_survey(
            session,
            campaign=campaign,
            person_id=person.id,
            branch_id=branch_id,
            value=views[number % len(views)].value,
            comment=None,
            now=now,
        )
    codes = await create_mass_codes(
        session, campaign=campaign, branch_id=branch_id, count=2, actor=None, now=now
    )
    for number, code in enumerate(codes):
        await answer_mass_survey(
            session,
            code_hash=hash_mass_code(code),
            value=views[(number + 1) % len(views)].value,
            now=now,
        )


async def _rectification(
    db: SessionFactory,
    campaign_id: int,
    assessment_id: int,
    graded: dt.datetime,
    now: dt.datetime,
) -> int:
    """The weak branch's problems: one being worked on, one done and open to members' check."""
    planned = graded + dt.timedelta(days=3)
    with clock.travel(planned):
        async with db.begin() as session:
            assessment = await session.get(GradingAssessment, assessment_id)
            assert assessment is not None
            items = []
            for number, (problem, measures, responsible) in enumerate(RECTIFICATION):
                due = (now + dt.timedelta(days=25 - 20 * number)).date()
                items.append(
                    await add_rectification(
                        session,
                        assessment=assessment,
                        problem=problem,
                        measures=measures,
                        due_on=due,
                        responsible=responsible,
                        actor=None,
                    )
                )
            done_id = items[-1].id
    finished = now - dt.timedelta(days=6)
    with clock.travel(finished):
        async with db.begin() as session:
            item = await gq.rectification_by_id(session, done_id)
            assert item is not None
            await complete_rectification(session, item=item, actor=None, now=finished)
    del campaign_id
    return len(RECTIFICATION)
