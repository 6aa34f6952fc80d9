"""/report compliance: admins see how the branches of their subtree stand (no ranking);
/report rules: the calendar rules in force for their subtree, and changing one of them."""

from __future__ import annotations

from collections import Counter

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.activities import KIND_LABELS
from bot.charts import compliance_grid
from bot.commands import ADMINS
from bot.compliance import (
    BranchRow,
    OverrideError,
    merge_subtrees,
    reset_override,
    rule_book,
    set_override,
    subtree_compliance,
)
from bot.context import BotContext
from bot.i18n import N_
from bot.rules.calendar import (
    DEFAULT_RULES,
    CalendarRule,
    ObligationState,
    ObligationStatus,
    Period,
    PeriodKind,
    Scope,
    period_containing,
    period_from_key,
)
from bot.xlsx import workbook_bytes
from handlers.activity import today_in_org
from handlers.common import answer, escape, keyboard, refuse, sender
from handlers.due import month_buttons, period_label, reference_day
from storage import queries
from storage.models import Account, OrgUnit

RULE_KEYS = tuple(rule.key for rule in DEFAULT_RULES)
RULE_KINDS = {rule.key: rule.kind for rule in DEFAULT_RULES}
# A photo stays readable (and within Telegram's size limits) up to this many rows.
CHART_MAX_BRANCHES = 150


def _state_names(context: BotContext) -> dict[ObligationState, str]:
    return {
        ObligationState.DONE: context._("done"),
        ObligationState.DUE: context._("due"),
        ObligationState.OVERDUE: context._("overdue"),
        ObligationState.NOT_APPLICABLE: context._("not applicable"),
    }


def _by_key(row: BranchRow) -> dict[str, ObligationStatus]:
    return {status.rule.key: status for status in row.statuses}


def _state(row: BranchRow, key: str) -> ObligationState:
    status = _by_key(row).get(key)
    return status.state if status else ObligationState.NOT_APPLICABLE


async def _roots(context: BotContext) -> list[OrgUnit]:
    async with context.db() as session:
        units = [
            await queries.org_by_id(session, grant.org_id)
            for grant in context.principal.admin_grants()
        ]
    return merge_subtrees([unit for unit in units if unit is not None])


async def _send_report(update: Update, context: BotContext, month: Period) -> None:
    _ = context._
    today = today_in_org(context)
    roots = await _roots(context)
    rows: list[BranchRow] = []
    async with context.db() as session:
        for root in roots:
            rows.extend(
                await subtree_compliance(session, root, on=reference_day(month, today), today=today)
            )
    names = _state_names(context)
    scope = ", ".join(root.display_name(context.tr.locale) for root in roots)
    lines = [
        _("<b>Compliance of {scope}</b>").format(scope=escape(scope)),
        _("Periods containing {month}; {count} branches.").format(
            month=period_label(context, month), count=len(rows)
        ),
        "",
    ]
    periods: dict[str, Period] = {}
    for row in rows:
        for status in row.statuses:
            periods.setdefault(status.rule.key, status.period)
    for number, key in enumerate(RULE_KEYS, start=1):
        counts = Counter(_state(row, key) for row in rows)
        period = periods.get(key)
        if counts[ObligationState.NOT_APPLICABLE] == len(rows):
            # No party groups anywhere, a rule switched off, or a window not yet begun.
            lines.append(
                _("{number}. {rule}: does not apply to these branches in this period").format(
                    number=number, rule=_(KIND_LABELS[RULE_KINDS[key]])
                )
            )
            continue
        lines.append(
            _("{number}. {rule} ({period}): done {done}, due {due}, overdue {overdue}").format(
                number=number,
                rule=_(KIND_LABELS[RULE_KINDS[key]]),
                period=period_label(context, period) if period else "—",
                done=counts[ObligationState.DONE],
                due=counts[ObligationState.DUE],
                overdue=counts[ObligationState.OVERDUE],
            )
        )
    nav = keyboard([month_buttons(context, "rp", month, today)])
    await answer(update, context, "\n".join(lines), nav)
    chat = update.effective_chat
    if chat is None or not rows:
        return
    shown = rows[:CHART_MAX_BRANCHES]
    png = compliance_grid(
        [row.branch.code for row in shown],
        [str(number) for number in range(1, len(RULE_KEYS) + 1)],
        [[_state(row, key) for key in RULE_KEYS] for row in shown],
        title=f"Compliance {month.key}",
    )
    caption = _(
        "Rows: branches; columns: obligations 1–{count} as listed above. "
        "Green D = done, amber d = due, red X = overdue, grey - = not applicable."
    ).format(count=len(RULE_KEYS))
    if len(rows) > len(shown):
        caption += "\n" + _(
            "The chart shows the first {shown} of {total} branches by code; "
            "the spreadsheet has them all."
        ).format(shown=len(shown), total=len(rows))
    await context.bot.send_photo(chat.id, png, caption=caption)
    header = [_("Branch code"), _("Branch")]
    for number, key in enumerate(RULE_KEYS, start=1):
        rule = _(KIND_LABELS[RULE_KINDS[key]])
        header.append(f"{number}. {rule}")
        header.append(_("{number}. dates").format(number=number))
    table = []
    for row in rows:
        statuses = _by_key(row)
        cells: list[object] = [row.branch.code, row.branch.display_name(context.tr.locale)]
        for key in RULE_KEYS:
            found = statuses.get(key)
            state = found.state if found else ObligationState.NOT_APPLICABLE
            cells.append(names[state])
            cells.append(", ".join(d.isoformat() for d in found.done_dates) if found else "")
        table.append(cells)
    data = workbook_bytes(_("Compliance"), header, table)
    await context.bot.send_document(
        chat.id,
        data,
        filename=f"compliance-{month.key}.xlsx",
        caption=_("One row per branch, periods containing {month}.").format(
            month=period_label(context, month)
        ),
    )


