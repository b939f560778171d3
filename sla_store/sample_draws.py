"""What the sample generators share: the desks' calendars, business-hour arrival curves and the random
draws of handling times (seeded numpy generators; times as UTC microseconds)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from sla_core.calendar import Calendar, HolidayRule, parse_weekly_hours

ZONE = "Europe/Amsterdam"
HISTORY_DAYS = 182
US = 1_000_000


def desk_calendars() -> tuple[Calendar, Calendar]:
    """The support desk's and the phone/chat lines' opening hours (as in the shipped config/sla.yaml)."""
    holidays = HolidayRule(country="NL")
    desk = Calendar("desk", ZONE, parse_weekly_hours({"mon-fri": ["08:00-12:00", "13:00-17:30"],
                                                      "sat": ["10:00-14:00"]}), holidays)
    lines = Calendar("lines", ZONE, parse_weekly_hours({"mon-fri": ["08:00-20:00"], "sat": ["09:00-17:00"]}),
                     holidays)
    return desk, lines


def utc(us: np.ndarray) -> pl.Series:
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


def micros(series: pl.Series) -> np.ndarray:
    return series.dt.replace_time_zone(None).cast(pl.Int64).to_numpy() if series.dtype.time_zone else \
        series.cast(pl.Int64).to_numpy()


def whole_seconds(us: np.ndarray) -> np.ndarray:
    """Exports carry whole seconds."""
    return us - us % US


def lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return median * np.exp(rng.normal(0.0, 1.0, len(median)) * sigma)


def arrivals(rng: np.random.Generator, count: int, now: datetime, spike_start: datetime,
              hour_weights: np.ndarray, weekend_share: float = 0.3, days: int = HISTORY_DAYS) -> np.ndarray:
    """UTC microseconds of `count` arrivals over the last `days` days, local business-hour curve."""
    local_now = now.astimezone(ZoneInfo(ZONE))
    first_day = local_now.date() - timedelta(days=days - 1)
    dates = np.array([first_day + timedelta(days=i) for i in range(days)])
    weekday = np.array([day.weekday() for day in dates])
    weight = np.array([1.25, 1.1, 1.0, 1.0, 0.9, weekend_share, weekend_share * 0.7])[weekday]
    weight = weight * np.linspace(0.9, 1.1, days)  # a growing customer base
    spike_day = spike_start.astimezone(local_now.tzinfo).date()
    in_spike = np.array([(day - spike_day).days for day in dates])
    weight = np.where((in_spike >= 0) & (in_spike < 7), weight * 2.2, weight)
    day_index = rng.choice(days, size=count, p=weight / weight.sum())
    hour = rng.choice(24, size=count, p=hour_weights / hour_weights.sum())
    second = rng.integers(0, 3600, size=count)
    day_us = np.array([(datetime.combine(day, datetime.min.time()) - datetime(1970, 1, 1)).days
                       for day in dates], dtype=np.int64) * 86_400 * US
    local_us = day_us[day_index] + hour * 3600 * US + second * US
    local = pl.Series(local_us, dtype=pl.Int64).cast(pl.Datetime("us"))
    aware = local.dt.replace_time_zone(ZONE, ambiguous="earliest", non_existent="null")
    # The hour skipped when clocks go forward: move those arrivals an hour later.
    shifted = (local + timedelta(hours=1)).dt.replace_time_zone(ZONE, ambiguous="earliest",
                                                               non_existent="null")
    instants = micros(aware.fill_null(shifted).dt.convert_time_zone("UTC"))
    now_us = int(now.timestamp() * US)
    # Today's arrivals after `now` have not happened: they came a week earlier instead.
    return np.where(instants > now_us, instants - 7 * 86_400 * US, instants)


def hour_curve(business_peak: float, night: float) -> np.ndarray:
    hours = np.arange(24)
    curve = np.full(24, night)
    curve[(hours >= 7) & (hours < 20)] = 1.0
    curve[(hours >= 9) & (hours < 12)] = business_peak
    curve[(hours >= 13) & (hours < 16)] = business_peak * 0.9
    curve[(hours >= 20) & (hours < 23)] = 0.35
    return curve
