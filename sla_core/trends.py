"""Trends over a month: the error-budget burn-down and the month-end forecast (SRE workbook style).

The formulas themselves (attainment, error budget, burn rate, budget consumed) live in sla_core.budget.
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date
from typing import NamedTuple

import polars as pl

from sla_core.budget import attainment, budget_consumed, budget_left


class MonthEndForecast(NamedTuple):
    projected_decided: float
    projected_breached: float
    attainment: float | None
    budget_consumed: float
    budget_left: float
    meets_objective: bool


def month_end_forecast(
    breached: int, decided: int, days_elapsed: float, days_in_month: int, objective: float
) -> MonthEndForecast:
    """Project the month so far to its end, assuming the volume and breach rate so far continue.

    scale              = days_in_month / days_elapsed
    projected_decided  = decided * scale
    projected_breached = breached * scale
    attainment         = budget.attainment of the projection (= the attainment so far)
    budget_consumed    = budget.budget_consumed(projected_breached, projected_decided, objective)
    budget_left        = 1 - budget_consumed
    meets_objective    = attainment >= objective
    """
    if days_elapsed <= 0:
        raise ValueError("days_elapsed must be positive")
    scale = days_in_month / days_elapsed
    projected_decided = decided * scale
    projected_breached = breached * scale
    share = attainment(projected_decided - projected_breached, projected_breached)
    consumed = budget_consumed(projected_breached, projected_decided, objective)
    return MonthEndForecast(
        projected_decided=projected_decided,
        projected_breached=projected_breached,
        attainment=share,
        budget_consumed=consumed,
        budget_left=budget_left(projected_breached, projected_decided, objective),
        meets_objective=share is None or share >= objective,
    )


def days_in_month(day: date) -> int:
    return month_calendar.monthrange(day.year, day.month)[1]


def burn_down(daily: pl.DataFrame, month: date, objective: float) -> pl.DataFrame:
    """Error budget left at the end of each day for the items created in `month` (daily: day, decided,
    breached per decision day - see budget.decided_at; days may run past the month's end while its last
    items are decided).

    budget_left = budget.budget_left(breached to date, decided to date, objective); ideal_left is the
    even-spend line 1 - day_number / days_in_month (0 after the month).
    """
    rows = daily.sort("day").with_columns(
        decided_to_date=pl.col("decided").cum_sum(), breached_to_date=pl.col("breached").cum_sum())
    length = days_in_month(month)
    left = [budget_left(breached, decided, objective) if decided else None
            for breached, decided in zip(rows["breached_to_date"].to_list(), rows["decided_to_date"].to_list(),
                                         strict=True)]
    ideal = [max(0.0, 1.0 - ((day - month).days + 1) / length) for day in rows["day"].to_list()]
    return rows.with_columns(budget_left=pl.Series(left, dtype=pl.Float64),
                             ideal_left=pl.Series(ideal, dtype=pl.Float64)).select(
        "day", "decided_to_date", "breached_to_date", "budget_left", "ideal_left")
