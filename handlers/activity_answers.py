"""The answers to the /log questions: kinds, date, topic, attendance, party group, absentees
(with an optional reason), place, minutes, files, and going back to one from the summary."""

from __future__ import annotations

import datetime as dt

from telegram import Update

from bot.activities import (
    MAX_FILES,
    MINUTES_LIMIT,
    PLACE_LIMIT,
    TOPIC_LIMIT,
    AbsenceReason,
    ActivityDraft,
    parse_attendance,
    with_absence,
)
from bot.context import BotContext
from bot.rules.dates import parse_activity_date
from handlers.activity_flow import advance, ask, leader_step, problem, text_of
from handlers.common import Refused, clean_text
from handlers.flow import Handler, State, Step
from handlers.log_texts import (
    ABSENT_REASON,
    SUMMARY,
    AbsentPick,
    DayButton,
    DecidesToggle,
    EditField,
    GroupChoice,
    KindToggle,
    ReasonChoice,
    date_error_text,
    roster,
)
from storage import activity_queries


@leader_step
async def kind_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Choose or unchoose a kind."""
    kind = KindToggle.read(update).kind.value
    kinds: list[str] = list(step.data.get("kinds") or [])
    step.data["kinds"] = [k for k in kinds if k != kind] if kind in kinds else [*kinds, kind]
    step.data["quorum"] = None
    return await ask(context, step, "kinds")


@leader_step
async def kinds_done(update: Update, context: BotContext, step: Step) -> State:
    """Finish choosing kinds (at least one)."""
    if not step.data.get("kinds"):
        problem(step, context._("Choose at least one kind."))
        return None
    return await advance(context, step, "kinds")


async def _date_answer(context: BotContext, step: Step, day: dt.date) -> str:
    step.data["day"] = day.isoformat()
    return await advance(context, step, "date")


@leader_step
async def date_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Today or yesterday."""
    days_back = DayButton.read(update).days_back
    if days_back > 1:
        raise Refused()
    return await _date_answer(context, step, context.today() - dt.timedelta(days=days_back))


@leader_step
async def date_typed(update: Update, context: BotContext, step: Step) -> State:
    """A typed date (never in the future)."""
    parsed = parse_activity_date(text_of(update)[:50], context.today())
    if not parsed.ok or parsed.value is None:
        problem(step, date_error_text(context, parsed.error))
        return None
    return await _date_answer(context, step, parsed.value)


@leader_step
async def topic_typed(update: Update, context: BotContext, step: Step) -> State:
    """Store the topic."""
    topic = clean_text(text_of(update), limit=TOPIC_LIMIT)
    if topic is None:
        text = context._("Please send the topic as text, at most {limit} characters.")
        problem(step, text.format(limit=TOPIC_LIMIT))
        return None
    step.data["topic"] = topic
    return await advance(context, step, "topic")


async def _attendance_answer(
    context: BotContext, step: Step, attendance: tuple[int, int] | None
) -> State:
    if attendance is None:
        problem(
            step,
            context._(
                "Please send attendance as present/expected, e.g. 7/9: at least 1 present "
                "and no more than expected."
            ),
        )
        return None
    size = int(step.data.get("roster_size") or 0)
    present, expected = attendance
    if size and expected > size and step.data.get("questioned") != [present, expected]:
        # Guests can make it right, but a typo (79 for 7/9) is likelier: ask once.
        step.data["questioned"] = [present, expected]
        problem(
            step,
            context._(
                "The branch roster has {size} people, fewer than the {expected} expected. "
                "If that is right (guests, members of other branches), send {present}/{expected} "
                "again; otherwise send the correct attendance."
            ).format(size=size, expected=expected, present=present),
        )
        return None
    step.data.pop("questioned", None)
    step.data["present"], step.data["expected"] = attendance
    # Worked out again from the attendance given (bot.meetings.record.hand_quorum).
    step.data["quorum"] = None
    if attendance[0] == attendance[1]:
        step.data["absences"] = []
    return await advance(context, step, "attendance")


@leader_step
async def all_present(update: Update, context: BotContext, step: Step) -> State:
    """Everyone on the roster attended."""
    size = int(step.data.get("roster_size") or 0)
    return await _attendance_answer(context, step, (size, size) if size else None)


