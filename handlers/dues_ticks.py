"""Ticking payments in /dues: the branch's checklist for a month (ten a page), one member at
a time or "all remaining paid" after a confirmation; voiding a payment with a reason; and
publishing the yearly account to the members after one confirmation.

Every press reloads what its button names and checks the presser leads that branch, in the
transaction that changes the ledger; replies follow the commit.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.dues.account import account_figures, publish_account
from bot.dues.ledger import (
    LedgerRefused,
    Problem,
    branch_dues,
    record_payment,
    record_remaining,
    void_payment,
)
from bot.enums import DuesVoidReason
from bot.i18n import N_
from bot.reminders.engine import tick_now
from bot.rules.dues import Month, month_key
from handlers.common import Page, Refused, edit_or_answer, escape, keyboard, sender
from handlers.dues_buttons import (
    DuesAllConfirmed,
    DuesAllRemaining,
    DuesChecklist,
    DuesMonth,
    DuesPublish,
    DuesPublishConfirmed,
    DuesSetStandard,
    DuesTick,
    DuesVoid,
    DuesVoidConfirmed,
    PaymentVoidReason,
)
from handlers.dues_scope import latest, led_branch, led_member, month_named
from handlers.dues_texts import LEDGER_PROBLEMS, current_month, money, month_text
from storage import dues_queries as dq
from storage.models import OrgUnit

PAGE_SIZE = 10
VOID_REASONS: dict[PaymentVoidReason, str] = {
    "mistake": N_("entered by mistake"),
    "not_paid": N_("not actually paid"),
    "duplicate": N_("duplicate entry"),
}


def _refused(context: BotContext, refused: LedgerRefused) -> Refused:
    return Refused(context._(LEDGER_PROBLEMS[refused.problem]))


async def checklist(
    context: BotContext, session: AsyncSession, branch: OrgUnit, month: Month, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the branch's members for a month: ▫️ to tick, ✅ to void, — to set a
    standard first."""
    roster = await branch_dues(session, branch, current_month(context))
    shown = Page.of(page, len(roster), PAGE_SIZE)
    key = month_key(month)
    rows = []
    for dues in roster[shown.offset : shown.offset + PAGE_SIZE]:
        name = dues.person.name
        fen = dues.ledger.due_fen(month)
        if month in dues.ledger.paid:
            label = f"✅ {name} · {money(context, dues.ledger.paid[month])}"
            data = DuesVoid(dues.payment_ids[month], shown.index).data
        elif fen is None:
            label = "— " + context._("{name}: no standard").format(name=name)
            data = DuesSetStandard(dues.person.id).data
        else:
            label = f"▫️ {name} · {money(context, fen)}"
            data = DuesTick(branch.id, key, dues.person.id, shown.index).data
        rows.append([(label[:60], data)])
    navigation = shown.buttons(lambda n: DuesChecklist(branch.id, key, n).data)
    if navigation:
        rows.append(navigation)
    rows.append([(context._("All remaining paid"), DuesAllRemaining(branch.id, key).data)])
    rows.append([(context._("Done"), DuesMonth(branch.id, key).data)])
    text = context._(
        "Who has paid for {month}? Press a name to record the payment at their standard; "
        "press a ✅ name to void a wrong entry."
    ).format(month=month_text(context, month))
    return f"{text} {shown.caption(context)}".rstrip(), keyboard(rows)


@sender(registered=True)
async def checklist_pressed(update: Update, context: BotContext) -> None:
    """A page of the checklist."""
    button = DuesChecklist.read(update)
    month = month_named(context, button.month)
    async with context.db() as session:
        branch = await led_branch(context, session, button.branch_id)
        text, markup = await checklist(context, session, branch, month, button.page)
    await edit_or_answer(update, context, text, markup)


