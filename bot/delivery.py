"""Rate-limited, crash-safe delivery of notices (and, later, reminders) to many chats.

Two pieces:

* `FloodGate` (bot.floodgate) owns Telegram's limits, shared by interactive replies, notices
  and reminders; every outgoing call takes a slot first.
* `DeliveryService` is the worker: it starts scheduled notices, claims one outbox row per
  in-flight send, sends it and records the outcome.

Exactly once, as far as it can be had. Each copy is claimed in its own committed transaction
('sending', with a lease) *immediately before* its HTTP call, and marked 'sent' with Telegram's
message_id right after. A crash can therefore leave only the copies that were in flight, at most
one per lane, in 'sending'; whether Telegram received them cannot be asked afterwards. We resolve
them as delivered ('unconfirmed': counted, listed, never sent again): a second copy of an
official notice is worse than a missing one, which the admin sees in the summary and can re-send
(and which the "re-send to those who have not acknowledged" button covers). The only loss is a
crash between the claim's commit and the request leaving the process, a few microseconds per
copy; everything still pending resumes after a restart. A timed-out call is treated the same way
(it may have arrived); a refused connection or a 5xx answer was not delivered and is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.config import Settings
from bot.delivery_side import AudienceFillers, ProgressReports
from bot.enums import DeliveryState
from bot.floodgate import (
    FREE_LANE,
    GATE_KEY,
    PAID_LANE,
    FloodGate,
    GateRateLimiter,
    Ticket,
    gate_for,
    retry_seconds,
)
from bot.transport import AiohttpRequest, SendFailure, classify_network_error
from storage import notice_queries as nq
from storage.db import SessionFactory

__all__ = [
    "DELIVERY_KEY",
    "GATE_KEY",
    "DeliveryService",
    "FloodGate",
    "GateRateLimiter",
    "Rendered",
    "gate_for",
    "retry_seconds",
]

log = logging.getLogger(__name__)

# A notice's attachment kind -> the Bot API method sending it (the file id goes in a parameter
# of the same name, the text as its caption).
MEDIA_METHODS = {"photo": "sendPhoto", "document": "sendDocument"}

# Copies that got their slot within CLAIM_WAIT seconds are claimed in one commit (at most
# CLAIM_BATCH); 'sent' outcomes are recorded together FLUSH_WAIT seconds later (or at
# FLUSH_BATCH). A crash before that flush leaves them 'sending': resolved as delivered.
CLAIM_BATCH = 16
CLAIM_WAIT = 0.005
FLUSH_BATCH = 200
FLUSH_WAIT = 0.05
# Seconds stop() waits for the worker to finish its current copies before cancelling it.
STOP_GRACE = 10.0

Render = Callable[[Any, nq.Outgoing], Coroutine[Any, Any, "Rendered | None"]]


@dataclasses.dataclass(frozen=True, slots=True)
class Rendered:
    """One copy ready to send: text (or caption), keyboard and optional media."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    media_kind: str | None = None
    media_file_id: str | None = None


