"""/report dues [YYYY-MM]: admins see the Party dues collection of their subtrees, per branch,
as text, a chart and a spreadsheet; amounts are summed exactly. No ranking: branches are
listed by code, named in the reader's language. The subtrees come from the admin's own
grants; the only button names a month. The chart and the spreadsheet are made off the event loop.
"""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.commands import ADMINS
from bot.compliance import merge_subtrees
from bot.context import BotContext
from bot.dues.report import (
    Collection,
    CollectionWords,
    collection_chart,
    percent,
    subtree_collection,
    yuan,
)
from bot.rules.dues import Month, month_key, parse_month
from bot.xlsx import workbook_bytes
from handlers.busy import showing
from handlers.common import Refused, answer, escape, keyboard, sender
from handlers.dues_buttons import DuesReportMonth
from handlers.dues_texts import current_month, money, month_text
from storage import queries

# Only `/report dues`: other sub-reports are left to the other /report handlers.
DUES_REPORT = filters.Regex(r"^/report(@\w+)?\s+dues(\s+\S+)?\s*$")
# A bar per branch, within Telegram's photo limits (width + height <= 10,000 pixels).
CHART_MAX_BRANCHES = 60
LISTED = 30


def _summary(context: BotContext, scope: str, collection: Collection) -> str:
    _ = context._
    due, paid = collection.total("due_members"), collection.total("paid_members")
    rate = percent(paid, due)
    lines = [
        _("<b>Party dues collection of {scope}</b>").format(scope=escape(scope)),
        _("{month}: {count} branches").format(
            month=month_text(context, collection.month), count=len(collection.lines)
        ),
        _("Members who paid: {paid} of {due} ({rate})").format(
            paid=paid, due=due, rate=f"{rate}%" if rate is not None else "—"
        ),
        _("Collected: {collected} of {amount}").format(
            collected=money(context, collection.total("collected_fen")),
            amount=money(context, collection.total("due_fen")),
        ),
    ]
    incomplete = [line for line in collection.lines if not line.complete]
    if incomplete:
        lines.append("")
        lines.append(_("Branches not fully collected: {count}").format(count=len(incomplete)))
        lines += [
            f"• {escape(line.branch.code)} {escape(line.branch.display_name(context.tr.locale))}: "
            f"{line.paid_members}/{line.due_members}"
            for line in incomplete[:LISTED]
        ]
        if len(incomplete) > LISTED:
            lines.append(
                _("…and {count} more in the spreadsheet.").format(count=len(incomplete) - LISTED)
            )
    return "\n".join(lines)


def _spreadsheet(context: BotContext, collection: Collection) -> bytes:
    _ = context._
    header = [
        _("Branch code"),
        _("Branch"),
        _("Members owing"),
        _("Members who paid"),
        _("Paid (%)"),
        _("Due (yuan)"),
        _("Collected (yuan)"),
    ]
    rows = [
        [
            line.branch.code,
            line.branch.display_name(context.tr.locale),
            line.due_members,
            line.paid_members,
            line.rate if line.rate is not None else "",
            yuan(line.due_fen),
            yuan(line.collected_fen),
        ]
        for line in collection.lines
    ]
    return workbook_bytes(_("Party dues"), header, rows)


def _chart_bars(
    context: BotContext, collection: Collection
) -> tuple[list[tuple[str, int, int]], str]:
    """The chart's bars (name, paid, owing) and its caption: every branch when they fit;
    else all of them together, then the branches not fully collected, by code."""
    _ = context._
    month = month_text(context, collection.month)
    caption = _(
        "Share of the members owing dues who paid for {month}, per branch (by code)."
    ).format(month=month)
    lines = collection.lines
    if len(lines) > CHART_MAX_BRANCHES:
        behind = [line for line in lines if not line.complete]
        lines = behind[: CHART_MAX_BRANCHES - 1]
        caption += "\n" + _(
            "All {total} branches together first, then {shown} of the {behind} branches not "
            "fully collected, by code; the spreadsheet has every branch."
        ).format(total=len(collection.lines), shown=len(lines), behind=len(behind))
    bars = [
        (line.branch.display_name(context.tr.locale), line.paid_members, line.due_members)
        for line in lines
    ]
    if len(collection.lines) > CHART_MAX_BRANCHES:
        everyone = _("All {count} branches").format(count=len(collection.lines))
        totals = (collection.total("paid_members"), collection.total("due_members"))
        bars.insert(0, (everyone, *totals))
    return bars, caption


async def _send(update: Update, context: BotContext, month: Month) -> None:
    async with context.db() as session:
        units = [
            await queries.org_by_id(session, g.org_id) for g in context.principal.admin_grants()
        ]
        roots = merge_subtrees([unit for unit in units if unit is not None])
        if not roots:
            raise Refused()
        collection = await subtree_collection(session, roots, month)
    scope = ", ".join(root.display_name(context.tr.locale) for root in roots)
    navigation = [(context._("‹ Previous month"), DuesReportMonth(month_key(month - 1)).data)]
    if month < current_month(context):
        navigation.append((context._("Next month ›"), DuesReportMonth(month_key(month + 1)).data))
    await answer(update, context, _summary(context, scope, collection), keyboard([navigation]))
    chat = update.effective_chat
    if chat is None or not collection.lines:
        return
    bars, caption = _chart_bars(context, collection)
    _ = context._
    words = CollectionWords(
        _("Party dues collection, {month}").format(month=month_text(context, month)),
        _("paid"),
        _("not paid yet"),
    )
    async with showing(context.bot, chat.id, ChatAction.UPLOAD_PHOTO):
        # Drawn and written off the event loop: other users' replies do not wait.
        png = await asyncio.to_thread(collection_chart, bars, words)
        await context.bot.send_photo(chat.id, png, caption=caption)
    async with showing(context.bot, chat.id):
        data = await asyncio.to_thread(_spreadsheet, context, collection)
        await context.bot.send_document(
            chat.id,
            data,
            filename=f"dues-{month_key(month)}.xlsx",
            caption=_("One row per branch; amounts in yuan."),
        )


@sender(registered=True, roles=ADMINS)
async def report(update: Update, context: BotContext) -> None:
    """/report dues [YYYY-MM]."""
    args = context.args or []
    now = current_month(context)
    month = parse_month(args[1]) if len(args) == 2 else now
    if month is None or month > now:
        await answer(update, context, context._("Send /report dues or /report dues 2026-11."))
        return
    await _send(update, context, month)


@sender(registered=True, roles=ADMINS)
async def month_pressed(update: Update, context: BotContext) -> None:
    """Another month's report."""
    month = parse_month(DuesReportMonth.read(update).month)
    if month is None or month > current_month(context):
        raise Refused()
    await _send(update, context, month)


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """`/report dues`, added before the general /report handler, and its month buttons."""
    return [
        CommandHandler("report", report, filters=DUES_REPORT),
        CallbackQueryHandler(month_pressed, pattern=DuesReportMonth.pattern),
    ]
