"""The reminder engine: claim due reminders, send them through the shared flood gate, record.

Exactly once, as far as it can be had (the same reasoning as bot.delivery for notices):

* A reminder is a row. The planner inserts it under a unique dedupe key, so planning again,
  after a restart or in a second process, never makes a second one.
* A tick reserves every due row of a few recipients in one transaction: rows locked with
  `FOR UPDATE SKIP LOCKED` on PostgreSQL (a second bot process skips them), decided (send,
  mute, hold for quiet hours, leave to the digest) and, if to be sent, reserved with a lease
  while still 'pending'. Right before each HTTP call, when the flood gate gives the turn, the
  message's rows move from our reservation to 'sending' in their own committed transaction,
  and 'sent' is recorded right after the call.
* A crash between the two leaves reservations only: when their lease is over they are due
  again and go out once (they never left the process). A crash during the call leaves rows in
  'sending'; once their lease is over they become 'unconfirmed': counted as delivered, never
  sent again. A repeated reminder is worse than a missing one, and the weekly digest still
  lists the subject. So the only loss is a call in flight, at most one per lane.
* Everything that fell due while the bot was down is still 'pending' and goes out at the next
  tick. All of one recipient's due rows are claimed together and rendered as one message, so a
  three-day outage gives each person one coalesced message, not dozens.

SQLite has no row locks: there one bot process is supported, and ticks inside it never overlap.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import JobQueue

from bot.accounts import reader_translator
from bot.config import Settings
from bot.delivery import FloodGate, retry_seconds
from bot.enums import ReminderKind, ReminderState
from bot.i18n import Translator
from bot.reminders import passes, render
from bot.reminders.quiet import QuietHours, parse_clock
from bot.transport import SendFailure, classify_network_error
from storage import reminder_queries as rq
from storage.db import SessionFactory
from storage.models_reminders import Reminder

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
# Builds the answer buttons under an invitation to a training (the handlers' side owns them).
InvitationKeyboard = Callable[[Translator, int], InlineKeyboardMarkup]
# Builds the buttons another feature's message offers (render.Message.offer), or none.
OfferKeyboard = Callable[[Translator, Any], InlineKeyboardMarkup | None]

REMINDERS_KEY = "zhibu.reminders"
# Invitations are how people answer; muting "trainings" silences the reminders, not those.
UNMUTABLE = frozenset({ReminderKind.TRAINING_INVITE.value, ReminderKind.MEETING_NEWS.value})


class Decision(Enum):
    """What the tick does with a due reminder."""

    SEND = "send"
    MUTE = "mute"
    DIGEST = "digest"
    DEFER = "defer"


def decide(
    row: Reminder, recipient: rq.Recipient | None, now: dt.datetime, settings: Settings
) -> tuple[Decision, dt.datetime | None]:
    """Send now, drop (muted), leave to the digest, or hold until quiet hours end."""
    if recipient is None:
        return Decision.MUTE, None
    if not row.urgent and row.kind in recipient.muted and row.kind not in UNMUTABLE:
        return Decision.MUTE, None
    if row.soft and ReminderKind.DIGEST.value not in recipient.muted:
        return Decision.DIGEST, None
    if row.urgent:
        return Decision.SEND, None
    quiet = QuietHours(
        recipient.quiet_start
        if recipient.quiet_start is not None
        else parse_clock(settings.reminder_quiet_start),
        recipient.quiet_end
        if recipient.quiet_end is not None
        else parse_clock(settings.reminder_quiet_end),
    )
    release = quiet.release_at(now, recipient.time_zone or settings.timezone)
    if release is not None:
        return Decision.DEFER, release
    return Decision.SEND, None


def translator(recipient: rq.Recipient, settings: Settings) -> Translator:
    """The recipient's language and time zone (as bot.accounts.translator_for)."""
    return reader_translator(
        settings,
        locale=recipient.locale,
        telegram_language=recipient.telegram_language,
        time_zone=recipient.time_zone,
    )


@dataclass(slots=True)
class Claimed:
    """One recipient's reminders claimed in a tick."""

    recipient: rq.Recipient
    rows: list[Reminder]
    reserved_until: dt.datetime | None = None


@dataclass(slots=True)
class TickReport:
    """What one tick did (for logs, tests and the benchmark)."""

    messages: int = 0
    reminders: int = 0
    muted: int = 0
    digested: int = 0
    deferred: int = 0
    skipped: int = 0
    failed: int = 0


