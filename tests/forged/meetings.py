"""Forged meeting, calendar and committee buttons (issue 12): DEMO-B1's meetings (one to come,
one over), their invitees, DEMO-B1's calendar (themed Party day, preparation steps), a party
group of DEMO-B1 and a member of DEMO-B1 to appoint, pick or tick.

Someone else's RSVP is pressed by people not invited (and, for "remotely" and "I'm here", by
an invitee of DEMO-B1 to whom it is not offered: a regular member, outside the sign-in window).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from bot.enums import CommitteePost, MeetingAudience, OrgKind, PreparationStep, ReminderState
from bot.fake_telegram import FakeMessage
from bot.meetings.draft import MeetingDraft
from bot.meetings.service import call_meeting
from bot.reminders.meeting_kinds import meeting_subject
from bot.rules.kinds import ActivityKind
from handlers.access_texts import AccessAppoint, AccessAppointPost
from handlers.due_calendar import PreparationDone, ThemedDayAsk, ThemedDaySet
from handlers.meet_texts import MeetAudienceChoice, MeetFor, MeetGroup, MeetKind, MeetPick
from handlers.meeting_buttons import (
    LogMeeting,
    MeetAttend,
    MeetCancel,
    MeetCancelYes,
    MeetCard,
    MeetChecklist,
    MeetDecline,
    MeetHere,
    MeetLater,
    MeetMove,
    MeetNoReason,
    MeetReason,
    MeetRemote,
    MeetTick,
    MeetView,
)
from storage import queries
from storage.models import Person
from storage.models_meetings import MeetingInvitee
from storage.models_reminders import Reminder
from tests.support.activity import NOW
from tests.support.forged import (
    Area,
    B,
    Case,
    Check,
    Persona,
    Reply,
    World,
    lead_another_branch,
    no_object,
)

SECRET_AGENDA = "Closed agenda of the First Branch"
SECRET_PLACE = "Room 1 of the First Branch"
GROUP_NAME = "会务三组"
NOT_FOR_ROLE = "Sorry, this is not available for your role. Nothing was changed."
NOT_A_LEADER = (
    "Only a branch's secretary or deputy secretary (or a party group's leader, for the group) "
    "can call its meetings. Nothing was changed."
)
SIGN_IN = "Sign-in is open from {opens} to {closes} only."
MEET_DRAFT = "an answer in the presser's own /meet draft (its branch is checked on every step)"
MOVE_DRAFT = "an answer in the presser's own move of a meeting (the meeting is checked again)"
LOG_DRAFT = "an answer to a question of the presser's own /log draft (its branch is checked again)"


@dataclass(frozen=True)
class Targets:
    coming: int
    over: int
    branch: int
    group: int
    member: int


async def _called(world: World, branch_id: int, starts: dt.datetime, now: dt.datetime) -> int:
    """A meeting of the whole branch called at `now`; its invitations count as delivered (the
    bot's jobs are stopped, and nothing may send them during the cases)."""
    draft = MeetingDraft(
        branch_id,
        kinds=[ActivityKind.COMMITTEE_MEETING.value, ActivityKind.GENERAL_MEETING.value],
        starts_at=starts,
        place=SECRET_PLACE,
        agenda=SECRET_AGENDA,
        audience=MeetingAudience.BRANCH,
        reason_required=True,
    )
    async with world.db.begin() as session:
        called = await call_meeting(
            session, draft, actor=None, now=now, card_chat_id=None, card_message_id=None
        )
        await session.execute(
            update(Reminder)
            .where(Reminder.subject == meeting_subject(called.meeting.id, "news"))
            .values(state=ReminderState.SENT, sent_at=now)
        )
        return called.meeting.id


async def setup(world: World) -> Targets:
    """A meeting of DEMO-B1 in five days and one held yesterday (its sign-in closed), a party
    group of DEMO-B1, and 李强 (invited to both)."""
    async with world.db.begin() as session:
        b1 = await queries.org_by_code(session, B)
        assert b1 is not None
        group = await queries.add_org_unit(
            session, code="B1-MG", kind=OrgKind.PARTY_GROUP, name=GROUP_NAME, parent=b1
        )
        li = await session.scalar(select(Person).where(Person.name == "李强"))
        assert li is not None
        found = (b1.id, group.id, li.id)
    branch, group_id, member = found
    coming = await _called(world, branch, NOW + dt.timedelta(days=5), NOW)
    over = await _called(world, branch, NOW - dt.timedelta(hours=20), NOW - dt.timedelta(days=3))
    return Targets(coming, over, branch, group_id, member)


def markers(t: Targets) -> list[str]:
    return [SECRET_AGENDA, SECRET_PLACE, GROUP_NAME, "李强", "First Party Branch", "第一党支部"]


# ---- entering -----------------------------------------------------------------------------


async def _invited(world: World, persona: Persona, t: Targets) -> FakeMessage | None:
    """The member of DEMO-B1 is invited to both meetings (a regular member: not mobile)."""
    if persona.kind != "member":
        return None
    async with world.db.begin() as session:
        for meeting_id in (t.coming, t.over):
            session.add(MeetingInvitee(meeting_id=meeting_id, person_id=persona.person_id))
    return None


def _window_for_the_invitee(persona: Persona, reply: Reply | None) -> None:
    """The invitee is told when sign-in is open (their own meeting); the others are refused."""
    if persona.kind == "member":
        opening = persona.tr._(SIGN_IN).split("{")[0]
        assert reply is not None and reply.text.startswith(opening), reply


def _secretary_gets(msgid: str) -> Check:
    """The secretary, in the question the family belongs to, gets this refusal (not only the
    stale-button answer of someone outside the conversation)."""

    def check(persona: Persona, reply: Reply | None) -> None:
        if persona.kind == "secretary":
            assert reply is not None and reply.text == persona.tr._(msgid), reply

    return check


async def _meet(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """/meet: a leader of two branches is asked which one (the others are refused)."""
    if persona.kind == "secretary":
        await lead_another_branch(world, persona)
    await persona.user.send("/meet")
    return await persona.user.wait_reply()


async def _meet_until(persona: Persona, audience: MeetingAudience) -> FakeMessage:
    """/meet for the persona's own branch, answered up to who is invited."""
    await persona.user.send("/meet")
    asked = await persona.user.wait_reply()
    if persona.kind != "secretary":
        return asked
    await persona.user.press(asked, data=MeetKind(ActivityKind.GROUP_MEETING).data)
    asked = await persona.user.wait_edit()
    await persona.user.press(asked, data="meet:k:ok")
    await persona.user.wait_edit()
    for answer in ("2026-11-25 14:00", "Room 2", "Study"):
        await persona.user.send(answer)
        asked = await persona.user.wait_reply()
    # Sent as data: "one party group" is offered only where the branch has groups, and
    # DEMO-B2's (another area's) need not exist yet; the question is asked all the same.
    await persona.user.press_data(asked, MeetAudienceChoice(audience).data)
    return await persona.user.wait_edit()


async def _groups(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """The secretary of DEMO-B2, asked for a party group of DEMO-B2."""
    return await _meet_until(persona, MeetingAudience.PARTY_GROUP)


async def _pick(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """The secretary of DEMO-B2, choosing members of DEMO-B2."""
    return await _meet_until(persona, MeetingAudience.CHOSEN)


async def _access(world: World, persona: Persona, t: Targets) -> FakeMessage:
    """/access (admins only; the others are refused there already)."""
    await persona.user.send("/access")
    return await persona.user.wait_reply()


def _in_access(prefix: str, buttons: object) -> Case[Targets]:
    return Case(prefix, buttons, member="same branch", enter=_access)  # type: ignore[arg-type]


def _meeting(prefix: str, buttons: object, **options: object) -> Case[Targets]:
    """A button of a DEMO-B1 meeting, pressed by a member of DEMO-B1 who is not invited (or
    does not manage it) among the others."""
    return Case(prefix, buttons, member="same branch", **options)  # type: ignore[arg-type]


AREA = Area(
    "meetings",
    setup,
    markers,
    cases=[
        # An invitee's answers, someone else's invitation.
        _meeting("mt:y", lambda t: [MeetAttend(t.coming)]),
        _meeting("mt:n", lambda t: [MeetDecline(t.coming)]),
        _meeting("mt:l", lambda t: [MeetLater(t.coming)]),
        _meeting("mt:why", lambda t: [MeetReason(t.coming, "sick"), MeetReason(t.coming, "other")]),
        _meeting("mt:why:none", lambda t: [MeetNoReason(t.coming)]),
        _meeting("mt:v", lambda t: [MeetView(t.coming), MeetView(t.over)]),
        _meeting("mt:rm", lambda t: [MeetRemote(t.coming)], enter=_invited),
        _meeting(
            "mt:here",
            lambda t: [MeetHere(t.coming), MeetHere(t.over)],
            enter=_invited,
            check=_window_for_the_invitee,
            differs_from_missing="an invitee of the meeting is told when its sign-in is open",
        ),
        # The caller's card, the checklist, moving, cancelling, logging.
        _meeting("mt:card", lambda t: [MeetCard(t.coming), MeetCard(t.over)]),
        _meeting("mt:chk", lambda t: [MeetChecklist(t.coming, 0), MeetChecklist(t.over, 0)]),
        _meeting(
            "mt:tick", lambda t: [MeetTick(t.coming, t.member, 0), MeetTick(t.over, t.member, 0)]
        ),
        _meeting("mt:x", lambda t: [MeetCancel(t.coming)]),
        _meeting("mt:xy", lambda t: [MeetCancelYes(t.coming, 1)]),
        _meeting("mt:mv", lambda t: [MeetMove(t.coming)]),
        _meeting("mt:log", lambda t: [LogMeeting(t.over)]),
        # DEMO-B1's calendar in /due.
        _meeting("du:td", lambda t: [ThemedDayAsk(t.branch)]),
        _meeting("du:tds", lambda t: [ThemedDaySet(t.branch, 5), ThemedDaySet(t.branch, 0)]),
        _meeting(
            "du:prep",
            lambda t: [PreparationDone(t.branch, step) for step in PreparationStep],
        ),
        # The committee, appointed in /access.
        _in_access("acs:cm", lambda t: [AccessAppoint(t.member)]),
        _in_access(
            "acs:cmp",
            lambda t: [AccessAppointPost(t.member, post) for post in CommitteePost],
        ),
        # /meet's questions that name a branch, a party group or a member.
        Case(
            "meet:for",
            lambda t: [MeetFor(t.branch), MeetFor(t.group)],
            enter=_meet,
            check=_secretary_gets(NOT_A_LEADER),
        ),
        Case(
            "meet:grp",
            lambda t: [MeetGroup(t.group)],
            enter=_groups,
            check=_secretary_gets(NOT_FOR_ROLE),
        ),
        Case(
            "meet:p",
            lambda t: [MeetPick(t.member, 0)],
            enter=_pick,
            check=_secretary_gets(NOT_FOR_ROLE),
        ),
        *(
            no_object(prefix, MEET_DRAFT)
            for prefix in (
                "meet:k",
                "meet:k:ok",
                "meet:aud",
                "meet:pp",
                "meet:p:ok",
                "meet:rsn",
                "meet:dec",
                "meet:e",
                "meet:send",
                "meet:drop",
            )
        ),
        *(no_object(prefix, MOVE_DRAFT) for prefix in ("mt:mvy", "mt:mvn")),
        no_object("mt:nonote", "ends the presser's own answer with no words added"),
        no_object("lg:dec", LOG_DRAFT),
    ],
)
