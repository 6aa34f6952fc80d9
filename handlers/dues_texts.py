"""Texts shared by the dues handlers: amounts, months, a member's year, refusals."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_skeleton

from bot.context import BotContext
from bot.dues.ledger import Collection, MemberDues, Problem
from bot.dues.register import Timer
from bot.grading.questionnaire import PrefillEvidence
from bot.i18n import N_
from bot.rules.calendar import ObligationState, period_containing
from bot.rules.dues import (
    AmountProblem,
    Month,
    MonthState,
    arrears_run,
    first_day,
    format_amount,
    month_of,
)
from handlers.common import escape
from handlers.compliance_texts import STATE_MARKS as STATE_MARKS_DUE
from handlers.compliance_texts import period_label

AMOUNT_PROBLEMS = {
    AmountProblem.NOT_A_NUMBER: N_("That is not an amount. Type it in yuan, for example 12.50."),
    AmountProblem.NEGATIVE: N_("An amount cannot be negative. Type it in yuan, for example 12.50."),
    AmountProblem.ZERO: N_("The amount must be more than zero."),
    AmountProblem.TOO_PRECISE: N_("At most two decimals (fen), for example 12.50."),
    AmountProblem.TOO_LARGE: N_("That is more than any monthly standard; check the amount."),
}
LEDGER_PROBLEMS = {
    Problem.NOT_ON_ROSTER: N_("That member is not on this branch's roster. Nothing was changed."),
    Problem.NO_STANDARD: N_(
        "That member has no monthly standard for this month yet: set one first. Nothing was "
        "changed."
    ),
    Problem.ALREADY_PAID: N_("That month is already recorded as paid. Nothing was changed."),
    Problem.TOO_FAR_AHEAD: N_(
        "That month is further ahead than members may prepay. Nothing was changed."
    ),
    Problem.ALREADY_VOID: N_("That entry was already voided. Nothing was changed."),
    Problem.ALREADY_PUBLISHED: N_(
        "This year's account was already published. Nothing was changed."
    ),
}
STATE_MARKS = {
    MonthState.PAID: "✅",
    MonthState.ARREARS: "❗",
    MonthState.OPEN: "⏳",
    MonthState.NOT_DUE: "▫️",
}


def money(context: BotContext, fen: int) -> str:
    """12.50 yuan / 12.50 元."""
    return context._("{amount} yuan").format(amount=format_amount(fen))


def month_text(context: BotContext, month: Month) -> str:
    """November 2026 / 2026年11月."""
    return context.tr.month(first_day(month))


def short_month(context: BotContext, month: Month) -> str:
    """Nov / 11月."""
    return format_skeleton("MMM", first_day(month), locale=context.tr.babel_locale)


def current_month(context: BotContext) -> Month:
    """This month in the organisation's time zone, on the bot's clock."""
    return month_of(context.today())


def not_a_leader(context: BotContext) -> str:
    """The refusal for someone pressing a branch's ledger button they may not use."""
    return context._("Sorry, this is not available for your role. Nothing was changed.")


def months_span(context: BotContext, months: list[Month]) -> str:
    """`September 2026` or `September–November 2026`-like spans, joined."""
    if not months:
        return ""
    if len(months) == 1:
        return month_text(context, months[0])
    return context._("{first} to {last}").format(
        first=month_text(context, months[0]), last=month_text(context, months[-1])
    )


def arrears_text(context: BotContext, dues: MemberDues) -> str | None:
    """`李强: 3 months (September 2026 to November 2026), 37.50 yuan`, or None."""
    arrears = dues.ledger.arrears()
    if not arrears:
        return None
    months = [line.month for line in arrears]
    text = context.tr.ngettext(
        "{name}: {count} month ({months}), {amount}",
        "{name}: {count} months ({months}), {amount}",
        len(months),
    ).format(
        name=escape(dues.person.name),
        count=len(months),
        months=months_span(context, months),
        amount=money(context, dues.ledger.arrears_fen()),
    )
    run = arrears_run(dues.ledger)
    if run and run != len(months):
        text += " " + context.tr.ngettext("({count} in a row)", "({count} in a row)", run).format(
            count=run
        )
    return text


def year_lines(context: BotContext, dues: MemberDues, year: int) -> list[str]:
    """One line per month of a year: mark, month, and the amount paid or due."""
    lines = []
    for line in dues.ledger.year(year):
        if line.state is MonthState.PAID and line.paid_fen is not None:
            amount = money(context, line.paid_fen)
        elif line.state in (MonthState.ARREARS, MonthState.OPEN) and line.due_fen is not None:
            amount = context._("{amount} due").format(amount=money(context, line.due_fen))
        else:
            amount = "—"
        lines.append(f"{STATE_MARKS[line.state]} {short_month(context, line.month)}: {amount}")
    return lines


