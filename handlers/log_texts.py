"""The /log conversation's question table: what each state asks, with its buttons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.activities import (
    ABSENCE_REASONS,
    KIND_LABELS,
    MINUTES_LIMIT,
    TOPIC_LIMIT,
    VOID_REASONS,
    AbsenceReason,
    ActivityDraft,
    EditableField,
    VoidReason,
)
from bot.context import BotContext
from bot.meetings.record import quorum_of
from bot.rules.dates import DateError, is_late
from bot.rules.kinds import ActivityKind
from handlers.activity_texts import absences_text, attendance_text, kinds_text, quorum_lines
from handlers.buttons import Button
from handlers.common import escape, in_rows, keyboard
from storage import activity_queries, queries

# States besides the questions of the draft (bot.activities.GUIDED_FIELDS).
BRANCH, SUMMARY, ABSENT_REASON = "branch", "summary", "absent_reason"
CONFIRM_CANCEL, VOID_REASON = "confirm_cancel", "void_reason"
ROSTER_BUTTONS = 30

Rows = list[list[tuple[str, str]]]


class BranchChoice(Button, prefix="lg:b"):
    """The branch a secretary of several logs for."""

    branch_id: int


class KindToggle(Button, prefix="lg:k"):
    """Choose or unchoose one kind."""

    kind: ActivityKind


class KindsDone(Button, prefix="lg:k:ok"):
    """The kinds are chosen."""


class DayButton(Button, prefix="lg:d"):
    """Today (0) or yesterday (1)."""

    days_back: int


class AllPresent(Button, prefix="lg:a:all"):
    """Everyone on the roster attended."""


class GroupChoice(Button, prefix="lg:g"):
    """The party group that held a party group meeting."""

    group_id: int


class AbsentPick(Button, prefix="lg:ab"):
    """Someone on the roster was absent."""

    person_id: int


class AbsentDone(Button, prefix="lg:ab:ok"):
    """Everyone absent is named."""


class ReasonChoice(Button, prefix="lg:ar"):
    """Why the picked person was absent."""

    reason: AbsenceReason


class ReasonSkipped(Button, prefix="lg:ar:none"):
    """Leave the picked person's reason out."""


class Skip(Button, prefix="lg:skip"):
    """Leave an optional answer (place, minutes) out."""


class FilesDone(Button, prefix="lg:f:ok"):
    """No more photos or documents."""


class EditField(Button, prefix="lg:e"):
    """From the summary, go back to one question."""

    field: EditableField


class DecidesToggle(Button, prefix="lg:dec"):
    """A general meeting elected or decided (or did not): it then needs a quorum."""


class SaveDraft(Button, prefix="lg:save"):
    """Save the activity or the correction."""


class DiscardAsked(Button, prefix="lg:cancel"):
    """Ask before throwing the draft away."""


class DiscardDraft(Button, prefix="lg:x:yes"):
    """Throw the draft away."""


class KeepEditing(Button, prefix="lg:x:no"):
    """Go back to where the draft was."""


class VoidReasonChoice(Button, prefix="lg:v"):
    """One of the usual reasons for voiding."""

    reason: VoidReason


Ask = Callable[[BotContext, AsyncSession, dict[str, Any]], Awaitable[tuple[str, Rows]]]


def _draft(data: dict[str, Any]) -> ActivityDraft:
    # Before a branch is chosen there is no draft yet, only the question which branch.
    return ActivityDraft.from_data(data) if "branch_id" in data else ActivityDraft(0)


