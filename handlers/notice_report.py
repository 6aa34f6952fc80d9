"""/report notices: acknowledgement per notice and per branch (XLSX and a chart), re-sending."""

from __future__ import annotations

import asyncio
import io

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.charts import Bar, bar_chart
from bot.context import BotContext
from bot.enums import NoticeState, Role
from bot.i18n import Translator
from bot.notices import AUDIENCE_LABELS
from bot.xlsx import Sheet, book_bytes
from handlers.busy import showing
from handlers.common import answer, escape, keyboard, sender
from handlers.notice_buttons import ResendNotice
from storage import notice_queries as nq
from storage import notice_reports as nr
from storage import queries
from storage.models import OrgUnit
from storage.models_notices import Notice

ADMINS = frozenset({Role.ADMIN})
REPORTED = 20
SHOWN = 5
RATE_COLOUR = (200, 30, 30)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def workbook(
    tr: Translator,
    notices: list[tuple[Notice, nr.NoticeCounts]],
    branches: list[nr.BranchAcknowledgement],
    org_names: dict[int, OrgUnit],
) -> bytes:
    """Two sheets: one row per notice, one per notice and branch."""
    _ = tr._
    notice_rows: list[list[object]] = []
    for notice, counts in notices:
        rate = _rate(counts.acknowledged, counts.sent) if notice.require_ack else None
        notice_rows.append(
            [
                notice.id,
                tr.datetime(notice.send_at, "short"),
                notice.text_for(tr.locale)[:80],
                _(AUDIENCE_LABELS[notice.audience]),
                _("required") if notice.require_ack else _("not required"),
                counts.recipients,
                counts.sent,
                counts.failed,
                counts.unreachable,
                counts.acknowledged,
                round(rate, 4) if rate is not None else "",
            ]
        )
    notices_sheet = Sheet(
        _("Notices"),
        [
            _("Notice"),
            _("Sent at"),
            _("Text"),
            _("Audience"),
            _("Acknowledgement"),
            _("Recipients"),
            _("Delivered"),
            _("Failed"),
            _("Unreachable"),
            _("Acknowledged"),
            _("Acknowledgement rate"),
        ],
        notice_rows,
        fit_columns=True,
    )
    branch_rows: list[list[object]] = []
    for row in branches:
        org = org_names.get(row.branch_id) if row.branch_id is not None else None
        rate = _rate(row.acknowledged, row.delivered)
        branch_rows.append(
            [
                row.notice_id,
                org.code if org else "",
                org.display_name(tr.locale) if org else _("(no branch)"),
                row.recipients,
                row.delivered,
                row.acknowledged,
                round(rate, 4) if rate is not None else "",
            ]
        )
    branches_sheet = Sheet(
        _("By branch"),
        [
            _("Notice"),
            _("Branch code"),
            _("Branch"),
            _("Recipients"),
            _("Delivered"),
            _("Acknowledged"),
            _("Acknowledgement rate"),
        ],
        branch_rows,
        fit_columns=True,
    )
    return book_bytes([notices_sheet, branches_sheet])


def chart(tr: Translator, notices: list[tuple[Notice, nr.NoticeCounts]]) -> bytes | None:
    """Bars of the acknowledgement rate of each notice that asked for it (PNG)."""
    bars = [
        Bar(
            f"#{n.id} {n.text_for(tr.locale)[:30]}",
            [(c.acknowledged / c.sent, RATE_COLOUR)],
            tr.percent(c.acknowledged / c.sent),
        )
        for n, c in reversed(notices)
        if n.require_ack and c.sent
    ][-12:]
    if not bars:
        return None
    return bar_chart(tr._("Acknowledgement rate per notice"), bars, scale=1.0)


@sender(registered=True, roles=ADMINS)
async def report_notices(update: Update, context: BotContext) -> None:
    """Acknowledgement of the subtree's recent notices: summary, spreadsheet, chart, re-send."""
    _ = context._
    paths = [g.org_path for g in context.principal.admin_grants()]
    async with context.db() as session:
        notices = [
            n
            for n in await nq.notices_of(session, subtree_paths=paths, limit=REPORTED)
            if n.state in (NoticeState.SENDING, NoticeState.DONE, NoticeState.CANCELLED)
        ]
        with_counts = [(n, await nr.notice_counts(session, n.id)) for n in notices]
        branches = await nr.acknowledgement_by_branch(
            session, [n.id for n in notices if n.require_ack]
        )
        org_ids = {b.branch_id for b in branches if b.branch_id is not None}
        orgs = {i: o for i in org_ids if (o := await queries.org_by_id(session, i)) is not None}
    if not with_counts:
        await answer(update, context, _("No notices have gone out yet."))
        return
    lines = [_("<b>Notices</b> (latest first; acknowledged of delivered):")]
    rows = []
    for notice, counts in with_counts[:SHOWN]:
        excerpt = notice.text_for(context.tr.locale)[:40]
        if notice.require_ack:
            rate = _rate(counts.acknowledged, counts.sent)
            figure = _("{acknowledged} of {sent} acknowledged ({rate})").format(
                acknowledged=counts.acknowledged,
                sent=counts.sent,
                rate=context.tr.percent(rate) if rate is not None else "—",
            )
        else:
            figure = _("{sent} delivered, no acknowledgement asked").format(sent=counts.sent)
        lines.append(f"#{notice.id} · {escape(excerpt)} · {figure}")
        if (
            notice.require_ack
            and notice.state is NoticeState.DONE
            and counts.acknowledged < counts.sent
        ):
            label = _("Re-send #{id} to those who have not acknowledged").format(id=notice.id)
            rows.append([(label, ResendNotice(notice.id).data)])
    await answer(update, context, "\n".join(lines), keyboard(rows) if rows else None)
    chat = update.effective_chat
    assert chat is not None
    async with showing(context.bot, chat.id):
        # Written and drawn off the event loop: other users' replies do not wait.
        data = await asyncio.to_thread(workbook, context.tr, with_counts, branches, orgs)
        png = await asyncio.to_thread(chart, context.tr, with_counts)
    await context.bot.send_document(
        chat.id,
        io.BytesIO(data),
        filename="notices.xlsx",
        caption=_("Acknowledgement per notice and per branch"),
    )
    if png is not None:
        await context.bot.send_photo(
            chat.id, io.BytesIO(png), caption=_("Acknowledgement rate per notice")
        )


def handlers() -> list[CommandHandler[BotContext, None]]:
    """Takes only `/report notices`; other reports go on to the next /report handler."""
    only_notices = filters.Regex(r"^/report(@\w+)?\s+notices\s*$")
    return [CommandHandler("report", report_notices, filters=only_notices)]