class DeliveryService:
    """Sends outbox rows at the configured rate, one claimed row per in-flight call.

    Used by notices; reminders can reuse `send_copy`-style calls through the same gate. Hooks:
    `render(session, copy)` builds a copy's content (per recipient, at send time), and
    `on_progress()` is awaited every few seconds while notices go out (progress messages).
    """

    def __init__(
        self,
        *,
        db: SessionFactory,
        settings: Settings,
        gate: FloodGate,
        render: Render,
        on_progress: Callable[[bool], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.gate = gate
        self._render = render
        self._bot: Bot | None = None
        self._request: AiohttpRequest | None = None
        self._paid = settings.paid_broadcast
        self._lane = PAID_LANE if self._paid else FREE_LANE
        self._rate = settings.paid_broadcast_rate if self._paid else settings.delivery_rate
        self._concurrency = (
            settings.paid_broadcast_concurrency if self._paid else settings.delivery_concurrency
        )
        self._lanes = asyncio.Semaphore(self._concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._in_flight: set[int] = set()
        self._progress = ProgressReports(on_progress, settings.delivery_progress_seconds)
        self._fillers = AudienceFillers(db, self._now, self.wake)
        self._sent: list[tuple[int, int | None, dt.datetime]] = []
        self._flush_lock = asyncio.Lock()
        self._flush_task: asyncio.Task[None] | None = None
        self._idle_passes = 0
        self._drain_waiters = 0
        self._next_retry: dt.datetime | None = None
        self._drain = asyncio.Condition()

    @property
    def bot(self) -> Bot:
        """The Bot the worker sends with (its own HTTP pool, sized for its lanes)."""
        assert self._bot is not None, "DeliveryService.start() first"
        return self._bot

    async def start(self) -> None:
        """Resolve copies a crash left in flight, then start the worker task."""
        settings = self.settings
        token = settings.bot_token.get_secret_value() if settings.bot_token else ""
        self._request = AiohttpRequest(connection_pool_size=self._concurrency + 4)
        self._bot = Bot(
            token,
            base_url=settings.bot_api_url,
            base_file_url=settings.file_url,
            request=self._request,
            # Never polls; without it PTB builds its default httpx client, ~30 ms of CPU (TLS).
            get_updates_request=AiohttpRequest(connection_pool_size=1),
        )
        await self._bot.initialize()
        async with self.db.begin() as session:
            resolved = await nq.reconcile_interrupted(session, self._now())
        if resolved:
            log.warning(
                "%d notice copies were in flight when the bot stopped: not resent", resolved
            )
        self._task = asyncio.create_task(self._run(), name="zhibu-delivery")

    async def stop(self) -> None:
        """Let calls in flight finish and record them, then stop."""
        self._stopping = self._fillers.stopping = True
        self._wake.set()
        if self._task is not None:
            # The worker stops between copies by itself; cancelling it only as a last resort,
            # since a cancel landing just after a claim's commit would strand those copies.
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        others = [*self._sends, *self._fillers.tasks(), *self._progress.tasks()]
        await asyncio.gather(*others, return_exceptions=True)
        await self._flush_sent()
        if self._bot is not None:
            await self._bot.shutdown()

    def wake(self) -> None:
        """Look for work now (a notice was confirmed, cancelled or re-sent, or time moved on)."""
        self._wake.set()

    async def drained(self) -> None:
        """Wait until a fresh pass finds nothing to send (copies waiting out a backoff aside)."""
        async with self._drain:
            target = self._idle_passes + 2
            self._drain_waiters += 1
            self.wake()
            try:
                await self._drain.wait_for(lambda: self._idle_passes >= target)
            finally:
                self._drain_waiters -= 1

    def _now(self) -> dt.datetime:
        return self.settings.now()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                worked = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery step failed; retrying shortly")
                worked = False
            if worked:
                continue
            await self._idle()

    async def _idle(self) -> None:
        if self._drain_waiters:
            self._wake.set()
        timeout = self.settings.delivery_poll_seconds
        if self._next_retry is not None:
            until = (self._next_retry - self._now()).total_seconds()
            timeout = max(0.01, min(timeout, until))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _step(self) -> bool:
        """One pass: start due notices, send a batch, report progress. True when it sent."""
        now = self._now()
        more: list[int] = []
        async with self.db.begin() as session:
            for notice in await nq.due_notices(session, now):
                if notice.id in self._fillers:
                    continue
                count = await nq.start_notice(session, notice, now)
                log.info("notice %s started: %d recipients", notice.id, count)
                if notice.fill_after is not None:
                    more.append(notice.id)
        for notice_id in more:
            self._fillers.start(notice_id)
        batch_size = max(64, self._concurrency * 4)
        async with self.db() as session:
            batch = await nq.pending_copies(
                session, now=now, limit=batch_size + len(self._in_flight)
            )
        batch = [c for c in batch if c.delivery_id not in self._in_flight][:batch_size]
        if batch:
            await self._send_batch(batch)
        else:
            await self._finish_pass()
        return bool(batch)

    async def _send_batch(self, batch: list[nq.Outgoing]) -> None:
        loop = asyncio.get_running_loop()
        ready: list[tuple[nq.Outgoing, Ticket]] = []
        oldest = 0.0
        for copy in batch:
            # A lane, then a slot: every copy claimed below is sent at once, so a crash can
            # leave at most one claimed copy per lane unrecorded. Copies holding their slot go
            # out before anything would make them wait.
            if ready and (
                self._lanes.locked()
                or not self.gate.can_start(copy.chat_id, lane=self._lane, rate=self._rate)
            ):
                await self._launch(ready)
                ready = []
            ticket = await self._take_slot(copy)
            if ticket is None:
                break
            if not ready:
                oldest = loop.time()
            ready.append((copy, ticket))
            if len(ready) >= CLAIM_BATCH or loop.time() - oldest >= CLAIM_WAIT:
                await self._launch(ready)
                ready = []
            await self._progress.maybe(final=False)
        if ready:
            await self._launch(ready)

    async def _take_slot(self, copy: nq.Outgoing) -> Ticket | None:
        """A lane and a gate slot for the copy; None when the worker is stopping."""
        await self._lanes.acquire()
        if self._stopping:
            self._lanes.release()
            return None
        self._in_flight.add(copy.delivery_id)
        ticket = await self.gate.acquire(
            copy.chat_id, lane=self._lane, broadcast=True, rate=self._rate
        )
        if self._stopping:
            self.gate.cancel(ticket)
            self._in_flight.discard(copy.delivery_id)
            self._lanes.release()
            return None
        return ticket

    async def _finish_pass(self) -> None:
        """Nothing left to send: record, reconcile, report, and wake those awaiting a drain."""
        if self._sends:
            await asyncio.gather(*list(self._sends), return_exceptions=True)
        await self._flush_sent()
        async with self.db.begin() as session:
            await nq.reconcile_interrupted(session, self._now())
        await self._progress.maybe(final=True)
        async with self.db() as session:
            self._next_retry = await nq.next_retry_at(session)
        if self._next_retry is None and not self._fillers:
            async with self._drain:
                self._idle_passes += 1
                self._drain.notify_all()

    async def _launch(self, ready: list[tuple[nq.Outgoing, Ticket]]) -> None:
        """Claim the copies that have their slot in one commit, then send each at once."""
        rendered: dict[int, Rendered] = {}
        try:
            async with self.db.begin() as session:
                for copy, _ in ready:
                    content = await self._render(session, copy)
                    if content is not None:
                        rendered[copy.delivery_id] = content
                lease = self._now() + dt.timedelta(seconds=self.settings.delivery_lease_seconds)
                claimed = await nq.claim_copies(session, list(rendered), lease_until=lease)
        except Exception:
            log.exception("claiming notice copies failed")
            claimed = set()
        for copy, ticket in ready:
            if copy.delivery_id not in claimed:
                # Cancelled or taken meanwhile: the slot and the lane go back unused.
                self.gate.cancel(ticket)
                self._in_flight.discard(copy.delivery_id)
                self._lanes.release()
                continue
            task = asyncio.create_task(self._send_claimed(copy, ticket, rendered[copy.delivery_id]))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    async def _send_claimed(self, copy: nq.Outgoing, ticket: Ticket, rendered: Rendered) -> None:
        """Send one claimed copy and record the outcome ('sent' in the next group commit)."""
        try:
            state, message_id, error, not_before = await self._attempt(copy, rendered, ticket)
            if state is DeliveryState.SENT:
                self._sent.append((copy.delivery_id, message_id, self._now()))
                if len(self._sent) >= FLUSH_BATCH:
                    await self._flush_sent()
                else:
                    self._schedule_flush()
                return
            if state is DeliveryState.UNREACHABLE:
                async with self.db.begin() as session:
                    await nq.finish_copy(
                        session, copy.delivery_id, state=state, now=self._now(), error=error
                    )
                    await nq.mark_unreachable(
                        session, account_id=copy.account_id, now=self._now(), reason=error or ""
                    )
                return
            async with self.db.begin() as session:
                await nq.finish_copy(
                    session,
                    copy.delivery_id,
                    state=state,
                    now=self._now(),
                    error=error,
                    not_before=not_before,
                )
            if state is DeliveryState.PENDING:
                self.wake()
        except Exception:
            log.exception("sending notice copy %s failed", copy.delivery_id)
        finally:
            self._in_flight.discard(copy.delivery_id)

    async def _attempt(
        self, copy: nq.Outgoing, rendered: Rendered, ticket: Ticket
    ) -> tuple[DeliveryState, int | None, str | None, dt.datetime | None]:
        """The HTTP call and what its answer means; the slot and lane are freed on the answer."""
        try:
            message_id = await self._send(copy.chat_id, rendered)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            self.gate.pause(wait, self._lane)
            return DeliveryState.PENDING, None, "429", self._now() + dt.timedelta(seconds=wait)
        except Forbidden as exc:
            return DeliveryState.UNREACHABLE, None, exc.message[:200], None
        except BadRequest as exc:
            return DeliveryState.FAILED, None, exc.message[:200], None
        except NetworkError as exc:  # TimedOut included
            if classify_network_error(exc) is SendFailure.MAYBE_SENT:
                reason = "timed out; may have arrived" if isinstance(exc, TimedOut) else exc.message
                return DeliveryState.UNCONFIRMED, None, reason[:200], None
            state, error = self._retry(copy, exc.message)
            return state, None, error, self._backoff(copy)
        except TelegramError as exc:
            return DeliveryState.FAILED, None, exc.message[:200], None
        finally:
            self.gate.release(ticket)
            self._lanes.release()
        return DeliveryState.SENT, message_id, None, None

    def _schedule_flush(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_WAIT)
        await self._flush_sent()

    async def _flush_sent(self) -> None:
        """Record the copies sent since the last flush, in one transaction."""
        async with self._flush_lock:
            sent, self._sent = self._sent, []
            if not sent:
                return
            try:
                async with self.db.begin() as session:
                    await nq.mark_sent(session, sent)
            except Exception:
                # They stay 'sending' and are resolved as delivered: never sent twice.
                log.exception("recording %d sent notice copies failed", len(sent))

    def _retry(self, copy: nq.Outgoing, reason: str) -> tuple[DeliveryState, str]:
        # attempts counts this one (the claim incremented it).
        if copy.attempts + 1 >= self.settings.delivery_max_attempts:
            return DeliveryState.FAILED, f"gave up: {reason}"[:200]
        return DeliveryState.PENDING, reason[:200]

    def _backoff(self, copy: nq.Outgoing) -> dt.datetime:
        seconds = min(300.0, self.settings.delivery_backoff_seconds * 2**copy.attempts)
        return self._now() + dt.timedelta(seconds=seconds)

    async def _send(self, chat_id: int, rendered: Rendered) -> int:
        """One Bot API call; only the message_id of the answer is kept.

        Posted through the request object this worker owns rather than Bot.send_message: the
        worker needs nothing but the id, and parsing every answer into a Message was a tenth
        of a paid broadcast's CPU. Errors are PTB's all the same (BaseRequest.post raises them).
        """
        assert self._request is not None, "DeliveryService.start() first"
        params: dict[str, Any] = {"chat_id": chat_id, "parse_mode": ParseMode.HTML.value}
        media = rendered.media_kind if rendered.media_file_id else None
        if media in MEDIA_METHODS:
            method = MEDIA_METHODS[media]
            params[media] = rendered.media_file_id
            params["caption"] = rendered.text
        else:
            method = "sendMessage"
            params["text"] = rendered.text
        if rendered.keyboard is not None:
            params["reply_markup"] = rendered.keyboard
        if self._paid:
            params["allow_paid_broadcast"] = True
        result = await self._request.post(
            f"{self.bot.base_url}/{method}",
            RequestData([RequestParameter.from_input(k, v) for k, v in params.items()]),
        )
        assert isinstance(result, dict)
        return int(result["message_id"])

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, keyboard: InlineKeyboardMarkup | None
    ) -> None:
        """Edit one of our messages with a priority slot, a second apart in that chat."""
        ticket = await self.gate.acquire(chat_id)
        try:
            await self.bot.edit_message_text(
                text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
        except BadRequest as exc:
            if "not modified" not in exc.message:
                log.warning("could not edit message %s in %s: %s", message_id, chat_id, exc)
        except TelegramError as exc:
            log.warning("could not edit message %s in %s: %s", message_id, chat_id, exc)
        finally:
            self.gate.release(ticket)


DELIVERY_KEY = "zhibu.delivery"
