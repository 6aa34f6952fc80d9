"""The hourly pocket-member check: expired, unaccepted transfer letters flagged and told."""

from __future__ import annotations

import datetime as dt

from bot.context import SERVICES_KEY, BotContext, Services
from bot.relink.notifier import RENDER_KEY, AnyApp, Render, send_notices
from bot.relink.service import flag_pocket_members

POCKET_CHECK_INTERVAL = dt.timedelta(hours=1)


async def check_pocket_members(application: AnyApp, now: dt.datetime) -> int:
    """Flag expired, unaccepted transfer letters and tell both secretaries and the admins."""
    services: Services = application.bot_data[SERVICES_KEY]
    async with services.db.begin() as session:
        outcomes = await flag_pocket_members(session, now=now)
    for outcome in outcomes:
        await send_notices(application, outcome)
    return len(outcomes)


async def pocket_member_job(context: BotContext) -> None:
    """The JobQueue callback: the clock is Settings.now(), which tests replace."""
    await check_pocket_members(context.application, context.settings.now())


def schedule(application: AnyApp, render: Render) -> None:
    """Keep the notices' renderer, and run the check every hour (first a minute after start)."""
    application.bot_data[RENDER_KEY] = render
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            pocket_member_job,
            interval=POCKET_CHECK_INTERVAL,
            first=dt.timedelta(minutes=1),
            name="relink.pocket_members",
        )
