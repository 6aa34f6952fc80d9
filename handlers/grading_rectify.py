"""Rectification (整改) of a branch graded weak: problems, measures, deadlines, owners, checks."""

from __future__ import annotations

import datetime as dt
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.accounts import translator_for
from bot.commands import LEADERS
from bot.context import BotContext
from bot.enums import RectificationStatus
from bot.grading import service
from bot.grading.scoring import Grade
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    answer,
    clean_text,
    edit_or_answer,
    escape,
    keyboard,
    refuse,
    sender,
)
from handlers.flow import Flow
from handlers.grading_labels import IDLE_TIMEOUT, SATISFACTION_NAMES
from storage import grading_queries as gq
from storage import queries
from storage.models import Account
from storage.models_grading import GradingAssessment

log = logging.getLogger(__name__)

FLOW = Flow("grading_rectify")
PROBLEM, MEASURES, DUE, RESPONSIBLE = "problem", "measures", "due", "responsible"
DUE_MONTHS = (1, 3, 6)


async def _weak_assessment(context: BotContext, assessment_id: int) -> GradingAssessment | None:
    async with context.db() as session:
        assessment = await gq.assessment_by_id(session, assessment_id)
    if (
        assessment is None
        or assessment.grade != Grade.WEAK
        or not context.principal.leads_branch(assessment.branch_id)
    ):
        return None
    return assessment


@sender(registered=True, roles=LEADERS)
async def show_list(update: Update, context: BotContext) -> None:
    """gr:l:<assessment>: the branch's rectification items, with add and done buttons."""
    _ = context._
    assert update.callback_query is not None and update.callback_query.data is not None
    assessment = await _weak_assessment(context, int(update.callback_query.data.rsplit(":", 1)[1]))
    if assessment is None:
        await refuse(update, context)
        return
    async with context.db() as session:
        items = await gq.rectification_items(
            session, campaign_id=assessment.campaign_id, branch_id=assessment.branch_id
        )
        checks = {i.id: await gq.rectification_counts(session, i.id) for i in items}
    lines = [_("<b>Rectification</b>")]
    rows: list[list[tuple[str, str]]] = [[(_("Add a problem"), f"gr:add:{assessment.id}")]]
    if not items:
        lines.append(_("No problem entered yet."))
    for number, item in enumerate(items, start=1):
        done = item.status is RectificationStatus.DONE
        lines.append(
            _(
                "{number}. {problem} — measures: {measures}; due {due}; {responsible}; {state}"
            ).format(
                number=number,
                problem=escape(item.problem),
                measures=escape(item.measures),
                due=context.tr.date(item.due_on, "short"),
                responsible=escape(item.responsible),
                state=_("done") if done else _("open"),
            )
        )
        if done:
            # Only the number: the check has no end, and a breakdown seen before and after
            # one member's answer would give that answer away. The admins see the breakdown.
            total = sum(checks[item.id].values())
            lines.append(_("   Members' check: {total} answer(s) so far.").format(total=total))
        else:
            rows.append([(_("Mark {number} done").format(number=number), f"gr:d:{item.id}")])
    await answer(update, context, "\n".join(lines), keyboard(rows))


@sender(registered=True, roles=LEADERS)
async def mark_done(update: Update, context: BotContext) -> None:
    """gr:d:<item>: mark an item done and ask the members for their check."""
    assert update.callback_query is not None and update.callback_query.data is not None
    item_id = int(update.callback_query.data.rsplit(":", 1)[1])
    now = context.settings.now()
    async with context.db.begin() as session:
        item = await gq.rectification_by_id(session, item_id)
        if item is None or not context.principal.leads_branch(item.branch_id):
            await refuse(update, context)
            return
        account = await session.get(Account, context.account.id) if context.account else None
        changed = await service.complete_rectification(session, item=item, actor=account, now=now)
        members = await gq.member_accounts(session, item.branch_id) if changed else []
        branch = await queries.org_by_id(session, item.branch_id)
        admins = await gq.admin_accounts_over(session, branch) if changed and branch else []
    if not changed:
        await refuse(update, context, context._("This item is already done."))
        return
    await edit_or_answer(
        update,
        context,
        context._("Marked done: {problem}. Members are asked for their anonymous check.").format(
            problem=escape(item.problem)
        ),
    )
    for admin in admins:
        tr = translator_for(admin, context.settings, None)
        text = tr._("Rectification of {branch}: done — {problem}").format(
            branch=escape(branch.display_name(tr.locale)) if branch else "?",
            problem=escape(item.problem),
        )
        await _send(context, admin, text)
    for member in members:
        if context.account is not None and member.id == context.account.id:
            continue
        tr = translator_for(member, context.settings, None)
        rows = [
            [(tr._(SATISFACTION_NAMES[v]), f"sr:{item.id}:{v}")]
            for v in service.SATISFACTION_VALUES
        ]
        text = tr._(
            "The branch reports this problem as rectified: {problem}. How satisfied are you "
            "with the result? (anonymous)"
        ).format(problem=escape(item.problem))
        await _send(context, member, text, keyboard(rows))


