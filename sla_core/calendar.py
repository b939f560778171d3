"""Business calendars and the business-time kernel.

A calendar is a weekly schedule of local opening intervals in one IANA time zone, minus holidays, or
"24/7". For the kernel it is expanded into a sorted table of business intervals as UTC instants
(microseconds since the epoch): `open`, `length` and `cum` (business time before the interval, relative to
a fixed origin). With that table, business time is a vectorized lookup:

    j    = searchsorted(open, t, side="right") - 1
    B(t) = cum[j] + clip(t - open[j], 0, length[j])        # business time since the origin
    business_seconds(s, e) = B(e) - B(s)
    due_at(s, need)        = open[k] + (B(s) + need - cum[k]),  k = searchsorted(cum + length, B(s) + need, "left")

The due instant's k comes from a bucket index over the interval ends in business time (`_EndBuckets`): a
gather and a compare or two instead of a binary search; it gives the same k as searchsorted.

Each interval's local start and end are converted to UTC with zoneinfo for their own day, so DST changes
are exact. An interval belongs to the local day it starts on: an overnight shift "22:00-06:00" on a Monday
runs to Tuesday 06:00 and is skipped when Monday is a holiday. Local times that do not exist (the hour
skipped in spring) resolve as zoneinfo does with fold=0; an interval that becomes empty that way is
dropped. The table covers only the dates asked for and grows on demand; the origin never moves, so
`position` stays comparable across calls.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
import numpy as np
import polars as pl

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 86_400
US = 1_000_000
DAY_US = DAY_SECONDS * US
# Local dates around the instants asked for: overnight shifts end a day later and offsets reach 14h.
_MARGIN_DAYS = 3
_MAX_EXTENSION_DAYS = 366 * 200
# Look-ups run over blocks of this many instants: a block's temporaries are small and used again, instead of
# arrays as long as the input mapped afresh for each step.
_BLOCK = 1 << 16

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")

Interval = tuple[int, int]  # seconds after local midnight; the end may pass 86400 (overnight)
WeeklyHours = tuple[tuple[Interval, ...], ...]  # seven entries, Monday first


def parse_clock_time(text: str, *, allow_24: bool) -> int:
    """'08:30' -> 30600 seconds after midnight; '24:00' only where allowed (an interval's end)."""
    found = _TIME.match(text.strip())
    if not found:
        raise ValueError(f'"{text}" is not a time (use HH:MM)')
    hours, minutes = int(found.group(1)), int(found.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(f'"{text}" is not a time of day (00:00-23:59{", or 24:00 as an end" if allow_24 else ""})')
    return hours * 3600 + minutes * 60


def parse_interval(text: str) -> Interval:
    """'08:00-12:00' -> (28800, 43200); '22:00-06:00' crosses midnight -> (79200, 108000); '24:00' ends a day."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f'"{text}" is not an opening interval (use "08:00-17:30")')
    start_text, end_text = text.split("-")
    start = parse_clock_time(start_text, allow_24=False)
    end = parse_clock_time(end_text, allow_24=True)
    if end == start:
        raise ValueError(f'"{text}" is empty (use "00:00-24:00" for a whole day)')
    if end < start:
        end += DAY_SECONDS
    return (start, end)


def parse_days(text: str) -> tuple[int, ...]:
    """'mon-fri' -> (0, 1, 2, 3, 4); 'sat' -> (5,); 'fri-mon' wraps over the weekend."""
    parts = str(text).strip().lower().split("-")
    if len(parts) not in (1, 2) or any(part not in DAY_NAMES for part in parts):
        raise ValueError(f'"{text}" is not a day or day range (use mon, tue, ..., sun or mon-fri)')
    first = DAY_NAMES.index(parts[0])
    last = DAY_NAMES.index(parts[-1])
    return tuple((first + offset) % 7 for offset in range((last - first) % 7 + 1))


def parse_weekly_hours(hours: Mapping[str, Sequence[str] | str]) -> WeeklyHours:
    """{'mon-fri': ['08:00-12:00', '13:00-17:30'], 'sat': '10:00-14:00'} -> seven tuples of intervals.

    Raises ValueError naming the day key and interval. A day named twice (e.g. mon-fri and fri) is an
    error rather than a silent merge.
    """
    week: list[list[Interval]] = [[] for _ in DAY_NAMES]
    named: dict[int, str] = {}
    for key, intervals in hours.items():
        days = parse_days(key)
        if isinstance(intervals, str):
            intervals = [intervals]
        parsed = []
        for text in intervals:
            try:
                parsed.append(parse_interval(text))
            except ValueError as error:
                raise ValueError(f"{key}: {error}") from None
        for day in days:
            if day in named:
                raise ValueError(f"{key}: {DAY_NAMES[day]} is already given by {named[day]}")
            named[day] = str(key)
            week[day].extend(parsed)
    if not any(week):
        raise ValueError("no opening hours on any day")
    return tuple(tuple(sorted(day)) for day in week)


@dataclass(frozen=True)
class HolidayRule:
    """Public holidays of a country (and subdivision) from the `holidays` package, plus extra dates."""

    country: str | None = None
    subdivision: str | None = None
    dates: tuple[date, ...] = ()


def holiday_calendar(country: str, subdivision: str | None = None):
    """The `holidays` package's calendar; raises ValueError for an unknown country or subdivision."""
    supported = holiday_data.list_supported_countries()
    if country not in supported:
        raise ValueError(f'"{country}" is not a country known to the holidays package (e.g. NL, US, DE)')
    if subdivision is not None and str(subdivision) not in supported[country]:
        known = ", ".join(supported[country][:8]) or "none"
        raise ValueError(f'"{subdivision}" is not a subdivision of {country} (known: {known})')
    return holiday_data.country_holidays(country, subdiv=subdivision)


class _EndBuckets(NamedTuple):
    """An index of a table's interval ends in business time, for the due instant's look-up.

    Business time from `base` is cut into buckets of 2**shift microseconds; first[b] is the number of
    interval ends (cum_end) before bucket b's start. A position T in bucket b has
    searchsorted(cum_end, T, "left") = first[b] + the ends in [bucket start, T), at most `steps` of them
    (one when no interval is shorter than a bucket), so the look-up is a gather and `steps` compares.
    """

    base: int
    shift: int
    first: np.ndarray
    steps: int

    @classmethod
    def of(cls, cum: np.ndarray, cum_end: np.ndarray, length: np.ndarray) -> _EndBuckets:
        if not len(cum_end):
            return cls(0, 0, np.zeros(1, dtype=np.int64), 0)
        base = int(cum[0])
        span = int(cum_end[-1]) - base
        shift = max(int(length.min()).bit_length() - 1, 0)  # buckets no longer than the shortest interval
        while (span >> shift) >= 8 * len(cum_end) + 64:  # many short intervals: fewer, fuller buckets
            shift += 1
        count = (span >> shift) + 1
        first = np.searchsorted(cum_end, base + (np.arange(count, dtype=np.int64) << shift), side="left")
        steps = int(np.bincount((cum_end - base) >> shift, minlength=count).max())
        return cls(base, shift, first.astype(np.int64), steps)


class _Table(NamedTuple):
    """Merged business intervals of the local dates [first_day, last_day] as UTC microseconds."""

    first_day: date
    last_day: date
    open: np.ndarray
    length: np.ndarray
    cum: np.ndarray  # business time before each interval, from the calendar's fixed origin
    cum_end: np.ndarray  # cum + length
    ends: _EndBuckets | None = None

    def position(self, t_us: np.ndarray) -> np.ndarray:
        """B(t) = cum[j] + clip(t - open[j], 0, length[j]), j = searchsorted(open, t, "right") - 1."""
        if len(self.open) == 0:
            return np.zeros(len(t_us), dtype=np.int64)
        out = np.empty(len(t_us), dtype=np.int64)
        for first in range(0, len(t_us), _BLOCK):
            self._position_into(t_us[first:first + _BLOCK], out[first:first + _BLOCK])
        return out

    def _position_into(self, t_us: np.ndarray, out: np.ndarray) -> None:
        j = np.searchsorted(self.open, t_us, side="right")
        j -= 1
        np.maximum(j, 0, out=j)  # before the first interval: clip() gives 0, so B = cum[0]
        np.take(self.open, j, out=out, mode="clip")  # t - open[j], clipped to [0, length[j]], plus cum[j]
        np.subtract(t_us, out, out=out)  # ("clip": j is in range, and the result is written in place)
        np.maximum(out, 0, out=out)
        gathered = np.take(self.length, j, mode="clip")
        np.minimum(out, gathered, out=out)
        out += np.take(self.cum, j, out=gathered, mode="clip")

    def interval_reaching(self, target: np.ndarray) -> np.ndarray:
        """k = searchsorted(cum_end, target, "left"): the first interval whose end reaches each business
        position; through the bucket index when the positions lie within the table."""
        ends = self.ends
        if ends is None or not len(target) or target.min() < ends.base or target.max() > self.cum_end[-1]:
            return np.searchsorted(self.cum_end, target, side="left")
        k = target - ends.base
        k >>= ends.shift
        np.take(ends.first, k, out=k, mode="clip")  # the bucket's first interval, then a step on past each end before target
        if ends.steps:
            reached = np.empty(len(k), dtype=np.int64)
            for _ in range(ends.steps):
                k += np.take(self.cum_end, k, out=reached, mode="clip") < target
        return k


class Calendar:
    """A business calendar: weekly local hours minus holidays in one zone, or always open (24/7)."""

    def __init__(
        self,
        name: str,
        timezone: str = "UTC",
        weekly: WeeklyHours | None = None,
        holidays: HolidayRule | None = None,
    ):
        self.name = name
        self.timezone = timezone
        self.always = weekly is None
        self.weekly: WeeklyHours | None = weekly
        self.holidays = holidays or HolidayRule()
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'"{timezone}" is not an IANA time zone (e.g. Europe/Amsterdam)') from None
        self._holiday_dates = frozenset(self.holidays.dates)
        self._country = (
            holiday_calendar(self.holidays.country, self.holidays.subdivision) if self.holidays.country else None
        )
        self._origin_us: int | None = None
        self._table: _Table | None = None
        self._lock = threading.Lock()

    @classmethod
    def always_open(cls, name: str) -> Calendar:
        return cls(name, "UTC", None)

    def _key(self) -> tuple:
        return (self.name, self.timezone, self.weekly, self.holidays)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Calendar) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        what = "24/7" if self.always else f"{self.timezone}, {self.weekly}, {self.holidays}"
        return f"Calendar({self.name!r}, {what})"

    # -- the interval table -------------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return day in self._holiday_dates or (self._country is not None and day in self._country)

    def local_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening intervals that start on a local date, as aware local datetimes."""
        assert self.weekly is not None
        if self.is_holiday(day):
            return []
        midnight = datetime.combine(day, time(0))
        out = []
        for start, end in self.weekly[day.weekday()]:
            local_start = midnight + timedelta(seconds=start)
            local_end = midnight + timedelta(seconds=end)
            out.append((local_start.replace(tzinfo=self._zone), local_end.replace(tzinfo=self._zone)))
        return out

    def _build(self, first_day: date, last_day: date) -> _Table:
        opens: list[int] = []
        closes: list[int] = []
        day = first_day
        while day <= last_day:
            for local_start, local_end in self.local_intervals(day):
                # .timestamp() of an aware datetime is its real instant; subtracting aware datetimes that
                # share a tzinfo would give wall-clock differences instead.
                opens.append(round(local_start.timestamp() * US))
                closes.append(round(local_end.timestamp() * US))
            day += timedelta(days=1)
        open_us = np.asarray(opens, dtype=np.int64)
        close_us = np.asarray(closes, dtype=np.int64)
        keep = close_us > open_us
        open_us, close_us = open_us[keep], close_us[keep]
        order = np.argsort(open_us, kind="stable")
        open_us, close_us = open_us[order], close_us[order]
        # Merge overlapping or touching intervals (overnight shifts meeting the next day's hours).
        running_close = np.maximum.accumulate(close_us) if len(close_us) else close_us
        starts_new = np.ones(len(open_us), dtype=bool)
        if len(open_us) > 1:
            starts_new[1:] = open_us[1:] > running_close[:-1]
        group = np.cumsum(starts_new) - 1
        merged_open = open_us[starts_new]
        merged_close = np.zeros(len(merged_open), dtype=np.int64)
        if len(group):
            np.maximum.at(merged_close, group, close_us)
        length = merged_close - merged_open
        cum = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64) if len(length) else length.copy()
        if self._origin_us is None:
            # Two days into the first table: intervals that began before its first day (overnight shifts)
            # have ended by then, so business time measured from here never changes when the table grows.
            origin_day = datetime.combine(first_day + timedelta(days=2), time(0), UTC)
            self._origin_us = round(origin_day.timestamp()) * US
        unshifted = _Table(first_day, last_day, merged_open, length, cum, cum + length)
        shift = unshifted.position(np.asarray([self._origin_us], dtype=np.int64))[0]
        cum, cum_end = cum - shift, cum - shift + length
        return _Table(first_day, last_day, merged_open, length, cum, cum_end, _EndBuckets.of(cum, cum_end, length))

    def _covering(self, first_day: date, last_day: date) -> _Table:
        """A table covering the local dates [first_day, last_day], built or grown if needed.

        Tables are immutable and swapped in whole under a lock, so threads sharing a calendar (pages
        served concurrently) always read a consistent table.
        """
        table = self._table
        if table is not None and table.first_day <= first_day and last_day <= table.last_day:
            return table
        with self._lock:
            table = self._table
            if table is not None:
                if table.first_day <= first_day and last_day <= table.last_day:
                    return table
                # Grow by at least the current span so repeated small extensions stay cheap.
                span = timedelta(days=(table.last_day - table.first_day).days + 1)
                first_day = min(first_day, table.first_day - span) if first_day < table.first_day else table.first_day
                last_day = max(last_day, table.last_day + span) if last_day > table.last_day else table.last_day
            table = self._build(first_day, last_day)
            self._table = table
            return table

    def _covering_instants(self, lowest_us: int, highest_us: int) -> _Table:
        first = datetime.fromtimestamp(lowest_us // US, UTC).date() - timedelta(days=_MARGIN_DAYS)
        last = datetime.fromtimestamp(highest_us // US, UTC).date() + timedelta(days=_MARGIN_DAYS)
        return self._covering(first, last)

    # -- kernels on int64 microseconds (used by clocks) ---------------------------------------------------

    def position_us(self, t_us: np.ndarray) -> np.ndarray:
        """B(t) in microseconds for int64 UTC microsecond instants (no nulls)."""
        if self.always:
            return t_us
        if len(t_us) == 0:
            return np.zeros(0, dtype=np.int64)
        return self._covering_instants(int(t_us.min()), int(t_us.max())).position(t_us)

    def positions_us(self, start_us: np.ndarray, end_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B(start), B(end)) in microseconds for int64 UTC microsecond instants (no nulls)."""
        if self.always:
            return start_us, end_us
        if len(start_us) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        table = self._covering_instants(int(min(start_us.min(), end_us.min())), int(max(start_us.max(), end_us.max())))
        return table.position(start_us), table.position(end_us)

    def business_us(self, start_us: np.ndarray, end_us: np.ndarray) -> np.ndarray:
        """Business microseconds in [start, end] per row; 0 where end <= start."""
        begin, end = self.positions_us(start_us, end_us)
        return np.maximum(end - begin, 0)

    def due_us(self, start_us: np.ndarray, need_us: np.ndarray, start_position: np.ndarray | None = None) -> np.ndarray:
        """The instant at which `need` business microseconds have passed since `start`.

        A zero (or negative) budget is due at the start itself, even outside business hours. `start_position`,
        when the caller has it, is B(start) (from `positions_us`): it is not looked up again.
        """
        need_us = np.broadcast_to(np.asarray(need_us, dtype=np.int64), start_us.shape)
        if len(need_us) and need_us.min() < 0:
            need_us = np.maximum(need_us, 0)
        if self.always:
            return start_us + need_us
        if len(start_us) == 0:
            return np.zeros(0, dtype=np.int64)
        table = self._covering_instants(int(start_us.min()), int(start_us.max()))
        target = (table.position(start_us) if start_position is None else start_position) + need_us
        extended = 0
        while not len(table.open) or target.max() > table.cum_end[-1]:
            shortfall = target.max() - (table.cum_end[-1] if len(table.open) else 0)
            missing_days = int(max(shortfall, 0) // self._weekly_us()) * 7 + 7
            extended += missing_days
            if extended > _MAX_EXTENSION_DAYS:
                raise ValueError(f"calendar {self.name}: no business time left within 200 years")
            table = self._covering(table.first_day, table.last_day + timedelta(days=missing_days))
            target = table.position(start_us) + need_us
        for first in range(0, len(target), _BLOCK):
            block = target[first:first + _BLOCK]  # becomes the due instant, in place
            k = table.interval_reaching(block)
            gathered = np.take(table.cum, k, mode="clip")
            block -= gathered  # the business time still needed inside interval k, from its opening
            block += np.take(table.open, k, out=gathered, mode="clip")
        no_budget = np.flatnonzero(need_us == 0)  # need was clipped at 0 above
        target[no_budget] = start_us[no_budget]
        return target

    def _weekly_us(self) -> int:
        assert self.weekly is not None
        return max(sum(end - start for day in self.weekly for start, end in day), 1) * US

    # -- the contract: polars in, polars out ---------------------------------------------------------------

    def position(self, t: pl.Series) -> pl.Series:
        """B(t): business seconds since this calendar's origin (Float64; null where t is null)."""
        values, nulls = _instants(t)
        out = self.position_us(values).astype(np.float64) / US
        return _float_series(t.name, out, nulls)

    def business_seconds(self, start: pl.Series, end: pl.Series) -> pl.Series:
        """Business seconds from start to end (Float64); null if either is null; 0 if end <= start."""
        start_us, start_nulls = _instants(start)
        end_us, end_nulls = _instants(end)
        nulls = _either(start_nulls, end_nulls)
        if nulls is not None:
            # Nulls get a neighbouring instant so they do not stretch the table; they are masked afterwards.
            filler = start_us[~nulls][0] if (~nulls).any() else 0
            start_us = np.where(nulls, filler, start_us)
            end_us = np.where(nulls, filler, end_us)
        out = self.business_us(start_us, end_us).astype(np.float64) / US
        return _float_series("business_seconds", out, nulls)

    def due_at(self, start: pl.Series, seconds: pl.Series | float) -> pl.Series:
        """The UTC instant when `seconds` of business time have passed since start (Datetime us UTC)."""
        start_us, nulls = _instants(start)
        if isinstance(seconds, pl.Series):
            seconds = seconds.cast(pl.Float64).fill_nan(None)
            need_nulls = seconds.is_null()
            if need_nulls.any():
                nulls = _either(nulls, need_nulls.to_numpy())
            need = np.round(seconds.fill_null(0.0).to_numpy() * US).astype(np.int64)
        else:
            need = np.full(len(start_us), round(float(seconds) * US), dtype=np.int64)
        if nulls is not None and nulls.any():
            filler = start_us[~nulls][0] if (~nulls).any() else 0
            start_us = np.where(nulls, filler, start_us)
        due = self.due_us(start_us, need)
        series = pl.Series("due_at", due, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
        return _mask(series, nulls)


def _instants(series: pl.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """UTC microseconds of a datetime series (aware in any zone; naive = UTC) and its null mask."""
    if series.dtype == pl.Date:
        series = series.cast(pl.Datetime("us"))
    if not isinstance(series.dtype, pl.Datetime):
        raise TypeError(f"{series.name}: expected datetimes, got {series.dtype}")
    physical = series.dt.cast_time_unit("us").to_physical()
    if physical.null_count():
        nulls = physical.is_null().to_numpy()
        return physical.fill_null(0).to_numpy(), nulls
    return physical.to_numpy(), None


def _either(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _float_series(name: str, values: np.ndarray, nulls: np.ndarray | None) -> pl.Series:
    return _mask(pl.Series(name, values, dtype=pl.Float64), nulls)


def _mask(series: pl.Series, nulls: np.ndarray | None) -> pl.Series:
    if nulls is None or not nulls.any():
        return series
    return pl.select(pl.when(pl.Series(nulls)).then(None).otherwise(series).alias(series.name)).to_series()
