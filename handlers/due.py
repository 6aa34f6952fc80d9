"""/due: where each obligation of the secretary's branch stands, period by period.

Leaders see the branches they lead; admins name a branch of their subtree by its code
(read-only). Every button names a branch and a month, both checked again on each press.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.access import Principal
from bot.compliance import branch_compliance
from bot.context import BotContext
from bot.dues.ledger import dues_obligation
from bot.dues.local import dues_period
from bot.enums import OrgKind
from bot.rules.calendar import (
    ObligationState,
    ObligationStatus,
    Period,
    PeriodKind,
    past_month,
    period_containing,
    reference_day,
)
from bot.rules.dues import month_of
from handlers import due_calendar
from handlers.buttons import Button, Token
from handlers.common import Refused, edit_or_answer, escape, keyboard, sender
from handlers.compliance_texts import month_buttons, period_label, status_line
from handlers.due_calendar import calendar_section, quorum_note
from handlers.dues_texts import dues_due_line
from storage import activity_queries, queries
from storage.models import OrgUnit

MonthKey = Annotated[str, Token(r"\d{4}-\d{2}", "2026-11")]


class DueMonth(Button, prefix="du"):
    """One branch's obligations in the periods containing a month."""

    branch_id: int
    month: MonthKey


class DuePage(Button, prefix="du:p"):
    """A page of the admin's subtree's branches to choose from."""

    page: int


FindBranch = Callable[[AsyncSession], Awaitable[OrgUnit | None]]
# Branches per page of an admin's choice (a subtree may have hundreds).
PAGE_SIZE = 8


def _refusal(context: BotContext) -> str:
    return context._(
        "/due is for branch secretaries and deputies; admins send /due with a branch code "
        "of their subtree, or /report compliance. Nothing was changed."
    )


def in_scope(principal: Principal, branch: OrgUnit) -> bool:
    """A branch whose obligations the sender may see: one they lead, or one in a subtree they
    administer (read-only)."""
    if branch.kind is not OrgKind.BRANCH:
        return False
    return principal.leads_branch(branch.id) or principal.is_admin_of(branch.path)


async def _group_names(
    context: BotContext, session: AsyncSession, branch_id: int, statuses: list[ObligationStatus]
) -> dict[int, str]:
    if not any(status.missing_groups for status in statuses):
        return {}
    english = context.tr.locale == "en"
    return {
        group_id: name_en if english and name_en else name
        for group_id, _parent, _code, name, name_en in await activity_queries.party_groups(
            session, branch_id=branch_id
        )
    }


def _due_text(
    context: BotContext,
    branch: OrgUnit,
    month: Period,
    statuses: list[ObligationStatus],
    groups: dict[int, str],
) -> str:
    lines = [
        context._("<b>What is due: {branch}</b>").format(
            branch=escape(branch.display_name(context.tr.locale))
        ),
        context._("Periods containing {month}").format(month=period_label(context, month)),
        "",
    ]
    shown = [s for s in statuses if s.state is not ObligationState.NOT_APPLICABLE]
    for status in shown:
        line = status_line(context, status)
        if status.missing_groups and status.state is not ObligationState.DONE:
            names = context._(", ").join(
                escape(groups.get(group_id, str(group_id))) for group_id in status.missing_groups
            )
            line += "\n    " + context._("party groups still to meet: {groups}").format(
                groups=names
            )
        note = quorum_note(context, status)
        if note is not None:
            line += "\n    " + note
        lines.append(line)
    if not shown:
        lines.append(context._("Nothing applies to this period."))
    return "\n".join(lines)


def _keyboard(context: BotContext, branch_id: int, month: Period) -> InlineKeyboardMarkup:
    rows = [
        month_buttons(
            context, lambda other: DueMonth(branch_id, other.key).data, month, context.today()
        )
    ]
    others = [g for g in context.principal.led_branches() if g.org_id != branch_id]
    if others and context.principal.leads_branch(branch_id):
        # Someone leading several branches switches between them, in the same period.
        rows.append([(g.org_code, DueMonth(g.org_id, month.key).data) for g in others[:6]])
    return keyboard(rows)


