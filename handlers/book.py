"""/book: the record book (台账) of a branch for a year as a DOCX.

Secretaries and deputies get their branch's book (choosing with buttons when they lead
several); admins pick any branch of their subtree (paged, searchable with words after the
command), or ask for every branch's book in one ZIP, or for a spot check of branches chosen at
random (audited). Every branch or node a button names is loaded and checked against the
presser's roles on every press. Books are written in worker processes (bot.book.build), so
other users' replies do not wait; the requester sees "sending a file" meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.access import Principal
from bot.book import build
from bot.book.build import Collection, TelegramPhotos, TooLarge
from bot.book.gather import gather
from bot.book.model import FIRST_YEAR, BookFacts, Copy
from bot.commands import ADMINS, LEADERS
from bot.context import BotContext
from bot.i18n import Translator
from handlers import book_picker as picker
from handlers import book_texts as texts
from handlers.book_picker import BookBranch, BookPage, BookSample, BookSubtree
from handlers.busy import showing
from handlers.common import Refused, answer, sender
from storage import book_queries, queries
from storage.models import OrgUnit

log = logging.getLogger(__name__)

# A book this big gets a progress message (a small one is sent before it would be read).
LONG_BOOK_ACTIVITIES = 40
LONG_BOOK_PHOTOS = 10
PROGRESS_SECONDS = 3.0
JOBS_KEY = "zhibu.book_jobs"


def may_read(principal: Principal, branch: OrgUnit) -> bool:
    """Leaders of the branch and admins of a subtree holding it get its book."""
    return principal.leads_branch(branch.id) or principal.is_admin_of(branch.path)


def checked_year(context: BotContext, year: int) -> int:
    """The year, or Refused when no book can exist for it."""
    this_year = context.today().year
    if not FIRST_YEAR <= year <= this_year:
        raise Refused(texts.bad_year(context.tr, this_year))
    return year


async def _edit(message: Message | None, text: str) -> None:
    if message is None:
        return
    try:
        await message.edit_text(text)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


# ---- one book --------------------------------------------------------------------------------


async def deliver(update: Update, context: BotContext, facts: BookFacts) -> None:
    """Download the photos, write the book off the event loop and send it."""
    chat = update.effective_chat
    if chat is None:
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    tr = context.tr
    name = facts.name(tr.locale)
    progress = None
    try:
        async with showing(context.bot, chat.id):
            photos = facts.photo_ids
            if len(facts.activities) >= LONG_BOOK_ACTIVITIES or len(photos) >= LONG_BOOK_PHOTOS:
                text = texts.building(tr, name, facts.year, len(facts.activities), len(photos))
                progress = await context.bot.send_message(chat.id, text)
            found, notes = await build.download_photos(TelegramPhotos(context.bot), photos)
            await _edit(progress, texts.writing(tr, name, facts.year))
            # Only the branch's leaders and its admins get here (`issue`): their copies name
            # the reasons for absences.
            copy = Copy(tr.locale, tr.time_zone, with_reasons=True, photos=found, notes=notes)
            try:
                data = await build.render(facts, copy)
            except TooLarge:
                await answer(update, context, texts.too_large(tr))
                return
            await context.bot.send_document(
                chat.id,
                data,
                filename=f"{facts.branch_code}-{facts.year}.docx",
                caption=texts.book_caption(tr, name, facts.year),
            )
    finally:
        if progress is not None:
            with contextlib.suppress(TelegramError):
                await progress.delete()


async def issue(update: Update, context: BotContext, branch_id: int, year: int) -> None:
    """Check the reader against the branch, record that they got its book, then send it."""
    async with context.db.begin() as session:
        branch = await book_queries.branch_by_id(session, branch_id)
        if branch is None or not may_read(context.principal, branch):
            raise Refused()
        await queries.audit(
            session,
            action="book.issued",
            actor=context.account,
            target_type="org_unit",
            target_id=branch.id,
            org_unit_id=branch.id,
            details={"year": year},
        )
        facts = await gather(
            session,
            [branch],
            year=year,
            today=context.today(),
            zone=context.settings.tz,
            locale=context.tr.locale,
        )
    await deliver(update, context, facts[0])


@sender(registered=True, roles=LEADERS)
async def book(update: Update, context: BotContext) -> None:
    """/book [YEAR] [words]: the branch's book, a choice of branches, or the admin's picker."""
    this_year = context.today().year
    parsed = picker.parse_args(context.args or [], this_year)
    if parsed is None:
        await answer(update, context, texts.usage(context.tr, this_year))
        return
    year, words = parsed
    checked_year(context, year)
    principal = context.principal
    if principal.admin_grants():
        await picker.show(update, context, year=year, page=0, text=words or None)
        return
    led = principal.led_branches()
    if len(led) == 1:
        await issue(update, context, led[0].org_id, year)
        return
    await picker.choose_led(update, context, year)


@sender(registered=True, roles=LEADERS)
async def branch_pressed(update: Update, context: BotContext) -> None:
    """A branch chosen: its book (if the presser leads it or administers it)."""
    button = BookBranch.read(update)
    await issue(update, context, button.branch_id, checked_year(context, button.year))


@sender(registered=True, roles=ADMINS)
async def page_pressed(update: Update, context: BotContext) -> None:
    """Another page of the admin's picker."""
    button = BookPage.read(update)
    year = checked_year(context, button.year)
    await picker.show(update, context, year=year, page=button.page, text=None)


# ---- collections -------------------------------------------------------------------------------


async def _collection_root(context: BotContext, org_id: int) -> OrgUnit:
    async with context.db() as session:
        root = await queries.org_by_id(session, org_id)
    if root is None or not context.principal.is_admin_of(root.path):
        raise Refused()
    return root


