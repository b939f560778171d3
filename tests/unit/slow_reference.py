"""A slow, obviously correct business-time reference: walk the calendar day by day in plain Python.

Exact integer microseconds throughout. Instants come from subtracting a UTC epoch from aware local
datetimes (different tzinfos, so Python subtracts real instants), not from the kernel's `.timestamp()`.
Overlapping opening intervals count once (their union).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def instant_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MICRO


class ReferenceCalendar:
    """weekly: seven lists of (start_s, end_s) after local midnight (end may pass 86400); None = 24/7."""

    def __init__(self, timezone: str, weekly, holiday_dates: Iterable[date] = (), country=None, subdivision=None):
        self.zone = ZoneInfo(timezone)
        self.weekly = weekly
        self.holiday_dates = set(holiday_dates)
        if country:
            import holidays

            self.country = holidays.country_holidays(country, subdiv=subdivision)
        else:
            self.country = None

    def is_holiday(self, day: date) -> bool:
        return day in self.holiday_dates or (self.country is not None and day in self.country)

    def day_intervals(self, day: date) -> list[tuple[int, int]]:
        """Opening intervals starting on a local date, as (open_us, close_us) instants."""
        if self.is_holiday(day):
            return []
        out = []
        for start_s, end_s in self.weekly[day.weekday()]:
            midnight = datetime.combine(day, time(0))
            opening = (midnight + timedelta(seconds=start_s)).replace(tzinfo=self.zone)
            closing = (midnight + timedelta(seconds=end_s)).replace(tzinfo=self.zone)
            if instant_us(closing) > instant_us(opening):
                out.append((instant_us(opening), instant_us(closing)))
        return out

    def merged_intervals(self, first: date, last: date) -> list[tuple[int, int]]:
        pieces = []
        day = first
        while day <= last:
            pieces.extend(self.day_intervals(day))
            day += timedelta(days=1)
        pieces.sort()
        merged: list[list[int]] = []
        for opening, closing in pieces:
            if merged and opening <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], closing)
            else:
                merged.append([opening, closing])
        return [(a, b) for a, b in merged]

    def local_date(self, us: int) -> date:
        return (EPOCH + us * MICRO).astimezone(self.zone).date()

    def business_us(self, start_us: int, end_us: int) -> int:
        if end_us <= start_us:
            return 0
        if self.weekly is None:
            return end_us - start_us
        total = 0
        first = self.local_date(start_us) - timedelta(days=2)
        last = self.local_date(end_us) + timedelta(days=1)
        for opening, closing in self.merged_intervals(first, last):
            overlap = min(closing, end_us) - max(opening, start_us)
            if overlap > 0:
                total += overlap
        return total

    def due_us(self, start_us: int, need_us: int) -> int:
        if need_us <= 0:
            return start_us
        if self.weekly is None:
            return start_us + need_us
        span = 14
        while True:
            first = self.local_date(start_us) - timedelta(days=2)
            left = need_us
            for opening, closing in self.merged_intervals(first, first + timedelta(days=span)):
                if closing <= start_us:
                    continue
                lower = max(opening, start_us)
                available = closing - lower
                if left <= available:
                    return lower + left
                left -= available
            span *= 2
