"""Business calendars on hand-worked examples: DST days, holidays, split and overnight shifts, 24/7."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from sla_core.calendar import Calendar, HolidayRule, parse_days, parse_interval, parse_weekly_hours

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")
HOUR = 3600.0


def support_hours() -> Calendar:
    weekly = parse_weekly_hours({"mon-fri": ["08:00-12:00", "13:00-17:30"], "sat": ["10:00-14:00"]})
    return Calendar("support_hours", "Europe/Amsterdam", weekly, HolidayRule("NL", None, (date(2026, 12, 24),)))


def series(*moments) -> pl.Series:
    return pl.Series(list(moments), dtype=pl.Datetime("us", "UTC"))


def seconds(calendar: Calendar, start: datetime, end: datetime) -> float:
    return calendar.business_seconds(series(start), series(end)).item()


def due(calendar: Calendar, start: datetime, budget: float) -> datetime:
    return calendar.due_at(series(start), budget).item().astimezone(start.tzinfo)


def test_split_shift_over_the_spring_dst_weekend_counts_local_opening_hours():
    # Fri 11:00-12:00 and 13:00-17:30 (5.5h), Sat 10:00-14:00 (4h), Sun closed, Mon 08:00-12:00 (4h).
    start = datetime(2026, 3, 27, 11, 0, tzinfo=AMS)
    end = datetime(2026, 3, 30, 12, 0, tzinfo=AMS)  # CEST now, one hour less between the two instants
    assert seconds(support_hours(), start, end) == 13.5 * HOUR


def test_public_and_extra_holidays_are_closed():
    # Thu 24 Dec is an extra holiday, 25 and 26 Dec are NL holidays, Sun 27 closed: only Mon 28 counts.
    start = datetime(2026, 12, 23, 17, 0, tzinfo=AMS)  # 30 minutes before closing
    end = datetime(2026, 12, 29, 8, 0, tzinfo=AMS)
    assert seconds(support_hours(), start, end) == 0.5 * HOUR + 8.5 * HOUR


def test_kings_day_closes_a_weekday():
    calendar = Calendar("nl", "Europe/Amsterdam", parse_weekly_hours({"mon-fri": "09:00-17:00"}), HolidayRule("NL"))
    monday = datetime(2026, 4, 27, 0, 0, tzinfo=AMS)  # King's Day 2026
    assert seconds(calendar, monday, monday + timedelta(days=1)) == 0.0
    assert seconds(calendar, monday, monday + timedelta(days=2)) == 8 * HOUR


@pytest.mark.parametrize(
    ("sunday", "hours"),
    [(datetime(2026, 3, 8, tzinfo=NYC), 5), (datetime(2026, 10, 25, tzinfo=NYC), 6), (datetime(2026, 11, 1, tzinfo=NYC), 7)],
)
def test_a_shift_across_a_dst_change_lasts_its_real_length(sunday, hours):
    # 00:00-06:00 local on the Sunday clocks spring forward (5 real hours), a normal one, and fall back (7).
    calendar = Calendar("night", "America/New_York", parse_weekly_hours({"sun": "00:00-06:00"}))
    assert seconds(calendar, sunday, sunday + timedelta(days=1)) == hours * HOUR


def test_overnight_shift_runs_into_the_next_day():
    # Sat 31 Oct 22:00 EDT to Sun 1 Nov 06:00 EST is 9 real hours (the clocks fall back at 02:00).
    calendar = Calendar("night", "America/New_York", parse_weekly_hours({"sat": "22:00-06:00"}))
    saturday = datetime(2026, 10, 31, 12, 0, tzinfo=NYC)
    assert seconds(calendar, saturday, saturday + timedelta(days=2)) == 9 * HOUR
    assert due(calendar, saturday, 8 * HOUR) == datetime(2026, 11, 1, 5, 0, tzinfo=NYC)


def test_whole_days_to_2400_equal_wall_clock_time_even_on_a_23_hour_day():
    calendar = Calendar("all", "Europe/Amsterdam", parse_weekly_hours({"mon-sun": "00:00-24:00"}))
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    end = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    assert seconds(calendar, start, end) == 48 * HOUR


def test_always_open_counts_every_second():
    calendar = Calendar.always_open("always")
    start = datetime(2026, 3, 29, 0, 30, tzinfo=AMS)
    # Adding a timedelta to an Amsterdam datetime is wall-clock arithmetic: 00:30 -> 05:30 local is only
    # four real hours on the night the clocks spring forward.
    assert seconds(calendar, start, start + timedelta(hours=5, seconds=7)) == 4 * HOUR + 7
    assert seconds(calendar, start, start.astimezone(UTC) + timedelta(hours=5, seconds=7)) == 5 * HOUR + 7
    assert due(calendar, start, 90.0) == start + timedelta(seconds=90)


def test_zero_budget_is_due_at_the_start_even_when_closed():
    saturday_night = datetime(2026, 3, 28, 23, 0, tzinfo=AMS)
    assert due(support_hours(), saturday_night, 0.0) == saturday_night


def test_a_budget_started_after_closing_runs_from_the_next_opening():
    friday_evening = datetime(2026, 3, 27, 19, 0, tzinfo=AMS)
    assert due(support_hours(), friday_evening, HOUR) == datetime(2026, 3, 28, 11, 0, tzinfo=AMS)


def test_a_budget_ending_exactly_at_closing_is_due_at_closing_not_at_the_next_opening():
    monday = datetime(2026, 3, 30, 8, 0, tzinfo=AMS)
    assert due(support_hours(), monday, 8.5 * HOUR) == datetime(2026, 3, 30, 17, 30, tzinfo=AMS)


def test_due_at_far_beyond_the_built_table_extends_it():
    monday = datetime(2026, 3, 30, 8, 0, tzinfo=AMS)
    # 52 weeks of 46.5 business hours (no holidays in a plain calendar) ends a year later on Saturday at 14:00.
    plain = Calendar("plain", "Europe/Amsterdam", support_hours().weekly)
    assert due(plain, monday, 52 * 46.5 * HOUR) == datetime(2027, 3, 27, 14, 0, tzinfo=AMS)


def test_end_before_start_is_zero_and_nulls_stay_null():
    calendar = support_hours()
    start = series(datetime(2026, 3, 30, 12, tzinfo=UTC), None, datetime(2026, 3, 30, 12, tzinfo=UTC))
    end = series(datetime(2026, 3, 30, 9, tzinfo=UTC), datetime(2026, 3, 30, 9, tzinfo=UTC), None)
    assert calendar.business_seconds(start, end).to_list() == [0.0, None, None]
    assert calendar.due_at(start, pl.Series([60.0, 60.0, None])).to_list()[1:] == [None, None]


def test_inputs_in_any_zone_or_naive_mean_the_same_instants():
    calendar = support_hours()
    utc_start = series(datetime(2026, 3, 27, 10, 0, tzinfo=UTC))
    utc_end = series(datetime(2026, 3, 30, 10, 0, tzinfo=UTC))
    expected = calendar.business_seconds(utc_start, utc_end).item()
    local = calendar.business_seconds(
        utc_start.dt.convert_time_zone("Asia/Tokyo"), utc_end.dt.convert_time_zone("America/New_York")
    )
    naive = calendar.business_seconds(utc_start.dt.replace_time_zone(None), utc_end.dt.replace_time_zone(None))
    assert local.item() == naive.item() == expected == 13.5 * HOUR


def test_position_differences_are_business_seconds():
    calendar = support_hours()
    moments = series(datetime(2026, 3, 27, 10, 0, tzinfo=UTC), datetime(2026, 3, 30, 10, 0, tzinfo=UTC))
    first, second = calendar.position(moments).to_list()
    assert second - first == 13.5 * HOUR


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00-12:00", (8 * 3600, 12 * 3600)),
        ("22:00-06:00", (22 * 3600, 30 * 3600)),
        ("00:00-24:00", (0, 24 * 3600)),
        ("13:00-24:00", (13 * 3600, 24 * 3600)),
    ],
)
def test_interval_texts_parse_to_seconds_after_midnight(text, expected):
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["08:00-08:00", "8-12", "24:00-06:00", "08:60-09:00", "08:00-25:00", "08:00"])
def test_bad_interval_texts_are_refused(text):
    with pytest.raises(ValueError):
        parse_interval(text)


def test_day_ranges_wrap_over_the_weekend():
    assert parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_days("fri-mon") == (4, 5, 6, 0)
    assert parse_days("Sun") == (6,)


def test_a_day_given_twice_is_refused():
    with pytest.raises(ValueError, match="fri is already given by mon-fri"):
        parse_weekly_hours({"mon-fri": "08:00-17:00", "fri": "18:00-20:00"})


def test_threads_sharing_a_calendar_while_its_table_grows_get_the_same_answers():
    import random
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(42)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    batches = []
    for _ in range(24):
        offset = timedelta(days=rng.randint(-900, 900))
        starts = [base + offset + timedelta(minutes=rng.randint(0, 60 * 24 * 30)) for _ in range(200)]
        ends = [s + timedelta(minutes=rng.randint(0, 60 * 24 * 10)) for s in starts]
        batches.append((series(*starts), series(*ends)))
    expected = [support_hours().business_seconds(s, e).to_list() for s, e in batches]
    shared = support_hours()
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda pair: shared.business_seconds(*pair).to_list(), batches))
    assert got == expected
