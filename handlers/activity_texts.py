"""Texts and buttons shared by /activities and the /log conversation: an activity as the
reader sees it, and the buttons naming a saved activity."""

from __future__ import annotations

from typing import Any

from bot.activities import ABSENCE_REASONS, KIND_LABELS, AbsenceReason, known_kinds
from bot.context import BotContext
from bot.rules.kinds import ActivityKind
from bot.rules.quorum import bodies
from handlers.buttons import Button
from handlers.common import escape
from storage.models_activity import Activity


class ActivityPage(Button, prefix="ac:p"):
    """A page of /activities."""

    page: int


class ViewActivity(Button, prefix="ac:v"):
    """One activity in full, and the list page to go back to."""

    activity_id: int
    page: int


class ActivityFiles(Button, prefix="ac:f"):
    """Send an activity's photos and documents again."""

    activity_id: int


class CorrectActivity(Button, prefix="ac:e"):
    """Open a saved activity as a draft (the /log conversation)."""

    activity_id: int


class VoidActivity(Button, prefix="ac:x"):
    """Ask why a saved activity should be voided (the /log conversation)."""

    activity_id: int


def scope_refusal(context: BotContext) -> str:
    """Why someone who does not lead the branch may not log or change its activities."""
    return context._(
        "Only the secretary or deputy secretary of a branch can log or change its "
        "activities. Nothing was changed."
    )


def kinds_text(context: BotContext, values: list[str]) -> str:
    """Kind names joined in the reader's language."""
    names = [context._(KIND_LABELS[kind]) for kind in known_kinds(values)]
    return context._(", ").join(names) if names else "—"


def attendance_text(context: BotContext, present: int | None, expected: int | None) -> str:
    """Attendance spelt out, so `11/20` can't be mistaken for a date."""
    if present is None or expected is None:
        return "—"
    return context._("{present} present out of {expected} expected").format(
        present=present, expected=expected
    )


def _reason_label(context: BotContext, value: object) -> str:
    known = {reason.value: reason for reason in AbsenceReason}
    reason = known.get(str(value), AbsenceReason.OTHER)
    return context._(ABSENCE_REASONS[reason])


def absences_text(context: BotContext, absences: list[dict[str, Any]]) -> str:
    """Absent people with their reasons, where one was given."""
    if not absences:
        return "—"
    return context._(", ").join(
        context._("{name} ({reason})").format(
            name=escape(str(a.get("name"))), reason=_reason_label(context, a["reason"])
        )
        if a.get("reason")
        else escape(str(a.get("name")))
        for a in absences
    )


def quorum_lines(context: BotContext, quorum: dict[str, list[int]]) -> list[str]:
    """Whether each body that needs a quorum had one (and what it means for /due)."""
    lines = []
    for kind, body in bodies(quorum).items():
        if kind is ActivityKind.COMMITTEE_MEETING:
            text = context._("Quorum: {present} of {size} committee members present")
        else:
            text = context._("Quorum: {present} of {size} members with voting rights present")
        text = text.format(present=body.present, size=body.size)
        if body.reached:
            lines.append("✅ " + text + context._(" (more than half)."))
        else:
            lines.append(
                "❗ "
                + text
                + context._(
                    ": not more than half. It is saved, marked as without a quorum, and does "
                    "not count as done in /due."
                )
            )
    return lines


def hides_minutes(activity: Activity, *, member_view: bool) -> bool:
    """Members don't see a committee meeting's minutes or attachments."""
    return member_view and ActivityKind.COMMITTEE_MEETING.value in activity.kinds


def activity_text(context: BotContext, activity: Activity, *, member_view: bool) -> str:
    """One activity in full (members don't see committee minutes or absence reasons)."""
    _ = context._
    lines = [
        _("<b>Activity #{id}</b> — {branch}").format(
            id=activity.id, branch=escape(activity.branch.display_name(context.tr.locale))
        ),
        _("Kind: {kinds}").format(kinds=kinds_text(context, activity.kinds)),
    ]
    day = context.tr.date(activity.day)
    if activity.late:
        lines.append(_("Date: {date} (logged late)").format(date=day))
    else:
        lines.append(_("Date: {date}").format(date=day))
    lines.append(_("Topic: {topic}").format(topic=escape(activity.topic)))
    lines.append(
        _("Attendance: {attendance}").format(
            attendance=attendance_text(context, activity.present, activity.expected)
        )
    )
    if not member_view:
        lines.append(_("Absent: {absent}").format(absent=absences_text(context, activity.absences)))
    if activity.decides:
        lines.append(_("It elected or decided."))
    lines += quorum_lines(context, activity.quorum or {})
    if activity.place:
        lines.append(_("Place: {place}").format(place=escape(activity.place)))
    if activity.minutes and not hides_minutes(activity, member_view=member_view):
        lines.append(_("Minutes: {minutes}").format(minutes=escape(activity.minutes[:2500])))
    if activity.attachments:
        lines.append(_("Photos and documents: {count}").format(count=len(activity.attachments)))
    if activity.voided:
        lines.append(_("<b>Void</b>: {reason}").format(reason=escape(activity.void_reason or "—")))
    return "\n".join(lines)