async def _show(
    update: Update, context: BotContext, month: Period, find: FindBranch, refusal: str
) -> None:
    """The obligations of the branch `find` loads, if it is in the sender's scope."""
    today = context.today()
    async with context.db() as session:
        branch = await find(session)
        if branch is None or not in_scope(context.principal, branch):
            raise Refused(refusal)
        statuses = await branch_compliance(
            session, branch, on=reference_day(month, today), today=today
        )
        groups = await _group_names(context, session, branch.id, statuses)
        extra, extra_rows = await calendar_section(context, session, branch, statuses, today)
        # The `dues` calendar rule is judged from the dues ledger, not the activity log.
        on = month_of(reference_day(month, today))
        dues = await dues_obligation(session, branch, on, await dues_period(session, branch), today)
    text = _due_text(context, branch, month, statuses, groups)
    if (dues_line := dues_due_line(context, dues)) is not None:
        text += "\n" + dues_line
    if extra:
        text += "\n\n" + "\n".join(extra)
    markup = _keyboard(context, branch.id, month)
    if extra_rows:
        markup = keyboard([*extra_rows, *_rows(markup)])
    await edit_or_answer(update, context, text, markup)


def _rows(markup: InlineKeyboardMarkup) -> list[list[tuple[str, str]]]:
    return [[(b.text, str(b.callback_data)) for b in row] for row in markup.inline_keyboard]


@sender(registered=True)
async def due(update: Update, context: BotContext) -> None:
    """/due: the current periods of the sender's (first) branch, or of a named one in scope."""
    month = period_containing(PeriodKind.MONTH, context.today())
    led = context.principal.led_branches()
    args = context.args or []
    if args and (context.principal.admin_grants() or led):
        code = " ".join(args)[:64]
        async with context.db() as session:
            exact = await queries.org_by_code(session, code)
        if exact is not None or not context.principal.admin_grants():
            refusal = context._("There is no branch {code} in your subtree.").format(
                code=escape(code)
            )
            await _show(update, context, month, lambda s: queries.org_by_code(s, code), refusal)
            return
        await _branch_picker(update, context, month, 0, code)
        return
    if not led and context.principal.admin_grants():
        await _branch_picker(update, context, month, 0)
        return
    if not led:
        raise Refused(_refusal(context))
    branch_id = led[0].org_id
    await _show(
        update, context, month, lambda s: queries.org_by_id(s, branch_id), _refusal(context)
    )


async def _branch_picker(
    update: Update, context: BotContext, month: Period, page: int, text: str = ""
) -> None:
    """The branches of the admin's subtree (those matching `text`), a page at a time."""
    grants = context.principal.admin_grants()
    if not grants or page < 0:
        raise Refused(_refusal(context))
    async with context.db() as session:
        root = await queries.org_by_id(session, grants[0].org_id)
        found = await queries.search_org_units(
            session,
            text,
            within=root,
            kinds=[OrgKind.BRANCH],
            limit=(page + 1) * PAGE_SIZE + 1,
        )
    if text and len(found) == 1:
        branch_id = found[0].id
        await _show(
            update, context, month, lambda s: queries.org_by_id(s, branch_id), _refusal(context)
        )
        return
    shown = found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    locale = context.tr.locale
    rows = [[(o.display_name(locale)[:60], DueMonth(o.id, month.key).data)] for o in shown]
    if not text:
        nav = []
        if page > 0:
            nav.append(("◀", DuePage(page - 1).data))
        if len(found) > (page + 1) * PAGE_SIZE:
            nav.append(("▶", DuePage(page + 1).data))
        if nav:
            rows.append(nav)
    if not shown:
        message = context._("There is no branch {code} in your subtree.").format(code=escape(text))
    else:
        message = context._("Which branch? Or send /due with part of its name or code to find it.")
    await edit_or_answer(update, context, message, keyboard(rows))


@sender(registered=True)
async def due_page_pressed(update: Update, context: BotContext) -> None:
    """Another page of the admin's branches."""
    page = DuePage.read(update).page
    month = period_containing(PeriodKind.MONTH, context.today())
    await _branch_picker(update, context, month, page)


@sender(registered=True)
async def due_period_pressed(update: Update, context: BotContext) -> None:
    """Another month's periods, or another branch the sender leads."""
    button = DueMonth.read(update)
    month = past_month(button.month, context.today())
    if month is None:
        raise Refused(_refusal(context))
    branch_id = button.branch_id
    await _show(
        update, context, month, lambda s: queries.org_by_id(s, branch_id), _refusal(context)
    )


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("due", due),
        CallbackQueryHandler(due_period_pressed, pattern=DueMonth.pattern),
        CallbackQueryHandler(due_page_pressed, pattern=DuePage.pattern),
        *due_calendar.handlers(),
    ]
