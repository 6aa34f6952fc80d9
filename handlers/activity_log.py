"""/activities: the recent activities of the sender's branch (or admin subtree), page by page.

Leaders of the branch get buttons to correct or void an entry (handled by the /log
conversation); members see their own branch without committee minutes or absence reasons;
admins see their subtree, read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.access import Principal
from bot.context import BotContext
from bot.rules.kinds import ActivityKind
from handlers.activity import absences_text, attendance_text, kinds_text
from handlers.common import edit_or_answer, escape, keyboard, refuse, sender
from storage import activity_queries
from storage.models_activity import Activity

PAGE_SIZE = 8


@dataclass(frozen=True, slots=True)
class LogScope:
    """Whose activities the sender may list."""

    branch_ids: tuple[int, ...]
    subtree_paths: tuple[str, ...]
    leader: bool

    @property
    def several_branches(self) -> bool:
        """Whether the list mixes branches (each line then names its branch)."""
        return bool(self.subtree_paths) or len(self.branch_ids) > 1


def scope_of(principal: Principal) -> LogScope | None:
    """Every branch the sender leads and every subtree they administer; else their branch."""
    led = tuple(dict.fromkeys(g.org_id for g in principal.led_branches()))
    admin = tuple(g.org_path for g in principal.admin_grants())
    if led or admin:
        return LogScope(led, admin, bool(led))
    if principal.branch_id is not None:
        return LogScope((principal.branch_id,), (), False)
    return None


def may_view(principal: Principal, activity: Activity) -> bool:
    """Leaders and members of the branch, and admins of a subtree containing it."""
    return (
        principal.leads_branch(activity.branch_id)
        or principal.branch_id == activity.branch_id
        or principal.is_admin_of(activity.branch.path)
    )


def _line(context: BotContext, activity: Activity, *, with_branch: bool) -> str:
    label = f"{activity.day:%m-%d} {kinds_text(context, activity.kinds)} · {activity.topic}"
    if with_branch:
        label = f"{activity.branch.code} {label}"
    if activity.voided:
        label = "✗ " + label
    return label[:60]


async def _show_page(update: Update, context: BotContext, page: int) -> None:
    scope = scope_of(context.principal)
    if scope is None:
        await refuse(update, context)
        return
    async with context.db() as session:
        activities, total = await activity_queries.recent_activities(
            session,
            branch_ids=scope.branch_ids,
            subtree_paths=scope.subtree_paths,
            offset=page * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    if total == 0:
        text = context._("No activities have been logged yet.")
        if scope.leader:
            text += "\n" + context._("Send /log to log one.")
        await edit_or_answer(update, context, text)
        return
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    text = context._("Activities ({total}), page {page} of {pages}. Choose one to see it.").format(
        total=total, page=page + 1, pages=pages
    )
    rows = [
        [(_line(context, a, with_branch=scope.several_branches), f"ac:v:{a.id}:{page}")]
        for a in activities
    ]
    nav = []
    if page > 0:
        nav.append((context._("‹ Newer"), f"ac:p:{page - 1}"))
    if page + 1 < pages:
        nav.append((context._("Older ›"), f"ac:p:{page + 1}"))
    if nav:
        rows.append(nav)
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def list_activities(update: Update, context: BotContext) -> None:
    """/activities: the first page."""
    await _show_page(update, context, 0)


@sender(registered=True)
async def page_pressed(update: Update, context: BotContext) -> None:
    """Another page of the list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await _show_page(update, context, min(int(query.data.rsplit(":", 1)[1]), 100_000))


def activity_text(context: BotContext, activity: Activity, *, member_view: bool) -> str:
    """One activity in full (members don't see committee minutes or absence reasons)."""
    _ = context._
    lines = [
        _("<b>Activity #{id}</b> — {branch}").format(
            id=activity.id, branch=escape(activity.branch.display_name(context.tr.locale))
        ),
        _("Kind: {kinds}").format(kinds=kinds_text(context, activity.kinds)),
    ]
    day = context.tr.date(activity.day, "long")
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
    if activity.place:
        lines.append(_("Place: {place}").format(place=escape(activity.place)))
    committee = ActivityKind.COMMITTEE_MEETING.value in activity.kinds
    if activity.minutes and not (member_view and committee):
        lines.append(_("Minutes: {minutes}").format(minutes=escape(activity.minutes[:2500])))
    if activity.attachments:
        lines.append(_("Photos and documents: {count}").format(count=len(activity.attachments)))
    if activity.voided:
        lines.append(_("<b>Void</b>: {reason}").format(reason=escape(activity.void_reason or "—")))
    return "\n".join(lines)


@sender(registered=True)
async def view_pressed(update: Update, context: BotContext) -> None:
    """Show one activity, with correct/void buttons for the branch's leaders."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _prefix, _view, activity_id, page = query.data.split(":")
    async with context.db() as session:
        activity = await activity_queries.activity_by_id(session, int(activity_id))
    principal = context.principal
    if activity is None or not may_view(principal, activity):
        await refuse(update, context)
        return
    leader = principal.leads_branch(activity.branch_id)
    member_view = not leader and not principal.is_admin_of(activity.branch.path)
    rows = []
    committee = ActivityKind.COMMITTEE_MEETING.value in activity.kinds
    if activity.attachments and not (member_view and committee):
        rows.append([(context._("Show photos and documents"), f"ac:f:{activity.id}")])
    if leader and not activity.voided:
        rows.append(
            [
                (context._("Correct"), f"ac:e:{activity.id}"),
                (context._("Void"), f"ac:x:{activity.id}"),
            ]
        )
    rows.append([(context._("‹ Back to the list"), f"ac:p:{int(page)}")])
    await edit_or_answer(
        update, context, activity_text(context, activity, member_view=member_view), keyboard(rows)
    )


@sender(registered=True)
async def files_pressed(update: Update, context: BotContext) -> None:
    """Send an activity's photos and documents again, by their Telegram file ids."""
    query = update.callback_query
    assert query is not None and query.data is not None
    async with context.db() as session:
        activity = await activity_queries.activity_by_id(session, int(query.data.split(":")[2]))
    principal = context.principal
    if activity is None or not may_view(principal, activity):
        await refuse(update, context)
        return
    member_view = not principal.leads_branch(activity.branch_id) and not principal.is_admin_of(
        activity.branch.path
    )
    if member_view and ActivityKind.COMMITTEE_MEETING.value in activity.kinds:
        await refuse(update, context)
        return
    await query.answer()
    chat = update.effective_chat
    assert chat is not None
    caption = context._("Activity #{id}").format(id=activity.id)
    for attachment in activity.attachments:
        if attachment.get("type") == "photo":
            await context.bot.send_photo(chat.id, attachment["file_id"], caption=caption)
        else:
            await context.bot.send_document(chat.id, attachment["file_id"], caption=caption)


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("activities", list_activities),
        CallbackQueryHandler(page_pressed, pattern=r"^ac:p:\d{1,6}$"),
        CallbackQueryHandler(view_pressed, pattern=r"^ac:v:\d{1,12}:\d{1,6}$"),
        CallbackQueryHandler(files_pressed, pattern=r"^ac:f:\d{1,12}$"),
    ]