def _usage(context: BotContext) -> str:
    return context._(
        "Reports on your subtree: /report compliance [YYYY-MM], /report rules, "
        "/report grading, /report relink or /report notices"
    )


PERIOD_WORDS = {
    PeriodKind.MONTH: N_("month"),
    PeriodKind.QUARTER: N_("quarter"),
    PeriodKind.HALF: N_("half year"),
    PeriodKind.YEAR: N_("year"),
}
RULE_CHANGES = ("month", "quarter", "half", "year", "on", "off", "reset")


def _rules_text(context: BotContext, org: OrgUnit, rules: list[CalendarRule]) -> str:
    _ = context._
    lines = [
        _("<b>Calendar rules for {org}</b>").format(org=escape(org.display_name(context.tr.locale)))
    ]
    for number, rule in enumerate(rules, start=1):
        line = _("{number}. {rule} ({key}): at least {count} every {period}").format(
            number=number,
            rule=_(KIND_LABELS[rule.kind]),
            key=rule.key,
            count=rule.min_count,
            period=_(PERIOD_WORDS[rule.period]),
        )
        if rule.only_quarter:
            line += " " + _("(in Q{quarter})").format(quarter=rule.only_quarter)
        if rule.scope is Scope.PARTY_GROUP:
            line += " " + _("(each party group)")
        if not rule.enabled:
            line += " " + _("(off)")
        lines.append(line)
    lines.append("")
    usage = escape("/report rules <rule> <month|quarter|half|year|on|off|reset>")
    lines.append(
        _(
            "To change one for your whole subtree: {usage}, e.g. {example}. "
            "A setting nearer to a branch wins."
        ).format(usage=f"<code>{usage}</code>", example="<code>/report rules lecture half</code>")
    )
    return "\n".join(lines)


async def _rules(update: Update, context: BotContext, args: list[str]) -> None:
    """Show the calendar rules in force at the admin's node, or change one of them."""
    roots = await _roots(context)
    if not roots or len(args) not in (1, 3):
        await answer(update, context, _usage(context))
        return
    root = roots[0]
    note = ""
    async with context.db.begin() as session:
        if len(args) == 3:
            key, change = args[1].lower(), args[2].lower()
            if key not in RULE_KEYS or change not in RULE_CHANGES:
                note = context._("That change is not possible. Nothing was changed.")
            else:
                account = (
                    await session.get(Account, context.account.id) if context.account else None
                )
                try:
                    if change == "reset":
                        await reset_override(
                            session, org=root, rule_key=key, actor=account, actor_label="bot"
                        )
                    else:
                        fields: dict[str, object] = (
                            {"enabled": change == "on"}
                            if change in ("on", "off")
                            else {"period": change}
                        )
                        await set_override(
                            session,
                            org=root,
                            rule_key=key,
                            fields=fields,
                            actor=account,
                            actor_label="bot",
                        )
                    note = context._("Saved.")
                except OverrideError:
                    note = context._("That change is not possible. Nothing was changed.")
        book = await rule_book(session, root.path)
        rules = book.rules_for(root.path)
    text = _rules_text(context, root, rules)
    await answer(update, context, f"{note}\n\n{text}" if note else text)


@sender(registered=True, roles=ADMINS)
async def report(update: Update, context: BotContext) -> None:
    """/report compliance [YYYY-MM]: counts, a chart and a spreadsheet for the subtree."""
    args = context.args or []
    if args and args[0].lower() == "rules":
        await _rules(update, context, args)
        return
    if not args or args[0].lower() != "compliance" or len(args) > 2:
        await answer(update, context, _usage(context))
        return
    today = today_in_org(context)
    month: Period | None = period_containing(PeriodKind.MONTH, today)
    if len(args) == 2:
        month = period_from_key(args[1])
        if month is None or month.kind is not PeriodKind.MONTH or month.start > today:
            await answer(update, context, _usage(context))
            return
    assert month is not None
    await _send_report(update, context, month)


@sender(registered=True, roles=ADMINS)
async def report_period_pressed(update: Update, context: BotContext) -> None:
    """Another month's report."""
    query = update.callback_query
    assert query is not None and query.data is not None
    month = period_from_key(query.data.split(":", 1)[1])
    today = today_in_org(context)
    if month is None or month.kind is not PeriodKind.MONTH or month.start > today:
        await refuse(update, context)
        return
    await _send_report(update, context, month)


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("report", report),
        CallbackQueryHandler(report_period_pressed, pattern=r"^rp:\d{4}-\d{2}$"),
    ]