async def _kinds(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    _ = context._
    chosen = set(_draft(data).kinds)
    buttons = [
        (("✓ " if kind.value in chosen else "") + _(KIND_LABELS[kind]), KindToggle(kind).data)
        for kind in ActivityKind
    ]
    text = _(
        "What did the branch hold? Choose one or more (a general meeting with a Party "
        "lecture counts for both), then press Done."
    )
    return text, [*in_rows(buttons, 2), [(_("Done"), KindsDone().data)]]


async def _date(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    _ = context._
    text = _(
        "When was it? Press a button or type the date, e.g. 2026-11-20, 11-20, 11月20日 or 前天."
    )
    return text, [[(_("Today"), DayButton(0).data), (_("Yesterday"), DayButton(1).data)]]


async def _topic(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    text = context._("What was the topic? (at most {limit} characters)").format(limit=TOPIC_LIMIT)
    return text, []


async def _attendance(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    _ = context._
    size = int(data.get("roster_size") or 0)
    if not size:
        return _("How many attended? Send present/expected such as 7/9."), []
    text = _(
        "How many attended? Send present/expected such as 7/9, or just the number "
        "present ({size} are on the roster)."
    ).format(size=size)
    return text, [[(_("All {size} present").format(size=size), AllPresent().data)]]


async def _group(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    groups = await activity_queries.party_groups(session, branch_id=_draft(data).branch_id)
    english = context.tr.locale == "en"
    rows = [
        [((name_en if english and name_en else name)[:60], GroupChoice(group_id).data)]
        for group_id, _parent, _code, name, name_en in groups
    ]
    return context._("Which party group held the meeting?"), rows


async def roster(session: AsyncSession, branch_id: int) -> dict[int, str]:
    """The branch's roster: names by person id, in roster order."""
    branch = await queries.org_by_id(session, branch_id)
    if branch is None:
        return {}
    return {person.id: person.name for person in await queries.roster(session, branch)}


async def _absent(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    _ = context._
    draft = _draft(data)
    marked = {int(a["person_id"]) for a in draft.absences}
    people = [
        (name[:30], AbsentPick(person_id).data)
        for person_id, name in (await roster(session, draft.branch_id)).items()
        if person_id not in marked
    ][:ROSTER_BUTTONS]
    text = _(
        "Who was absent, and why? Pick people from the roster (optional), then press "
        "Done.\nAbsent so far: {absent}"
    ).format(absent=absences_text(context, draft.absences))
    return text, [*in_rows(people, 3), [(_("Done"), AbsentDone().data)]]


async def _absent_reason(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    _ = context._
    # A health reason is sensitive: say what it is for, and let the secretary leave it out.
    text = _(
        "Why was {name} absent? The reason is kept only in the branch's record of who was "
        "excused (members don't see it). It is optional: press Skip to leave it out."
    ).format(name=escape(str(data.get("picking_name"))))
    reasons = [(_(label), ReasonChoice(key).data) for key, label in ABSENCE_REASONS.items()]
    return text, [*in_rows(reasons, 2), [(_("Skip"), ReasonSkipped().data)]]


async def _place(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    return context._("Where was it held? (optional)"), [[(context._("Skip"), Skip().data)]]


async def _minutes(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    text = context._("Send the minutes as text (optional, at most {limit} characters).").format(
        limit=MINUTES_LIMIT
    )
    return text, [[(context._("Skip"), Skip().data)]]


async def _files(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    text = context._(
        "Send photos or documents (optional; they are never required), then press "
        "Done.\nAttached so far: {count}"
    ).format(count=len(_draft(data).files))
    return text, [[(context._("Done"), FilesDone().data)]]


async def _branch(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    rows = [
        [(grant.org_code, BranchChoice(grant.org_id).data)]
        for grant in context.principal.led_branches()
    ]
    return context._("Which branch is this for?"), rows


async def _confirm_cancel(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    _ = context._
    rows = [[(_("Discard draft"), DiscardDraft().data), (_("Keep editing"), KeepEditing().data)]]
    return _("Discard this draft? Nothing of it will be saved."), rows


async def _void_reason(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    text = context._(
        "Why should this entry be voided? Choose a reason or type it. The entry is kept "
        "in the records, marked as void."
    )
    return text, [
        [(context._(label), VoidReasonChoice(key).data)] for key, label in VOID_REASONS.items()
    ]


def date_error_text(context: BotContext, error: DateError | None) -> str:
    """Why a typed date was not taken, and how to write one."""
    if error is DateError.FUTURE:
        return context._("That date is in the future. Activities can only be logged afterwards.")
    if error is DateError.INVALID:
        return context._("There is no such date. Please check it.")
    return context._(
        "I could not read that date. Try 2026-11-20, 11-20, 11/20, 11月20日, 昨天 or yesterday."
    )


def summary_text(context: BotContext, draft: ActivityDraft) -> str:
    """The draft as it would be saved, for checking."""
    _ = context._
    if draft.activity_id is None:
        lines = [_("<b>Please check the activity before saving:</b>")]
    else:
        lines = [_("<b>Correcting activity #{id}:</b>").format(id=draft.activity_id)]
    lines.append(_("Kind: {kinds}").format(kinds=kinds_text(context, draft.kinds)))
    if draft.day is not None:
        day = context.tr.date(draft.day)
        if is_late(draft.day, context.today()) and draft.activity_id is None:
            lines.append(_("Date: {date} (logged late)").format(date=day))
        else:
            lines.append(_("Date: {date}").format(date=day))
    lines.append(_("Topic: {topic}").format(topic=escape(draft.topic or "—")))
    lines.append(
        _("Attendance: {attendance}").format(
            attendance=attendance_text(context, draft.present, draft.expected)
        )
    )
    lines.append(_("Absent: {absent}").format(absent=absences_text(context, draft.absences)))
    lines.append(_("Place: {place}").format(place=escape(draft.place or "—")))
    minutes = draft.minutes or "—"
    if len(minutes) > 200:
        minutes = minutes[:200] + "…"
    lines.append(_("Minutes: {minutes}").format(minutes=escape(minutes)))
    lines.append(_("Photos and documents: {count}").format(count=len(draft.files)))
    if draft.unparsed:
        lines.append(_("Not understood (please check): {text}").format(text=escape(draft.unparsed)))
    return "\n".join(lines)


async def _summary(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    _ = context._
    draft = _draft(data)
    text = summary_text(context, draft)
    general = ActivityKind.GENERAL_MEETING.value in draft.kinds
    if general:
        decides = _("yes") if draft.decides else _("no")
        text += "\n" + _("Elects or decides: {answer}").format(answer=decides)
    if "branch_id" in data and draft.present is not None:
        text += "".join(
            "\n" + line for line in quorum_lines(context, await quorum_of(session, draft))
        )
    rows = [
        [
            (_("Kind"), EditField("kinds").data),
            (_("Date"), EditField("date").data),
            (_("Topic"), EditField("topic").data),
        ],
        [
            (_("Attendance"), EditField("attendance").data),
            (_("Absent"), EditField("absent").data),
            (_("Place"), EditField("place").data),
        ],
        [
            (_("Minutes"), EditField("minutes").data),
            (_("Photos and documents"), EditField("files").data),
        ],
        [(_("Save"), SaveDraft().data), (_("Discard"), DiscardAsked().data)],
    ]
    if general:
        rows.insert(3, [(_("Elects or decides: change"), DecidesToggle().data)])
    return text, rows


QUESTIONS: dict[str, Ask] = {
    "kinds": _kinds,
    "date": _date,
    "topic": _topic,
    "attendance": _attendance,
    "group": _group,
    "absent": _absent,
    ABSENT_REASON: _absent_reason,
    "place": _place,
    "minutes": _minutes,
    "files": _files,
    BRANCH: _branch,
    CONFIRM_CANCEL: _confirm_cancel,
    VOID_REASON: _void_reason,
    SUMMARY: _summary,
}


async def question(
    context: BotContext, session: AsyncSession, state: str, data: dict[str, Any]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the conversation asks in `state`, with its buttons."""
    text, rows = await QUESTIONS.get(state, _summary)(context, session, data)
    return text, keyboard(rows) if rows else None
