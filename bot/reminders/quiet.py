"""Quiet hours: when a non-urgent reminder may reach someone, in their own time zone."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass


def parse_clock(value: str) -> int:
    """Minutes after midnight of an "HH:MM" time."""
    hours, _, minutes = value.partition(":")
    return int(hours) * 60 + int(minutes)


def format_clock(minutes: int) -> str:
    """ "HH:MM" of minutes after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A nightly window [start, end) in local minutes; it may cross midnight (22:00-08:00)."""

    start: int
    end: int

    def _contains(self, minute: int) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def release_at(self, now: dt.datetime, time_zone: str) -> dt.datetime | None:
        """When a reminder due `now` may be sent: None when now is fine, else the window's end.

        Local wall-clock arithmetic, so a DST change inside the window still ends it at the
        configured local time.
        """
        zone = zoneinfo.ZoneInfo(time_zone)
        local = now.astimezone(zone)
        minute = local.hour * 60 + local.minute
        if not self._contains(minute):
            return None
        day = local.date()
        if self.start > self.end and minute >= self.start:
            day += dt.timedelta(days=1)
        end = dt.datetime.combine(day, dt.time(self.end // 60, self.end % 60), tzinfo=zone)
        return end.astimezone(dt.UTC)


@functools.lru_cache(maxsize=8192)
def local_moment(day: dt.date, hour: int, time_zone: str, minute: int = 0) -> dt.datetime:
    """UTC instant of a local wall-clock time on a day in a time zone."""
    zone = zoneinfo.ZoneInfo(time_zone)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.UTC)