@sender(registered=True)
async def tick_pressed(update: Update, context: BotContext) -> None:
    """Record one member's month as paid at their standard."""
    button = DuesTick.read(update)
    month = month_named(context, button.month)
    async with context.db.begin() as session:
        branch = await led_branch(context, session, button.branch_id)
        person = await dq.person_by_id(session, button.person_id)
        if person is None or person.branch_id != branch.id:
            raise Refused()
        try:
            await record_payment(
                session,
                branch=branch,
                person=person,
                month=month,
                latest=latest(context),
                actor=context.account,
                today=context.today(),
            )
        except LedgerRefused as refused:
            raise _refused(context, refused) from None
        text, markup = await checklist(context, session, branch, month, button.page)
    await edit_or_answer(update, context, text, markup)


@sender(registered=True)
async def all_remaining_pressed(update: Update, context: BotContext) -> None:
    """Ask before recording the month as paid for everyone who has not paid it."""
    button = DuesAllRemaining.read(update)
    month = month_named(context, button.month)
    async with context.db() as session:
        branch = await led_branch(context, session, button.branch_id)
        roster = await branch_dues(session, branch, current_month(context))
    remaining = [
        fen
        for dues in roster
        if (fen := dues.ledger.due_fen(month)) is not None and month not in dues.ledger.paid
    ]
    back = DuesChecklist(branch.id, button.month, 0).data
    if not remaining:
        text = context._("Everyone with a standard has paid for {month}.").format(
            month=month_text(context, month)
        )
        await edit_or_answer(update, context, text, keyboard([[(context._("‹ Back"), back)]]))
        return
    text = context.tr.ngettext(
        "Record {month} as paid for the {count} member who has not paid yet ({amount})? "
        "Members without a standard are left out.",
        "Record {month} as paid for the {count} members who have not paid yet ({amount} in "
        "all)? Members without a standard are left out.",
        len(remaining),
    ).format(
        month=month_text(context, month),
        count=len(remaining),
        amount=money(context, sum(remaining)),
    )
    rows = [
        [
            (
                context._("Yes, all {count} paid").format(count=len(remaining)),
                DuesAllConfirmed(branch.id, button.month).data,
            )
        ],
        [(context._("No, go back"), back)],
    ]
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def all_confirmed(update: Update, context: BotContext) -> None:
    """Record the month for everyone remaining (whoever is still unpaid now)."""
    button = DuesAllConfirmed.read(update)
    month = month_named(context, button.month)
    async with context.db.begin() as session:
        branch = await led_branch(context, session, button.branch_id)
        try:
            payments = await record_remaining(
                session,
                branch=branch,
                month=month,
                latest=latest(context),
                actor=context.account,
                today=context.today(),
            )
        except LedgerRefused as refused:
            raise _refused(context, refused) from None
        text, markup = await checklist(context, session, branch, month, 0)
    done = context.tr.ngettext(
        "Recorded: {count} member paid for {month}.",
        "Recorded: {count} members paid for {month}.",
        len(payments),
    ).format(count=len(payments), month=month_text(context, month))
    await edit_or_answer(update, context, f"{done}\n\n{text}", markup)


@sender(registered=True)
async def void_pressed(update: Update, context: BotContext) -> None:
    """Ask why a payment is to be voided."""
    button = DuesVoid.read(update)
    async with context.db() as session:
        payment = await dq.payment_by_id(session, button.payment_id)
        if payment is None or payment.voided_at is not None:
            raise Refused()
        person, branch = await led_member(context, session, payment.person_id)
        if payment.branch_id != branch.id:
            raise Refused()
    text = context._(
        "Void the payment of {name} for {month} ({amount})? It stays in the ledger, marked "
        "void with the reason, and the month is unpaid again."
    ).format(
        name=escape(person.name),
        month=month_text(context, payment.month),
        amount=money(context, payment.amount_fen),
    )
    rows: list[list[tuple[str, str]]] = [
        [(context._(label), DuesVoidConfirmed(payment.id, reason, button.page).data)]
        for reason, label in VOID_REASONS.items()
    ]
    rows.append(
        [
            (
                context._("No, keep it"),
                DuesChecklist(branch.id, month_key(payment.month), button.page).data,
            )
        ]
    )
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def void_confirmed(update: Update, context: BotContext) -> None:
    """Void the payment with the chosen reason."""
    button = DuesVoidConfirmed.read(update)
    async with context.db.begin() as session:
        payment = await dq.payment_by_id(session, button.payment_id)
        if payment is None:
            raise Refused()
        _person, branch = await led_member(context, session, payment.person_id)
        if payment.branch_id != branch.id:
            raise Refused()
        try:
            await void_payment(
                session,
                payment=payment,
                reason=DuesVoidReason(button.reason),
                actor=context.account,
                now=context.settings.now(),
            )
        except LedgerRefused as refused:
            raise _refused(context, refused) from None
        text, markup = await checklist(context, session, branch, payment.month, button.page)
    await edit_or_answer(update, context, text, markup)


