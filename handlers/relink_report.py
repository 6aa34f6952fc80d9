"""/report relink: admins see requests by state and age, overdue transfers and re-linked members."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import CommandHandler, filters

from bot.context import BotContext
from bot.dues.register import register_timers
from bot.enums import Role
from bot.relink.report import (
    AGE_BANDS,
    ChartLabels,
    Labels,
    band_label,
    build_report,
    report_chart,
    report_xlsx,
)
from handlers.busy import showing
from handlers.common import answer, escape, sender
from handlers.dues_texts import register_lines
from handlers.relink_texts import STATE_LABELS, TYPE_LABELS

ADMINS = frozenset({Role.ADMIN})
# Only `/report relink`: other sub-reports are left to the other /report handlers.
RELINK_REPORT = filters.Regex(r"^/report(@\w+)?\s+relink\s*$")


@sender(registered=True, roles=ADMINS)
async def relink_report(update: Update, context: BotContext) -> None:
    """Counts as text, a chart, and the workbook."""
    _ = context._
    now = context.settings.now()
    zone = context.tr.time_zone
    async with context.db() as session:
        report = await build_report(session, context.principal, now=now, time_zone=zone)
        timers = await register_timers(session, context.principal, context.today())
    scope = _(", ").join(escape(g.org_code) for g in context.principal.admin_grants())
    lines = [
        _("<b>Mobile and lost-contact members in {scope}</b>").format(scope=scope),
        _("Open requests: {count}").format(count=len(report.open_rows)),
    ]
    for state, bands in report.by_state_and_age().items():
        total = sum(bands.values())
        if total:
            ages = _(", ").join(
                _("{band} days: {count}").format(band=band_label(b), count=bands[b])
                for b in AGE_BANDS
                if bands[b]
            )
            lines.append(
                _("– {state}: {total} ({ages})").format(
                    state=_(STATE_LABELS[state]), total=total, ages=ages
                )
            )
    lines.append(_("Overdue transfers (pocket members): {count}").format(count=len(report.overdue)))
    for row in report.overdue:
        lines.append(
            _("– #{id} {name}: letter No. {number}, {home} → {other}").format(
                id=row.id,
                name=escape(row.name),
                number=escape(row.letter_number),
                home=row.home,
                other=row.other,
            )
        )
    lines.append(
        _("Members re-linked in {year}: {count}").format(
            year=report.year, count=len(report.relinked)
        )
    )
    lines += register_lines(context, timers, context.today())
    await answer(update, context, "\n".join(lines))
    chat = update.effective_chat
    if chat is None:
        return
    states = {state: _(label) for state, label in STATE_LABELS.items()}
    chart_labels = ChartLabels(
        title=_("Open requests: {count}").format(count=len(report.open_rows)),
        states=states,
        days=_("{band} days"),
        relinked=_("Re-linked in {year}").format(year=report.year),
    )
    async with showing(context.bot, chat.id, ChatAction.UPLOAD_PHOTO):
        # Drawn and written off the event loop: other users' replies do not wait.
        png = await asyncio.to_thread(report_chart, report, chart_labels)
        await context.bot.send_photo(
            chat.id,
            png,
            caption=_(
                "Open requests by state; each bar is split by age in days since submission "
                "(green: newest, red: oldest). Last bar: members re-linked this year."
            ),
        )
    labels = Labels(
        sheets=(
            _("Requests"),
            _("By state and age"),
            _("Overdue transfers"),
            _("Re-linked in {year}").format(year=report.year),
        ),
        request_header=(
            _("No."),
            _("Type"),
            _("State"),
            _("Name"),
            _("Phone"),
            _("Home branch"),
            _("Other branch"),
            _("Submitted"),
            _("Age (days)"),
            _("Letter No."),
            _("Letter valid until"),
            _("Completed"),
        ),
        state_header=_("State"),
        total_header=_("Total"),
        types={kind: _(label) for kind, label in TYPE_LABELS.items()},
        states=states,
    )
    local_day = now.astimezone(context.tr.tz).date().isoformat()
    async with showing(context.bot, chat.id):
        data = await asyncio.to_thread(report_xlsx, report, labels, zone)
    await context.bot.send_document(
        chat.id,
        data,
        filename=f"relink-{local_day}.xlsx",
        caption=_("Every request in your scope; phone numbers are masked."),
    )


def report_handler() -> CommandHandler[BotContext, None]:
    """`/report relink`, added before the general /report handler."""
    return CommandHandler("report", relink_report, filters=RELINK_REPORT)
