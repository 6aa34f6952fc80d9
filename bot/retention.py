"""Retention: what is kept only for a while is deleted by a periodic job.

- conversation drafts untouched for ZHIBU_RETENTION_DAYS (an abandoned registration or form);
- throttling records of wrong invite codes once they no longer count (after
  ZHIBU_INVITE_FAILURE_WINDOW_MINUTES);
- accounts of people who agreed to the privacy notice but never registered, after
  ZHIBU_RETENTION_DAYS, unless something still refers to them (a relink request, say).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from storage import invite_queries, privacy_queries, queries
from storage.db import SessionFactory

log = logging.getLogger(__name__)

PURGE_EVERY = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows of each kind were deleted."""

    drafts: int
    failures: int
    accounts: int


async def purge(session: AsyncSession, *, settings: Settings, now: dt.datetime) -> Purged:
    """Delete what has outlived its retention period (audited when anything went)."""
    keep = dt.timedelta(days=settings.retention_days)
    window = dt.timedelta(minutes=settings.invite_failure_window_minutes)
    purged = Purged(
        drafts=await privacy_queries.delete_drafts_before(session, now - keep),
        failures=await invite_queries.delete_failures_before(session, now - window),
        accounts=await privacy_queries.delete_stray_accounts(session, now - keep),
    )
    if purged.drafts or purged.accounts:
        await queries.audit(
            session,
            action="retention.purge",
            actor_label="system",
            details={"drafts": purged.drafts, "accounts": purged.accounts},
        )
    return purged


def schedule_retention(job_queue: Any, db: SessionFactory, settings: Settings) -> None:
    """Run the purge every hour on the application's JobQueue."""

    async def run(_context: object) -> None:
        async with db.begin() as session:
            purged = await purge(session, settings=settings, now=settings.now())
        log.info(
            "retention: deleted %d drafts, %d throttling records, %d accounts",
            purged.drafts,
            purged.failures,
            purged.accounts,
        )

    job_queue.run_repeating(run, interval=PURGE_EVERY, first=60, name="retention.purge")
