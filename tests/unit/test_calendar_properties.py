"""The vectorized kernel equals the slow day-by-day reference on random calendars and intervals."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_core.calendar import Calendar, HolidayRule
from tests.unit.slow_reference import EPOCH, MICRO, ReferenceCalendar, instant_us

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Windows around DST changes in Europe (last Sundays of March/October) and the US (2nd Sunday of March,
# 1st Sunday of November), plus NL holidays (Easter, King's Day, Christmas).
WINDOWS = [
    (datetime(2026, 3, 5, tzinfo=UTC), 40),
    (datetime(2026, 10, 20, tzinfo=UTC), 25),
    (datetime(2026, 12, 18, tzinfo=UTC), 20),
    (datetime(2027, 4, 20, tzinfo=UTC), 15),
]
ZONES = ["Europe/Amsterdam", "America/New_York", "UTC", "Australia/Lord_Howe", "Asia/Kolkata"]


@st.composite
def weekly_hours(draw):
    """Seven days of 0-3 intervals: split shifts, overnight shifts, 24:00 ends, overlaps allowed."""
    week = []
    for _ in range(7):
        day = []
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(0, 47)) * 1800
            length = draw(st.sampled_from([1800, 3600, 4 * 3600, 8 * 3600, 9.5 * 3600, 12 * 3600]))
            end = int(start + length)
            if draw(st.booleans()) and start > 0:
                end = 86_400  # "24:00"
            day.append((start, end))
        week.append(tuple(sorted(day)))
    if not any(week):
        week[0] = ((8 * 3600, 17 * 3600),)
    return tuple(week)


@st.composite
def calendars(draw):
    if draw(st.integers(0, 9)) == 0:
        return Calendar.always_open("always"), ReferenceCalendar("UTC", None)
    zone = draw(st.sampled_from(ZONES))
    weekly = draw(weekly_hours())
    country = draw(st.sampled_from([None, "NL", "US"]))
    extra = tuple(sorted(set(draw(st.lists(st.dates(date(2026, 3, 1), date(2027, 5, 31)), max_size=6)))))
    calendar = Calendar("c", zone, weekly, HolidayRule(country, None, extra))
    reference = ReferenceCalendar(zone, weekly, extra, country)
    return calendar, reference


@st.composite
def instants(draw):
    base, days = draw(st.sampled_from(WINDOWS))
    return base + timedelta(microseconds=draw(st.integers(0, days * 86_400 * 10**6)))


def _series(values):
    return pl.Series(values, dtype=pl.Datetime("us", "UTC"))


@SETTINGS
@given(calendars(), st.lists(st.tuples(instants(), st.integers(-86_400, 12 * 86_400)), min_size=1, max_size=12))
def test_business_seconds_equals_the_day_by_day_reference(pair, spans):
    calendar, reference = pair
    starts = [start for start, _ in spans]
    ends = [start + timedelta(seconds=length) for start, length in spans]
    got = calendar.business_seconds(_series(starts), _series(ends)).to_list()
    expected = [reference.business_us(instant_us(s), instant_us(e)) / 1e6 for s, e in zip(starts, ends, strict=True)]
    assert got == expected


@SETTINGS
@given(calendars(), st.lists(st.tuples(instants(), st.integers(0, 30 * 86_400)), min_size=1, max_size=12))
def test_due_at_equals_the_day_by_day_reference(pair, needs):
    calendar, reference = pair
    starts = [start for start, _ in needs]
    seconds = pl.Series([float(need) for _, need in needs])
    got = calendar.due_at(_series(starts), seconds).to_list()
    expected = [EPOCH + reference.due_us(instant_us(s), need * 10**6) * MICRO for s, need in needs]
    assert got == expected


@SETTINGS
@given(calendars(), instants(), st.integers(1, 20 * 86_400))
def test_business_time_up_to_the_due_instant_is_the_budget(pair, start, need):
    calendar, _ = pair
    due = calendar.due_at(_series([start]), float(need))
    assert calendar.business_seconds(_series([start]), due).to_list() == [float(need)]


@SETTINGS
@given(calendars(), st.lists(instants(), min_size=2, max_size=6))
def test_positions_stay_comparable_while_the_table_grows_in_both_directions(pair, moments):
    calendar, reference = pair
    # Each call reaches new dates, so the table is extended between the first and the last reading.
    first_reading = calendar.position(_series(moments[:1])).to_list()[0]
    for moment in moments[1:]:
        calendar.position(_series([moment]))
    readings = calendar.position(_series(moments)).to_list()
    assert readings[0] == first_reading
    for earlier, later, a, b in zip(moments, moments[1:], readings, readings[1:], strict=False):
        if earlier <= later:
            # Positions are float seconds from an origin: differences are exact to well under a microsecond.
            assert abs((b - a) - reference.business_us(instant_us(earlier), instant_us(later)) / 1e6) < 1e-6


@st.composite
def minute_hours(draw):
    """Seven days of 0-4 intervals on whole minutes, some a minute long beside long ones."""
    week = []
    for _ in range(7):
        day = []
        for _ in range(draw(st.integers(0, 4))):
            start = draw(st.integers(0, 1438)) * 60
            length = draw(st.sampled_from([60, 120, 7 * 60, 3600, 8 * 3600, 13 * 3600]))
            day.append((start, start + length))
        week.append(tuple(sorted(day)))
    if not any(week):
        week[2] = ((9 * 3600, 9 * 3600 + 60),)
    return tuple(week)


@SETTINGS
@given(st.sampled_from(ZONES), minute_hours(), st.sampled_from(WINDOWS), st.data())
def test_the_due_look_up_finds_the_interval_a_binary_search_finds(zone, weekly, window, data):
    """The bucket index over interval ends answers as searchsorted(cum_end, target, "left") does, at every
    end, next to it, and anywhere in between (buckets may hold several ends when intervals are short)."""
    calendar = Calendar("c", zone, weekly, HolidayRule("NL"))
    base, days = window
    first_us = instant_us(base)
    calendar.position_us(np.asarray([first_us, first_us + days * 86_400 * 10**6], dtype=np.int64))
    table = calendar._table
    assert table is not None and table.ends is not None
    ends = table.cum_end
    low, high = int(table.cum[0]), int(ends[-1])
    drawn = data.draw(st.lists(st.integers(low, high), max_size=50))
    targets = np.unique(np.concatenate([ends, ends - 1, ends + 1, table.cum, np.asarray(drawn, dtype=np.int64)]))
    targets = targets[(targets >= low) & (targets <= high)]
    assert np.array_equal(table.interval_reaching(targets), np.searchsorted(ends, targets, side="left"))
