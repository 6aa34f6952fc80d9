"""/report compliance: admins see how the branches of their subtree stand (no ranking);
/report rules: the calendar rules in force for their subtree, and changing one of them.

Both read the subtrees from the admin's own grants: no command or button here names a node.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated, Literal, get_args

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.access import Principal
from bot.activities import KIND_LABELS
from bot.charts import ChartWords
from bot.commands import ADMINS
from bot.compliance import (
    RULE_KEYS,
    OverrideError,
    merge_subtrees,
    reset_override,
    rule_book,
    set_override,
)
from bot.compliance_report import ComplianceReport, ReportJob, ReportWords, build_report
from bot.context import BotContext
from bot.dues.local import period_of, set_dues_period
from bot.i18n import N_
from bot.rules.calendar import (
    DEFAULT_RULES,
    CalendarRule,
    ObligationState,
    Period,
    PeriodKind,
    Scope,
    past_month,
    period_containing,
    reference_day,
)
from bot.rules.dues import DUES_RULE_KEY
from handlers.busy import showing
from handlers.buttons import Button, Token
from handlers.common import Refused, answer, edit_or_answer, escape, keyboard, sender
from handlers.compliance_texts import month_buttons, period_label
from handlers.dues_report import report as dues_report
from handlers.grading_results import report_command as grading_report
from handlers.hours import report as training_report
from handlers.notice_report import report_notices
from handlers.relink_report import relink_report
from storage import queries
from storage.models import OrgUnit

RULE_KINDS = {rule.key: rule.kind for rule in DEFAULT_RULES}
# The reports of other areas, reached from /report's buttons.
OTHER_REPORTS = {
    "grading": grading_report,
    "relink": relink_report,
    "notices": report_notices,
    "dues": dues_report,
    "training": training_report,
}


Subject = Literal["compliance", "rules", "grading", "relink", "notices", "dues", "training"]


class ReportChoice(Button, prefix="rp:c"):
    """One of the reports, chosen from /report's buttons instead of typed."""

    subject: Subject


RuleKey = Annotated[str, Token("|".join(RULE_KEYS), "lecture")]
Change = Literal["month", "quarter", "half", "year", "on", "off", "reset"]


class RulePick(Button, prefix="rp:r"):
    """A calendar rule of the admin's subtree to change: offer the changes."""

    key: RuleKey


class RuleChange(Button, prefix="rp:rc"):
    """Change a calendar rule for the admin's whole subtree."""

    key: RuleKey
    change: Change


class ReportMonth(Button, prefix="rp"):
    """The compliance report for the periods containing a month."""

    month: Annotated[str, Token(r"\d{4}-\d{2}", "2026-11")]


def _state_names(context: BotContext) -> dict[ObligationState, str]:
    return {
        ObligationState.DONE: context._("done"),
        ObligationState.DUE: context._("due"),
        ObligationState.OVERDUE: context._("overdue"),
        ObligationState.NOT_APPLICABLE: context._("not applicable"),
    }


def _rule_name(context: BotContext, key: str) -> str:
    return context._(KIND_LABELS[RULE_KINDS[key]])


async def _roots(session: AsyncSession, principal: Principal) -> list[OrgUnit]:
    """The nodes the admin's grants name, without those inside another."""
    units = [await queries.org_by_id(session, grant.org_id) for grant in principal.admin_grants()]
    return merge_subtrees([unit for unit in units if unit is not None])


