"""The activity log: drafts (from the guided flow or a quick-log message), saving, correcting
and voiding activities. Drafts are plain JSON so a conversation can store them between steps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

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

# Keys are stored with the activity; the labels are shown in the reader's language.
ABSENCE_REASONS: dict[str, str] = {
    "sick": N_("sick leave"),
    "work": N_("on duty at work"),
    "away": N_("away from home"),
    "leave": N_("personal leave"),
    "other": N_("other reason"),
}

VOID_REASONS: dict[str, str] = {
    "mistake": N_("entered by mistake"),
    "duplicate": N_("duplicate entry"),
    "notheld": N_("did not take place"),
}

# The questions of the guided flow, in order; a quick log asks only the required ones it lacks.
GUIDED_FIELDS = (
    "kinds",
    "date",
    "topic",
    "attendance",
    "group",
    "absent",
    "place",
    "minutes",
    "files",
)
REQUIRED_FIELDS = ("kinds", "date", "topic", "attendance")


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


def draft_from_quick_log(
    text: str, *, branch_id: int, today: dt.date
) -> tuple[ActivityDraft, DateError | None]:
    """A draft holding only what the message said (the flow asks for the rest), and why a
    date that was written could not be used (in the future, no such day), if so."""
    parsed = parse_quick_log(text, today)
    draft = ActivityDraft(
        branch_id=branch_id,
        kinds=[kind.value for kind in parsed.kinds],
        day=parsed.date,
        topic=parsed.topic[:TOPIC_LIMIT] if parsed.topic else None,
        present=parsed.present,
        expected=parsed.expected,
        place=parsed.place[:PLACE_LIMIT] if parsed.place else None,
        unparsed=parsed.unparsed[:TOPIC_LIMIT],
    )
    return draft, parsed.date_error


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
    )


def valid_attendance(present: int, expected: int) -> bool:
    """At least one person present, never more than expected."""
    return 1 <= present <= expected <= MAX_ATTENDANCE


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
)


def _snapshot(activity: Activity) -> dict[str, Any]:
    values = {name: getattr(activity, name) for name in _FIELDS}
    values["day"] = activity.day.isoformat()
    return values


async def save_draft(
    session: AsyncSession, draft: ActivityDraft, *, actor: Account | None, today: dt.date
) -> Activity:
    """Insert the drafted activity, or apply a correction to the saved one (audited)."""
    if draft.missing() or draft.day is None or draft.topic is None:
        raise ValueError(f"draft is incomplete: {draft.missing()}")
    values = {
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
    }
    if draft.activity_id is None:
        activity = await activity_queries.add_activity(
            session,
            branch_id=draft.branch_id,
            late=is_late(draft.day, today),
            created_by=actor.id if actor else None,
            **values,
        )
        await queries.audit(
            session,
            action="activity.logged",
            actor=actor,
            target_type="activity",
            target_id=activity.id,
            org_unit_id=activity.branch_id,
            details={"kinds": values["kinds"], "day": draft.day.isoformat()},
        )
        return activity
    activity_or_none = await activity_queries.activity_by_id(session, draft.activity_id)
    if (
        activity_or_none is None
        or activity_or_none.branch_id != draft.branch_id
        or activity_or_none.voided
    ):
        raise LookupError("the activity being corrected is gone or void")
    activity = activity_or_none
    before = _snapshot(activity)
    for name, value in values.items():
        setattr(activity, name, value)
    # Late means logged more than N days after the meeting: judged against the first logging.
    logged_on = activity.created_at.date()
    activity.late = is_late(draft.day, logged_on)
    after = _snapshot(activity)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
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
) -> None:
    """Mark an activity void with the reason; it stays stored and in the audit log."""
    activity.voided = True
    activity.void_reason = reason
    activity.voided_at = now
    await queries.audit(
        session,
        action="activity.voided",
        actor=actor,
        target_type="activity",
        target_id=activity.id,
        org_unit_id=activity.branch_id,
        details={"reason": reason, "activity": _snapshot(activity)},
    )