@leader_step
async def attendance_typed(update: Update, context: BotContext, step: Step) -> State:
    """Present/expected (expected defaults to the roster size)."""
    size = int(step.data.get("roster_size") or 0)
    return await _attendance_answer(context, step, parse_attendance(text_of(update), size))


@leader_step
async def group_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Store which party group held the meeting: one of the draft's branch."""
    group_id = GroupChoice.read(update).group_id
    groups = await activity_queries.party_groups(
        step.session, branch_id=int(step.data["branch_id"])
    )
    if group_id not in {row[0] for row in groups}:
        raise Refused()
    step.data["party_group_id"] = group_id
    return await advance(context, step, "group")


@leader_step
async def absent_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Pick an absent person from the draft's branch roster, then ask their reason."""
    person_id = AbsentPick.read(update).person_id
    names = await roster(step.session, int(step.data["branch_id"]))
    if person_id not in names:
        raise Refused()
    step.data["picking"], step.data["picking_name"] = person_id, names[person_id]
    return await ask(context, step, ABSENT_REASON)


@leader_step
async def absent_done(update: Update, context: BotContext, step: Step) -> State:
    """Everyone absent is named."""
    return await advance(context, step, "absent")


async def _absence(context: BotContext, step: Step, reason: AbsenceReason | None) -> str:
    person_id = step.data.pop("picking", None)
    name = str(step.data.pop("picking_name", ""))
    if person_id is None:
        raise Refused()
    step.data["absences"] = with_absence(
        list(step.data.get("absences") or []), int(person_id), name, reason
    )
    return await ask(context, step, "absent")


@leader_step
async def reason_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Store why the picked person was absent and go back to the roster."""
    return await _absence(context, step, ReasonChoice.read(update).reason)


@leader_step
async def reason_skipped(update: Update, context: BotContext, step: Step) -> State:
    """Name the picked person as absent without a reason."""
    return await _absence(context, step, None)


def _optional_text(field: str, limit: int, *, single_line: bool) -> Handler:
    @leader_step
    async def given(update: Update, context: BotContext, step: Step) -> State:
        raw = text_of(update)
        value = clean_text(raw, limit=limit) if single_line else raw.strip() or None
        if value is None or len(value) > limit:
            text = context._("Please send text of at most {limit} characters.")
            problem(step, text.format(limit=limit))
            return None
        step.data[field] = value
        return await advance(context, step, field)

    given.__name__ = given.__qualname__ = f"{field}_typed"
    return given


place_typed = _optional_text("place", PLACE_LIMIT, single_line=True)
minutes_typed = _optional_text("minutes", MINUTES_LIMIT, single_line=False)


@leader_step
async def skip_pressed(update: Update, context: BotContext, step: Step) -> State:
    """Leave the place or the minutes out."""
    return await advance(context, step, str(step.state))


@leader_step
async def file_given(update: Update, context: BotContext, step: Step) -> State:
    """Attach a photo or document (its Telegram file id)."""
    message = update.effective_message
    if message is not None and message.photo:
        attachment = {"type": "photo", "file_id": message.photo[-1].file_id, "name": None}
    elif message is not None and message.document is not None:
        name = (message.document.file_name or "")[:100] or None
        attachment = {"type": "document", "file_id": message.document.file_id, "name": name}
    else:
        return None
    files = list(step.data.get("files") or [])
    if len(files) >= MAX_FILES:
        problem(step, context._("At most {count} files can be attached.").format(count=MAX_FILES))
        return None
    step.data["files"] = [*files, attachment]
    return await ask(context, step, "files")


@leader_step
async def files_done(update: Update, context: BotContext, step: Step) -> State:
    """Finish attaching files."""
    return await advance(context, step, "files")


@leader_step
async def edit_pressed(update: Update, context: BotContext, step: Step) -> State:
    """From the summary, go back to one question."""
    field = EditField.read(update).field
    if field == "absent" and ActivityDraft.from_data(step.data).everyone_present():
        problem(step, context._("Everyone was present. Change the attendance first."))
        return None
    step.data["pending"] = [field]
    return await ask(context, step, field)


@leader_step
async def decides_pressed(update: Update, context: BotContext, step: Step) -> State:
    """The general meeting elected or decided (or did not): its quorum is judged again."""
    DecidesToggle.read(update)
    step.data["decides"] = not step.data.get("decides")
    step.data["quorum"] = None
    return await ask(context, step, SUMMARY)
