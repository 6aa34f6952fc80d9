"""Counting re-linked members by calendar year, and phone numbers as reports show them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage import relink_queries
from storage.models_relink import RelinkRequest


def year_bounds(now: dt.datetime, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The calendar year of `now` in the organisation's time zone, as UTC [start, end)."""
    zone = ZoneInfo(time_zone)
    year = now.astimezone(zone).year
    start = dt.datetime(year, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    return start, end


async def relinked_this_year(
    session: AsyncSession, now: dt.datetime, time_zone: str
) -> list[RelinkRequest]:
    """Reconnect requests completed this calendar year (every subtree: filter by scope)."""
    start, end = year_bounds(now, time_zone)
    return await relink_queries.relinked_between(session, start, end)


def mask_phone(phone: str | None) -> str:
    """138****0000: enough to recognise a number, not to call it."""
    if not phone:
        return ""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]  # +86: the mainland number is what people recognise
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 8:
        return "*" * (len(digits) - 2) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
