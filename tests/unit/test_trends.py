"""The month-end forecast and the monthly burn-down, on tables of expected values."""

from datetime import date

import polars as pl
import pytest

from sla_core.trends import burn_down, month_end_forecast


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


def _daily(rows):
    return pl.DataFrame(rows, schema={"day": pl.Date, "decided": pl.Int64, "breached": pl.Int64}, orient="row")


def test_burn_down_spends_the_budget_day_by_day_against_the_even_spend_line():
    daily = _daily([(date(2026, 11, 1), 1, 0), (date(2026, 11, 2), 1, 1), (date(2026, 11, 3), 2, 0),
                    (date(2026, 12, 2), 1, 0)])  # decided after the month: still its items
    table = burn_down(daily, date(2026, 11, 1), objective=0.8).rows()
    assert table == [
        (date(2026, 11, 1), 1, 0, 1.0, pytest.approx(29 / 30)),
        (date(2026, 11, 2), 2, 1, pytest.approx(-1.5), pytest.approx(28 / 30)),
        (date(2026, 11, 3), 4, 1, pytest.approx(-0.25), pytest.approx(27 / 30)),
        (date(2026, 12, 2), 5, 1, pytest.approx(0.0), 0.0),
    ]


def test_burn_down_before_any_decision_has_no_budget_figure():
    table = burn_down(_daily([(date(2026, 11, 1), 0, 0)]), date(2026, 11, 1), objective=0.95)
    assert table["budget_left"].to_list() == [None]