def _year_named(context: BotContext, year: int) -> int:
    """A year whose account may be published: this one or the last."""
    this_year = current_month(context) // 12
    if year not in (this_year, this_year - 1):
        raise Refused()
    return year


@sender(registered=True)
async def publish_pressed(update: Update, context: BotContext) -> None:
    """Show the account to be published, and ask once."""
    button = DuesPublish.read(update)
    year = _year_named(context, button.year)
    async with context.db() as session:
        branch = await led_branch(context, session, button.branch_id)
        if await dq.published_account(session, branch.id, year) is not None:
            raise Refused(context._(LEDGER_PROBLEMS[Problem.ALREADY_PUBLISHED]))
        figures = await account_figures(session, branch, year, current_month(context))
        members = len(await dq.member_accounts(session, branch.id))
    text = context._(
        "Publish the {year} Party dues account of {branch} to its members ({count} with the "
        "bot)? It says: collected {amount}; members who paid: {payers} of {members}; months in "
        "arrears: {arrears}. It shows no individual amounts. An account is published once a "
        "year."
    ).format(
        year=year,
        branch=escape(branch.display_name(context.tr.locale)),
        count=members,
        amount=money(context, figures.collected_fen),
        payers=figures.payers,
        members=figures.members,
        arrears=figures.arrears_months,
    )
    rows = [
        [(context._("Publish"), DuesPublishConfirmed(branch.id, year).data)],
        [(context._("No, go back"), DuesMonth(branch.id, month_key(current_month(context))).data)],
    ]
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True)
async def publish_confirmed(update: Update, context: BotContext) -> None:
    """Publish the account (once a year) and send it to the members."""
    button = DuesPublishConfirmed.read(update)
    year = _year_named(context, button.year)
    async with context.db.begin() as session:
        branch = await led_branch(context, session, button.branch_id)
        try:
            _account, told = await publish_account(
                session,
                branch=branch,
                year=year,
                current=current_month(context),
                actor=context.account,
                now=context.settings.now(),
            )
        except LedgerRefused as refused:
            raise _refused(context, refused) from None
    tick_now(context.job_queue)
    text = context.tr.ngettext(
        "Published: the {year} account goes to {count} member.",
        "Published: the {year} account goes to {count} members.",
        told,
    ).format(year=year, count=told)
    back = DuesMonth(branch.id, month_key(current_month(context))).data
    await edit_or_answer(update, context, text, keyboard([[(context._("‹ Back"), back)]]))


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The checklist, voiding and publishing buttons."""
    return [
        CallbackQueryHandler(checklist_pressed, pattern=DuesChecklist.pattern),
        CallbackQueryHandler(tick_pressed, pattern=DuesTick.pattern),
        CallbackQueryHandler(all_remaining_pressed, pattern=DuesAllRemaining.pattern),
        CallbackQueryHandler(all_confirmed, pattern=DuesAllConfirmed.pattern),
        CallbackQueryHandler(void_pressed, pattern=DuesVoid.pattern),
        CallbackQueryHandler(void_confirmed, pattern=DuesVoidConfirmed.pattern),
        CallbackQueryHandler(publish_pressed, pattern=DuesPublish.pattern),
        CallbackQueryHandler(publish_confirmed, pattern=DuesPublishConfirmed.pattern),
    ]
