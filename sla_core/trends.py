"""Trends: period series, error budgets, burn rates and a month-end forecast (SRE workbook style).

Each formula is a small named function with the formula in its docstring.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal, NamedTuple

import polars as pl

from sla_core.attainment import attainment_aggregates

PERIODS = {"week": "1w", "month": "1mo"}


def period_series(
    results: pl.DataFrame, period: Literal["week", "month"] = "week", by: Sequence[str] = ()
) -> pl.DataFrame:
    """period (Date: the Monday of the week or the 1st of the month, UTC, by clock start), *by, then the
    attainment columns (items, met, breached, active, attainment, median_elapsed_s, p90_elapsed_s)."""
    if period not in PERIODS:
        raise ValueError(f'period must be "week" or "month", not "{period}"')
    keys = ["period", *by]
    return (
        results.with_columns(pl.col("start").dt.convert_time_zone("UTC").dt.truncate(PERIODS[period]).dt.date()
                             .alias("period"))
        .group_by(keys)
        .agg(attainment_aggregates())
        .sort(keys, nulls_last=True)
    )


def error_budget(objective: float) -> float:
    """error budget = 1 - objective (the share of items allowed to breach)."""
    return 1.0 - objective


def breach_rate(breached: int, decided: int) -> float:
    """breach rate = breached / decided (0 when nothing is decided)."""
    return breached / decided if decided else 0.0


def burn_rate(breach_rate: float, objective: float) -> float:
    """burn rate = breach_rate / (1 - objective); 1.0 spends the budget exactly over the window."""
    return breach_rate / error_budget(objective)


def budget_consumed(breached: int, decided: int, objective: float) -> float:
    """budget consumed = (breached / decided) / (1 - objective); 1.0 = all of it, above 1 = overspent."""
    return burn_rate(breach_rate(breached, decided), objective)


def budget_left(breached: int, decided: int, objective: float) -> float:
    """budget left = 1 - budget_consumed (negative once overspent)."""
    return 1.0 - budget_consumed(breached, decided, objective)


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
    attainment         = 1 - projected_breached / projected_decided  (= 1 - breached / decided)
    budget_consumed    = projected_breached / ((1 - objective) * projected_decided)
    budget_left        = 1 - budget_consumed
    meets_objective    = attainment >= objective
    """
    if days_elapsed <= 0:
        raise ValueError("days_elapsed must be positive")
    scale = days_in_month / days_elapsed
    projected_decided = decided * scale
    projected_breached = breached * scale
    share = 1 - projected_breached / projected_decided if projected_decided else None
    consumed = projected_breached / (error_budget(objective) * projected_decided) if projected_decided else 0.0
    return MonthEndForecast(
        projected_decided=projected_decided,
        projected_breached=projected_breached,
        attainment=share,
        budget_consumed=consumed,
        budget_left=1 - consumed,
        meets_objective=share is None or share >= objective,
    )


def days_in_month(day: date) -> int:
    return month_calendar.monthrange(day.year, day.month)[1]


def decided_at() -> pl.Expr:
    """When an item's outcome became known: its stop if met, the instant its budget ran out if breached."""
    return (
        pl.when(pl.col("met") == True)  # noqa: E712
        .then(pl.col("stop"))
        .when(pl.col("met") == False)  # noqa: E712
        .then(pl.min_horizontal("due_at", pl.coalesce("stop", "due_at")))
    )


def burn_down(results: pl.DataFrame, month_start: date, objective: float) -> pl.DataFrame:
    """Daily error-budget burn-down for one month: items counted on the UTC day they were decided.

    Columns: day, decided, breached (both cumulative from the month's start), attainment
    (= 1 - breached / decided), budget_consumed (= (breached / decided) / (1 - objective)), budget_left
    (= 1 - budget_consumed) and ideal_left (= 1 - day_number / days_in_month, the even-spend line).
    Days run from the month's first day to the last day with a decision (at most the month's end).
    """
    first = month_start.replace(day=1)
    length = days_in_month(first)
    last = first + timedelta(days=length - 1)
    daily = (
        results.filter(pl.col("met").is_not_null())
        .with_columns(decided_at().dt.convert_time_zone("UTC").dt.date().alias("day"))
        .filter(pl.col("day").is_between(first, last))
        .group_by("day")
        .agg(pl.len().cast(pl.Int64).alias("decided"), (pl.col("met") == False).sum().cast(pl.Int64).alias("breached"))  # noqa: E712
    )
    schema = {"day": pl.Date, "decided": pl.Int64, "breached": pl.Int64, "attainment": pl.Float64,
              "budget_consumed": pl.Float64, "budget_left": pl.Float64, "ideal_left": pl.Float64}
    if daily.is_empty():
        return pl.DataFrame(schema=schema)
    end = daily["day"].max()
    days = pl.DataFrame({"day": pl.date_range(first, end, "1d", eager=True)})
    budget = error_budget(objective)
    return (
        days.join(daily, on="day", how="left")
        .sort("day")
        .with_columns(pl.col("decided").fill_null(0).cum_sum(), pl.col("breached").fill_null(0).cum_sum())
        .with_columns(
            pl.when(pl.col("decided") > 0).then(1 - pl.col("breached") / pl.col("decided")).alias("attainment"),
            pl.when(pl.col("decided") > 0)
            .then(pl.col("breached") / pl.col("decided") / budget)
            .otherwise(0.0)
            .alias("budget_consumed"),
        )
        .with_columns(
            (1 - pl.col("budget_consumed")).alias("budget_left"),
            (1 - (pl.col("day") - pl.lit(first)).dt.total_days().add(1) / length).cast(pl.Float64).alias("ideal_left"),
        )
        .select(list(schema))
        .cast(schema)
    )
