"""`zhibu run` on PostgreSQL: one of any number of processes serving the bot through the inbox.

Every process:
- takes updates into the inbox: by webhook (each process answers the webhook behind the load
  balancer, with /healthz and /metrics on the same port), or, without a webhook, the leader
  alone polls Telegram;
- claims chats with waiting updates and handles each chat's updates in order
  (bot.cluster.InboxWorker), through the same update processor and handlers as a single
  process; each update's conversation states are read from the database first
  (bot.conversation_states), so any process continues any conversation;
- sends within Telegram's limits shared through the database (bot.shared_gate);
- contends for the leader's lease (bot.cluster.Leadership): the leader runs the periodic jobs
  (bot.leader_jobs) and the polling, and another process takes them over within the lease
  when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any
from urllib.parse import urlsplit

from telegram import Update

from bot.app import ZhibuApp, build_application
from bot.cluster import BOOK_KEY, InboxWorker, Leadership
from bot.config import Settings
from bot.intake import ALLOWED_UPDATES, poll_into_inbox, webhook_routes
from bot.leader_jobs import LEADER_KEY, LeaderJobs
from bot.ops import METRICS_KEY, Metrics, OpsServer, ops_server, process_name
from storage import cluster_queries as cq
from storage.db import create_engine, session_factory

log = logging.getLogger(__name__)

# The line a supervisor (or a test) waits for: the process takes updates from here on.
SERVING = "serving through the inbox"
# Handled updates are kept a day (to see what happened), far less than the week after which
# Telegram may number new updates like old ones.
INBOX_KEPT = dt.timedelta(days=1)
INBOX_PURGE_EVERY = dt.timedelta(hours=1)


async def serve_cluster(settings: Settings, stop: asyncio.Event) -> None:
    """Serve until `stop` is set, then hand over and finish the updates in hand."""
    node = ClusterNode(build_application(settings, cluster=True), settings)
    await node.start()
    try:
        await stop.wait()
    finally:
        await node.stop()


class ClusterNode:
    """One bot process among several on one PostgreSQL database."""

    def __init__(self, application: ZhibuApp, settings: Settings) -> None:
        self.application = application
        self.settings = settings
        # The inbox, the claims and the lease: one-statement bookkeeping (bot.cluster).
        self.db = session_factory(application.bot_data[BOOK_KEY])
        self.owner = process_name()
        self.metrics: Metrics = application.bot_data[METRICS_KEY]
        # LISTEN needs a connection of its own for the process's life: not through a
        # transaction-pooling PgBouncer (ZHIBU_DATABASE_DIRECT_URL).
        direct = settings.database_direct_url
        self._own_listen_engine = direct is not None
        engine = application.bot_data["zhibu.engine"]
        self._listen_engine = create_engine(direct) if direct else engine
        self.worker = InboxWorker(self.db, self._listen_engine, self.owner, self._handle)
        self.worker.on_set_aside = lambda _update_id: self.metrics.finished("set_aside", 0.0)
        self.leadership = Leadership(self.db, self.owner, self._leads)
        self._servers: list[OpsServer] = []
        self._polling: asyncio.Task[None] | None = None
        self._purging: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the application, the intake, the worker and the contest for the lease."""
        application = self.application
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        settings = self.settings
        if settings.webhook_url:
            secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
            path = urlsplit(settings.webhook_url).path
            routes = webhook_routes(path, secret, self.db)
            self._servers.append(self._ops(settings.webhook_listen, routes))
        if settings.metrics_listen and settings.metrics_listen != settings.webhook_listen:
            self._servers.append(self._ops(settings.metrics_listen, []))
        for server in self._servers:
            await server.start()
        await self.worker.start()
        self.leadership.start()
        log.info("%s as %s", SERVING, self.owner)

    async def stop(self) -> None:
        """Take no more updates, hand the leader's work over, finish the updates in hand."""
        for server in self._servers:
            await server.stop()
        await self.leadership.stop()
        await self.worker.stop()
        application = self.application
        await application.stop()
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)
        if self._own_listen_engine:
            await self._listen_engine.dispose()

    def _ops(self, listen: str, routes: list[Any]) -> OpsServer:
        return ops_server(self.metrics, self.db, self.settings, listen, routes=routes)

    async def _handle(self, payload: dict[str, Any]) -> None:
        """One stored update, through the same processor and handlers as a single process."""
        application = self.application
        update = Update.de_json(payload, application.bot)
        await application.update_processor.process_update(
            update, application.process_update(update)
        )

    async def _leads(self, leads: bool) -> None:
        """Gained or lost the lease: start or stop the leader's work."""
        self.metrics.set_leader(leads)
        jobs: LeaderJobs = self.application.bot_data[LEADER_KEY]
        if leads:
            await jobs.start()
            self._purging = asyncio.create_task(self._purge_inbox(), name="inbox-purge")
            await self._start_intake()
        else:
            await self._stop_intake()
            if self._purging is not None:
                self._purging.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._purging
                self._purging = None
            await jobs.stop()

    async def _purge_inbox(self) -> None:
        """Forget handled updates after a day (before Telegram may reuse their ids)."""
        while True:
            try:
                async with self.db.begin() as session:
                    purged = await cq.purge_handled(session, older_than=INBOX_KEPT)
                if purged:
                    log.info("inbox: %d handled updates forgotten", purged)
            except Exception:
                log.exception("purging the inbox failed; the next run retries")
            await asyncio.sleep(INBOX_PURGE_EVERY.total_seconds())

    async def _start_intake(self) -> None:
        bot = self.application.bot
        if self.settings.webhook_url:
            secret = self.settings.webhook_secret
            # Idempotent: each new leader says it again, so a changed URL or secret takes.
            await bot.set_webhook(
                self.settings.webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=ALLOWED_UPDATES,
            )
            return
        await bot.delete_webhook()
        self._polling = asyncio.create_task(
            poll_into_inbox(bot, self.db, allowed_updates=ALLOWED_UPDATES), name="polling"
        )

    async def _stop_intake(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