async def _send(
    context: BotContext, account: Account, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    try:
        await context.bot.send_message(account.telegram_id, text, reply_markup=markup)
    except TelegramError as exc:
        log.warning("could not notify account %s: %s", account.id, exc)


# ---- entering one item ---------------------------------------------------------------------


@sender(registered=True, roles=LEADERS)
async def add_item(update: Update, context: BotContext) -> str | int | None:
    """gr:add:<assessment>: ask for the problem."""
    assert update.callback_query is not None and update.callback_query.data is not None
    assessment = await _weak_assessment(context, int(update.callback_query.data.rsplit(":", 1)[1]))
    if assessment is None:
        await refuse(update, context)
        return ConversationHandler.END
    async with context.db.begin() as session:
        await FLOW.save(session, update, state=PROBLEM, data={"aid": assessment.id})
    await answer(update, context, context._("What is the problem? (one problem per item)"))
    return PROBLEM


async def _text_step(
    update: Update, context: BotContext, *, key: str, limit: int, next_state: str
) -> str | None:
    message = update.effective_message
    text = clean_text(message.text if message else None, limit=limit)
    if text is None:
        await answer(
            update,
            context,
            context._("Please type it as text, at most {limit} characters.").format(limit=limit),
        )
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return draft.state
        await FLOW.save(session, update, state=next_state, data={**draft.data, key: text})
    return next_state


@sender(registered=True, roles=LEADERS)
async def problem_typed(update: Update, context: BotContext) -> str | None:
    """Store the problem, ask for the measures."""
    state = await _text_step(update, context, key="problem", limit=500, next_state=MEASURES)
    if state == MEASURES:
        await answer(update, context, context._("Which measures will fix it?"))
    return state


@sender(registered=True, roles=LEADERS)
async def measures_typed(update: Update, context: BotContext) -> str | None:
    """Store the measures, ask for the deadline."""
    state = await _text_step(update, context, key="measures", limit=1000, next_state=DUE)
    if state == DUE:
        await _ask_due(update, context)
    return state


async def _ask_due(update: Update, context: BotContext) -> None:
    rows = [[(context._("{months} month(s)").format(months=m), f"gr:due:{m}") for m in DUE_MONTHS]]
    await answer(
        update,
        context,
        context._("By when? Choose, or type a date as YYYY-MM-DD."),
        keyboard(rows),
    )


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError("no valid day")


async def _store_due(update: Update, context: BotContext, due: dt.date) -> str | None:
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update) or draft.state != DUE:
            return draft.state
        await FLOW.save(
            session, update, state=RESPONSIBLE, data={**draft.data, "due": due.isoformat()}
        )
    await answer(update, context, context._("Who is responsible? (a name)"))
    return RESPONSIBLE


@sender(registered=True, roles=LEADERS)
async def due_pressed(update: Update, context: BotContext) -> str | None:
    """gr:due:<months>."""
    assert update.callback_query is not None and update.callback_query.data is not None
    months = int(update.callback_query.data.rsplit(":", 1)[1])
    if months not in DUE_MONTHS:
        await refuse(update, context)
        return None
    today = context.settings.now().astimezone(context.settings.tz).date()
    return await _store_due(update, context, _add_months(today, months))


@sender(registered=True, roles=LEADERS)
async def due_typed(update: Update, context: BotContext) -> str | None:
    """A typed YYYY-MM-DD deadline."""
    text = (update.effective_message.text or "") if update.effective_message else ""
    today = context.settings.now().astimezone(context.settings.tz).date()
    try:
        due = dt.date.fromisoformat(text.strip())
    except ValueError:
        due = None
    if due is None or due < today:
        await answer(update, context, context._("Please type a date from today on, as YYYY-MM-DD."))
        return None
    return await _store_due(update, context, due)


@sender(registered=True, roles=LEADERS)
async def responsible_typed(update: Update, context: BotContext) -> int | None:
    """Store the item."""
    message = update.effective_message
    name = clean_text(message.text if message else None, limit=100)
    if name is None:
        await answer(update, context, context._("Please type a name, at most 100 characters."))
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return None
        assessment = await gq.assessment_by_id(session, int(draft.data.get("aid", 0)))
        if assessment is None or not context.principal.leads_branch(assessment.branch_id):
            await FLOW.end(session, update)
            await refuse(update, context)
            return ConversationHandler.END
        account = await session.get(Account, context.account.id) if context.account else None
        await service.add_rectification(
            session,
            assessment=assessment,
            problem=str(draft.data["problem"]),
            measures=str(draft.data["measures"]),
            due_on=dt.date.fromisoformat(str(draft.data["due"])),
            responsible=name,
            actor=account,
        )
        await FLOW.end(session, update)
    await answer(
        update,
        context,
        context._("Saved. Members can see the rectification list with /survey."),
        keyboard([[(context._("Show the list"), f"gr:l:{assessment.id}")]]),
    )
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(update, context, context._("Please answer the question above, or /cancel."))


def build() -> ConversationHandler[BotContext]:
    """The conversation that enters one rectification item."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(add_item, pattern=r"^gr:add:\d{1,12}$")],
        states={
            PROBLEM: [MessageHandler(text, problem_typed)],
            MEASURES: [MessageHandler(text, measures_typed)],
            DUE: [
                CallbackQueryHandler(due_pressed, pattern=r"^gr:due:\d{1,2}$"),
                MessageHandler(text, due_typed),
            ],
            RESPONSIBLE: [MessageHandler(text, responsible_typed)],
        },
        # Stale buttons of these flows are answered by the global stale-button handler.
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix=None),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
        conversation_timeout=IDLE_TIMEOUT,
    )


def handlers() -> list[CallbackQueryHandler[BotContext, None]]:
    """The list and the done buttons."""
    return [
        CallbackQueryHandler(show_list, pattern=r"^gr:l:\d{1,12}$"),
        CallbackQueryHandler(mark_done, pattern=r"^gr:d:\d{1,12}$"),
    ]
