"""The periodic work one process does for the whole bot, started and stopped as a unit.

One process alone runs: the notice delivery worker, the reminder tick and planner, the hourly
pocket-member check, the retention purge, the sweep of meetings' cards left unedited, and the
command menus set at start. With SQLite
that is the bot's only process, from start to stop; with PostgreSQL it is the elected leader
(bot.cluster.Leadership), from the moment it gains the lease until it loses it, and another
process takes over within the lease when it dies.

Every other process can still send reminders that became due at once (`tick_now` from a
handler: the reminder rows are claimed with row locks) and wake a local delivery worker when
it has one; the leader's worker also finds new work on its own poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.delivery import DELIVERY_KEY, DeliveryService
from bot.meetings.card import schedule as schedule_cards
from bot.relink import jobs as relink_jobs
from bot.relink.notifier import Render
from bot.reminders.engine import schedule as schedule_reminders
from bot.retention import schedule_retention

log = logging.getLogger(__name__)

LEADER_KEY = "zhibu.leader_jobs"
# The JobQueue jobs that belong to the leader (by the names their modules give them).
JOB_NAMES = (
    "reminders.start",
    "reminders.tick",
    "reminders.replan",
    "reminders.plan",
    "retention.purge",
    "relink.pocket_members",
    "meetings.cards",
)


class LeaderJobs:
    """Start the leader's periodic work, or stop it (idempotent both ways)."""

    def __init__(
        self,
        application: Any,
        *,
        delivery: Callable[[], DeliveryService],
        relink_render: Render,
        menus: Callable[[], Awaitable[None]],
    ) -> None:
        self._application = application
        self._delivery = delivery
        self._relink_render = relink_render
        self._menus = menus
        self._lock = asyncio.Lock()
        self.running = False

    async def start(self) -> None:
        """Set the menus, start delivering notices, schedule the periodic jobs."""
        async with self._lock:
            if self.running:
                return
            self.running = True
            await self._menus()
            services = self._application.bot_data["zhibu.services"]
            delivery = self._delivery()
            await delivery.start()
            self._application.bot_data[DELIVERY_KEY] = delivery
            job_queue = self._application.job_queue
            if job_queue is not None:
                schedule_reminders(job_queue, services.settings)
                schedule_retention(job_queue, services.db, services.settings)
                # Meetings' cards an answer left dirty (after a restart, or a failed edit).
                schedule_cards(job_queue)
            relink_jobs.schedule(self._application, self._relink_render)
            log.info("the leader's jobs started")

    async def stop(self) -> None:
        """Unschedule the periodic jobs and let the delivery worker finish its calls."""
        async with self._lock:
            if not self.running:
                return
            self.running = False
            job_queue = self._application.job_queue
            if job_queue is not None:
                for name in JOB_NAMES:
                    for job in job_queue.get_jobs_by_name(name):
                        job.schedule_removal()
            delivery: DeliveryService | None = self._application.bot_data.pop(DELIVERY_KEY, None)
            if delivery is not None:
                await delivery.stop()
            log.info("the leader's jobs stopped")