async def run_collection(
    context: BotContext,
    chat_id: int,
    job: Collection,
    *,
    title: str,
    filename: str,
    photos: build.PhotoSource | None,
    tr: Translator,
) -> None:
    """Build a collection in the background, editing a progress message as it goes."""
    total = len(job.branch_ids)
    message = await context.bot.send_message(
        chat_id, texts.collection_progress(tr, title, 0, total)
    )
    last = time.monotonic()

    async def progress(done: int, total: int) -> None:
        nonlocal last
        if done < total and time.monotonic() - last < PROGRESS_SECONDS:
            return
        last = time.monotonic()
        with contextlib.suppress(TelegramError):
            await _edit(message, texts.collection_progress(tr, title, done, total))

    try:
        async with showing(context.bot, chat_id):
            data = await build.build_collection(context.db, job, progress=progress, photos=photos)
            await context.bot.send_document(
                chat_id, data, filename=filename, caption=texts.collection_caption(tr, title)
            )
    except TooLarge:
        await _edit(message, texts.too_large(tr))
        return
    except Exception:
        log.exception("record book collection failed (chat %s, %s books)", chat_id, total)
        await _edit(message, texts.collection_failed(tr, title))
        return
    await _edit(message, texts.collection_done(tr, title, total))


async def start_collection(
    update: Update,
    context: BotContext,
    *,
    ids: list[int],
    year: int,
    title: str,
    filename: str,
    photos: bool,
) -> None:
    """Hand the collection to a background task; one at a time per admin."""
    chat = update.effective_chat
    if chat is None:
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    tr = context.tr
    copy = Copy(tr.locale, tr.time_zone, with_reasons=True, photo_note="collection")
    job = Collection(tuple(ids), year, context.today(), copy, context.settings.tz)
    running: set[int] = context.application.bot_data.setdefault(JOBS_KEY, set())
    account = context.actor_id
    running.add(account)

    async def run() -> None:
        try:
            await run_collection(
                context,
                chat.id,
                job,
                title=title,
                filename=filename,
                photos=TelegramPhotos(context.bot) if photos else None,
                tr=tr,
            )
        finally:
            running.discard(account)

    context.application.create_task(run(), update=update)


async def _refuse_busy_or_empty(update: Update, context: BotContext, ids: list[int]) -> bool:
    running = context.application.bot_data.get(JOBS_KEY, set())
    problem = None
    if context.actor_id in running:
        problem = texts.busy(context.tr)
    elif not ids:
        problem = texts.no_branches(context.tr)
    elif len(ids) > build.MAX_COLLECTION:
        problem = texts.too_many(context.tr, len(ids))
    if problem is not None:
        await answer(update, context, problem)
    return problem is not None


@sender(registered=True, roles=ADMINS)
async def subtree_pressed(update: Update, context: BotContext) -> None:
    """Every branch's book of a subtree the presser administers, as one ZIP (audited)."""
    button = BookSubtree.read(update)
    year = checked_year(context, button.year)
    root = await _collection_root(context, button.org_id)
    async with context.db() as session:
        ids = await book_queries.branch_ids_in(session, [root.path])
    name = root.display_name(context.tr.locale)
    await _audited_collection(
        update,
        context,
        root,
        ids,
        year,
        action="book.subtree",
        details={"year": year, "branches": len(ids)},
        title=texts.subtree_title(context.tr, name, year),
        filename=f"books-{root.code}-{year}.zip",
        photos=False,
    )


@sender(registered=True, roles=ADMINS)
async def sample_pressed(update: Update, context: BotContext) -> None:
    """A spot check: N branches of the subtree chosen at random, their books with photos in
    one ZIP; which branches were drawn goes to the audit log."""
    button = BookSample.read(update)
    year = checked_year(context, button.year)
    if button.size not in build.SPOT_CHECK_SIZES:
        raise Refused()
    root = await _collection_root(context, button.org_id)
    async with context.db() as session:
        ids = build.sample(await book_queries.branch_ids_in(session, [root.path]), button.size)
    name = root.display_name(context.tr.locale)
    await _audited_collection(
        update,
        context,
        root,
        ids,
        year,
        action="book.spot_check",
        details={"year": year, "size": button.size, "branches": ids},
        title=texts.sample_title(context.tr, name, year, len(ids)),
        filename=f"spot-check-{root.code}-{year}.zip",
        photos=True,
    )


async def _audited_collection(
    update: Update,
    context: BotContext,
    root: OrgUnit,
    ids: list[int],
    year: int,
    *,
    action: str,
    details: dict[str, Any],
    title: str,
    filename: str,
    photos: bool,
) -> None:
    """Refuse when busy or empty; else audit the request, then build the ZIP in the background."""
    if await _refuse_busy_or_empty(update, context, ids):
        return
    async with context.db.begin() as session:
        await queries.audit(
            session,
            action=action,
            actor=context.account,
            target_type="org_unit",
            target_id=root.id,
            org_unit_id=root.id,
            details=details,
        )
    await start_collection(
        update, context, ids=ids, year=year, title=title, filename=filename, photos=photos
    )


def handlers() -> list[CommandHandler[BotContext, None] | CallbackQueryHandler[BotContext, None]]:
    """The handlers of this module."""
    return [
        CommandHandler("book", book),
        CallbackQueryHandler(branch_pressed, pattern=BookBranch.pattern),
        CallbackQueryHandler(page_pressed, pattern=BookPage.pattern),
        CallbackQueryHandler(subtree_pressed, pattern=BookSubtree.pattern),
        CallbackQueryHandler(sample_pressed, pattern=BookSample.pattern),
    ]
