"""Rectification (整改) of a branch graded weak: problems, measures, deadlines, owners, checks.

Every button names the weak branch's assessment or one of its items, checked on every press
against the branches the sender leads. Marking an item done is decided once: of two leaders
pressing at the same moment, one marks it (and the members and admins are told once).
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.accounts import translator_for
from bot.commands import LEADERS
from bot.context import BotContext
from bot.enums import RectificationStatus
from bot.grading import rectify, scope
from handlers.cancel import conversation_fallbacks
from handlers.common import Refused, answer, clean_text, edit_or_answer, escape, keyboard, sender
from handlers.flow import Flow, State, Step
from handlers.grading_buttons import AddProblem, CheckAnswer, DueIn, MarkDone, RectificationList
from handlers.grading_labels import IDLE_TIMEOUT, check_question, satisfaction_rows
from storage import grading_queries as gq
from storage import queries
from storage.models import Account

log = logging.getLogger(__name__)

FLOW = Flow("grading_rectify", idle=IDLE_TIMEOUT)
PROBLEM, MEASURES, DUE, RESPONSIBLE = "problem", "measures", "due", "responsible"
DUE_MONTHS = (1, 3, 6)
PROBLEM_LIMIT, MEASURES_LIMIT, NAME_LIMIT = 500, 1000, 100


@sender(registered=True, roles=LEADERS)
async def show_list(update: Update, context: BotContext) -> None:
    """gr:l: a led weak branch's rectification items, with add and done buttons."""
    _ = context._
    assessment_id = RectificationList.read(update).assessment_id
    now = context.settings.now()
    async with context.db.begin() as session:
        found = await scope.led_weak_assessment(session, context.principal, assessment_id)
        if found is None:
            raise Refused()
        assessment = found[1]
        items = await gq.rectification_items(
            session, campaign_id=assessment.campaign_id, branch_id=assessment.branch_id
        )
        checks = {i.id: await rectify.visible_check(session, i, now) for i in items}
    lines = [_("<b>Rectification</b>")]
    rows: list[list[tuple[str, str]]] = [[(_("Add a problem"), AddProblem(assessment.id).data)]]
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
                due=context.tr.date(item.due_on),
                responsible=escape(item.responsible),
                state=_("done") if done else _("open"),
            )
        )
        if done:
            # Only the number while the check runs: a breakdown seen before and after one
            # member's answer would give that answer away. The admins see it once it is over.
            total, _counts = checks[item.id]
            lines.append(
                context.tr.ngettext(
                    "   Members' check: {total} answer so far.",
                    "   Members' check: {total} answers so far.",
                    total,
                ).format(total=total)
            )
        else:
            rows.append([(_("Mark {number} done").format(number=number), MarkDone(item.id).data)])
    await answer(update, context, "\n".join(lines), keyboard(rows))


@sender(registered=True, roles=LEADERS)
async def mark_done(update: Update, context: BotContext) -> None:
    """gr:d: mark a led branch's item done and ask its members for their check."""
    item_id = MarkDone.read(update).item_id
    async with context.db.begin() as session:
        item = await scope.led_item(session, context.principal, item_id)
        if item is None:
            raise Refused()
        changed = await rectify.complete_rectification(
            session, item=item, actor=context.account, now=context.settings.now()
        )
        if not changed:
            raise Refused(context._("This item is already done."))
        members = await gq.member_accounts(session, item.branch_id)
        branch = await queries.org_by_id(session, item.branch_id)
        admins = await gq.admin_accounts_over(session, branch) if branch else []
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
        if member.id == context.actor_id:
            continue
        tr = translator_for(member, context.settings, None)
        rows = satisfaction_rows(tr, lambda v: CheckAnswer(item.id, v).data)
        await _send(context, member, check_question(tr, item.problem), keyboard(rows))