def _summary(
    context: BotContext, roots: list[OrgUnit], report: ComplianceReport, month: Period
) -> str:
    _ = context._
    scope = _(", ").join(root.display_name(context.tr.locale) for root in roots)
    lines = [
        _("<b>Compliance of {scope}</b>").format(scope=escape(scope)),
        _("Periods containing {month}; {count} branches.").format(
            month=period_label(context, month), count=report.branches
        ),
        "",
    ]
    for number, key in enumerate(RULE_KEYS, start=1):
        counts = report.counts[key]
        if counts[ObligationState.NOT_APPLICABLE] == report.branches:
            # No party groups anywhere, a rule switched off, or a window not yet begun.
            line = _("{number}. {rule}: does not apply to these branches in this period")
            lines.append(line.format(number=number, rule=_rule_name(context, key)))
            continue
        period = report.periods.get(key)
        lines.append(
            _("{number}. {rule} ({period}): done {done}, due {due}, overdue {overdue}").format(
                number=number,
                rule=_rule_name(context, key),
                period=period_label(context, period) if period else "—",
                done=counts[ObligationState.DONE],
                due=counts[ObligationState.DUE],
                overdue=counts[ObligationState.OVERDUE],
            )
        )
    return "\n".join(lines)


def _words(context: BotContext, roots: list[OrgUnit], month: Period) -> ReportWords:
    """What the chart and the workbook say, in the admin's language."""
    _ = context._
    scope = _(", ").join(root.display_name(context.tr.locale) for root in roots)
    header = [_("Branch code"), _("Branch")]
    for number, key in enumerate(RULE_KEYS, start=1):
        header.append(f"{number}. {_rule_name(context, key)}")
        header.append(_("{number}. dates").format(number=number))
    return ReportWords(
        chart=ChartWords(
            title=_("Compliance of {scope}, {period}").format(
                scope=scope, period=period_label(context, month)
            ),
            columns=[_rule_name(context, key) for key in RULE_KEYS],
            legend=_state_names(context),
        ),
        grid_caption=_("Branches with an overdue obligation, {page}"),
        page=_("page {page} of {pages}"),
        sheet=_("Compliance"),
        header=header,
        states=_state_names(context),
    )


async def _send_files(
    context: BotContext, chat_id: int, report: ComplianceReport, month: Period
) -> None:
    _ = context._
    charts = report.charts
    if len(charts.images) == 1:
        caption = _("Rows: branches; columns: the obligations numbered under the chart.")
    else:
        caption = _(
            "{total} branches: a summary per obligation, then the {shown} branches with an "
            "overdue obligation (the spreadsheet has every branch)."
        ).format(total=report.branches, shown=charts.branches_in_grids)
    async with showing(context.bot, chat_id, ChatAction.UPLOAD_PHOTO):
        for index, png in enumerate(charts.images):
            await context.bot.send_photo(chat_id, png, caption=caption if index == 0 else None)
    if report.workbook is None:
        return
    async with showing(context.bot, chat_id):
        await context.bot.send_document(
            chat_id,
            report.workbook,
            filename=f"compliance-{month.key}.xlsx",
            caption=_("One row per branch, periods containing {month}.").format(
                month=period_label(context, month)
            ),
        )


async def _send_report(update: Update, context: BotContext, month: Period) -> None:
    """Counts per obligation, then a chart and a spreadsheet of every branch."""
    today = context.today()
    async with context.db() as session:
        roots = await _roots(session, context.principal)
    job = ReportJob(
        root_ids=tuple(root.id for root in roots),
        on=reference_day(month, today),
        today=today,
        locale=context.tr.locale,
    )
    chat = update.effective_chat
    # Reading, judging, drawing and writing happen in the report worker process.
    async with showing(context.bot, chat.id, ChatAction.TYPING) if chat else nullcontext():
        report = await build_report(context.db, job, _words(context, roots, month))
    nav = keyboard([month_buttons(context, lambda m: ReportMonth(m.key).data, month, today)])
    await answer(update, context, _summary(context, roots, report, month), nav)
    if chat is None or not report.branches:
        return
    await _send_files(context, chat.id, report, month)


def _usage(context: BotContext) -> str:
    return context._(
        "Reports on your subtree: /report compliance [YYYY-MM], /report rules, "
        "/report grading, /report relink, /report notices, /report dues [YYYY-MM] or "
        "/report training"
    )


