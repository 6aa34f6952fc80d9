"""The activity log: drafts (from the guided flow or a quick-log message), the rules of the
guided questions, saving, correcting and voiding activities. Drafts are plain JSON so a
conversation can store them between steps.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, NamedTuple, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.rules.dates import DateError, is_late
from bot.rules.kinds import ActivityKind
from bot.rules.quicklog import MAX_ATTENDANCE, parse_quick_log
from storage import activity_queries, queries
from storage.models import Account
from storage.models_activity import Activity

TOPIC_LIMIT = 200
PLACE_LIMIT = 100
MINUTES_LIMIT = 3000
VOID_REASON_LIMIT = 200
MAX_FILES = 10

KIND_LABELS: dict[ActivityKind, str] = {
    ActivityKind.GENERAL_MEETING: N_("branch general meeting"),
    ActivityKind.COMMITTEE_MEETING: N_("branch committee meeting"),
    ActivityKind.GROUP_MEETING: N_("party group meeting"),
    ActivityKind.LECTURE: N_("Party lecture"),
    ActivityKind.THEMED_DAY: N_("themed Party day"),
    ActivityKind.LIFE_MEETING: N_("organisational life meeting"),
    ActivityKind.APPRAISAL: N_("democratic appraisal of members"),
    ActivityKind.TALK: N_("heart-to-heart talk"),
    ActivityKind.OTHER: N_("other activity"),
}


class AbsenceReason(StrEnum):
    """Why someone was absent; stored with the activity (an absentee may have none)."""

    SICK = "sick"
    WORK = "work"
    AWAY = "away"
    LEAVE = "leave"
    OTHER = "other"


# The labels are shown in the reader's language.
ABSENCE_REASONS: dict[AbsenceReason, str] = {
    AbsenceReason.SICK: N_("sick leave"),
    AbsenceReason.WORK: N_("on duty at work"),
    AbsenceReason.AWAY: N_("away from home"),
    AbsenceReason.LEAVE: N_("personal leave"),
    AbsenceReason.OTHER: N_("other reason"),
}


class VoidReason(StrEnum):
    """The usual reasons for voiding an entry (any other is typed)."""

    MISTAKE = "mistake"
    DUPLICATE = "duplicate"
    NOT_HELD = "notheld"


VOID_REASONS: dict[VoidReason, str] = {
    VoidReason.MISTAKE: N_("entered by mistake"),
    VoidReason.DUPLICATE: N_("duplicate entry"),
    VoidReason.NOT_HELD: N_("did not take place"),
}

# The questions of the guided flow, in order; a quick log asks only the required ones it lacks.
Question = Literal[
    "kinds", "date", "topic", "attendance", "group", "absent", "place", "minutes", "files"
]
GUIDED_FIELDS: tuple[Question, ...] = get_args(Question)
REQUIRED_FIELDS = ("kinds", "date", "topic", "attendance")
# What the summary offers to change (the party group follows from the kinds).
EditableField = Literal[
    "kinds", "date", "topic", "attendance", "absent", "place", "minutes", "files"
]
EDITABLE_FIELDS: tuple[EditableField, ...] = get_args(EditableField)


def known_kinds(values: list[str]) -> list[ActivityKind]:
    """Stored kind values as kinds, in the canonical order, unknown values dropped."""
    wanted = set(values)
    return [kind for kind in ActivityKind if kind.value in wanted]


@dataclass(slots=True)
class ActivityDraft:
    """An activity being logged or corrected; None where nothing was given yet."""

    branch_id: int
    kinds: list[str] = field(default_factory=list)
    day: dt.date | None = None
    topic: str | None = None
    present: int | None = None
    expected: int | None = None
    party_group_id: int | None = None
    absences: list[dict[str, Any]] = field(default_factory=list)
    place: str | None = None
    minutes: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    unparsed: str = ""
    activity_id: int | None = None
    # The version of the activity being corrected when the correction began.
    version: int | None = None
    # The meeting called with /meet this draft was built from, if any.
    meeting_id: int | None = None
    # A general meeting that elected or decided; its quorum facts (bot.rules.quorum), None
    # until worked out (from the sign-ins of a meeting, or from the attendance when saved).
    decides: bool = False
    quorum: dict[str, list[int]] | None = None

    def to_data(self) -> dict[str, Any]:
        """The draft as JSON-safe data."""
        return {
            "branch_id": self.branch_id,
            "kinds": list(self.kinds),
            "day": self.day.isoformat() if self.day else None,
            "topic": self.topic,
            "present": self.present,
            "expected": self.expected,
            "party_group_id": self.party_group_id,
            "absences": list(self.absences),
            "place": self.place,
            "minutes": self.minutes,
            "files": list(self.files),
            "unparsed": self.unparsed,
            "activity_id": self.activity_id,
            "version": self.version,
            "meeting_id": self.meeting_id,
            "decides": self.decides,
            "quorum": self.quorum,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ActivityDraft:
        """The draft stored by `to_data`."""
        day = data.get("day")
        return cls(
            branch_id=int(data["branch_id"]),
            kinds=list(data.get("kinds") or []),
            day=dt.date.fromisoformat(day) if day else None,
            topic=data.get("topic"),
            present=data.get("present"),
            expected=data.get("expected"),
            party_group_id=data.get("party_group_id"),
            absences=list(data.get("absences") or []),
            place=data.get("place"),
            minutes=data.get("minutes"),
            files=list(data.get("files") or []),
            unparsed=str(data.get("unparsed") or ""),
            activity_id=data.get("activity_id"),
            version=data.get("version"),
            meeting_id=data.get("meeting_id"),
            decides=bool(data.get("decides")),
            quorum=data.get("quorum"),
        )

    def missing(self) -> list[str]:
        """The required fields not given yet, in asking order."""
        given = {
            "kinds": bool(self.kinds),
            "date": self.day is not None,
            "topic": bool(self.topic),
            "attendance": self.present is not None and self.expected is not None,
        }
        return [name for name in REQUIRED_FIELDS if not given[name]]

    def everyone_present(self) -> bool:
        """Whether attendance says nobody was absent (so there is nobody to name)."""
        return self.present is not None and self.present == self.expected


class QuickLog(NamedTuple):
    """A quick log read: the draft, why a written date could not be used (in the future, no
    such day), and whether a written topic was too long to keep (the flow then asks for it,
    as the guided flow refuses one)."""

    draft: ActivityDraft
    date_error: DateError | None
    topic_too_long: bool


def draft_from_quick_log(text: str, *, branch_id: int, today: dt.date) -> QuickLog:
    """A draft holding only what the message said (the flow asks for the rest)."""
    parsed = parse_quick_log(text, today)
    too_long = parsed.topic is not None and len(parsed.topic) > TOPIC_LIMIT
    draft = ActivityDraft(
        branch_id=branch_id,
        kinds=[kind.value for kind in parsed.kinds],
        day=parsed.date,
        topic=None if too_long else parsed.topic,
        present=parsed.present,
        expected=parsed.expected,
        place=parsed.place[:PLACE_LIMIT] if parsed.place else None,
        unparsed=parsed.unparsed[:TOPIC_LIMIT],
    )
    return QuickLog(draft, parsed.date_error, too_long)


def quick_log_questions(draft: ActivityDraft) -> list[str]:
    """What the flow still asks after a quick log: the required fields it lacks, and the
    party group of a party group meeting."""
    pending = draft.missing()
    if ActivityKind.GROUP_MEETING.value in draft.kinds:
        pending.append("group")
    return pending


def draft_from_activity(activity: Activity) -> ActivityDraft:
    """A draft for correcting a saved activity."""
    return ActivityDraft(
        branch_id=activity.branch_id,
        kinds=list(activity.kinds),
        day=activity.day,
        topic=activity.topic,
        present=activity.present,
        expected=activity.expected,
        party_group_id=activity.party_group_id,
        absences=list(activity.absences or []),
        place=activity.place,
        minutes=activity.minutes,
        files=list(activity.attachments or []),
        activity_id=activity.id,
        version=activity.version,
        decides=activity.decides,
        quorum=activity.quorum,
    )


# ---- the guided questions --------------------------------------------------------------------


def applies(question: str, draft: ActivityDraft, *, roster_size: int, has_groups: bool) -> bool:
    """Whether a question makes sense for this draft: absentees are named only when some
    were absent and there is a roster to pick from; a party group only for a party group
    meeting of a branch that has groups."""
    if question == "absent":
        return (
            draft.present is not None
            and draft.expected is not None
            and draft.present < draft.expected
            and roster_size > 0
        )
    if question == "group":
        return ActivityKind.GROUP_MEETING.value in draft.kinds and has_groups
    return True


def next_question(
    pending: list[str], draft: ActivityDraft, *, roster_size: int, has_groups: bool
) -> tuple[list[str], str | None]:
    """The questions still to ask, from the first that applies, and that question (None when
    only the summary is left)."""
    remaining = list(pending)
    while remaining and not applies(
        remaining[0], draft, roster_size=roster_size, has_groups=has_groups
    ):
        remaining.pop(0)
    return remaining, (remaining[0] if remaining else None)


def answered(pending: list[str], question: str) -> list[str]:
    """The questions left once `question` is answered (it is first when it was asked)."""
    return pending[1:] if pending and pending[0] == question else list(pending)


_ATTENDANCE_RE = re.compile(r"^\s*([0-9]{1,4})\s*(?:[/／]\s*([0-9]{1,4}))?\s*$")


def valid_attendance(present: int, expected: int) -> bool:
    """At least one person present, never more than expected."""
    return 1 <= present <= expected <= MAX_ATTENDANCE


def parse_attendance(text: str, roster_size: int) -> tuple[int, int] | None:
    """Present and expected from `7/9` or a bare `7` (expected: the roster's size), or None
    when that is not a valid attendance."""
    match = _ATTENDANCE_RE.match(text)
    if match is None:
        return None
    present = int(match.group(1))
    expected = int(match.group(2)) if match.group(2) else roster_size
    return (present, expected) if valid_attendance(present, expected) else None


def with_absence(
    absences: list[dict[str, Any]], person_id: int, name: str, reason: AbsenceReason | None
) -> list[dict[str, Any]]:
    """The absentees with this person's (new) entry last; the reason may be left out."""
    kept = [a for a in absences if int(a["person_id"]) != person_id]
    stored = reason.value if reason is not None else None
    return [*kept, {"person_id": person_id, "name": name, "reason": stored}]


# ---- saving, correcting, voiding ---------------------------------------------------------------


class StaleActivity(Exception):
    """Another leader corrected or voided the activity since this change began."""


_FIELDS = (
    "kinds",
    "day",
    "topic",
    "present",
    "expected",
    "party_group_id",
    "absences",
    "place",
    "minutes",
    "attachments",
    "decides",
)


def _snapshot(activity: Activity) -> dict[str, Any]:
    values = {name: getattr(activity, name) for name in _FIELDS}
    values["day"] = activity.day.isoformat()
    return values


def _for_audit(values: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of an activity's fields: absentees by person id only, never
    their names or the reasons (health reasons are sensitive data)."""
    return values | {"absences": [a.get("person_id") for a in values["absences"] or []]}


def _values(draft: ActivityDraft) -> dict[str, Any]:
    if draft.missing() or draft.day is None or draft.topic is None:
        raise ValueError(f"draft is incomplete: {draft.missing()}")
    return {
        "kinds": [kind.value for kind in known_kinds(draft.kinds)],
        "day": draft.day,
        "topic": draft.topic,
        "present": draft.present,
        "expected": draft.expected,
        "party_group_id": draft.party_group_id,
        "absences": list(draft.absences),
        "place": draft.place,
        "minutes": draft.minutes,
        "attachments": list(draft.files),
        "decides": draft.decides and ActivityKind.GENERAL_MEETING.value in draft.kinds,
        "quorum": draft.quorum or None,
    }


async def save_draft(
    session: AsyncSession,
    draft: ActivityDraft,
    *,
    actor: Account | None,
    now: dt.datetime,
    zone: dt.tzinfo,
) -> Activity:
    """Insert the drafted activity, or apply a correction to the saved one (audited).

    A correction raises LookupError when the activity is gone or void, and StaleActivity
    when another leader changed it since the correction began.
    """
    values = _values(draft)
    today = now.astimezone(zone).date()
    if draft.activity_id is None:
        activity = await activity_queries.add_activity(
            session,
            branch_id=draft.branch_id,
            late=is_late(values["day"], today),
            created_by=actor.id if actor else None,
            created_at=now,
            **values,
        )
        await queries.audit(
            session,
            action="activity.logged",
            actor=actor,
            target_type="activity",
            target_id=activity.id,
            org_unit_id=activity.branch_id,
            details={"kinds": values["kinds"], "day": values["day"].isoformat()},
        )
        return activity
    return await _correct(session, draft, values, actor=actor, zone=zone)


async def _correct(
    session: AsyncSession,
    draft: ActivityDraft,
    values: dict[str, Any],
    *,
    actor: Account | None,
    zone: dt.tzinfo,
) -> Activity:
    assert draft.activity_id is not None
    activity = await activity_queries.activity_by_id(session, draft.activity_id)
    if activity is None or activity.branch_id != draft.branch_id or activity.voided:
        raise LookupError("the activity being corrected is gone or void")
    seen = activity.version if draft.version is None else draft.version
    before = _snapshot(activity)
    # Late means logged more than N days after the meeting: judged against the first logging.
    logged_on = activity.created_at.astimezone(zone).date()
    late = is_late(values["day"], logged_on)
    if not await activity_queries.change_activity(
        session, activity.id, seen_version=seen, late=late, **values
    ):
        raise StaleActivity(activity.id)
    await session.refresh(activity)
    after = _snapshot(activity)
    shown_before, shown_after = _for_audit(before), _for_audit(after)
    changes = {
        key: [shown_before[key], shown_after[key]] for key in after if before[key] != after[key]
    }
    await queries.audit(
        session,
        action="activity.corrected",
        actor=actor,
        target_type="activity",
        target_id=activity.id,
        org_unit_id=activity.branch_id,
        details={"changes": changes},
    )
    return activity


async def void_activity(
    session: AsyncSession,
    activity: Activity,
    *,
    reason: str,
    actor: Account | None,
    now: dt.datetime,
    seen_version: int | None = None,
) -> None:
    """Mark an activity void with the reason; it stays stored and in the audit log.

    Raises StaleActivity when it was voided or corrected since `seen_version` (by default
    the version loaded).
    """
    seen = activity.version if seen_version is None else seen_version
    if not await activity_queries.change_activity(
        session, activity.id, seen_version=seen, voided=True, void_reason=reason, voided_at=now
    ):
        raise StaleActivity(activity.id)
    await session.refresh(activity)
    await queries.audit(
        session,
        action="activity.voided",
        actor=actor,
        target_type="activity",
        target_id=activity.id,
        org_unit_id=activity.branch_id,
        details={"reason": reason, "activity": _for_audit(_snapshot(activity))},
    )
