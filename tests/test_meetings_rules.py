"""Pure and service rules of meetings and quorum: more than half; a rule without the quorum
field counts every meeting; a deciding general meeting is judged against the voting members;
the pre-filled draft of a meeting; overrides of lead days, quorum and preparation; the
caller's card edited at most every few seconds."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from sqlalchemy import select

from bot.compliance import OverrideError, rule_book, set_override
from bot.enums import Rsvp
from bot.meetings.record import draft_from_meeting
from bot.rules.calendar import (
    DEFAULT_RULES,
    ActivityFact,
    ObligationState,
    RuleOverride,
    compliance,
    effective_rules,
    parse_leads,
)
from bot.rules.kinds import ActivityKind
from bot.rules.meetings import Answer, may_answer, sign_in_open, tally
from bot.rules.quorum import Body, hand_logged_committee, has_quorum, quorum_facts, short_of_quorum
from storage import queries
from storage.db import SessionFactory
from tests.support.reminders import at

K = ActivityKind
DAY = dt.date(2026, 11, 20)


def test_quorum_is_more_than_half() -> None:
    assert not has_quorum(2, 5) and has_quorum(3, 5)
    assert not has_quorum(2, 4) and has_quorum(3, 4)
    assert not has_quorum(0, 0)
    # A committee roster too small to be recorded: the meeting's own attendance is the body.
    assert hand_logged_committee(7, 9, 5) == Body(5, 5)
    assert hand_logged_committee(2, 5, 1) == Body(2, 5)
    facts = quorum_facts(
        ["committee_meeting", "general_meeting"],
        decides=False,
        committee=Body(2, 5),
        voting=Body(10, 30),
    )
    assert facts == {"committee_meeting": [2, 5]}
    assert short_of_quorum(facts) == frozenset({K.COMMITTEE_MEETING})
    deciding = quorum_facts(
        ["general_meeting", "lecture"], decides=True, committee=None, voting=Body(15, 30)
    )
    assert short_of_quorum(deciding) == frozenset({K.GENERAL_MEETING})


def test_without_a_quorum_a_meeting_does_not_count_unless_the_rule_says_so() -> None:
    short = ActivityFact(
        1,
        DAY,
        frozenset({K.COMMITTEE_MEETING, K.LECTURE}),
        short_of_quorum=frozenset({K.COMMITTEE_MEETING}),
    )
    statuses = {s.rule.key: s for s in compliance(DEFAULT_RULES, [short], [], DAY)}
    assert statuses["committee_meeting"].state is ObligationState.DUE
    assert statuses["committee_meeting"].without_quorum == (DAY,)
    # The lecture held at the same meeting still counts: it needs no quorum.
    assert statuses["lecture"].state is ObligationState.DONE
    relaxed = effective_rules(DEFAULT_RULES, [[RuleOverride(1, "committee_meeting", quorum=False)]])
    statuses = {s.rule.key: s for s in compliance(relaxed, [short], [], DAY)}
    assert statuses["committee_meeting"].state is ObligationState.DONE
    assert statuses["committee_meeting"].without_quorum == ()


def test_lead_days_and_preparation_are_rule_fields() -> None:
    assert parse_leads("1, 7,21") == (21, 7, 1)
    with pytest.raises(ValueError):
        parse_leads("")
    life = next(r for r in DEFAULT_RULES if r.key == "life_meeting")
    assert life.leads() == (60, 30, 7, 1) and life.prepare_from == 11
    changed = effective_rules(
        DEFAULT_RULES,
        [[RuleOverride(1, "life_meeting", lead_days=(45, 10), prepare_from=0)]],
    )
    rule = next(r for r in changed if r.key == "life_meeting")
    assert rule.leads() == (45, 10) and rule.prepare_from is None
    # An empty override goes back to the period's defaults.
    back = effective_rules(changed, [[RuleOverride(2, "life_meeting", lead_days=())]])
    assert next(r for r in back if r.key == "life_meeting").leads() == (60, 30, 7, 1)


async def test_overrides_of_the_new_fields_are_stored_and_read(
    db: SessionFactory, demo: object
) -> None:
    async with db.begin() as session:
        org = await queries.org_by_code(session, "DEMO")
        assert org is not None
        await set_override(
            session,
            org=org,
            rule_key="general_meeting",
            fields={"lead_days": "30,7", "quorum": False},
        )
        await set_override(session, org=org, rule_key="life_meeting", fields={"prepare_from": 10})
        with pytest.raises(OverrideError):
            await set_override(session, org=org, rule_key="lecture", fields={"lead_days": "0"})
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert b1 is not None
        rules = {r.key: r for r in (await rule_book(session, b1.path)).rules_for(b1.path)}
    assert rules["general_meeting"].leads() == (30, 7) and not rules["general_meeting"].quorum
    assert rules["committee_meeting"].quorum and rules["life_meeting"].prepare_from == 10


def _row(person_id: int, name: str, **fields: object) -> object:
    values = {
        "person_id": person_id,
        "rsvp": None,
        "reason": None,
        "signed_in_at": None,
        "committee": False,
        "voting": True,
    } | fields
    return types.SimpleNamespace(invitee=types.SimpleNamespace(**values), name=name, account_id=1)


def test_a_meetings_draft_holds_attendance_reasons_and_the_voting_quorum() -> None:
    meeting = types.SimpleNamespace(
        id=4,
        branch_id=7,
        kinds=["general_meeting"],
        agenda="Election of the committee",
        place="Hall",
        party_group_id=None,
        decides=True,
        starts_at=at("2026-11-20 19:00"),
    )
    signed = at("2026-11-20 18:50")
    rows = [
        _row(1, "甲", rsvp=Rsvp.YES, signed_in_at=signed),
        _row(2, "乙", rsvp=Rsvp.REMOTE, signed_in_at=signed),
        _row(3, "丙", rsvp=Rsvp.NO, reason="sick"),
        _row(4, "丁", rsvp=Rsvp.LATER),
        _row(5, "戊"),
    ]
    draft = draft_from_meeting(
        meeting,  # type: ignore[arg-type]
        rows,  # type: ignore[arg-type]
        day=DAY,
        committee_size=3,
        voting_size=5,
    )
    assert (draft.present, draft.expected, draft.topic, draft.meeting_id) == (
        2,
        5,
        "Election of the committee",
        4,
    )
    assert [(a["name"], a["reason"]) for a in draft.absences] == [
        ("丙", "sick"),
        ("丁", None),
        ("戊", None),
    ]
    assert draft.decides and draft.quorum == {"general_meeting": [2, 5]}


def test_answers_until_the_start_and_sign_in_within_its_window() -> None:
    starts = at("2026-11-25 14:00")
    assert may_answer(starts, False, at("2026-11-25 13:59"))
    assert not may_answer(starts, False, starts) and not may_answer(
        starts, True, at("2026-11-24 10:00")
    )
    assert not sign_in_open(starts, False, at("2026-11-25 13:29"))
    assert sign_in_open(starts, False, at("2026-11-25 13:30"))
    assert sign_in_open(starts, False, at("2026-11-25 16:00"))
    assert not sign_in_open(starts, False, at("2026-11-25 16:01"))
    assert not sign_in_open(starts, True, at("2026-11-25 14:00"))
    counted = tally(
        [
            Answer(1, "a", Rsvp.YES, signed_in=True),
            Answer(2, "b", Rsvp.LATER),
            Answer(3, "c", None),
            Answer(4, "d", Rsvp.NO, reason="work"),
        ]
    )
    assert (
        len(counted.attending),
        len(counted.later),
        len(counted.silent),
        len(counted.absent),
    ) == (
        1,
        1,
        1,
        1,
    )
    assert counted.invited == 4 and [a.name for a in counted.signed_in] == ["a"]


async def test_mydata_has_the_meetings_and_forgetme_drops_the_words(
    db: SessionFactory, demo: object
) -> None:
    from bot.enums import MeetingAudience
    from bot.export import personal_data
    from bot.meetings.draft import MeetingDraft
    from bot.meetings.service import answer_meeting, call_meeting, own_invitation
    from bot.privacy import erase_person
    from storage.models import Account, Person

    now = at("2026-11-20 10:00")
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert b1 is not None
        draft = MeetingDraft(
            b1.id,
            kinds=["general_meeting"],
            starts_at=at("2026-11-25 14:00"),
            place="Hall",
            agenda="Study",
            audience=MeetingAudience.BRANCH,
        )
        called = await call_meeting(
            session, draft, actor=None, now=now, card_chat_id=None, card_message_id=None
        )
        person = await queries.person_in_branch(session, branch=b1, name="李强")
        assert person is not None
        account = await session.scalar(select(Account).where(Account.person_id == person.id))
        assert account is not None
        invitation = await own_invitation(session, called.meeting.id, person.id)
        assert invitation is not None
        await answer_meeting(
            session,
            invitation,
            account_id=account.id,
            rsvp=Rsvp.NO,
            reason="sick",
            note="在医院",
            now=now,
        )
        data = await personal_data(session, account, now)
        assert [(m["answer"], m["reason"], m["note"]) for m in data["meetings"]] == [
            ("no", "sick", "在医院")
        ]
        await erase_person(session, person=person, actor=None, now=now)
        await session.flush()
        invitee = (await own_invitation(session, called.meeting.id, person.id)).invitee  # type: ignore[union-attr]
        await session.refresh(invitee)
        assert invitee.note is None and invitee.reason == "sick"
        assert (await session.get(Person, person.id)).name != "李强"  # type: ignore[union-attr]


async def test_a_burst_of_answers_edits_the_card_once_until_the_interval_passes(
    db: SessionFactory, demo: object
) -> None:
    """The caller's card is edited at once for the first answer; answers within
    ZHIBU_DELIVERY_PROGRESS_SECONDS of that edit wait for one edit together, and the same
    message is edited each time (never a new one). Another meeting's card is not held up."""
    import asyncio

    from bot.config import Settings
    from bot.enums import MeetingAudience
    from bot.meetings.card import MeetingCards
    from bot.meetings.draft import MeetingDraft
    from bot.meetings.service import call_meeting

    meetings = []
    async with db.begin() as session:
        b1 = await queries.org_by_code(session, "DEMO-B1")
        assert b1 is not None
        for card in (42, 43):
            draft = MeetingDraft(
                b1.id,
                kinds=["general_meeting"],
                starts_at=at("2026-11-25 14:00"),
                place="Hall",
                agenda="Study",
                audience=MeetingAudience.BRANCH,
            )
            called = await call_meeting(
                session,
                draft,
                actor=None,
                now=at("2026-11-20 10:00"),
                card_chat_id=777,
                card_message_id=card,
            )
            meetings.append(called.meeting.id)
    edits: list[int] = []
    edited = {card: asyncio.Event() for card in (42, 43)}

    async def edit(chat_id: int, message_id: int, text: str, markup: object) -> None:
        edits.append(message_id)
        edited[message_id].set()

    cards = MeetingCards(
        db=db,
        settings=Settings(delivery_progress_seconds=600),
        edit=edit,
        keyboard=lambda *_: None,
    )
    first, other = meetings
    cards.poke(first)
    await edited[42].wait()
    for _ in range(5):
        cards.poke(first)
    cards.poke(other)
    # The other card's edit, asked for after the burst, comes first: the burst waits for the
    # interval to pass since the first edit, as one edit.
    await edited[43].wait()
    assert edits == [42, 43]