PERIOD_WORDS = {
    PeriodKind.MONTH: N_("month"),
    PeriodKind.QUARTER: N_("quarter"),
    PeriodKind.HALF: N_("half year"),
    PeriodKind.YEAR: N_("year"),
}
RULE_CHANGES = get_args(Change)


def _rule_line(context: BotContext, number: int, rule: CalendarRule) -> str:
    _ = context._
    line = _("{number}. {rule}: at least {count} every {period}").format(
        number=number,
        rule=_(KIND_LABELS[rule.kind]),
        count=rule.min_count,
        period=_(PERIOD_WORDS[rule.period]),
    )
    if rule.only_quarter:
        line += " " + _("(in Q{quarter})").format(quarter=rule.only_quarter)
    if rule.scope is Scope.PARTY_GROUP:
        line += " " + _("(each party group)")
    if not rule.enabled:
        line += " " + _("(off)")
    return line


def _rules_text(context: BotContext, org: OrgUnit, rules: list[CalendarRule]) -> str:
    _ = context._
    lines = [
        _("<b>Calendar rules for {org}</b>").format(org=escape(org.display_name(context.tr.locale)))
    ]
    lines.extend(_rule_line(context, number, rule) for number, rule in enumerate(rules, start=1))
    lines.append("")
    lines.append(
        _("Press a rule to change it for your whole subtree. A setting nearer to a branch wins.")
    )
    return "\n".join(lines)


def _rules_keyboard(context: BotContext, rules: list[CalendarRule]) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(f"{number}. {context._(KIND_LABELS[rule.kind])}", RulePick(rule.key).data)]
            for number, rule in enumerate(rules, start=1)
        ]
    )


CHANGE_LABELS: dict[str, str] = {
    "month": N_("every month"),
    "quarter": N_("every quarter"),
    "half": N_("every half year"),
    "year": N_("every year"),
    "on": N_("turn on"),
    "off": N_("turn off"),
    "reset": N_("as the level above"),
}


async def _change_rule(
    context: BotContext, session: AsyncSession, root: OrgUnit, key: str, change: str
) -> str:
    """Apply `/report rules <key> <change>` at the admin's node; what to tell them."""
    refused = context._("That change is not possible. Nothing was changed.")
    if key == DUES_RULE_KEY:
        # Party dues: monthly, or quarterly where it was decided so (reset: inherited again).
        if change not in ("month", "quarter", "reset"):
            return refused
        period = None if change == "reset" else PeriodKind(change)
        await set_dues_period(
            session, org=root, period=period, actor=context.account, actor_label="bot"
        )
        return context._("Saved.")
    if key not in RULE_KEYS or change not in RULE_CHANGES:
        return refused
    actor = context.account
    try:
        if change == "reset":
            await reset_override(session, org=root, rule_key=key, actor=actor, actor_label="bot")
        else:
            fields: dict[str, object] = (
                {"enabled": change == "on"} if change in ("on", "off") else {"period": change}
            )
            await set_override(
                session, org=root, rule_key=key, fields=fields, actor=actor, actor_label="bot"
            )
    except OverrideError:
        return refused
    return context._("Saved.")


async def _rules(update: Update, context: BotContext, args: list[str]) -> None:
    """Show the calendar rules in force at the admin's node, or change one of them."""
    if len(args) not in (1, 3):
        await answer(update, context, _usage(context))
        return
    note = ""
    async with context.db.begin() as session:
        roots = await _roots(session, context.principal)
        if not roots:
            raise Refused()
        root = roots[0]
        if len(args) == 3:
            note = await _change_rule(context, session, root, args[1].lower(), args[2].lower())
        rules = (await rule_book(session, root.path)).rules_for(root.path)
        dues = period_of(await rule_book(session, root.path), root.path)
    text = _rules_text(context, root, rules)
    text += _dues_line(context, dues)
    await answer(
        update, context, f"{note}\n\n{text}" if note else text, _rules_keyboard(context, rules)
    )


