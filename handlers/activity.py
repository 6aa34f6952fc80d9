"""/log (guided, or one quick-log message), and correcting or voiding from /activities.

One crash-safe conversation holds the draft: every answer and the next question are
committed before the bot replies, so a restart resumes where the secretary was.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.activities import (
    ABSENCE_REASONS,
    GUIDED_FIELDS,
    KIND_LABELS,
    MAX_FILES,
    MINUTES_LIMIT,
    PLACE_LIMIT,
    TOPIC_LIMIT,
    VOID_REASON_LIMIT,
    VOID_REASONS,
    ActivityDraft,
    draft_from_activity,
    draft_from_quick_log,
    known_kinds,
    save_draft,
    valid_attendance,
    void_activity,
)
from bot.context import BotContext
from bot.rules.dates import DateError, is_late, parse_activity_date
from bot.rules.kinds import ActivityKind
from bot.rules.quicklog import looks_like_quick_log
from handlers.common import (
    answer,
    clean_text,
    edit_or_answer,
    escape,
    in_conversation_fallbacks,
    keyboard,
    refuse,
    sender,
)
from handlers.flow import Flow
from storage import activity_queries, queries
from storage.models import Account
from storage.models_activity import Activity

FLOW = Flow("activity")
BRANCH, SUMMARY, ABSENT_REASON = "branch", "summary", "absent_reason"
CONFIRM_CANCEL, VOID_REASON = "confirm_cancel", "void_reason"
ALL_STATES = (*GUIDED_FIELDS, BRANCH, SUMMARY, ABSENT_REASON, CONFIRM_CANCEL)
ROSTER_BUTTONS = 30
EDITABLE_FIELDS = ("kinds", "date", "topic", "attendance", "absent", "place", "minutes", "files")
_ATTENDANCE_RE = re.compile(r"^\s*([0-9]{1,4})\s*(?:[/／]\s*([0-9]{1,4}))?\s*$")


def today_in_org(context: BotContext) -> dt.date:
    """Today in the organisation's time zone (Settings.now() is the test seam)."""
    return context.settings.now().astimezone(context.settings.tz).date()


def _refuse_scope_text(context: BotContext) -> str:
    return context._(
        "Only the secretary or deputy secretary of a branch can log or change its "
        "activities. Nothing was changed."
    )


# ---- rendering -----------------------------------------------------------------------------


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


def absences_text(context: BotContext, absences: list[dict[str, Any]]) -> str:
    """Absent people with their reasons."""
    if not absences:
        return "—"
    return context._(", ").join(
        context._("{name} ({reason})").format(
            name=escape(str(a.get("name"))),
            reason=context._(ABSENCE_REASONS.get(str(a.get("reason")), ABSENCE_REASONS["other"])),
        )
        for a in absences
    )


def _summary_text(context: BotContext, draft: ActivityDraft, today: dt.date) -> str:
    _ = context._
    if draft.activity_id is None:
        lines = [_("<b>Please check the activity before saving:</b>")]
    else:
        lines = [_("<b>Correcting activity #{id}:</b>").format(id=draft.activity_id)]
    lines.append(_("Kind: {kinds}").format(kinds=kinds_text(context, draft.kinds)))
    if draft.day is not None:
        day = context.tr.date(draft.day, "long")
        if is_late(draft.day, today) and draft.activity_id is None:
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


def _summary_keyboard(context: BotContext) -> list[list[tuple[str, str]]]:
    _ = context._
    return [
        [(_("Kind"), "lg:e:kinds"), (_("Date"), "lg:e:date"), (_("Topic"), "lg:e:topic")],
        [
            (_("Attendance"), "lg:e:attendance"),
            (_("Absent"), "lg:e:absent"),
            (_("Place"), "lg:e:place"),
        ],
        [(_("Minutes"), "lg:e:minutes"), (_("Photos and documents"), "lg:e:files")],
        [(_("Save"), "lg:save"), (_("Discard"), "lg:cancel")],
    ]


