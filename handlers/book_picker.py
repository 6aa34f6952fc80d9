"""The buttons of /book and the branch pickers: a leader's branches, an admin's subtree (paged,
or searched by words after the command), with the subtree's ZIP and spot check buttons.

A button only names a branch or node; the handler loads it and checks the presser again.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.access import Principal
from bot.book.build import SPOT_CHECK_SIZES
from bot.compliance import merge_subtrees
from bot.context import BotContext
from handlers import book_texts as texts
from handlers.buttons import Button
from handlers.common import Page, answer, edit_or_answer, keyboard
from storage import book_queries, queries
from storage.models import OrgUnit

PAGE_SIZE = 8
LABEL_LIMIT = 60
_YEAR = re.compile(r"\d{4}")


class BookBranch(Button, prefix="bk:b"):
    """The record book of one branch for a year."""

    branch_id: int
    year: int


class BookPage(Button, prefix="bk:p"):
    """A page of an admin's branch picker."""

    page: int
    year: int


class BookSubtree(Button, prefix="bk:t"):
    """Every branch's book of an admin's subtree, as one ZIP."""

    org_id: int
    year: int


class BookSample(Button, prefix="bk:s"):
    """A spot check: `size` branches of the subtree chosen at random."""

    org_id: int
    size: int
    year: int


def parse_args(args: list[str], this_year: int) -> tuple[int, str] | None:
    """(year, search words) from `/book [YEAR] [words]`; None for a malformed year."""
    year = this_year
    if args and args[0].isdigit():
        if not _YEAR.fullmatch(args[0]):
            return None
        year, args = int(args[0]), args[1:]
    return year, " ".join(args)[:40]


def _label(unit: OrgUnit, locale: str) -> str:
    return f"{unit.code} {unit.display_name(locale)}"[:LABEL_LIMIT]


async def admin_roots(session: AsyncSession, principal: Principal) -> list[OrgUnit]:
    """The nodes the admin's grants name, without those inside another."""
    units = [await queries.org_by_id(session, grant.org_id) for grant in principal.admin_grants()]
    return merge_subtrees([unit for unit in units if unit is not None])


async def choose_led(update: Update, context: BotContext, year: int) -> None:
    """A leader of several branches chooses one."""
    ids = [grant.org_id for grant in context.principal.led_branches()]
    async with context.db() as session:
        branches = await book_queries.branches_by_ids(session, ids)
    locale = context.tr.locale
    rows = [[(_label(branch, locale), BookBranch(branch.id, year).data)] for branch in branches]
    await answer(update, context, texts.which_branch(context.tr, year), keyboard(rows))


async def show(
    update: Update, context: BotContext, *, year: int, page: int, text: str | None
) -> None:
    """The admin's picker: a page of branches (or the matches of `text`), the branches they
    lead elsewhere, then a ZIP and spot check buttons per subtree."""
    tr = context.tr
    locale = tr.locale
    async with context.db() as session:
        roots = await admin_roots(session, context.principal)
        paths = [root.path for root in roots]
        total = await book_queries.count_branches(session, paths, text=text)
        shown = Page.of(0 if text else page, total, PAGE_SIZE)
        branches = await book_queries.branches_page(
            session, paths, offset=shown.offset, limit=PAGE_SIZE, text=text
        )
        led_ids = [grant.org_id for grant in context.principal.led_branches()]
        led = [
            branch
            for branch in await book_queries.branches_by_ids(session, led_ids)
            if not context.principal.is_admin_of(branch.path)
        ]
        sizes = {root.id: await book_queries.count_branches(session, [root.path]) for root in roots}
    rows = [[(_label(branch, locale), BookBranch(branch.id, year).data)] for branch in led]
    rows += [[(_label(branch, locale), BookBranch(branch.id, year).data)] for branch in branches]
    caption = ""
    if text and total > PAGE_SIZE:
        caption = texts.more_matches(tr, PAGE_SIZE)
    elif not text:
        caption = shown.caption(context)
        nav = []
        if shown.index > 0:
            nav.append(("‹", BookPage(shown.index - 1, year).data))
        if shown.index + 1 < shown.count:
            nav.append(("›", BookPage(shown.index + 1, year).data))
        if nav:
            rows.append(nav)
    for root in roots:
        name = root.display_name(locale)
        rows.append(
            [
                (
                    texts.subtree_button(tr, name, sizes[root.id])[:LABEL_LIMIT],
                    BookSubtree(root.id, year).data,
                )
            ]
        )
        rows.append(
            [
                (texts.sample_button(tr, size), BookSample(root.id, size, year).data)
                for size in SPOT_CHECK_SIZES
            ]
        )
    await edit_or_answer(
        update, context, texts.picker(tr, year, total, caption, text), keyboard(rows)
    )