class ReminderEngine:
    """Claims and sends due reminders; owns no schedule (the JobQueue calls `tick`)."""

    def __init__(
        self,
        *,
        db: SessionFactory,
        settings: Settings,
        gate: FloodGate,
        bot: Bot,
        invitation_keyboard: InvitationKeyboard,
        offer_keyboard: OfferKeyboard | None = None,
        clock: Clock | None = None,
        accounts_per_claim: int = 100,
    ) -> None:
        self.db = db
        self.invitation_keyboard = invitation_keyboard
        self.offer_keyboard = offer_keyboard
        self.settings = settings
        self.gate = gate
        self.bot = bot
        self.clock: Clock = clock or settings.now
        self.accounts_per_claim = accounts_per_claim
        self._lanes = asyncio.Semaphore(settings.delivery_concurrency)
        # Ticks never overlap within a process (SQLite has no row locks to keep them apart).
        self._tick_lock = asyncio.Lock()

    async def tick(self) -> TickReport:
        """Send everything due now, a few recipients per transaction, until nothing is due."""
        report = TickReport()
        async with self._tick_lock:
            while True:
                claimed = await self._claim(report)
                if claimed is None:
                    break
                await asyncio.gather(*(self._deliver(c, report) for c in claimed))
        return report

    async def plan(self) -> passes.PlanReport:
        """A planning pass over everything, at the engine's clock."""
        return await passes.plan_everything(self.db, self.settings, self.clock())

    async def plan_periodic(self) -> passes.PlanReport:
        """The periodic pass (marked branches, a slice in turn, trainings, mobile members)."""
        return await passes.plan_periodic(self.db, self.settings, self.clock())

    async def replan(self) -> passes.PlanReport:
        """Plan again the branches changes marked (the incremental plan)."""
        return await passes.plan_marked(self.db, self.settings, self.clock())

    async def _claim(self, report: TickReport) -> list[Claimed] | None:
        now = self.clock()
        async with self.db.begin() as session:
            resolved = await rq.reconcile_interrupted(session, now)
            if resolved:
                log.warning("%d reminders were in flight when a bot stopped: not resent", resolved)
            account_ids = await rq.due_accounts(session, now=now, limit=self.accounts_per_claim)
            if not account_ids:
                return None
            rows = await rq.lock_due(session, account_ids=account_ids, now=now)
            if not rows:
                # Another process holds them all; it will send them.
                return None
            people = await rq.recipients(session, {row.account_id for row in rows})
            claimed: dict[int, Claimed] = {}
            for row in rows:
                recipient = people.get(row.account_id)
                decision, release = decide(row, recipient, now, self.settings)
                if decision is Decision.MUTE:
                    row.state = ReminderState.MUTED
                    report.muted += 1
                elif decision is Decision.DIGEST:
                    row.state = ReminderState.IN_DIGEST
                    report.digested += 1
                elif decision is Decision.DEFER:
                    assert release is not None
                    row.due_at = release
                    report.deferred += 1
                else:
                    assert recipient is not None
                    claimed.setdefault(row.account_id, Claimed(recipient, [])).rows.append(row)
            # The reservation covers this batch's wait for turns at the gate, so a slow batch
            # is not taken over by another process; a dead process's expires and is retaken.
            lease = now + dt.timedelta(
                seconds=self.settings.delivery_lease_seconds
                + 2 * len(claimed) / self.settings.delivery_rate
            )
            for batch in claimed.values():
                batch.reserved_until = lease
                for row in batch.rows:
                    row.lease_until = lease
        return list(claimed.values())

    async def _deliver(self, claimed: Claimed, report: TickReport) -> None:
        recipient = claimed.recipient
        tr = translator(recipient, self.settings)
        now = self.clock()
        try:
            async with self.db() as session:
                composed = await render.compose(
                    session, tr, recipient.account_id, claimed.rows, now
                )
        except Exception:
            log.exception("rendering reminders for account %s failed", recipient.account_id)
            await self._finish([r.id for r in claimed.rows], ReminderState.FAILED, "render")
            report.failed += len(claimed.rows)
            return
        if composed.obsolete:
            await self._finish(composed.obsolete, ReminderState.SKIPPED, "obsolete")
            report.skipped += len(composed.obsolete)
        if composed.unreadable:
            await self._finish(composed.unreadable, ReminderState.FAILED, "payload")
            report.failed += len(composed.unreadable)
        assert claimed.reserved_until is not None
        for message in composed.messages:
            keyboard = (
                self.invitation_keyboard(tr, message.invitation_to)
                if message.invitation_to is not None
                else None
            )
            if message.offer is not None and self.offer_keyboard is not None:
                keyboard = self.offer_keyboard(tr, message.offer)
            async with self._lanes:
                await self._send(recipient, message, keyboard, claimed.reserved_until, report)

    async def _send(
        self,
        recipient: rq.Recipient,
        message: render.Message,
        keyboard: InlineKeyboardMarkup | None,
        reserved_until: dt.datetime,
        report: TickReport,
    ) -> None:
        state, message_id, error, retry_at = ReminderState.SENT, None, None, None
        ticket = await self.gate.acquire(
            recipient.telegram_id, broadcast=True, rate=self.settings.delivery_rate
        )
        lease = self.clock() + dt.timedelta(seconds=self.settings.delivery_lease_seconds)
        async with self.db.begin() as session:
            started = await rq.start_sending(
                session, message.ids, reserved_until=reserved_until, lease_until=lease
            )
        if not started:
            # Our reservation ran out and another process took these over.
            self.gate.cancel(ticket)
            return
        # Committed: from here until the outcome is recorded these rows are "in flight".
        try:
            sent: Message = await self.bot.send_message(
                recipient.telegram_id,
                message.text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
            )
            message_id = sent.message_id
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            self.gate.pause(wait)
            state, error = ReminderState.PENDING, "429"
            retry_at = self.clock() + dt.timedelta(seconds=wait)
        except Forbidden as exc:
            state, error = ReminderState.SKIPPED, exc.message[:200]
        except BadRequest as exc:
            state, error = ReminderState.FAILED, exc.message[:200]
        except NetworkError as exc:  # TimedOut included
            if classify_network_error(exc) is SendFailure.MAYBE_SENT:
                reason = "timed out; may have arrived" if isinstance(exc, TimedOut) else exc.message
                state, error = ReminderState.UNCONFIRMED, reason[:200]
            else:
                # Never reached Telegram: safe to try again shortly.
                state, error = ReminderState.PENDING, exc.message[:200]
                retry_at = self.clock() + dt.timedelta(
                    seconds=self.settings.delivery_backoff_seconds
                )
        except TelegramError as exc:
            state, error = ReminderState.FAILED, exc.message[:200]
        finally:
            self.gate.release(ticket)
        await self._finish(
            list(message.ids), state, error, message_id=message_id, retry_at=retry_at
        )
        if state is ReminderState.SENT:
            report.messages += 1
            report.reminders += len(message.ids)
        elif state is not ReminderState.PENDING:
            report.failed += len(message.ids)

    async def _finish(
        self,
        ids: Sequence[int],
        state: ReminderState,
        error: str | None,
        *,
        message_id: int | None = None,
        retry_at: dt.datetime | None = None,
    ) -> None:
        async with self.db.begin() as session:
            await rq.finish(
                session,
                ids,
                state=state,
                now=self.clock(),
                message_id=message_id,
                error=error,
                retry_at=retry_at,
            )


