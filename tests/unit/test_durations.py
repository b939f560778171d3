"""Business time reads in hours (or business days of its calendar), never in 24-hour days."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sla_core.calendar import Calendar, parse_weekly_hours
from sla_core.durations import (
    business_day_hours,
    format_business,
    format_business_days,
    format_duration,
    remaining_text,
)
from sla_core.policy_spec import parse_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"), (45.0, "45s"), (59.6, "1m"), (725.0, "12m 5s"), (3599.4, "59m 59s"), (3599.6, "1h"),
        (3600.0, "1h"), (5400.0, "1h 30m"), (5429.0, "1h 30m"), (5431.0, "1h 31m"), (144_000.0, "40h"),
        (172_800.0, "48h"), (90_061.0, "25h 1m"), (-7200.0, "-2h"), (-0.2, "0s"), (1_000_000.0, "277h 47m"),
    ],
)
def test_durations_read_in_hours_and_minutes_without_days(seconds, text):
    assert format_duration(seconds) == text


@given(st.floats(min_value=0, max_value=10_000_000, allow_nan=False))
def test_a_duration_never_shows_days_nor_seconds_past_an_hour_and_reads_back(seconds):
    text = format_duration(seconds)
    assert "d" not in text
    if seconds >= 3600:
        assert "s" not in text
        assert abs(parse_duration(text) - seconds) <= 30
    else:
        assert abs(parse_duration(text) - seconds) <= 0.5 or text == "0s"


def test_forty_business_hours_read_as_hours_and_as_business_days_of_the_calendar():
    assert format_business(144_000.0) == "40h business"
    assert format_business(144_000.0, 8.5) == "40h business (4.7 business days of 8.5 h)"
    assert format_business(1800.0, 8.5) == "30m business"  # less than a working day: no day count
    assert format_business_days(30_600.0, 8.5) == "1.0 business day of 8.5 h"


def test_remaining_time_says_left_or_overdue():
    assert remaining_text(7500.0) == "2h 5m left"
    assert remaining_text(-10_800.0) == "overdue 3h"


def test_a_calendars_working_day_is_its_most_common_open_day():
    support = Calendar("support", "Europe/Amsterdam",
                       parse_weekly_hours({"mon-fri": ["08:00-12:00", "13:00-17:30"], "sat": ["10:00-14:00"]}))
    phone = Calendar("phone", "Europe/Amsterdam", parse_weekly_hours({"mon-fri": ["08:00-20:00"], "sat": "09:00-17:00"}))
    night = Calendar("night", "UTC", parse_weekly_hours({"mon-sun": ["22:00-06:00"]}))
    assert business_day_hours(support) == 8.5
    assert business_day_hours(phone) == 12
    assert business_day_hours(night) == 8
    assert business_day_hours(Calendar.always_open("always")) is None


def test_no_formatter_writes_a_day_unit():
    for text in (format_duration(10 * 86_400), format_business(10 * 86_400, 8.5), remaining_text(-5 * 86_400)):
        assert not re.search(r"\d+d\b", text)


def test_the_report_reads_a_schedule_target_as_its_deadline_not_as_a_zero_budget():
    from sla_core.durations import target_rows
    from sla_core.policy_yaml import parse_policy

    policy = parse_policy("""
version: 1
effective_from: 2026-01-01
calendars: {office: {timezone: Europe/Amsterdam, hours: {mon-fri: ["09:00-17:00"]}}}
metrics:
  weekly_report: {schedule: {every: week, due: "wed 17:00"}, stop: "event:delivered"}
  daily_digest: {schedule: {every: day, due: "10:00"}, stop: "event:sent"}
targets:
  - {metric: weekly_report, match: {process: reports}, calendar: office}
  - {metric: daily_digest, match: {process: digests}, calendar: office}
""")
    budgets = [row["budget"] for row in target_rows(policy)]
    assert budgets == ["every week, due wed 17:00", "every day, due 10:00"]
