"""Trend formulas on tables of expected values; period series and the monthly burn-down."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from sla_core.trends import (
    breach_rate,
    budget_consumed,
    budget_left,
    burn_down,
    burn_rate,
    error_budget,
    month_end_forecast,
    period_series,
)


@pytest.mark.parametrize(("objective", "budget"), [(0.95, 0.05), (0.9, 0.1), (0.999, 0.001), (0.5, 0.5)])
def test_error_budget_is_one_minus_the_objective(objective, budget):
    assert error_budget(objective) == pytest.approx(budget)


@pytest.mark.parametrize(
    ("rate", "objective", "burn"),
    [(0.05, 0.95, 1.0), (0.10, 0.95, 2.0), (0.0, 0.95, 0.0), (0.72, 0.95, 14.4), (0.01, 0.9, 0.1)],
)
def test_burn_rate_is_breach_rate_over_the_error_budget(rate, objective, burn):
    assert burn_rate(rate, objective) == pytest.approx(burn)


@pytest.mark.parametrize(
    ("breached", "decided", "objective", "consumed", "left"),
    [(5, 100, 0.95, 1.0, 0.0), (2, 100, 0.95, 0.4, 0.6), (10, 100, 0.95, 2.0, -1.0), (0, 0, 0.95, 0.0, 1.0),
     (3, 30, 0.9, 1.0, 0.0)],
)
def test_budget_consumed_and_left(breached, decided, objective, consumed, left):
    assert budget_consumed(breached, decided, objective) == pytest.approx(consumed)
    assert budget_left(breached, decided, objective) == pytest.approx(left)
    assert breach_rate(breached, decided) == (breached / decided if decided else 0.0)


@pytest.mark.parametrize(
    ("breached", "decided", "days", "month_days", "objective", "expected"),
    [
        # 10 days into a 30-day month: volume triples, the rate stays.
        (3, 100, 10, 30, 0.95, (300.0, 9.0, 0.97, 0.6, 0.4, True)),
        (8, 100, 10, 30, 0.95, (300.0, 24.0, 0.92, 1.6, -0.6, False)),
        (0, 0, 5, 31, 0.95, (0.0, 0.0, None, 0.0, 1.0, True)),
    ],
)
def test_month_end_forecast_projects_volume_and_breach_rate(breached, decided, days, month_days, objective, expected):
    forecast = month_end_forecast(breached, decided, days, month_days, objective)
    assert tuple(forecast)[:2] == pytest.approx(expected[:2])
    assert forecast.attainment == (pytest.approx(expected[2]) if expected[2] is not None else None)
    assert (forecast.budget_consumed, forecast.budget_left) == (pytest.approx(expected[3]), pytest.approx(expected[4]))
    assert forecast.meets_objective is expected[5]


def _results(rows):
    """rows: (start, stop, due_at, met, elapsed_s)."""
    ts = pl.Datetime("us", "UTC")
    return pl.DataFrame(
        [{"start": s, "stop": e, "due_at": d, "met": m, "elapsed_s": x, "state": "achieved" if m else "breached",
          "team": "Billing"} for s, e, d, m, x in rows],
        schema={"start": ts, "stop": ts, "due_at": ts, "met": pl.Boolean, "elapsed_s": pl.Float64,
                "state": pl.String, "team": pl.String},
    )


def d(day, month=11, hour=10):
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_weekly_series_groups_by_the_monday_of_the_clock_start():
    rows = _results([
        (d(2), d(2, hour=12), d(2, hour=11), False, 5.0),   # Monday 2 Nov
        (d(8), d(8, hour=11), d(8, hour=12), True, 1.0),    # Sunday 8 Nov: same week
        (d(9), d(9, hour=11), d(9, hour=12), True, 1.0),    # Monday 9 Nov: next week
    ])
    series = period_series(rows, "week").select("period", "items", "met", "breached", "attainment").rows()
    assert series == [(date(2026, 11, 2), 2, 1, 1, 0.5), (date(2026, 11, 9), 1, 1, 0, 1.0)]
    monthly = period_series(rows, "month", by=["team"]).select("period", "team", "items").rows()
    assert monthly == [(date(2026, 11, 1), "Billing", 3)]


def test_burn_down_counts_each_item_on_the_day_it_was_decided():
    rows = _results([
        (d(1), d(1, hour=12), d(1, hour=14), True, 1.0),     # met on the 1st
        (d(1), d(3, hour=9), d(2, hour=9), False, 9.0),      # breached when its budget ran out on the 2nd
        (d(2), d(3, hour=12), d(4, hour=12), True, 1.0),     # met on the 3rd
        (d(3), d(3, hour=13), d(3, hour=15), True, 1.0),     # met on the 3rd
        (d(28, month=10), d(28, month=10), d(29, month=10), True, 1.0),  # October: left out
    ])
    table = burn_down(rows, date(2026, 11, 1), objective=0.8).rows()
    assert table == [
        (date(2026, 11, 1), 1, 0, 1.0, 0.0, 1.0, pytest.approx(29 / 30)),
        (date(2026, 11, 2), 2, 1, 0.5, pytest.approx(2.5), pytest.approx(-1.5), pytest.approx(28 / 30)),
        (date(2026, 11, 3), 4, 1, 0.75, pytest.approx(1.25), pytest.approx(-0.25), pytest.approx(27 / 30)),
    ]


def test_burn_down_of_a_month_without_decisions_is_empty():
    assert burn_down(_results([]), date(2026, 11, 1), 0.95).is_empty()
