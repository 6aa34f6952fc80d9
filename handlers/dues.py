"""/dues: a member sees their own months; a branch's leaders see the month's collection, who is
in arrears and for how long, each member's ledger, and record leave.

Ticking payments, voiding and publishing the yearly account: handlers/dues_ticks.py; typing a
standard: handlers/dues_standard.py; the admins' report: handlers/dues_report.py. Every button
names a branch, member or leave record that is loaded and checked against the presser again.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.dues.ledger import MemberDues, branch_dues, member_dues, record_leave, void_leave
from bot.dues.local import dues_period, local_book
from bot.enums import LeaveReason
from bot.i18n import N_
from bot.rules.calendar import PeriodKind
from bot.rules.dues import Month, month_key
from handlers.common import Page, Refused, answer, edit_or_answer, escape, keyboard, sender
from handlers.dues_buttons import (
    DuesBranches,
    DuesChecklist,
    DuesLeave,
    DuesLeaveVoid,
    DuesMember,
    DuesMembers,
    DuesMine,
    DuesMonth,
    DuesPublish,
    DuesSetStandard,
    DuesVoid,
)
from handlers.dues_scope import latest, led_branch, led_member, month_named
from handlers.dues_texts import (
    arrears_text,
    current_month,
    member_text,
    money,
    month_text,
    months_span,
)
from storage import dues_queries as dq
from storage.models import OrgUnit

PAGE_SIZE = 10
LEAVE_MONTHS = (1, 3, 6)


def _collection_lines(context: BotContext, roster: list[MemberDues], month: Month) -> list[str]:
    due = [d for d in roster if d.ledger.due_fen(month) is not None]
    paid = [d for d in due if month in d.ledger.paid]
    lines = [
        context._("Paid: {paid} of {due} members · {collected} of {amount}").format(
            paid=len(paid),
            due=len(due),
            collected=money(context, sum(d.ledger.paid[month] for d in paid)),
            amount=money(context, sum(d.ledger.due_fen(month) or 0 for d in due)),
        )
    ]
    missing = [escape(d.person.name) for d in roster if d.ledger.due_fen(month) is None]
    if missing:
        lines.append(
            context._("No standard for this month: {names}").format(names=", ".join(missing))
        )
    return lines


async def month_view(
    context: BotContext, session: AsyncSession, branch: OrgUnit, month: Month
) -> tuple[str, InlineKeyboardMarkup]:
    """A branch's collection for a month, who is in arrears now, and the leader's buttons."""
    now_month = current_month(context)
    roster = await branch_dues(session, branch, now_month)
    period = await dues_period(session, branch)
    day = (await local_book(session, context.settings, branch.path)).dues_day(branch.id)
    collected = (
        context._("collected quarterly, on day {day}")
        if period is PeriodKind.QUARTER
        else context._("collected monthly, on day {day}")
    ).format(day=day)
    lines = [
        context._("<b>Party dues: {branch}</b>").format(
            branch=escape(branch.display_name(context.tr.locale))
        ),
        f"{month_text(context, month)} · {collected}",
        *_collection_lines(context, roster, month),
        "",
    ]
    owing = [text for dues in roster if (text := arrears_text(context, dues)) is not None]
    if owing:
        lines.append(
            context._("<b>In arrears</b> (as of {month})").format(
                month=month_text(context, now_month)
            )
        )
        lines += ["• " + text for text in owing]
    else:
        lines.append(context._("Nobody is in arrears."))
    year = month // 12
    published = await dq.published_account(session, branch.id, year)
    if published is not None:
        lines.append(
            context._("The {year} account was published on {date}.").format(
                year=year, date=context.tr.date(published.published_at.astimezone(context.tr.tz))
            )
        )
    navigation = [(context._("‹ Previous month"), DuesMonth(branch.id, month_key(month - 1)).data)]
    if month < latest(context):  # months ahead, as far as members may prepay
        navigation.append(
            (context._("Next month ›"), DuesMonth(branch.id, month_key(month + 1)).data)
        )
    rows = [
        [(context._("✔ Tick who paid"), DuesChecklist(branch.id, month_key(month), 0).data)],
        navigation,
        [(context._("Members and standards"), DuesMembers(branch.id, 0).data)],
    ]
    if published is None and year in (now_month // 12, now_month // 12 - 1):
        rows.append(
            [
                (
                    context._("Publish the {year} account").format(year=year),
                    DuesPublish(branch.id, year).data,
                )
            ]
        )
    if len(_led_ids(context)) > 1:
        rows.append([(context._("‹ Other branches"), DuesBranches(0).data)])
    if context.principal.branch_id is not None:
        rows.append([(context._("My own dues"), DuesMine().data)])
    return "\n".join(lines), keyboard(rows)


def _led_ids(context: BotContext) -> list[int]:
    """The branches the presser leads, each once (secretary of one, deputy of another...)."""
    return list(dict.fromkeys(grant.org_id for grant in context.principal.led_branches()))


async def _branches_view(context: BotContext, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """A page of the branches the leader leads, each opening its collection this month."""
    led = _led_ids(context)
    shown = Page.of(page, len(led), PAGE_SIZE)
    month = month_key(current_month(context))
    async with context.db() as session:
        branches = [
            await led_branch(context, session, branch_id)
            for branch_id in led[shown.offset : shown.offset + PAGE_SIZE]
        ]
    rows = [
        [(branch.display_name(context.tr.locale)[:60], DuesMonth(branch.id, month).data)]
        for branch in branches
    ]
    navigation = shown.buttons(lambda n: DuesBranches(n).data)
    if navigation:
        rows.append(navigation)
    if context.principal.branch_id is not None:
        rows.append([(context._("My own dues"), DuesMine().data)])
    text = context._("<b>Party dues</b>: which branch's collection?")
    return f"{text} {shown.caption(context)}".rstrip(), keyboard(rows)


@sender(registered=True)
async def dues_command(update: Update, context: BotContext) -> None:
    """/dues: a leader's branch this month (a leader of several picks one first); a member's
    own months."""
    led = _led_ids(context)
    if len(led) > 1:
        text, markup = await _branches_view(context, 0)
        await answer(update, context, text, markup)
        return
    if led:
        async with context.db() as session:
            branch = await led_branch(context, session, led[0])
            text, markup = await month_view(context, session, branch, current_month(context))
        await answer(update, context, text, markup)
        return
    await _own(update, context)


@sender(registered=True)
async def branches_pressed(update: Update, context: BotContext) -> None:
    """A page of the branches the presser leads (none: not a leader any more)."""
    page = DuesBranches.read(update).page
    if not _led_ids(context):
        raise Refused()
    text, markup = await _branches_view(context, page)
    await edit_or_answer(update, context, text, markup)


async def _own(update: Update, context: BotContext) -> None:
    person_id = context.principal.person_id
    if context.principal.branch_id is None or person_id is None:
        if context.principal.admin_grants():
            await answer(
                update,
                context,
                context._("The collection of your subtree: /report dues."),
            )
            return
        raise Refused()
    async with context.db() as session:
        person = await dq.person_by_id(session, person_id)
        if person is None:
            raise Refused()
        dues = await member_dues(session, person, current_month(context))
    text = member_text(context, dues, own=True)
    if context.principal.admin_grants():
        text += "\n\n" + context._("The collection of your subtree: /report dues.")
    await edit_or_answer(update, context, text)


@sender(registered=True)
async def mine_pressed(update: Update, context: BotContext) -> None:
    """A leader's own months."""
    DuesMine.read(update)
    await _own(update, context)


