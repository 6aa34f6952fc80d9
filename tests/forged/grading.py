"""Forged grading buttons: DEMO-B1's assessments, its rectification item, DEMO's campaigns
and node, and the sibling committee's campaign."""

from __future__ import annotations

from dataclasses import dataclass

from bot.fake_telegram import FakeMessage
from bot.grading import mass_codes, rectify, results
from bot.grading.satisfaction import Satisfaction
from handlers import grading_buttons as b
from handlers.buttons import Button
from storage import grading_queries as gq
from storage import queries
from tests.support import grading
from tests.support.activity import NOW
from tests.support.forged import (
    SIBLING,
    A,
    Area,
    B,
    Case,
    CommandCase,
    Persona,
    World,
    no_object,
)

PROBLEM = "三会一课不经常"
MEASURES = "每月固定主题党日"
RESPONSIBLE = "负责人甲"


@dataclass(frozen=True)
class Targets:
    """What the forged buttons name."""

    buttons: dict[str, Button]
    used_code: str
    # DEMO-B2's assessment in the running campaign: its secretary's own questionnaire.
    own_assessment: int


async def setup(world: World) -> Targets:
    """Last year's finalised campaign where DEMO-B1 was graded weak and has a finished
    rectification item; a running campaign with DEMO-B1's assessment and a used survey code; a
    campaign of the sibling committee."""
    db = world.db
    # Last year's: one campaign per subtree and year.
    finalised = await grading.start_campaign(db, now=NOW, year=NOW.year - 1)
    await grading.submit_answers(db, finalised, B, {"leader-committee": "no"}, now=NOW)
    await grading.set_superior(db, finalised, B, 30)
    weak = await grading.assessment(db, finalised, B)
    async with db.begin() as session:
        campaign = await gq.campaign_by_id(session, finalised)
        found = await gq.assessment_by_id(session, weak.id)
        assert campaign is not None and found is not None
        await results.finalise(session, campaign=campaign, actor=None, now=NOW)
        item = await rectify.add_rectification(
            session,
            assessment=found,
            problem=PROBLEM,
            measures=MEASURES,
            due_on=NOW.date(),
            responsible=RESPONSIBLE,
            actor=None,
        )
        assert await rectify.complete_rectification(session, item=item, actor=None, now=NOW)
        demo_node = await queries.org_by_code(session, "DEMO")
        assert demo_node is not None
    running = await grading.start_campaign(db, now=NOW)
    b1 = (await grading.assessment(db, running, B)).id
    b2 = (await grading.assessment(db, running, A)).id
    async with db.begin() as session:
        campaign = await gq.campaign_by_id(session, running)
        assert campaign is not None
        [code] = await mass_codes.create_mass_codes(
            session, campaign=campaign, branch_id=weak.branch_id, count=1, actor=None, now=NOW
        )
    async with db.begin() as session:
        outcome = await mass_codes.answer_mass_survey(
            session,
            code_hash=mass_codes.hash_mass_code(code),
            value=Satisfaction.SATISFIED.value,
            now=NOW,
        )
        assert outcome is mass_codes.CodeOutcome.VALID
    other = await grading.start_campaign(db, root=SIBLING, now=NOW)
    node = demo_node.id
    satisfied = Satisfaction.SATISFIED
    buttons: dict[str, Button] = {
        "gq:o": b.OpenQuestionnaire(b1),
        "gq:v": b.ViewAnswers(b1),
        "gm:n": b.AskCodes(b1),
        "gm:c": b.CreateCodes(b1, 1),
        "gm:m": b.InviteMembers(b1),
        "gr:l": b.RectificationList(weak.id),
        "gr:add": b.AddProblem(weak.id),
        "gr:d": b.MarkDone(item.id),
        "ga:d": b.CampaignRoot(node),
        "ga:c": b.CampaignDeadline(node, 30),
        "ga:y": b.CampaignChoices(node, 30, False),
        "ga:go": b.StartCampaign(node, 30, False, 0, 0, 0),
        "ga:p": b.Progress(running),
        "ga:s": b.AskSuperior(b1),
        "ga:x": b.ImportSuperior(running),
        "ga:f": b.AskFinalise(running),
        "ga:fy": b.Finalise(running),
        "ga:r": b.Report(running),
        "ga:rc": b.RectificationOverview(finalised),
        # A member answers the survey of their own branch only: this one is the sibling's.
        "sv": b.MemberAnswer(other, satisfied),
        "sr": b.CheckAnswer(item.id, satisfied),
    }
    return Targets(buttons, code, b2)


def markers(t: Targets) -> list[str]:
    return [PROBLEM, MEASURES, RESPONSIBLE, "First Party Branch", "第一党支部"]


async def _own_questionnaire(world: World, persona: Persona, t: Targets) -> FakeMessage | None:
    """DEMO-B2's secretary opens their own questionnaire (the others are refused it)."""
    assert persona.anchor is not None
    update_id = await persona.user.press_data(
        persona.anchor, b.OpenQuestionnaire(t.own_assessment).data
    )
    answer = await persona.user.callback_answer(update_id)
    if persona.kind != "secretary":
        return None
    assert not answer.get("show_alert"), answer
    return await persona.user.wait_reply()


def _forged(prefix: str) -> Case[Targets]:
    return Case(prefix, lambda t: [t.buttons[prefix]])


QUESTIONNAIRE = "an answer to the presser's own questionnaire draft (its assessment is checked)"

AREA = Area(
    "grading",
    setup,
    markers,
    cases=[
        *(
            _forged(prefix)
            for prefix in (
                "gq:o",
                "gq:v",
                "gm:n",
                "gm:c",
                "gm:m",
                "gr:l",
                "gr:add",
                "gr:d",
                "ga:d",
                "ga:c",
                "ga:y",
                "ga:go",
                "ga:p",
                "ga:s",
                "ga:x",
                "ga:f",
                "ga:fy",
                "ga:r",
                "ga:rc",
                "sv",
                "sr",
            )
        ),
        Case(
            "gq:a",
            # An item that does not exist, and a value that is no answer.
            lambda t: [b.AnswerItem(99, "yes"), b.AnswerItem(0, "maybe")],
            no_object=QUESTIONNAIRE + "; forged: an item or value it does not have",
            enter=_own_questionnaire,
        ),
        *(no_object(p, QUESTIONNAIRE) for p in ("gq:c", "gq:g", "gq:rv", "gq:sub")),
        no_object("gr:due", "a deadline in months, in the presser's own rectification draft"),
        no_object("sv:skip", "skips the comment of the presser's own survey answer"),
        no_object("sm", "a satisfaction value for the mass code in the presser's own draft"),
        no_object(
            "ga:n",
            "starts choosing a campaign among the admin's own nodes",
            harmless="an admin's own campaign start",
        ),
    ],
    commands=[CommandCase("start", lambda t: [f"/start s-{t.used_code}"])],
)