def job_options(settings: Settings) -> dict[str, Any]:
    """APScheduler options for both reminder jobs, chosen on purpose.

    * coalesce=True: if the process stalled (suspended laptop, long GC, blocked loop) and
      several runs were missed, run once, not once per missed run. A tick sends everything
      due whenever it runs and planning is idempotent, so extra runs would only add load.
    * misfire_grace_time=None: run however late. APScheduler's default (1 s in PTB) would
      silently drop a run that started late; for us a late run is always better than none.
    * max_instances=1: a slow tick (a big backlog after an outage) is never overlapped by the
      next one; the next simply starts when this one is done.
    """
    del settings
    return {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}


# ---- the periodic jobs ----------------------------------------------------------------------


async def tick_job(context: Any) -> None:
    """JobQueue callback: send what is due."""
    engine: ReminderEngine = context.application.bot_data[REMINDERS_KEY]
    try:
        report = await engine.tick()
    except Exception:
        log.exception("reminder tick failed; the next one retries")
        return
    if report.messages or report.failed:
        log.info("reminders: %s", report)


def tick_now(job_queue: JobQueue[Any] | None) -> None:
    """Rows just became due (invitations, announcements): send them without waiting for the
    next periodic tick."""
    if job_queue is not None:
        job_queue.run_once(tick_job, 0, name="reminders.tick.now")


async def plan_job(context: Any) -> None:
    """JobQueue callback: the periodic planning pass (bot.reminders.passes)."""
    engine: ReminderEngine = context.application.bot_data[REMINDERS_KEY]
    try:
        report = await engine.plan_periodic()
    except Exception:
        log.exception("reminder planning failed; the next run retries")
        return
    log.info("reminders planned: %s", report)


async def replan_job(context: Any) -> None:
    """JobQueue callback: plan again the branches a change marked."""
    engine: ReminderEngine = context.application.bot_data[REMINDERS_KEY]
    try:
        report = await engine.replan()
    except Exception:
        log.exception("planning marked branches failed; the next run retries")
        return
    if report.branches:
        log.info("marked branches planned: %s", report)


async def start_job(context: Any) -> None:
    """JobQueue callback at start-up: plan, then send what is due at once (a training
    scheduled just before a restart must not wait a whole planning interval)."""
    await plan_job(context)
    await tick_job(context)


def schedule(job_queue: Any, settings: Settings) -> None:
    """The periodic jobs (ticks, the marked branches' plan, the planning pass) and, unless
    turned off, one planning pass and tick at start-up: a training scheduled just before a
    restart must not wait a whole interval."""
    options = job_options(settings)
    if settings.reminder_plan_at_start:
        job_queue.run_once(start_job, 0, name="reminders.start", job_kwargs=options)
    job_queue.run_repeating(
        tick_job,
        interval=settings.reminder_tick_seconds,
        first=settings.reminder_tick_seconds,
        name="reminders.tick",
        job_kwargs=options,
    )
    job_queue.run_repeating(
        replan_job,
        interval=settings.reminder_tick_seconds,
        first=settings.reminder_tick_seconds,
        name="reminders.replan",
        job_kwargs=options,
    )
    job_queue.run_repeating(
        plan_job,
        interval=settings.reminder_plan_minutes * 60,
        first=settings.reminder_plan_minutes * 60,
        name="reminders.plan",
        job_kwargs=options,
    )
