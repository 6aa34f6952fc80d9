"""Typing a member's monthly standard (a conversation entered from /dues).

The leader presses "Set the monthly standard" on a member and types the amount in yuan,
optionally with the first month it applies to (`12.50 2027-01`; this month by default). A
negative, zero or non-numeric amount, or a month further ahead than a year, gets a clear
answer and the question again; nothing is stored until the standard is valid. Every step
checks again that the sender leads the member's branch.
"""

from __future__ import annotations

import datetime as dt

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.context import BotContext
from bot.dues.ledger import member_dues, set_standard
from bot.rules.dues import AmountError, parse_amount, parse_month
from handlers.cancel import conversation_fallbacks
from handlers.common import answer, escape, keyboard
from handlers.dues_buttons import DuesMember, DuesSetStandard
from handlers.dues_scope import led_member
from handlers.dues_texts import AMOUNT_PROBLEMS, current_month, money, month_text, standard_text
from handlers.flow import Flow, State, Step

# An untouched question ends after this, in any process (judged on the draft's age).
IDLE_TIMEOUT = dt.timedelta(minutes=30)
FLOW = Flow("dues_standard", idle=IDLE_TIMEOUT)
AMOUNT = "amount"
# A standard is decided for the coming year at the latest.
AHEAD_MONTHS = 12


@FLOW.step(registered=True, entry=True)
async def start(update: Update, context: BotContext, step: Step) -> State:
    """dues:s: ask a led member's standard."""
    person_id = DuesSetStandard.read(update).person_id
    person, branch = await led_member(context, step.session, person_id)
    dues = await member_dues(step.session, person, current_month(context))
    step.data.update(person_id=person.id, branch_id=branch.id)
    step.reply(
        "\n".join(
            [
                context._("Monthly Party dues of {name}: {current}").format(
                    name=escape(person.name), current=standard_text(context, dues)
                ),
                context._(
                    "Type the new monthly standard in yuan, for example 12.50. To start it in "
                    "a later month, add the month: 12.50 {example}. Send /cancel to stop."
                ).format(example=f"{current_month(context) // 12 + 1}-01"),
            ]
        )
    )
    return AMOUNT


@FLOW.step(registered=True)
async def typed(update: Update, context: BotContext, step: Step) -> State:
    """The amount (and month): stored when valid, else the reason and the question again."""
    person, _branch = await led_member(context, step.session, int(step.data.get("person_id", 0)))
    message = update.effective_message
    parts = (message.text or "").split() if message is not None else []
    now_month = current_month(context)
    try:
        fen = parse_amount(parts[0] if parts else "")
    except AmountError as error:
        step.reply(context._(AMOUNT_PROBLEMS[error.problem]))
        return None
    month = parse_month(parts[1]) if len(parts) == 2 else now_month if len(parts) == 1 else None
    if month is None or not now_month - 12 <= month <= now_month + AHEAD_MONTHS:
        step.reply(
            context._(
                "Add the month as 2026-11, within a year from now, or leave it out for this "
                "month. Nothing was saved yet."
            )
        )
        return None
    await set_standard(
        step.session,
        person=person,
        from_month=month,
        fen=fen,
        actor=context.account,
        now=context.settings.now(),
    )
    step.reply(
        context._("Saved: {name} pays {amount} a month from {month}.").format(
            name=escape(person.name), amount=money(context, fen), month=month_text(context, month)
        ),
        keyboard([[(context._("‹ Back to the member"), DuesMember(person.id).data)]]),
    )
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(
        update,
        context,
        context._("Type the monthly standard in yuan, for example 12.50, or send /cancel."),
    )


def build() -> ConversationHandler[BotContext]:
    """The standard conversation."""
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(start, pattern=DuesSetStandard.pattern)],
        states={AMOUNT: [MessageHandler(filters.TEXT & ~filters.COMMAND, typed)]},
        # Its one button is the entry point (pressed again, it starts over); anything else
        # under dues: belongs to /dues and must reach it while the question is open.
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix=None),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
