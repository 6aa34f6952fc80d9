"""Activity drafts: JSON round trip, quick logs, saving, correcting and voiding (audited)."""

import asyncio
import datetime as dt
import json
import zoneinfo

import pytest

from bot.activities import (
    ActivityDraft,
    StaleActivity,
    answered,
    draft_from_activity,
    draft_from_quick_log,
    next_question,
    parse_attendance,
    save_draft,
    void_activity,
)
from bot.demo import DemoUser
from bot.rules.calendar import past_month, reference_day
from bot.rules.dates import DateError
from storage import activity_queries, queries
from storage.db import SessionFactory

TODAY = dt.date(2026, 11, 21)
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=ZONE)


def test_a_draft_survives_json() -> None:
    draft = ActivityDraft(
        branch_id=3,
        kinds=["general_meeting", "lecture"],
        day=TODAY,
        topic="学习",
        present=7,
        expected=9,
        absences=[{"person_id": 1, "name": "张伟", "reason": "sick"}],
        files=[{"type": "photo", "file_id": "abc", "name": None}],
    )
    assert ActivityDraft.from_data(draft.to_data()) == draft
    assert draft.missing() == []
    assert ActivityDraft(branch_id=3).missing() == ["kinds", "date", "topic", "attendance"]


def test_a_quick_log_keeps_only_what_was_written() -> None:
    draft, error, _ = draft_from_quick_log("支委会 11/20", branch_id=1, today=TODAY)
    assert draft.kinds == ["committee_meeting"] and (draft.present, draft.expected) == (11, 20)
    assert draft.day is None and error is None and draft.missing() == ["date", "topic"]
    draft, error, _ = draft_from_quick_log(
        "committee meeting 2026-12-01 7/9 topic: plans", branch_id=1, today=TODAY
    )
    assert error is DateError.FUTURE and draft.day is None and draft.topic == "plans"