async def _send(
    context: BotContext, account: Account, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    try:
        await context.bot.send_message(account.telegram_id, text, reply_markup=markup)
    except TelegramError as exc:
        log.warning("could not notify account %s: %s", account.id, exc)


# ---- entering one item ---------------------------------------------------------------------


async def _weak_assessment_id(context: BotContext, step: Step, assessment_id: int) -> int:
    found = await scope.led_weak_assessment(step.session, context.principal, assessment_id)
    if found is None:
        raise Refused()
    return found[1].id


@FLOW.step(registered=True, roles=LEADERS, entry=True)
async def add_item(update: Update, context: BotContext, step: Step) -> State:
    """gr:add: ask for the problem."""
    assessment_id = AddProblem.read(update).assessment_id
    step.data["aid"] = await _weak_assessment_id(context, step, assessment_id)
    step.reply(context._("What is the problem? (one problem per item)"))
    return PROBLEM


def _typed(update: Update, limit: int) -> str | None:
    message = update.effective_message
    return clean_text(message.text if message else None, limit=limit)


def _too_long(context: BotContext, step: Step, limit: int) -> None:
    step.reply(context._("Please type it as text, at most {limit} characters.").format(limit=limit))


@FLOW.step(registered=True, roles=LEADERS)
async def problem_typed(update: Update, context: BotContext, step: Step) -> State:
    """Store the problem, ask for the measures."""
    text = _typed(update, PROBLEM_LIMIT)
    if text is None:
        _too_long(context, step, PROBLEM_LIMIT)
        return None
    step.data["problem"] = text
    step.reply(context._("Which measures will fix it?"))
    return MEASURES


@FLOW.step(registered=True, roles=LEADERS)
async def measures_typed(update: Update, context: BotContext, step: Step) -> State:
    """Store the measures, ask for the deadline."""
    text = _typed(update, MEASURES_LIMIT)
    if text is None:
        _too_long(context, step, MEASURES_LIMIT)
        return None
    step.data["measures"] = text
    rows = [
        [
            (
                context.tr.ngettext("{months} month", "{months} months", m).format(months=m),
                DueIn(m).data,
            )
        ]
        for m in DUE_MONTHS
    ]
    step.reply(context._("By when? Choose, or type a date as YYYY-MM-DD."), keyboard(rows))
    return DUE


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


def _store_due(context: BotContext, step: Step, due: dt.date) -> State:
    step.data["due"] = due.isoformat()
    step.reply(context._("Who is responsible? (a name)"))
    return RESPONSIBLE


@FLOW.step(registered=True, roles=LEADERS)
async def due_pressed(update: Update, context: BotContext, step: Step) -> State:
    """gr:due: a deadline some months from today."""
    months = DueIn.read(update).months
    if months not in DUE_MONTHS:
        raise Refused()
    return _store_due(context, step, _add_months(context.today(), months))


@FLOW.step(registered=True, roles=LEADERS)
async def due_typed(update: Update, context: BotContext, step: Step) -> State:
    """A typed YYYY-MM-DD deadline."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    try:
        due: dt.date | None = dt.date.fromisoformat(text.strip())
    except ValueError:
        due = None
    if due is None or due < context.today():
        step.reply(context._("Please type a date from today on, as YYYY-MM-DD."))
        return None
    return _store_due(context, step, due)


@FLOW.step(registered=True, roles=LEADERS)
async def responsible_typed(update: Update, context: BotContext, step: Step) -> State:
    """Store the item (the branch is checked again: the sender may have stopped leading it)."""
    name = _typed(update, NAME_LIMIT)
    if name is None:
        step.reply(context._("Please type a name, at most 100 characters."))
        return None
    found = await scope.led_weak_assessment(
        step.session, context.principal, int(step.data.get("aid", 0))
    )
    if found is None:
        raise Refused()
    assessment = found[1]
    await rectify.add_rectification(
        step.session,
        assessment=assessment,
        problem=str(step.data["problem"]),
        measures=str(step.data["measures"]),
        due_on=dt.date.fromisoformat(str(step.data["due"])),
        responsible=name,
        actor=context.account,
    )
    step.reply(
        context._("Saved. Members can see the rectification list with /survey."),
        keyboard([[(context._("Show the list"), RectificationList(assessment.id).data)]]),
    )
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(update, context, context._("Please answer the question above, or /cancel."))


def build() -> ConversationHandler[BotContext]:
    """The conversation that enters one rectification item."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(add_item, pattern=AddProblem.pattern)],
        states={
            PROBLEM: [MessageHandler(text, problem_typed)],
            MEASURES: [MessageHandler(text, measures_typed)],
            DUE: [
                CallbackQueryHandler(due_pressed, pattern=DueIn.pattern),
                MessageHandler(text, due_typed),
            ],
            RESPONSIBLE: [MessageHandler(text, responsible_typed)],
        },
        # Stale buttons of these flows are answered by the global stale-button handler.
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix=None),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )


def handlers() -> list[CallbackQueryHandler[BotContext, None]]:
    """The list and the done buttons."""
    return [
        CallbackQueryHandler(show_list, pattern=RectificationList.pattern),
        CallbackQueryHandler(mark_done, pattern=MarkDone.pattern),
    ]
