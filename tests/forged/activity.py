"""Forged activity-log buttons: DEMO-B1's activity, branch, party group and people."""

from __future__ import annotations

from dataclasses import dataclass

from bot.enums import OrgKind
from bot.fake_telegram import FakeMessage
from bot.rules.calendar import PeriodKind, period_containing, previous_period
from bot.rules.kinds import ActivityKind
from handlers.activity_texts import ActivityFiles, CorrectActivity, ViewActivity, VoidActivity
from handlers.due import DueMonth
from handlers.log_texts import AbsentPick, BranchChoice, EditField, GroupChoice
from storage import queries
from storage.models_activity import Activity
from tests.support.activity import add_activity, org_today
from tests.support.forged import (
    A,
    Area,
    B,
    Case,
    CommandCase,
    Persona,
    World,
    lead_another_branch,
    no_object,
)

SECRET_TOPIC = "Budget of the first branch"
SECRET_MINUTES = "Deliberations nobody else may read"
DRAFT = "an answer to a question of the presser's own /log draft (its branch is checked again)"


@dataclass(frozen=True)
class Targets:
    activity: int
    branch: int
    group: int
    secretary: int
    month: str
    last_month: str


async def setup(world: World) -> Targets:
    """A committee meeting of DEMO-B1 with minutes, a file and an excused absentee; a party
    group in DEMO-B1 and one in DEMO-B2 (so that a DEMO-B2 secretary is asked for one)."""
    activity_id = await add_activity(
        world.db, B, org_today(), (ActivityKind.COMMITTEE_MEETING,), topic=SECRET_TOPIC
    )
    async with world.db.begin() as session:
        activity = await session.get(Activity, activity_id)
        b1 = await queries.org_by_code(session, B)
        b2 = await queries.org_by_code(session, A)
        assert activity is not None and b1 is not None and b2 is not None
        activity.minutes = SECRET_MINUTES
        activity.attachments = [{"type": "document", "file_id": "f1", "name": "minutes.txt"}]
        activity.absences = [{"person_id": 1, "name": "张伟", "reason": "sick"}]
        group = await queries.add_org_unit(
            session, code="B1-G1", kind=OrgKind.PARTY_GROUP, name="一组", parent=b1
        )
        await queries.add_org_unit(
            session,
            code="B2-G1",
            kind=OrgKind.PARTY_GROUP,
            name="二组",
            name_en="Group two",
            parent=b2,
        )
        secretary = await queries.person_in_branch(session, branch=b1, name="王芳")
        assert secretary is not None
        month = period_containing(PeriodKind.MONTH, org_today())
        return Targets(
            activity_id,
            b1.id,
            group.id,
            secretary.id,
            month.key,
            previous_period(month).key,
        )


def markers(t: Targets) -> list[str]:
    return [
        SECRET_TOPIC,
        SECRET_MINUTES,
        "张伟",
        "王芳",
        "一组",
        "First Party Branch",
        "第一党支部",
    ]


async def _log(world: World, persona: Persona, _t: Targets) -> FakeMessage:
    """/log: a leader of two branches is asked which one (others are refused)."""
    if persona.kind == "secretary":
        await lead_another_branch(world, persona)
    await persona.user.send("/log")
    return await persona.user.wait_reply()


async def _group_meeting(world: World, persona: Persona, _t: Targets) -> FakeMessage:
    """A quick log of a party group meeting: a DEMO-B2 leader is asked for the group."""
    await persona.user.send("party group meeting today 2/3 topic: study")
    asked = await persona.user.wait_reply()
    if persona.kind == "secretary":
        assert asked.button_texts == ["Group two"] or asked.button_texts == ["二组"], asked
    return asked


async def _absentees(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """The same draft, at the question who was absent (DEMO-B2's roster only)."""
    asked = await _group_meeting(world, persona, t)
    if persona.kind != "secretary":
        return asked
    await persona.user.press(asked, asked.button_texts[0])
    summary = await persona.user.wait_edit()
    await persona.user.press(summary, data=EditField("absent").data)
    absent = await persona.user.wait_edit()
    assert "王芳" not in absent.button_texts, absent
    return absent


AREA = Area(
    "activity",
    setup,
    markers,
    cases=[
        Case("ac:v", lambda t: [ViewActivity(t.activity, 0)]),
        Case("ac:f", lambda t: [ActivityFiles(t.activity)]),
        Case("ac:e", lambda t: [CorrectActivity(t.activity)]),
        Case("ac:x", lambda t: [VoidActivity(t.activity)]),
        Case("du", lambda t: [DueMonth(t.branch, t.month), DueMonth(t.branch, t.last_month)]),
        Case("lg:b", lambda t: [BranchChoice(t.branch)], enter=_log),
        Case("lg:g", lambda t: [GroupChoice(t.group)], enter=_group_meeting),
        Case("lg:ab", lambda t: [AbsentPick(t.secretary)], enter=_absentees),
        no_object(
            "rp",
            "a month of the compliance report of the admin's own subtrees",
            harmless="the admin's own report",
        ),
        no_object(
            "rp:r",
            "a calendar rule, offered for the admin's own subtree",
            harmless="the choices for the admin's own subtree",
        ),
        no_object(
            "rp:rc",
            "a calendar rule changed at the admin's own node",
            harmless="the admin's own rules",
            own_changes="a rule override at the presser's own node (an admin's subtree)",
        ),
        no_object(
            "rp:c",
            "one of the reports of the admin's own subtrees, chosen from /report's buttons",
            harmless="the admin's own report",
        ),
        no_object(
            "du:p",
            "a page of the branches of the admin's own subtrees",
            harmless="the presser's own list",
        ),
        no_object(
            "ac:p",
            "a page of the presser's own list (their branches and subtrees)",
            harmless="the presser's own list",
        ),
        *(
            no_object(prefix, DRAFT)
            for prefix in (
                "lg:k",
                "lg:k:ok",
                "lg:d",
                "lg:a:all",
                "lg:ab:ok",
                "lg:ar",
                "lg:ar:none",
                "lg:skip",
                "lg:f:ok",
                "lg:e",
                "lg:save",
                "lg:cancel",
                "lg:x:yes",
                "lg:x:no",
                "lg:v",
            )
        ),
    ],
    commands=[CommandCase("due", lambda t: [f"/due {B}"])],
)