@sender(registered=True)
async def month_pressed(update: Update, context: BotContext) -> None:
    """Another month of a led branch's collection."""
    button = DuesMonth.read(update)
    month = month_named(context, button.month)
    async with context.db() as session:
        branch = await led_branch(context, session, button.branch_id)
        text, markup = await month_view(context, session, branch, month)
    await edit_or_answer(update, context, text, markup)


@sender(registered=True)
async def members_pressed(update: Update, context: BotContext) -> None:
    """A page of the branch's members with their standards."""
    button = DuesMembers.read(update)
    now_month = current_month(context)
    async with context.db() as session:
        branch = await led_branch(context, session, button.branch_id)
        roster = await branch_dues(session, branch, now_month)
    page = Page.of(button.page, len(roster), PAGE_SIZE)
    rows = []
    for dues in roster[page.offset : page.offset + PAGE_SIZE]:
        fen = dues.ledger.due_fen(now_month)
        standard = money(context, fen) if fen is not None else context._("no standard")
        rows.append([(f"{dues.person.name} · {standard}"[:60], DuesMember(dues.person.id).data)])
    navigation = page.buttons(lambda n: DuesMembers(branch.id, n).data)
    if navigation:
        rows.append(navigation)
    rows.append([(context._("‹ Back"), DuesMonth(branch.id, month_key(now_month)).data)])
    text = context._("Members of {branch}: choose one to see their ledger.").format(
        branch=escape(branch.display_name(context.tr.locale))
    )
    await edit_or_answer(
        update, context, f"{text} {page.caption(context)}".rstrip(), keyboard(rows)
    )