async def _roster(session: AsyncSession, branch_id: int) -> list[tuple[int, str]]:
    branch = await queries.org_by_id(session, branch_id)
    if branch is None:
        return []
    return [(person.id, person.name) for person in await queries.roster(session, branch)]


async def _prompt(
    update: Update, context: BotContext, state: str, data: dict[str, Any], *, edit: bool
) -> None:
    """Ask the question of `state` (editing the pressed message when `edit`)."""
    _ = context._
    # Before a branch is chosen there is no draft yet, only the question which branch.
    draft = ActivityDraft.from_data(data) if "branch_id" in data else ActivityDraft(0)
    rows: list[list[tuple[str, str]]] = []
    if state == "kinds":
        text = _(
            "What did the branch hold? Choose one or more (a general meeting with a Party "
            "lecture counts for both), then press Done."
        )
        chosen = set(draft.kinds)
        buttons = [
            (("✓ " if kind.value in chosen else "") + _(KIND_LABELS[kind]), f"lg:k:{kind.value}")
            for kind in ActivityKind
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append([(_("Done"), "lg:k:ok")])
    elif state == "date":
        text = _(
            "When was it? Press a button or type the date, e.g. 2026-11-20, 11-20, 11月20日 "
            "or 前天."
        )
        rows = [[(_("Today"), "lg:d:0"), (_("Yesterday"), "lg:d:1")]]
    elif state == "topic":
        text = _("What was the topic? (at most {limit} characters)").format(limit=TOPIC_LIMIT)
    elif state == "attendance":
        size = int(data.get("roster_size") or 0)
        if size:
            text = _(
                "How many attended? Send present/expected such as 7/9, or just the number "
                "present ({size} are on the roster)."
            ).format(size=size)
            rows = [[(_("All {size} present").format(size=size), "lg:a:all")]]
        else:
            text = _("How many attended? Send present/expected such as 7/9.")
    elif state == "group":
        text = _("Which party group held the meeting?")
        async with context.db() as session:
            groups = await activity_queries.party_groups(session, branch_id=draft.branch_id)
        english = context.tr.locale == "en"
        rows = [
            [((name_en if english and name_en else name)[:60], f"lg:g:{group_id}")]
            for group_id, _parent, _code, name, name_en in groups
        ]
    elif state == "absent":
        marked = {int(a["person_id"]) for a in draft.absences}
        async with context.db() as session:
            roster = await _roster(session, draft.branch_id)
        text = _(
            "Who was absent, and why? Pick people from the roster (optional), then press "
            "Done.\nAbsent so far: {absent}"
        ).format(absent=absences_text(context, draft.absences))
        people = [(name[:30], f"lg:ab:{pid}") for pid, name in roster if pid not in marked]
        people = people[:ROSTER_BUTTONS]
        rows = [people[i : i + 3] for i in range(0, len(people), 3)]
        rows.append([(_("Done"), "lg:ab:ok")])
    elif state == ABSENT_REASON:
        text = _("Why was {name} absent?").format(name=escape(str(data.get("picking_name"))))
        reasons = [(_(label), f"lg:ar:{key}") for key, label in ABSENCE_REASONS.items()]
        rows = [reasons[i : i + 2] for i in range(0, len(reasons), 2)]
    elif state == "place":
        text = _("Where was it held? (optional)")
        rows = [[(_("Skip"), "lg:skip")]]
    elif state == "minutes":
        text = _("Send the minutes as text (optional, at most {limit} characters).").format(
            limit=MINUTES_LIMIT
        )
        rows = [[(_("Skip"), "lg:skip")]]
    elif state == "files":
        text = _(
            "Send photos or documents (optional; they are never required), then press "
            "Done.\nAttached so far: {count}"
        ).format(count=len(draft.files))
        rows = [[(_("Done"), "lg:f:ok")]]
    elif state == BRANCH:
        text = _("Which branch is this for?")
        rows = [
            [(grant.org_code, f"lg:b:{grant.org_id}")] for grant in context.principal.led_branches()
        ]
    elif state == CONFIRM_CANCEL:
        text = _("Discard this draft? Nothing of it will be saved.")
        rows = [[(_("Discard draft"), "lg:x:yes"), (_("Keep editing"), "lg:x:no")]]
    elif state == VOID_REASON:
        text = _(
            "Why should this entry be voided? Choose a reason or type it. The entry is kept "
            "in the records, marked as void."
        )
        rows = [[(_(label), f"lg:v:{key}")] for key, label in VOID_REASONS.items()]
    else:
        text = _summary_text(context, draft, today_in_org(context))
        rows = _summary_keyboard(context)
    markup = keyboard(rows) if rows else None
    if edit:
        await edit_or_answer(update, context, text, markup)
    else:
        await answer(update, context, text, markup)


# ---- moving through the draft ----------------------------------------------------------------


def _next_state(data: dict[str, Any]) -> str:
    """The first question still pending that applies to this draft, else the summary."""
    pending: list[str] = data.setdefault("pending", [])
    draft = ActivityDraft.from_data(data)
    while pending:
        field = pending[0]
        if field == "absent" and not (
            draft.present is not None
            and draft.expected is not None
            and draft.present < draft.expected
            and data.get("roster_size")
        ):
            pending.pop(0)
            continue
        if field == "group" and not (
            ActivityKind.GROUP_MEETING.value in draft.kinds and data.get("has_groups")
        ):
            pending.pop(0)
            continue
        return field
    return SUMMARY


def _done_with(data: dict[str, Any], field: str) -> None:
    pending: list[str] = data.setdefault("pending", [])
    if pending and pending[0] == field:
        pending.pop(0)


Apply = Callable[[AsyncSession, dict[str, Any]], Awaitable[str | None]]


async def _step(
    update: Update,
    context: BotContext,
    states: tuple[str, ...],
    apply: Apply,
    *,
    next_state: str | None = None,
) -> str | None:
    """Apply one answer to the stored draft, store the next question, then ask it.

    `apply` changes the data or returns an error text (nothing is stored then).
    """
    edit = update.callback_query is not None
    async with context.db.begin() as session:
        stored = await FLOW.load(session, update)
        if stored.seen(update) or stored.state not in states:
            if update.callback_query is not None:
                await update.callback_query.answer(
                    context._("This button is no longer active."), show_alert=True
                )
            return stored.state
        data = dict(stored.data)
        branch_id = data.get("branch_id")
        # The role may have been taken away since the draft began: drop the draft.
        lost_role = branch_id is not None and not context.principal.leads_branch(int(branch_id))
        if lost_role:
            await FLOW.end(session, update)
            error = None
        else:
            error = await apply(session, data)
            if error is not None:
                state = stored.state
            else:
                state = next_state or _next_state(data)
                await FLOW.save(session, update, state=state, data=data)
    if lost_role:
        await refuse(update, context, _refuse_scope_text(context))
        return ConversationHandler.END  # type: ignore[return-value]
    if error is not None:
        if update.callback_query is not None:
            await update.callback_query.answer(error[:200], show_alert=True)
        else:
            await answer(update, context, error)
        return None
    await _prompt(update, context, state, data, edit=edit)
    return state


def _callback_value(update: Update) -> str:
    query = update.callback_query
    assert query is not None and query.data is not None
    return query.data.rsplit(":", 1)[1]


def _text(update: Update) -> str | None:
    message = update.effective_message
    return message.text if message is not None else None


async def _start_draft(
    update: Update, context: BotContext, draft: ActivityDraft, pending: list[str]
) -> str:
    async with context.db.begin() as session:
        branch = await queries.org_by_id(session, draft.branch_id)
        size = await queries.roster_size(session, branch) if branch else 0
        groups = await activity_queries.party_groups(session, branch_id=draft.branch_id)
        data = draft.to_data() | {
            "pending": pending,
            "roster_size": size,
            "has_groups": bool(groups),
        }
        state = _next_state(data)
        await FLOW.save(session, update, state=state, data=data)
    await _prompt(update, context, state, data, edit=update.callback_query is not None)
    return state


@sender(registered=True)
async def start_log(update: Update, context: BotContext) -> str | None:
    """/log: start the guided flow for the branch the sender leads."""
    branches = context.principal.led_branches()
    if not branches:
        await refuse(update, context, _refuse_scope_text(context))
        return None
    if len(branches) > 1:
        async with context.db.begin() as session:
            await FLOW.save(session, update, state=BRANCH, data={"pending": []})
        await _prompt(update, context, BRANCH, {}, edit=False)
        return BRANCH
    draft = ActivityDraft(branch_id=branches[0].org_id)
    return await _start_draft(update, context, draft, list(GUIDED_FIELDS))


@sender(registered=True)
async def branch_pressed(update: Update, context: BotContext) -> str | None:
    """Start the guided flow for the chosen branch."""
    branch_id = int(_callback_value(update))
    if not context.principal.leads_branch(branch_id):
        await refuse(update, context, _refuse_scope_text(context))
        return None
    async with context.db() as session:
        stored = await FLOW.load(session, update)
    if stored.seen(update) or stored.state != BRANCH:
        return stored.state
    quick = stored.data.get("quick")
    if isinstance(quick, dict):
        # A quick log from someone who leads several branches: it goes to the chosen one.
        draft = ActivityDraft.from_data({**quick, "branch_id": branch_id})
        return await _start_draft(update, context, draft, list(stored.data["quick_pending"]))
    draft = ActivityDraft(branch_id=branch_id)
    return await _start_draft(update, context, draft, list(GUIDED_FIELDS))


class _QuickLogFilter(filters.MessageFilter):
    """Text that names an activity kind (支委会 …, committee meeting …)."""

    def filter(self, message: Message) -> bool:
        return bool(message.text) and looks_like_quick_log(message.text or "")


QUICK_LOG = _QuickLogFilter(name="QuickLog")


@sender(registered=True)
async def quick_log(update: Update, context: BotContext) -> str | None:
    """One message becomes a draft; the flow asks only for what it could not read."""
    branches = context.principal.led_branches()
    if not branches:
        await refuse(update, context, _refuse_scope_text(context))
        return None
    text = _text(update) or ""
    draft, date_error = draft_from_quick_log(
        text[:1000], branch_id=branches[0].org_id, today=today_in_org(context)
    )
    if date_error in (DateError.FUTURE, DateError.INVALID):
        await answer(update, context, _date_error_text(context, date_error))
    pending = draft.missing()
    if ActivityKind.GROUP_MEETING.value in draft.kinds:
        pending.append("group")
    if len(branches) > 1:
        data = {"pending": [], "quick": draft.to_data(), "quick_pending": pending}
        async with context.db.begin() as session:
            await FLOW.save(session, update, state=BRANCH, data=data)
        await _prompt(update, context, BRANCH, data, edit=False)
        return BRANCH
    return await _start_draft(update, context, draft, pending)


# ---- answers ---------------------------------------------------------------------------------


@sender(registered=True)
async def kind_pressed(update: Update, context: BotContext) -> str | None:
    """Toggle a kind, or finish choosing."""
    value = _callback_value(update)

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        kinds: list[str] = list(data.get("kinds") or [])
        if value == "ok":
            if not kinds:
                return context._("Choose at least one kind.")
            _done_with(data, "kinds")
            return None
        if value not in {kind.value for kind in ActivityKind}:
            return context._("This button is no longer active.")
        data["kinds"] = [k for k in kinds if k != value] if value in kinds else [*kinds, value]
        return None

    if value == "ok":
        return await _step(update, context, ("kinds",), apply)
    return await _step(update, context, ("kinds",), apply, next_state="kinds")


def _date_error_text(context: BotContext, error: DateError | None) -> str:
    if error is DateError.FUTURE:
        return context._("That date is in the future. Activities can only be logged afterwards.")
    if error is DateError.INVALID:
        return context._("There is no such date. Please check it.")
    return context._(
        "I could not read that date. Try 2026-11-20, 11-20, 11/20, 11月20日, 昨天 or yesterday."
    )


@sender(registered=True)
async def date_given(update: Update, context: BotContext) -> str | None:
    """Store the date from a button or typed text (never in the future)."""
    today = today_in_org(context)
    if update.callback_query is not None:
        days_back = int(_callback_value(update))
        parsed_day: dt.date | None = today - dt.timedelta(days=min(days_back, 1))
        error_text = None
    else:
        parsed = parse_activity_date((_text(update) or "")[:50], today)
        parsed_day = parsed.value
        error_text = None if parsed.ok else _date_error_text(context, parsed.error)

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        if error_text is not None or parsed_day is None:
            return error_text
        data["day"] = parsed_day.isoformat()
        _done_with(data, "date")
        return None

    return await _step(update, context, ("date",), apply)


@sender(registered=True)
async def topic_given(update: Update, context: BotContext) -> str | None:
    """Store the topic."""
    topic = clean_text(_text(update), limit=TOPIC_LIMIT)

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        if topic is None:
            return context._("Please send the topic as text, at most {limit} characters.").format(
                limit=TOPIC_LIMIT
            )
        data["topic"] = topic
        _done_with(data, "topic")
        return None

    return await _step(update, context, ("topic",), apply)


@sender(registered=True)
async def attendance_given(update: Update, context: BotContext) -> str | None:
    """Store present/expected (expected defaults to the roster size)."""
    pressed_all = update.callback_query is not None
    match = None if pressed_all else _ATTENDANCE_RE.match(_text(update) or "")

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        size = int(data.get("roster_size") or 0)
        if pressed_all:
            present = expected = size
        elif match is not None:
            present = int(match.group(1))
            expected = int(match.group(2)) if match.group(2) else size
        else:
            present = expected = 0
        if not valid_attendance(present, expected):
            return context._(
                "Please send attendance as present/expected, e.g. 7/9: at least 1 present "
                "and no more than expected."
            )
        data["present"], data["expected"] = present, expected
        if present == expected:
            data["absences"] = []
        _done_with(data, "attendance")
        return None

    return await _step(update, context, ("attendance",), apply)


@sender(registered=True)
async def group_pressed(update: Update, context: BotContext) -> str | None:
    """Store which party group held the meeting."""
    group_id = int(_callback_value(update))

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        groups = await activity_queries.party_groups(session, branch_id=int(data["branch_id"]))
        if group_id not in {row[0] for row in groups}:
            return context._("This button is no longer active.")
        data["party_group_id"] = group_id
        _done_with(data, "group")
        return None

    return await _step(update, context, ("group",), apply)


@sender(registered=True)
async def absent_pressed(update: Update, context: BotContext) -> str | None:
    """Pick an absent person from the roster (then their reason), or finish."""
    value = _callback_value(update)
    if value == "ok":

        async def finish(session: AsyncSession, data: dict[str, Any]) -> str | None:
            _done_with(data, "absent")
            return None

        return await _step(update, context, ("absent",), finish)
    person_id = int(value)

    async def pick(session: AsyncSession, data: dict[str, Any]) -> str | None:
        roster = dict(await _roster(session, int(data["branch_id"])))
        if person_id not in roster:
            return context._("This button is no longer active.")
        data["picking"], data["picking_name"] = person_id, roster[person_id]
        return None

    return await _step(update, context, ("absent",), pick, next_state=ABSENT_REASON)


@sender(registered=True)
async def absent_reason_pressed(update: Update, context: BotContext) -> str | None:
    """Store why the picked person was absent and go back to the roster."""
    reason = _callback_value(update)

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        if reason not in ABSENCE_REASONS or data.get("picking") is None:
            return context._("This button is no longer active.")
        person_id = int(data.pop("picking"))
        name = str(data.pop("picking_name", ""))
        absences = [a for a in data.get("absences") or [] if int(a["person_id"]) != person_id]
        data["absences"] = [*absences, {"person_id": person_id, "name": name, "reason": reason}]
        return None

    return await _step(update, context, (ABSENT_REASON,), apply, next_state="absent")


def _optional_text(field: str, limit: int, *, single_line: bool) -> Callable[..., Any]:
    @sender(registered=True)
    async def given(update: Update, context: BotContext) -> str | None:
        skipped = update.callback_query is not None
        raw = _text(update)
        if single_line:
            value = clean_text(raw, limit=limit)
        else:
            value = (raw or "").strip() or None
            if value is not None and len(value) > limit:
                value = None

        async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
            if not skipped and value is None:
                return context._("Please send text of at most {limit} characters.").format(
                    limit=limit
                )
            if not skipped:
                data[field] = value
            _done_with(data, field)
            return None

        return await _step(update, context, (field,), apply)

    return given


place_given = _optional_text("place", PLACE_LIMIT, single_line=True)
minutes_given = _optional_text("minutes", MINUTES_LIMIT, single_line=False)


@sender(registered=True)
async def file_given(update: Update, context: BotContext) -> str | None:
    """Attach a photo or document (its Telegram file id)."""
    message = update.effective_message
    assert message is not None
    if message.photo:
        attachment = {"type": "photo", "file_id": message.photo[-1].file_id, "name": None}
    elif message.document is not None:
        attachment = {
            "type": "document",
            "file_id": message.document.file_id,
            "name": (message.document.file_name or "")[:100] or None,
        }
    else:
        return None

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        files = list(data.get("files") or [])
        if len(files) >= MAX_FILES:
            return context._("At most {count} files can be attached.").format(count=MAX_FILES)
        data["files"] = [*files, attachment]
        return None

    return await _step(update, context, ("files",), apply, next_state="files")


@sender(registered=True)
async def files_done(update: Update, context: BotContext) -> str | None:
    """Finish attaching files."""

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        _done_with(data, "files")
        return None

    return await _step(update, context, ("files",), apply)


@sender(registered=True)
async def edit_pressed(update: Update, context: BotContext) -> str | None:
    """From the summary, go back to one question."""
    field = _callback_value(update)

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        if field not in EDITABLE_FIELDS:
            return context._("This button is no longer active.")
        data["pending"] = [field]
        if field == "absent" and data.get("present") == data.get("expected"):
            return context._("Everyone was present. Change the attendance first.")
        return None

    return await _step(update, context, (SUMMARY,), apply, next_state=field)


@sender(registered=True)
async def save_pressed(update: Update, context: BotContext) -> int | str | None:
    """Save the activity (or the correction) and end the conversation."""
    today = today_in_org(context)
    async with context.db.begin() as session:
        stored = await FLOW.load(session, update)
        if stored.seen(update) or stored.state != SUMMARY:
            return stored.state
        draft = ActivityDraft.from_data(stored.data)
        if not context.principal.leads_branch(draft.branch_id):
            await FLOW.end(session, update)
            refused = True
        else:
            refused = False
            actor = await session.get(Account, context.account.id) if context.account else None
            try:
                activity: Activity | None = await save_draft(
                    session, draft, actor=actor, today=today
                )
            except LookupError:
                activity = None
            await FLOW.end(session, update)
    if refused:
        await refuse(update, context, _refuse_scope_text(context))
        return ConversationHandler.END
    if activity is None:
        await edit_or_answer(
            update,
            context,
            context._("That activity no longer exists or was voided. Nothing was saved."),
        )
        return ConversationHandler.END
    params = {
        "kinds": kinds_text(context, activity.kinds),
        "date": context.tr.date(activity.day, "long"),
        "id": activity.id,
    }
    if draft.activity_id is not None:
        text = context._("Corrected activity #{id}: {kinds} on {date}.").format(**params)
    elif activity.late:
        text = context._(
            "Saved: {kinds} on {date}. It is marked as logged late (more than 7 days after)."
        ).format(**params)
    else:
        text = context._("Saved: {kinds} on {date}.").format(**params)
    text += "\n" + context._("Send /due to see what is still due, /activities for the log.")
    await edit_or_answer(update, context, text)
    return ConversationHandler.END


# ---- cancelling ----------------------------------------------------------------------------


@sender()
async def cancel_asked(update: Update, context: BotContext) -> str | None:
    """/cancel or Discard: ask before throwing the draft away."""

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        stored = await FLOW.load(session, update)
        if stored.state != CONFIRM_CANCEL:
            data["back"] = stored.state
        return None

    return await _step(
        update, context, (*ALL_STATES, VOID_REASON), apply, next_state=CONFIRM_CANCEL
    )


@sender()
async def cancel_answered(update: Update, context: BotContext) -> int | str | None:
    """Discard the draft, or go back to where the user was."""
    value = _callback_value(update)
    if value == "yes":
        async with context.db.begin() as session:
            stored = await FLOW.load(session, update)
            if stored.seen(update) or stored.state != CONFIRM_CANCEL:
                return stored.state
            await FLOW.end(session, update)
        await edit_or_answer(update, context, context._("Draft discarded. Nothing was saved."))
        return ConversationHandler.END

    async def apply(session: AsyncSession, data: dict[str, Any]) -> str | None:
        return None

    async with context.db() as session:
        stored = await FLOW.load(session, update)
    back = str(stored.data.get("back") or SUMMARY)
    return await _step(update, context, (CONFIRM_CANCEL,), apply, next_state=back)


# ---- correcting and voiding saved activities -------------------------------------------------


async def _activity_in_scope(
    update: Update, context: BotContext, activity_id: int
) -> Activity | None:
    async with context.db() as session:
        activity = await activity_queries.activity_by_id(session, activity_id)
    if activity is None or not context.principal.leads_branch(activity.branch_id):
        await refuse(update, context, _refuse_scope_text(context))
        return None
    if activity.voided:
        await refuse(update, context, context._("This entry is void and can't be changed."))
        return None
    return activity


@sender(registered=True)
async def correct_pressed(update: Update, context: BotContext) -> str | None:
    """Open a saved activity as a draft, at its summary."""
    activity = await _activity_in_scope(update, context, int(_callback_value(update)))
    if activity is None:
        return None
    return await _start_draft(update, context, draft_from_activity(activity), [])


@sender(registered=True)
async def void_pressed(update: Update, context: BotContext) -> str | None:
    """Ask why a saved activity should be voided."""
    activity_id = int(_callback_value(update))
    activity = await _activity_in_scope(update, context, activity_id)
    if activity is None:
        return None
    data = {"branch_id": activity.branch_id, "void_id": activity_id, "pending": []}
    async with context.db.begin() as session:
        await FLOW.save(session, update, state=VOID_REASON, data=data)
    await _prompt(update, context, VOID_REASON, data, edit=True)
    return VOID_REASON


@sender(registered=True)
async def void_reason_given(update: Update, context: BotContext) -> int | str | None:
    """Void the activity with the chosen or typed reason."""
    if update.callback_query is not None:
        key = _callback_value(update)
        reason = context.tr._(VOID_REASONS[key]) if key in VOID_REASONS else None
    else:
        reason = clean_text(_text(update), limit=VOID_REASON_LIMIT)
    if reason is None:
        await answer(
            update,
            context,
            context._("Please give the reason as text, at most {limit} characters.").format(
                limit=VOID_REASON_LIMIT
            ),
        )
        return None
    async with context.db.begin() as session:
        stored = await FLOW.load(session, update)
        if stored.seen(update) or stored.state != VOID_REASON:
            return stored.state
        activity = await activity_queries.activity_by_id(session, int(stored.data["void_id"]))
        await FLOW.end(session, update)
        allowed = activity is not None and context.principal.leads_branch(activity.branch_id)
        if activity is not None and allowed and not activity.voided:
            actor = await session.get(Account, context.account.id) if context.account else None
            await void_activity(
                session, activity, reason=reason, actor=actor, now=context.settings.now()
            )
    if activity is None or not allowed:
        await refuse(update, context, _refuse_scope_text(context))
        return ConversationHandler.END
    await edit_or_answer(
        update,
        context,
        context._("Activity #{id} is void: {reason}. It stays in the records.").format(
            id=activity.id, reason=escape(reason)
        ),
    )
    return ConversationHandler.END


# ---- odd input -------------------------------------------------------------------------------


async def _reprompt(update: Update, context: BotContext) -> None:
    async with context.db() as session:
        stored = await FLOW.load(session, update)
    if stored.state is None:
        return
    await _prompt(update, context, stored.state, stored.data, edit=False)


@sender(registered=True)
async def resume(update: Update, context: BotContext) -> None:
    """/log or a quick log while a draft is open: show where the draft stands."""
    await answer(
        update,
        context,
        context._("You have an unfinished draft; here it is again. Send /cancel to discard it."),
    )
    await _reprompt(update, context)


@sender(registered=True)
async def busy(update: Update, context: BotContext) -> None:
    """A correct/void button while another draft is open."""
    query = update.callback_query
    if query is not None:
        await query.answer(
            context._("Finish or /cancel the draft you have open first."), show_alert=True
        )


def build() -> ConversationHandler[BotContext]:
    """The activity conversation: /log, quick logs, corrections and voiding."""
    text = filters.TEXT & ~filters.COMMAND
    skip = r"^lg:skip$"
    return ConversationHandler(
        entry_points=[
            CommandHandler("log", start_log),
            MessageHandler(text & QUICK_LOG, quick_log),
            CallbackQueryHandler(correct_pressed, pattern=r"^ac:e:\d{1,12}$"),
            CallbackQueryHandler(void_pressed, pattern=r"^ac:x:\d{1,12}$"),
        ],
        states={
            BRANCH: [CallbackQueryHandler(branch_pressed, pattern=r"^lg:b:\d{1,12}$")],
            "kinds": [CallbackQueryHandler(kind_pressed, pattern=r"^lg:k:[a-z_]{1,24}$")],
            "date": [
                CallbackQueryHandler(date_given, pattern=r"^lg:d:[01]$"),
                MessageHandler(text, date_given),
            ],
            "topic": [MessageHandler(text, topic_given)],
            "attendance": [
                CallbackQueryHandler(attendance_given, pattern=r"^lg:a:all$"),
                MessageHandler(text, attendance_given),
            ],
            "group": [CallbackQueryHandler(group_pressed, pattern=r"^lg:g:\d{1,12}$")],
            "absent": [CallbackQueryHandler(absent_pressed, pattern=r"^lg:ab:(?:ok|\d{1,12})$")],
            ABSENT_REASON: [
                CallbackQueryHandler(absent_reason_pressed, pattern=r"^lg:ar:[a-z]{1,12}$")
            ],
            "place": [
                MessageHandler(text, place_given),
                CallbackQueryHandler(place_given, pattern=skip),
            ],
            "minutes": [
                MessageHandler(text, minutes_given),
                CallbackQueryHandler(minutes_given, pattern=skip),
            ],
            "files": [
                MessageHandler(filters.PHOTO | filters.Document.ALL, file_given),
                CallbackQueryHandler(files_done, pattern=r"^lg:f:ok$"),
            ],
            SUMMARY: [
                CallbackQueryHandler(edit_pressed, pattern=r"^lg:e:[a-z]{1,12}$"),
                CallbackQueryHandler(save_pressed, pattern=r"^lg:save$"),
                CallbackQueryHandler(cancel_asked, pattern=r"^lg:cancel$"),
            ],
            CONFIRM_CANCEL: [CallbackQueryHandler(cancel_answered, pattern=r"^lg:x:(?:yes|no)$")],
            VOID_REASON: [
                CallbackQueryHandler(void_reason_given, pattern=r"^lg:v:[a-z]{1,12}$"),
                MessageHandler(text, void_reason_given),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_asked),
            CommandHandler("log", resume),
            CallbackQueryHandler(busy, pattern=r"^ac:[ex]:\d{1,12}$"),
            MessageHandler(~filters.COMMAND, in_conversation_fallbacks(_reprompt)),
            # Only our own stale buttons: /due's, /activities' and other features' buttons
            # keep working while a draft is open.
            CallbackQueryHandler(in_conversation_fallbacks(_reprompt), pattern=r"^lg:"),
        ],
        name=FLOW.name,
        persistent=True,
        allow_reentry=False,
    )