async def test_saving_correcting_and_voiding_are_audited(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        draft = ActivityDraft(
            branch_id=branch.id,
            kinds=["lecture", "general_meeting", "bogus"],
            day=TODAY - dt.timedelta(days=8),
            topic="学习",
            present=3,
            expected=4,
        )
        activity = await save_draft(session, draft, actor=None, now=NOW, zone=ZONE)
        assert activity.late and activity.kinds == ["general_meeting", "lecture"]
        correction = draft_from_activity(activity)
        correction.topic = "学习党章"
        await save_draft(session, correction, actor=None, now=NOW, zone=ZONE)
        await void_activity(session, activity, reason="重复记录", actor=None, now=NOW)
        with pytest.raises(LookupError):
            await save_draft(session, correction, actor=None, now=NOW, zone=ZONE)
        with pytest.raises(ValueError, match="incomplete"):
            await save_draft(session, ActivityDraft(branch.id), actor=None, now=NOW, zone=ZONE)
    async with db() as session:
        stored = await activity_queries.activity_by_id(session, activity.id)
        entries = await queries.audit_entries(session)
    assert stored is not None and stored.voided and stored.topic == "学习党章"
    actions = [(e.action, e.target_id) for e in entries]
    assert actions == [
        ("activity.logged", activity.id),
        ("activity.corrected", activity.id),
        ("activity.voided", activity.id),
    ]
    assert entries[1].details["changes"] == {"topic": ["学习", "学习党章"]}
    assert entries[2].details["reason"] == "重复记录"


async def _b1(db: SessionFactory) -> int:
    async with db() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        return branch.id


async def test_the_audit_log_keeps_absentees_by_id_without_names_or_reasons(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    draft = ActivityDraft(
        branch_id=await _b1(db),
        kinds=["general_meeting"],
        day=TODAY,
        topic="学习",
        present=2,
        expected=4,
        absences=[
            {"person_id": 11, "name": "张伟", "reason": "sick"},
            {"person_id": 12, "name": "刘洋", "reason": None},
        ],
    )
    async with db.begin() as session:
        activity = await save_draft(session, draft, actor=None, now=NOW, zone=ZONE)
        correction = draft_from_activity(activity)
        correction.absences = [{"person_id": 11, "name": "张伟", "reason": "away"}]
        await save_draft(session, correction, actor=None, now=NOW, zone=ZONE)
        await void_activity(session, activity, reason="重复记录", actor=None, now=NOW)
    async with db() as session:
        entries = await queries.audit_entries(session)
    recorded = json.dumps([e.details for e in entries], ensure_ascii=False)
    for private in ("张伟", "刘洋", "sick", "away"):
        assert private not in recorded
    # The fact of the change stays, by person id: who was absent before and after.
    assert entries[1].details["changes"] == {"absences": [[11, 12], [11]]}
    assert entries[2].details["activity"]["absences"] == [11]


async def test_two_corrections_at_once_decide_once(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    draft = ActivityDraft(
        branch_id=await _b1(db), kinds=["talk"], day=TODAY, topic="旧", present=3, expected=4
    )
    async with db.begin() as session:
        saved = draft_from_activity(
            await save_draft(session, draft, actor=None, now=NOW, zone=ZONE)
        )

    async def correct(topic: str) -> str:
        # Each leader in their own transaction, both from the version they saw.
        async with db.begin() as session:
            mine = ActivityDraft.from_data(saved.to_data() | {"topic": topic})
            try:
                await save_draft(session, mine, actor=None, now=NOW, zone=ZONE)
            except StaleActivity:
                return "stale"
            return "saved"

    assert sorted(await asyncio.gather(correct("甲"), correct("乙"))) == ["saved", "stale"]
    async with db() as session:
        stored = await activity_queries.activity_by_id(session, int(saved.activity_id or 0))
        corrected = await queries.audit_entries(session, action="activity.corrected")
    assert stored is not None and stored.version == 2 and stored.topic in ("甲", "乙")
    assert len(corrected) == 1


def test_the_next_question_is_the_first_pending_one_that_applies() -> None:
    draft = ActivityDraft(branch_id=3, kinds=["talk"], present=4, expected=4)
    pending = ["group", "absent", "place"]
    # No party group meeting, nobody absent: straight to the place.
    assert next_question(pending, draft, roster_size=4, has_groups=True) == (["place"], "place")
    draft.present = 3
    assert next_question(["absent", "place"], draft, roster_size=4, has_groups=False) == (
        ["absent", "place"],
        "absent",
    )
    # Nobody to pick from: the summary comes next.
    assert next_question(["absent"], draft, roster_size=0, has_groups=False) == ([], None)
    draft.kinds = ["group_meeting"]
    assert next_question(["group"], draft, roster_size=4, has_groups=True)[1] == "group"
    assert next_question(["group"], draft, roster_size=4, has_groups=False)[1] is None
    assert answered(["topic", "place"], "topic") == ["place"]
    assert answered(["place"], "topic") == ["place"]  # an answer to a question not pending


def test_attendance_is_present_over_expected_or_present_of_the_roster() -> None:
    assert parse_attendance("7/9", 4) == (7, 9)
    assert parse_attendance(" 7／9 ", 0) == (7, 9)
    assert parse_attendance("3", 4) == (3, 4)
    for wrong in ("5/4", "0/4", "x", "1001/1001", "3/"):
        assert parse_attendance(wrong, 4) is None, wrong
    assert parse_attendance("3", 0) is None  # no roster to take the expected from


def test_only_months_that_have_begun_can_be_browsed() -> None:
    today = dt.date(2026, 11, 20)
    november = past_month("2026-11", today)
    assert november is not None and reference_day(november, today) == today
    october = past_month("2026-10", today)
    assert october is not None and reference_day(october, today) == dt.date(2026, 10, 31)
    for key in ("2026-12", "2026-Q4", "2026-13", "2026", "x"):
        assert past_month(key, today) is None, key