def _dues_line(context: BotContext, dues: PeriodKind) -> str:
    return "\n" + context._("Party dues ({key}): collected every {period}").format(
        key=DUES_RULE_KEY, period=context._(PERIOD_WORDS[dues])
    )


@sender(registered=True, roles=ADMINS)
async def rule_picked(update: Update, context: BotContext) -> None:
    """Offer the changes of one rule, in the reader's words."""
    key = RulePick.read(update).key
    text = context._("{rule}: how often, for your whole subtree?").format(
        rule=_rule_name(context, key)
    )
    rows = [
        [(context._(CHANGE_LABELS[change]), RuleChange(key, change).data)]
        for change in get_args(Change)
    ]
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def rule_change_pressed(update: Update, context: BotContext) -> None:
    """Apply the chosen change at the admin's node and show the rules again."""
    button = RuleChange.read(update)
    async with context.db.begin() as session:
        roots = await _roots(session, context.principal)
        if not roots:
            raise Refused()
        root = roots[0]
        note = await _change_rule(context, session, root, button.key, button.change)
        book = await rule_book(session, root.path)
        rules = book.rules_for(root.path)
        dues = period_of(book, root.path)
    text = f"{note}\n\n{_rules_text(context, root, rules)}{_dues_line(context, dues)}"
    await edit_or_answer(update, context, text, _rules_keyboard(context, rules))


@sender(registered=True, roles=ADMINS)
async def report(update: Update, context: BotContext) -> None:
    """/report compliance [YYYY-MM]: counts, a chart and a spreadsheet for the subtree."""
    args = context.args or []
    if args and args[0].lower() == "rules":
        await _rules(update, context, args)
        return
    if not args:
        await answer(update, context, _usage(context), _choices(context))
        return
    if args[0].lower() != "compliance" or len(args) > 2:
        await answer(update, context, _usage(context))
        return
    today = context.today()
    month = past_month(args[1], today) if len(args) == 2 else None
    if len(args) == 2 and month is None:
        await answer(update, context, _usage(context))
        return
    await _send_report(update, context, month or period_containing(PeriodKind.MONTH, today))


def _choices(context: BotContext) -> InlineKeyboardMarkup:
    _ = context._
    labels: dict[Subject, str] = {
        "compliance": _("Compliance this month"),
        "rules": _("Calendar rules"),
        "grading": _("Grading"),
        "relink": _("Mobile and lost-contact members"),
        "notices": _("Notices"),
        "dues": _("Party dues"),
        "training": _("Training and study hours"),
    }
    return keyboard([[(label, ReportChoice(subject).data)] for subject, label in labels.items()])


@sender(registered=True, roles=ADMINS)
async def report_chosen(update: Update, context: BotContext) -> None:
    """A report chosen by button: the same as typing `/report <subject>`."""
    subject = ReportChoice.read(update).subject
    if subject == "compliance":
        await _send_report(update, context, period_containing(PeriodKind.MONTH, context.today()))
    elif subject == "rules":
        await _rules(update, context, ["rules"])
    else:
        await OTHER_REPORTS[subject](update, context)


@sender(registered=True, roles=ADMINS)
async def report_period_pressed(update: Update, context: BotContext) -> None:
    """Another month's report."""
    month = past_month(ReportMonth.read(update).month, context.today())
    if month is None:
        raise Refused()
    await _send_report(update, context, month)


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("report", report),
        CallbackQueryHandler(report_period_pressed, pattern=ReportMonth.pattern),
        CallbackQueryHandler(report_chosen, pattern=ReportChoice.pattern),
        CallbackQueryHandler(rule_picked, pattern=RulePick.pattern),
        CallbackQueryHandler(rule_change_pressed, pattern=RuleChange.pattern),
    ]
