"""The leaders' list of relink requests: the open requests of their branches and subtrees."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from handlers.common import Page, Refused, edit_or_answer, escape, keyboard, sender
from handlers.relink_buttons import ListPage, StartRequest, ViewRequest
from handlers.relink_texts import STATE_LABELS, TYPE_LABELS
from storage import relink_queries

LIST_PAGE = 10


def leads(context: BotContext) -> bool:
    """Whether the sender leads a branch or administers a subtree (and so has a list)."""
    return bool(context.principal.led_branches() or context.principal.admin_grants())


def _page_row(shown: Page) -> list[tuple[str, str]]:
    row = []
    if shown.index > 0:
        row.append(("‹", ListPage(shown.index - 1).data))
    if shown.index + 1 < shown.count:
        row.append(("›", ListPage(shown.index + 1).data))
    return row


async def list_page(
    session: AsyncSession, context: BotContext, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the requests touching the sender's branches and subtrees, oldest first."""
    _ = context._
    principal = context.principal
    branch_ids = [g.org_id for g in principal.led_branches()]
    subtree_paths = [g.org_path for g in principal.admin_grants()]
    own = await relink_queries.open_request_of(session, context.actor_id)
    total = await relink_queries.count_requests_touching(
        session, branch_ids=branch_ids, subtree_paths=subtree_paths
    )
    shown = Page.of(page, total, LIST_PAGE)
    rows = await relink_queries.requests_touching(
        session,
        branch_ids=branch_ids,
        subtree_paths=subtree_paths,
        offset=shown.offset,
        limit=LIST_PAGE,
    )
    now = context.settings.now()
    title = _("<b>Requests of mobile and lost-contact members in your scope</b>")
    lines = [f"{title} {shown.caption(context)}".rstrip()]
    buttons: list[list[tuple[str, str]]] = []
    if not rows:
        lines.append(_("No open requests."))
    for row in rows:
        lines.append(
            _("#{id} {name}: {type}, {state}, {days} days").format(
                id=row.id,
                name=escape(row.name),
                type=_(TYPE_LABELS[row.type]),
                state=_(STATE_LABELS[row.state]),
                days=max(0, (now - row.submitted_at).days),
            )
        )
        buttons.append([(f"#{row.id} {row.name}"[:60], ViewRequest(row.id).data)])
    nav = _page_row(shown)
    if nav:
        buttons.append(nav)
    if own is not None:
        buttons.append([(_("My own request"), ViewRequest(own.id).data)])
    else:
        buttons.append([(_("Make a request of my own"), StartRequest().data)])
    return "\n".join(lines), keyboard(buttons)


@sender(registered=True)
async def list_page_pressed(update: Update, context: BotContext) -> None:
    """‹ / ›: another page of the leaders' list (only for leaders; the page is clamped)."""
    page = ListPage.read(update).page
    if not leads(context):
        raise Refused()
    async with context.db() as session:
        text, markup = await list_page(session, context, page)
    await edit_or_answer(update, context, text, markup)


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """Paging the leaders' list: outside the conversation, so it never ends a draft."""
    return [CallbackQueryHandler(list_page_pressed, pattern=ListPage.pattern)]
