"""Forged training buttons: trainings of DEMO-B1's branch committee (one to come, one held),
王芳 invited to them, the nodes a training is for, and a held training of the sibling
committee."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from bot.enums import TrainingAudience, TrainingKind
from bot.fake_telegram import FakeMessage
from handlers.training_buttons import (
    AttendancePage,
    CancelTraining,
    CancelTrainingConfirmed,
    MarkAttended,
    NewTraining,
    OpenTraining,
    TrainingFor,
    TrainingPart,
    WillAttend,
    WontAttend,
)
from storage import queries
from storage import training_queries as tq
from storage.models import Person
from tests.forged.notices import refused_unless_admin
from tests.support.activity import NOW
from tests.support.forged import (
    SIBLING,
    Area,
    B,
    Case,
    Persona,
    Reply,
    World,
    administer_another_node,
    no_object,
)

TITLE = "Closed study of the First Branch"
PLACE = "Back room of the First Branch"
NOT_OPEN = "This invitation is no longer open."
NOT_FOR_ROLE = "Sorry, this is not available for your role. Nothing was changed."
DRAFT = "an answer in the presser's own scheduling draft (its node is checked again)"


@dataclass(frozen=True)
class Targets:
    coming: int
    held: int
    sibling_held: int
    invitee: int
    branch: int
    committee: int


async def setup(world: World) -> Targets:
    """Two trainings of DEMO-B1's branch committee (王芳 is invited), one in three days and
    one that started an hour ago, and a training of the sibling committee that started too."""
    trainings = []
    async with world.db.begin() as session:
        b1 = await queries.org_by_code(session, B)
        demo = await queries.org_by_code(session, "DEMO")
        sibling = await queries.org_by_code(session, SIBLING)
        wang = await session.scalar(select(Person.id).where(Person.name == "王芳"))
        assert b1 is not None and demo is not None and sibling is not None and wang is not None
        for org, title, starts_at in (
            (b1, TITLE, NOW + dt.timedelta(days=3)),
            (b1, TITLE, NOW - dt.timedelta(hours=1)),
            (sibling, "Sibling study", NOW - dt.timedelta(hours=1)),
        ):
            training = await tq.add_training(
                session,
                org=org,
                kind=TrainingKind.ROTATION,
                audience=TrainingAudience.COMMITTEE,
                title=title,
                place=PLACE if org is b1 else "Room 9",
                starts_at=starts_at,
                created_by=None,
            )
            trainings.append(training.id)
        assert await tq.invitee(session, training_id=trainings[0], person_id=wang) is not None
        coming, held, sibling_held = trainings
        return Targets(coming, held, sibling_held, wang, b1.id, demo.id)


def markers(t: Targets) -> list[str]:
    return [TITLE, PLACE, "王芳", "First Party Branch", "第一党支部"]


async def _new_training(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """/training, "New training": the admin of two nodes is asked which one (only their
    own); the others get their own record or a refusal."""
    if persona.kind == "sibling admin":
        await administer_another_node(world, persona)
    await persona.user.send("/training")
    menu = await persona.user.wait_reply()
    if persona.kind != "sibling admin":
        return menu
    await persona.user.press(menu, data=NewTraining().data)
    asked = await persona.user.wait_edit()
    assert asked.button_texts == ["Sibling", "Sibling Branch"], asked
    return asked


async def _audience(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """The sibling admin's draft (their one node), at the question who is invited."""
    await persona.user.send("/training")
    menu = await persona.user.wait_reply()
    if persona.kind != "sibling admin":
        return menu
    await persona.user.press(menu, data=NewTraining().data)
    await persona.user.wait_edit()
    for answer in ("Sibling study", "2030-05-05 09:00", "Room 9"):
        await persona.user.send(answer)
        asked = await persona.user.wait_reply()
    assert "Who in Sibling is invited?" in asked.text, asked
    return asked


def _not_open(persona: Persona, reply: Reply | None) -> None:
    """Not invited, called off or started: the same words, whoever asks."""
    if persona.kind != "stranger":
        assert reply is not None and reply.text == persona.tr._(NOT_OPEN), reply


def _refused_to_the_admin(persona: Persona, reply: Reply | None) -> None:
    """The admin, in their draft, gets the plain refusal."""
    if persona.kind == "sibling admin":
        assert reply is not None and reply.text == persona.tr._(NOT_FOR_ROLE), reply


AREA = Area(
    "training",
    setup,
    markers,
    cases=[
        # Only invitees answer, each their own invitation: a member of DEMO-B1 is not one.
        Case(
            "trn:y",
            lambda t: [WillAttend(t.coming), WillAttend(t.held)],
            member="same branch",
            check=_not_open,
        ),
        Case(
            "trn:n",
            lambda t: [WontAttend(t.coming), WontAttend(t.held)],
            member="same branch",
            check=_not_open,
        ),
        Case("trn:v", lambda t: [OpenTraining(t.coming), OpenTraining(t.held)]),
        Case("trn:c", lambda t: [CancelTraining(t.coming)]),
        Case("trn:cy", lambda t: [CancelTrainingConfirmed(t.coming)]),
        Case("trn:att", lambda t: [AttendancePage(t.held, 0)]),
        Case(
            "trn:a",
            # And 王芳 on the sibling admin's own training: she is no invitee of it.
            lambda t: [
                MarkAttended(t.held, t.invitee, 0),
                MarkAttended(t.sibling_held, t.invitee, 0),
            ],
        ),
        Case(
            "trn:org",
            lambda t: [TrainingFor(t.committee), TrainingFor(t.branch)],
            enter=_new_training,
            check=_refused_to_the_admin,
        ),
        Case(
            "trn:sub",
            lambda t: [TrainingPart(t.branch), TrainingPart(t.committee)],
            enter=_audience,
            check=_refused_to_the_admin,
        ),
        no_object(
            "trn:m",
            "a page of the admin's own trainings (their own subtrees)",
            harmless="the admin's own menu",
            check=refused_unless_admin,
        ),
        no_object(
            "trn:new",
            "starts scheduling a training for one of the admin's own nodes",
            harmless="the admin's own draft",
            own_changes="the admin's own scheduling draft",
            check=refused_unless_admin,
        ),
        *(no_object(prefix, DRAFT) for prefix in ("trn:aud", "trn:kind", "trn:ok", "trn:no")),
    ],
)
