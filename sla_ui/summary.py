"""Figures the pages derive from aggregated frames (the formulas themselves live in sla_core.budget)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from sla_core.budget import budget_consumed, budget_left, weighted_objective
from sla_core.durations import SHARE_DIGITS, objective_text, objectives_text
from sla_core.instances import deliverable_status
from sla_core.trends import MonthEndForecast, days_in_month, month_end_forecast

MIN_DECIDED_FOR_RANKING = 10
RECENT_DAYS = 7


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def month_end(month: dt.date) -> dt.date:
    """Last day of the month."""
    return next_month(month) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Headline:
    metric: str
    items: int
    decided: int
    breached: int
    attainment: float | None
    previous_attainment: float | None
    objective: float
    budget_left: float | None
    recent_burn_rate: float | None
    forecast: MonthEndForecast | None = None
    objectives: tuple[float, ...] = ()  # the policy objectives of the month's targets (display)

    @property
    def change(self) -> float | None:
        if self.attainment is None or self.previous_attainment is None:
            return None
        return self.attainment - self.previous_attainment


def _decided(row: dict) -> int:
    return int(row["met"] or 0) + int(row["breached"] or 0)


def headlines(monthly: pl.DataFrame, daily: pl.DataFrame, month: dt.date,
              through: dt.date | None = None) -> list[Headline]:
    """One Headline per metric for `month`.

    monthly: attainment frame by (month, metric) covering `month` and the month before;
    daily: items decided per (day, metric) in `month` (queries.burn_down_sql grouped by metric); the burn
    rate is the budget consumed over its last RECENT_DAYS days with decisions, so 1.0 spends exactly the
    budget. through: the last day with data; when it falls inside `month`, each headline carries the
    month-end forecast (sla_core.trends.month_end_forecast) of the month so far.
    """
    prev = previous_month(month)
    out = []
    for metric in sorted(set(monthly.filter(pl.col("month") == month)["metric"].to_list())):
        this = monthly.filter((pl.col("month") == month) & (pl.col("metric") == metric)).row(0, named=True)
        before = monthly.filter((pl.col("month") == prev) & (pl.col("metric") == metric))
        previous = before.row(0, named=True)["attainment"] if before.height else None
        objective = float(this["objective"])
        decided = _decided(this)
        left = None
        if decided:
            left = budget_left(int(this["breached"]), decided, objective)
        recent = daily.filter(pl.col("metric") == metric).sort("day")
        if recent.height:
            last_day = recent["day"].max()
            recent = recent.filter(pl.col("day") > last_day - dt.timedelta(days=RECENT_DAYS))
        recent_decided, recent_breached = int(recent["decided"].sum()), int(recent["breached"].sum())
        rate = None
        if recent_decided:
            rate = budget_consumed(recent_breached, recent_decided, objective)
        stated = tuple(v for v in (this.get("objective_min"), this.get("objective_max")) if v is not None)
        out.append(Headline(metric, int(this["items"]), decided, int(this["breached"]), this["attainment"],
                            previous, objective, left, rate,
                            forecast_month(int(this["breached"]), decided, month, through, objective),
                            objectives=stated))
    return out


def forecast_month(breached: int, decided: int, month: dt.date, through: dt.date | None,
                   objective: float) -> MonthEndForecast | None:
    """The month-end forecast when `through` (the last day with data) falls inside the month, else None."""
    if through is None or not month <= through < month_end(month) or objective >= 1:
        return None
    return month_end_forecast(breached, decided, (through - month).days + 1, days_in_month(month), objective)


def worst_slices(frame: pl.DataFrame, limit: int = 10,
                 min_decided: int = MIN_DECIDED_FOR_RANKING) -> pl.DataFrame:
    """Lowest attainment first, among slices with enough decided items to mean something."""
    return (frame.with_columns(decided=pl.col("met") + pl.col("breached"))
            .filter((pl.col("decided") >= min_decided) & pl.col("attainment").is_not_null())
            .with_columns(gap=pl.col("attainment") - pl.col("objective"))
            .sort(["attainment", "decided"], descending=[False, True])
            .head(limit))


def below_objective(series: pl.DataFrame) -> pl.DataFrame:
    """Periods (per slice) whose attainment is under their objective, compared at the precision shown
    (sla_core.durations.below_objective): the ones to investigate."""
    digits = SHARE_DIGITS
    return series.filter(pl.col("attainment").is_not_null()
                         & ((pl.col("attainment") * 100).round(digits) < (pl.col("objective") * 100).round(digits)))


def overall_objective(frame: pl.DataFrame) -> float | None:
    """Objective of a whole selection: budget.weighted_objective of the slices; with nothing decided yet,
    the plain mean of their objectives."""
    weighted = weighted_objective(frame["objective"], frame["met"] + frame["breached"])
    if weighted is None:
        return float(frame["objective"].mean()) if frame.height else None
    return weighted


def policy_objectives(frame: pl.DataFrame) -> list[float]:
    """The policy objectives behind a selection (the lowest and highest of its targets'), for display:
    objectives are shown as the policy states them, never as an average."""
    if frame.is_empty():
        return []
    if "objective_min" in frame.columns:
        values = [*frame["objective_min"].drop_nulls().to_list(), *frame["objective_max"].drop_nulls().to_list()]
    else:
        values = frame["objective"].drop_nulls().to_list()
    return sorted({round(float(v), 6) for v in values})


def objective_column(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame's `objective` as text the way the policy states it per row ('95%', or '90%–95% (per
    target)' for a row mixing targets); the decided-weighted share stays for comparisons in the CSV."""
    if "objective_min" not in frame.columns:
        return frame.with_columns(pl.col("objective").map_elements(objective_text, return_dtype=pl.String))
    return frame.with_columns(pl.struct("objective_min", "objective_max").map_elements(
        lambda r: objectives_text([r["objective_min"], r["objective_max"]]), return_dtype=pl.String)
        .alias("objective"))


def deliverable_periods(instances: pl.DataFrame, zones: Mapping[str, str]) -> pl.DataFrame:
    """Scheduled instances as the strip shows them: stream (the item), deadline and delivery in the
    calendar's zone (naive local times), and met / late / missing / due."""
    if instances.is_empty():
        return pl.DataFrame(schema={"stream": pl.String, "metric": pl.String, "instance": pl.Int32,
                                    "due_local": pl.Datetime("us"), "stop_local": pl.Datetime("us"),
                                    "status": pl.String})
    parts = []
    for (calendar,), group in instances.group_by(["calendar"], maintain_order=True):
        zone = zones.get(str(calendar), "UTC")
        parts.append(group.with_columns(
            pl.col("due_at").dt.convert_time_zone(zone).dt.replace_time_zone(None).dt.cast_time_unit("us")
            .alias("due_local"),
            pl.col("stop").dt.convert_time_zone(zone).dt.replace_time_zone(None).dt.cast_time_unit("us")
            .alias("stop_local"),
            deliverable_status(),
        ))
    return pl.concat(parts).select(
        pl.col("item_id").alias("stream"), "metric", pl.col("instance").cast(pl.Int32), "due_local", "stop_local",
        "status").sort("metric", "stream", "instance")