def standard_text(context: BotContext, dues: MemberDues) -> str:
    """The standard in force now, or that there is none."""
    fen = dues.ledger.due_fen(dues.ledger.current)
    if fen is None:
        upcoming = [s for s in dues.ledger.standards if s.from_month > dues.ledger.current]
        if upcoming:
            return context._("Monthly standard: {amount} from {month}.").format(
                amount=money(context, upcoming[0].fen),
                month=month_text(context, upcoming[0].from_month),
            )
        return context._("No monthly standard is recorded yet.")
    current = dues.ledger.current
    started = max(s.from_month for s in dues.ledger.standards if s.from_month <= current)
    return context._("Monthly standard: {amount} since {month}.").format(
        amount=money(context, fen), month=month_text(context, started)
    )


def member_text(context: BotContext, dues: MemberDues, *, own: bool) -> str:
    """A member's dues this year: standard, each month, arrears and prepaid months."""
    year = dues.ledger.current // 12
    title = (
        context._("<b>Your Party dues in {year}</b>")
        if own
        else context._("<b>Party dues of {name} in {year}</b>")
    ).format(year=year, name=escape(dues.person.name))
    lines = [title, standard_text(context, dues), "", *year_lines(context, dues, year), ""]
    arrears = dues.ledger.arrears()
    if arrears:
        lines.append(
            context.tr.ngettext(
                "In arrears: {count} month, {amount} ({months}).",
                "In arrears: {count} months, {amount} ({months}).",
                len(arrears),
            ).format(
                count=len(arrears),
                amount=money(context, dues.ledger.arrears_fen()),
                months=", ".join(month_text(context, line.month) for line in arrears),
            )
        )
    else:
        lines.append(context._("Nothing in arrears."))
    prepaid = dues.ledger.prepaid()
    if prepaid:
        lines.append(
            context._("Paid ahead: {months}.").format(
                months=", ".join(month_text(context, month) for month in prepaid)
            )
        )
    lines.append(context._("✅ paid · ⏳ due this month · ❗ in arrears · ▫️ nothing due"))
    return "\n".join(lines)


def dues_due_line(context: BotContext, collection: Collection) -> str | None:
    """The `dues` calendar rule's line in /due (None when nothing is owed in the period)."""
    if collection.state is ObligationState.NOT_APPLICABLE:
        return None
    period = period_containing(collection.period, first_day(collection.months[0]))
    if collection.state is ObligationState.DONE:
        state = context._("everyone paid")
    elif collection.state is ObligationState.DUE:
        state = context.tr.ngettext(
            "{paid} of {owed} paid, {days} day left",
            "{paid} of {owed} paid, {days} days left",
            collection.days_left or 0,
        ).format(paid=collection.paid, owed=collection.owed, days=collection.days_left or 0)
    else:
        state = context._("overdue: {paid} of {owed} paid").format(
            paid=collection.paid, owed=collection.owed
        )
    return context._("{mark} Party dues ({period}): {state} · /dues").format(
        mark=STATE_MARKS_DUE[collection.state],
        period=period_label(context, period),
        state=state,
    )


def ledger_evidence(context: BotContext, evidence: PrefillEvidence, year: int) -> str | None:
    """What a grading suggestion from the dues ledger or training record rests on (None for
    the activity log's own)."""
    _ = context._
    if evidence.kind == "dues_in_full":
        text = _("Dues ledger {year}: collected in full in {met} of {target} months so far.")
        return text.format(year=year, met=evidence.periods_met, target=evidence.target)
    if evidence.kind == "dues_account_published":
        if evidence.total:
            return _("Dues ledger {year}: the account was published to the members.").format(
                year=year
            )
        return _("Dues ledger {year}: the account is not published yet.").format(year=year)
    if evidence.kind == "dues_arrears_over_6_months":
        return _("Dues ledger: members owing dues for more than six months: {count}.").format(
            count=evidence.total
        )
    if evidence.kind == "secretary_training":
        return _(
            "Training record {year}: rotation or induction trainings the secretary attended: "
            "{count}."
        ).format(year=year, count=evidence.total)
    if evidence.kind == "secretary_class_hours":
        text = _("Training record {year}: the secretary's class hours: {count} of {target}.")
        return text.format(year=year, count=evidence.total, target=evidence.target)
    return None


def register_lines(context: BotContext, timers: list[Timer], today: dt.date) -> list[str]:
    """The lost-contact register's timers, for /report relink."""
    _ = context._
    due = [t for t in timers if t.decision_due(today)]
    lines = [
        _("Lost-contact register: {count} not re-linked; six months passed for {due}.").format(
            count=len(timers), due=len(due)
        )
    ]
    for timer in timers[:30]:
        values = {
            "name": escape(timer.name),
            "branch": escape(timer.branch_code),
            "lost": context.tr.date(timer.lost_on),
            "decide": context.tr.date(timer.decide_on),
            "next": context.tr.date(timer.next_on),
        }
        if timer.decision_due(today):
            line = _(
                "– {name} ({branch}): lost contact {lost}; decision due since {decide}; next "
                "review {next}"
            )
        else:
            line = _("– {name} ({branch}): lost contact {lost}; decide on {decide}")
        lines.append(line.format(**values))
    return lines