async def member_view(
    context: BotContext, session: AsyncSession, person_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One member's ledger for their branch's leaders, with what they may do to it."""
    person, branch = await led_member(context, session, person_id)
    now_month = current_month(context)
    dues = await member_dues(session, person, now_month)
    lines = [member_text(context, dues, own=False)]
    rows = [[(context._("Set the monthly standard"), DuesSetStandard(person.id).data)]]
    paid = [m for m in sorted(dues.payment_ids) if m // 12 == now_month // 12 or m > now_month]
    for start in range(0, len(paid), 3):
        rows.append(
            [
                (
                    context._("Void {month}").format(month=month_text(context, m)),
                    DuesVoid(dues.payment_ids[m], 0).data,
                )
                for m in paid[start : start + 3]
            ]
        )
    leaves = await dq.leaves_of(session, [person.id])
    if leaves:
        lines.append("")
        lines.append(context._("<b>Recorded leave</b>"))
    for leave in leaves:
        months = list(range(leave.first_month, leave.last_month + 1))
        label = context._(LEAVE_LABELS[leave.reason])
        lines.append(f"• {label}: {months_span(context, months)}")
        rows.append([(context._("Void this leave"), DuesLeaveVoid(leave.id).data)])
    for reason in LeaveReason:
        rows.append(
            [
                (_leave_button(context, reason, n), DuesLeave(person.id, reason, n).data)
                for n in LEAVE_MONTHS
            ]
        )
    rows.append([(context._("‹ Back to the members"), DuesMembers(branch.id, 0).data)])
    return "\n".join(lines), keyboard(rows)


LEAVE_LABELS = {LeaveReason.SICK: N_("sick leave"), LeaveReason.EXCUSED: N_("excused")}


def _leave_button(context: BotContext, reason: LeaveReason, months: int) -> str:
    if reason is LeaveReason.SICK:
        text = context.tr.ngettext(
            "Sick leave: {count} month", "Sick leave: {count} months", months
        )
    else:
        text = context.tr.ngettext("Excused: {count} month", "Excused: {count} months", months)
    return text.format(count=months)


@sender(registered=True)
async def member_pressed(update: Update, context: BotContext) -> None:
    """One member's ledger."""
    person_id = DuesMember.read(update).person_id
    async with context.db() as session:
        text, markup = await member_view(context, session, person_id)
    await edit_or_answer(update, context, text, markup)


@sender(registered=True)
async def leave_pressed(update: Update, context: BotContext) -> None:
    """Record a member as on leave from this month for some months (not counted as missing)."""
    button = DuesLeave.read(update)
    if button.months not in LEAVE_MONTHS:
        raise Refused()
    first = current_month(context)
    async with context.db.begin() as session:
        person, _branch = await led_member(context, session, button.person_id)
        await record_leave(
            session,
            person=person,
            first=first,
            last=first + button.months - 1,
            reason=button.reason,
            actor=context.account,
        )
        text, markup = await member_view(context, session, person.id)
    await edit_or_answer(update, context, text, markup)


@sender(registered=True)
async def leave_void_pressed(update: Update, context: BotContext) -> None:
    """Void a leave record entered by mistake."""
    leave_id = DuesLeaveVoid.read(update).leave_id
    async with context.db.begin() as session:
        leave = await dq.leave_by_id(session, leave_id)
        if leave is None or leave.voided_at is not None:
            raise Refused()
        person, branch = await led_member(context, session, leave.person_id)
        await void_leave(
            session,
            leave=leave,
            branch_id=branch.id,
            actor=context.account,
            now=context.settings.now(),
        )
        text, markup = await member_view(context, session, person.id)
    await edit_or_answer(update, context, text, markup)


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/dues and the buttons of its views."""
    return [
        CommandHandler("dues", dues_command),
        CallbackQueryHandler(month_pressed, pattern=DuesMonth.pattern),
        CallbackQueryHandler(members_pressed, pattern=DuesMembers.pattern),
        CallbackQueryHandler(member_pressed, pattern=DuesMember.pattern),
        CallbackQueryHandler(leave_pressed, pattern=DuesLeave.pattern),
        CallbackQueryHandler(leave_void_pressed, pattern=DuesLeaveVoid.pattern),
        CallbackQueryHandler(mine_pressed, pattern=DuesMine.pattern),
        CallbackQueryHandler(branches_pressed, pattern=DuesBranches.pattern),
    ]
