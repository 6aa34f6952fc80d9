"""/activities: the recent activities of the sender's branch (or admin subtree), page by page.

Leaders of the branch get buttons to correct or void an entry (handled by the /log
conversation); members see their own branch without committee minutes or absence reasons;
admins see their subtree, read-only. Every button names an activity that is loaded and
checked against the presser's roles again.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.access import Principal
from bot.context import BotContext
from handlers.activity_texts import (
    ActivityFiles,
    ActivityPage,
    CorrectActivity,
    ViewActivity,
    VoidActivity,
    activity_text,
    hides_minutes,
    kinds_text,
)
from handlers.common import Page, Refused, edit_or_answer, keyboard, sender
from handlers.dues_buttons import LectureHours
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


def member_view(principal: Principal, activity: Activity) -> bool:
    """Whether the reader sees the activity as a member (no minutes of a committee meeting,
    no absence reasons): neither a leader of its branch nor an admin above it."""
    return not principal.leads_branch(activity.branch_id) and not principal.is_admin_of(
        activity.branch.path
    )


def _line(context: BotContext, activity: Activity, *, with_branch: bool) -> str:
    label = f"{activity.day:%m-%d} {kinds_text(context, activity.kinds)} · {activity.topic}"
    if with_branch:
        label = f"{activity.branch.code} {label}"
    if activity.voided:
        label = "✗ " + label
    return label[:60]


async def _show_page(update: Update, context: BotContext, requested: int) -> None:
    scope = scope_of(context.principal)
    if scope is None:
        raise Refused()
    async with context.db() as session:
        total = await activity_queries.count_activities(
            session, branch_ids=scope.branch_ids, subtree_paths=scope.subtree_paths
        )
        page = Page.of(requested, total, PAGE_SIZE)
        activities = await activity_queries.recent_activities(
            session,
            branch_ids=scope.branch_ids,
            subtree_paths=scope.subtree_paths,
            offset=page.offset,
            limit=PAGE_SIZE,
        )
    if total == 0:
        text = context._("No activities have been logged yet.")
        if scope.leader:
            text += "\n" + context._("Send /log to log one.")
        await edit_or_answer(update, context, text)
        return
    text = context._("Activities ({total}), page {page} of {pages}. Choose one to see it.").format(
        total=total, page=page.index + 1, pages=page.count
    )
    rows = [
        [
            (
                _line(context, a, with_branch=scope.several_branches),
                ViewActivity(a.id, page.index).data,
            )
        ]
        for a in activities
    ]
    nav = []
    if page.index > 0:
        nav.append((context._("‹ Newer"), ActivityPage(page.index - 1).data))
    if page.index + 1 < page.count:
        nav.append((context._("Older ›"), ActivityPage(page.index + 1).data))
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
    await _show_page(update, context, ActivityPage.read(update).page)


async def _viewable(context: BotContext, activity_id: int) -> Activity:
    """The activity, if the sender may see it; else Refused (the same for one that does not
    exist, so nothing about another branch is revealed)."""
    async with context.db() as session:
        activity = await activity_queries.activity_by_id(session, activity_id)
    if activity is None or not may_view(context.principal, activity):
        raise Refused()
    return activity


@sender(registered=True)
async def view_pressed(update: Update, context: BotContext) -> None:
    """Show one activity, with correct/void buttons for the branch's leaders."""
    button = ViewActivity.read(update)
    activity = await _viewable(context, button.activity_id)
    principal = context.principal
    as_member = member_view(principal, activity)
    rows = []
    if activity.attachments and not hides_minutes(activity, member_view=as_member):
        rows.append([(context._("Show photos and documents"), ActivityFiles(activity.id).data)])
    if principal.leads_branch(activity.branch_id) and not activity.voided:
        rows.append(
            [
                (context._("Correct"), CorrectActivity(activity.id).data),
                (context._("Void"), VoidActivity(activity.id).data),
            ]
        )
        if "lecture" in activity.kinds:
            hours = activity.class_hours or context.settings.lecture_class_hours
            label = context._("Class hours: {hours}").format(hours=hours)
            rows.append([(label, LectureHours(activity.id, button.page).data)])
    rows.append([(context._("‹ Back to the list"), ActivityPage(button.page).data)])
    text = activity_text(context, activity, member_view=as_member)
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def files_pressed(update: Update, context: BotContext) -> None:
    """Send an activity's photos and documents again, by their Telegram file ids."""
    activity = await _viewable(context, ActivityFiles.read(update).activity_id)
    if hides_minutes(activity, member_view=member_view(context.principal, activity)):
        raise Refused()
    chat = update.effective_chat
    if chat is None:
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
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
        CallbackQueryHandler(page_pressed, pattern=ActivityPage.pattern),
        CallbackQueryHandler(view_pressed, pattern=ViewActivity.pattern),
        CallbackQueryHandler(files_pressed, pattern=ActivityFiles.pattern),
    ]
