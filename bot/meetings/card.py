"""The caller's card: a meeting's answers and sign-ins, edited in place as they come in.

An answer marks the meeting's card dirty in the answer's own transaction, then asks for an
edit (`poke`). Edits of one card are at least ZHIBU_DELIVERY_PROGRESS_SECONDS apart: a burst
of answers while invitations go out becomes one edit. A periodic sweep edits whatever is still
marked dirty (after a restart, or a failed edit), so no answer is left off the card for long.
The card is marked clean before it is read, so an answer committed while the edit is on its
way marks it dirty again and is shown by the next edit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.accounts import translator_for
from bot.config import Settings
from bot.i18n import Translator
from bot.meetings.texts import card_text
from bot.rules.kinds import ActivityKind
from bot.rules.meetings import ATTENDING, Answer, Tally, tally
from storage import meeting_queries as mq
from storage.db import SessionFactory
from storage.models import Account
from storage.models_meetings import Meeting

log = logging.getLogger(__name__)

CARDS_KEY = "zhibu.meeting_cards"
SWEEP_SECONDS = 30

Edit = Callable[[int, int, str, InlineKeyboardMarkup | None], Awaitable[None]]
CardKeyboard = Callable[[Translator, Meeting, dt.datetime], InlineKeyboardMarkup | None]


def gated_edit(bot: Any, gate: Any) -> Edit:
    """Edit a card with a priority slot of the flood gate, a second apart in its chat (as a
    notice's progress is edited); in every process, as answers come in wherever."""

    async def edit(
        chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        ticket = await gate.acquire(chat_id)
        try:
            await bot.edit_message_text(
                text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except BadRequest as exc:
            if "not modified" not in exc.message:
                log.warning("could not edit the card %s in %s: %s", message_id, chat_id, exc)
        except TelegramError as exc:
            log.warning("could not edit the card %s in %s: %s", message_id, chat_id, exc)
        finally:
            gate.release(ticket)

    return edit


async def card_view(
    session: AsyncSession, meeting: Meeting, tr: Translator, now: dt.datetime
) -> str:
    """The card's text as the reader of `tr` sees it now."""
    rows = await mq.invitees(session, meeting.id)
    answers = [
        Answer(
            person_id=row.invitee.person_id,
            name=row.name,
            rsvp=row.invitee.rsvp,
            reason=row.invitee.reason,
            note=row.invitee.note,
            signed_in=row.invitee.signed_in_at is not None,
            has_account=row.account_id is not None,
        )
        for row in rows
    ]
    counted: Tally = tally(answers)
    quorum = None
    if ActivityKind.COMMITTEE_MEETING.value in meeting.kinds:
        size = await mq.committee_size(session, meeting.branch_id)
        coming = sum(
            1
            for row in rows
            if row.invitee.committee
            and (row.invitee.rsvp in ATTENDING or row.invitee.signed_in_at is not None)
        )
        quorum = (coming, size)
    return card_text(
        tr, meeting, meeting.branch.display_name(tr.locale), counted, now=now, quorum=quorum
    )


class MeetingCards:
    """Edits the callers' cards, each at most every few seconds."""

    def __init__(
        self,
        *,
        db: SessionFactory,
        settings: Settings,
        edit: Edit,
        keyboard: CardKeyboard,
    ) -> None:
        self.db = db
        self.settings = settings
        self.edit = edit
        self.keyboard = keyboard
        self._edited_at: dict[int, float] = {}
        self._waiting: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def poke(self, meeting_id: int) -> None:
        """An answer came in: edit the card now, or as soon as its last edit is far enough back."""
        if meeting_id in self._waiting:
            return
        self._waiting.add(meeting_id)
        last = self._edited_at.get(meeting_id)
        wait = 0.0
        if last is not None:
            wait = max(0.0, last + self.settings.delivery_progress_seconds - time.monotonic())

        def start() -> None:
            task = asyncio.ensure_future(self._refresh_waiting(meeting_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        asyncio.get_running_loop().call_later(wait, start)

    async def _refresh_waiting(self, meeting_id: int) -> None:
        self._waiting.discard(meeting_id)
        try:
            await self.refresh(meeting_id)
        except Exception:
            log.exception("editing the card of meeting %s failed; the sweep retries", meeting_id)

    async def refresh(self, meeting_id: int) -> None:
        """Edit one meeting's card to what is recorded now."""
        now = self.settings.now()
        async with self.db.begin() as session:
            meeting = await mq.meeting_by_id(session, meeting_id)
            await mq.mark_card(session, meeting_id, dirty=False)
            if meeting is None or meeting.card_chat_id is None or meeting.card_message_id is None:
                return
            account = await session.get(Account, meeting.created_by) if meeting.created_by else None
            tr = translator_for(account, self.settings, None)
            text = await card_view(session, meeting, tr, now)
            markup = self.keyboard(tr, meeting, now)
            chat_id, message_id = meeting.card_chat_id, meeting.card_message_id
        self._edited_at[meeting_id] = time.monotonic()
        await self.edit(chat_id, message_id, text, markup)

    async def sweep(self) -> None:
        """Edit every card still marked dirty."""
        async with self.db() as session:
            dirty = await mq.dirty_cards(session)
        for meeting_id in dirty:
            self.poke(meeting_id)


async def sweep_job(context: Any) -> None:
    """JobQueue callback: edit the cards an answer left dirty."""
    cards: MeetingCards | None = context.application.bot_data.get(CARDS_KEY)
    if cards is None:
        return
    try:
        await cards.sweep()
    except Exception:
        log.exception("sweeping meeting cards failed; the next run retries")


def schedule(job_queue: Any) -> None:
    """The periodic sweep of dirty cards."""
    job_queue.run_repeating(
        sweep_job,
        interval=SWEEP_SECONDS,
        first=SWEEP_SECONDS,
        name="meetings.cards",
        job_kwargs={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
    )
