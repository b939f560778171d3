"""Metric clocks: for every item x metric, when the clock started and stopped, how much business time it
used (minus pauses), and whether it met the target that judged it.

Vectorized per (policy version, metric, calendar) group: the items of a group go through the calendar's
interval-table kernel as numpy arrays; no Python loop runs over items.

Pauses come from status events: a pause starts at a status event whose value is in the metric's
`pause_when_status` and ends at the item's next status event, or at the clock's end. Consecutive status
events never overlap, so the pause intervals of one item are disjoint; they are clipped to the clock
[start, stop or now] and measured in the target's business calendar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import polars as pl

from sla_core.calendar import US
from sla_core.policy import Metric, Policy, PolicyHistory

ITEM_COLUMNS = ("source", "item_id", "kind", "process", "channel", "team", "priority", "agent", "status",
                "subject", "created", "first_response", "resolved", "closed")
ITEM_TIMES = ("created", "first_response", "resolved", "closed")
COPIED_COLUMNS = ("kind", "process", "channel", "team", "priority", "agent", "status", "created")
UTC_US = pl.Datetime("us", "UTC")

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "item_id": pl.String(),
    "metric": pl.String(),
    "kind": pl.String(),
    "process": pl.String(),
    "channel": pl.String(),
    "team": pl.String(),
    "priority": pl.String(),
    "agent": pl.String(),
    "status": pl.String(),
    "created": UTC_US,
    "policy_version": pl.Int32(),
    "target_index": pl.Int32(),
    "calendar": pl.String(),
    "within_s": pl.Float64(),
    "objective": pl.Float64(),
    "start": UTC_US,
    "stop": UTC_US,
    "elapsed_s": pl.Float64(),
    "paused_s": pl.Float64(),
    "state": pl.String(),
    "met": pl.Boolean(),
    "due_at": UTC_US,
    "remaining_s": pl.Float64(),
    "pct_used": pl.Float64(),
}
RESULT_COLUMNS = tuple(RESULT_SCHEMA)
STATES = ("achieved", "breached", "active", "paused")


def empty_results() -> pl.DataFrame:
    return pl.DataFrame(schema=RESULT_SCHEMA)


def _as_utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        expr = expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr.dt.convert_time_zone("UTC")
        return expr.dt.cast_time_unit("us")
    if dtype == pl.Null:
        return expr.cast(UTC_US)
    if dtype == pl.Date:
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    raise TypeError(f"expected datetimes, got {dtype}")


def _normalize_items(items: pl.DataFrame) -> pl.DataFrame:
    """All contract columns present; timestamps as Datetime(us, UTC); text columns as strings."""
    missing = [pl.lit(None, pl.String).alias(c) for c in ITEM_COLUMNS if c not in items.columns and c not in ITEM_TIMES]
    missing += [pl.lit(None, UTC_US).alias(c) for c in ITEM_TIMES if c not in items.columns]
    if missing:
        items = items.with_columns(missing)
    casts = [_as_utc(pl.col(c), items.schema[c]).alias(c) for c in ITEM_TIMES]
    casts += [pl.col(c).cast(pl.String) for c in ITEM_COLUMNS if c not in ITEM_TIMES]
    return items.with_columns(casts)


def _normalize_events(events: pl.DataFrame | None) -> pl.DataFrame:
    schema = {"source": pl.String, "item_id": pl.String, "occurred_at": UTC_US, "kind": pl.String, "value": pl.String}
    if events is None or events.is_empty():
        return pl.DataFrame(schema=schema)
    return events.select(
        pl.col("source").cast(pl.String),
        pl.col("item_id").cast(pl.String),
        _as_utc(pl.col("occurred_at"), events.schema["occurred_at"]).alias("occurred_at"),
        pl.col("kind").cast(pl.String),
        pl.col("value").cast(pl.String).fill_null(""),
    )


def _utc_now(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _microseconds(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame[column].dt.cast_time_unit("us").to_physical().to_numpy()


def evaluate(
    items: pl.DataFrame,
    events: pl.DataFrame | None,
    policy: Policy | PolicyHistory,
    now: datetime,
    metrics: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One result row per item x metric with a matching target and a start at or before `now`.

    The target comes from the policy version in force at the item's `created` (UTC date). Milestones and
    status events after `now` have not happened yet. Columns and types: RESULT_SCHEMA.
    """
    history = policy if isinstance(policy, PolicyHistory) else PolicyHistory([policy])
    now = _utc_now(now)
    if items.is_empty():
        return empty_results()
    items = _normalize_items(items)
    events = _normalize_events(events)
    events = events.filter(pl.col("occurred_at") <= now)
    items = items.with_columns(history.version_for(items["created"]).alias("policy_version"))

    wanted = {
        (policy_version.version, name)
        for policy_version in history.versions
        for name in policy_version.metrics
        if metrics is None or name in metrics
    }
    milestone_kinds = sorted({
        milestone.removeprefix("event:")
        for version, name in wanted
        for milestone in (history[version].metrics[name].start, history[version].metrics[name].stop)
        if milestone.startswith("event:")
    })
    items = _with_first_events(items, events, milestone_kinds)
    status = _status_intervals(events)

    parts = []
    for version, name in sorted(wanted):
        of_version = items.filter(pl.col("policy_version") == version)
        if of_version.is_empty():
            continue
        part = _evaluate_metric(of_version, status, history[version], history[version].metrics[name], now)
        if part is not None:
            parts.append(part)
    if not parts:
        return empty_results()
    return pl.concat(parts, how="vertical")


def _with_first_events(items: pl.DataFrame, events: pl.DataFrame, kinds: Sequence[str]) -> pl.DataFrame:
    """Adds a column "event:<kind>" per milestone kind: the first such event of each item."""
    for kind in kinds:
        first = (
            events.filter(pl.col("kind") == kind)
            .group_by("source", "item_id")
            .agg(pl.col("occurred_at").min().alias(f"event:{kind}"))
        )
        items = items.join(first, on=["source", "item_id"], how="left", maintain_order="left")
    return items


def _status_intervals(events: pl.DataFrame) -> pl.DataFrame:
    """Each status event with the instant of the item's next status event (null: still in that status)."""
    return (
        events.filter(pl.col("kind") == "status")
        .select("source", "item_id", "occurred_at", pl.col("value").str.to_lowercase().alias("value"))
        .sort("source", "item_id", "occurred_at", "value")
        .with_columns(pl.col("occurred_at").shift(-1).over("source", "item_id").alias("next_at"))
    )


def _evaluate_metric(
    items: pl.DataFrame, status: pl.DataFrame, policy: Policy, metric: Metric, now: datetime
) -> pl.DataFrame | None:
    targets = [t for t in policy.targets if t.metric == metric.name]
    if not targets:
        return None
    frame = items.with_columns(
        policy.match_targets(items, metric.name).alias("target_index"),
        pl.col(metric.start).alias("start"),
        pl.when(pl.col(metric.stop) <= now).then(pl.col(metric.stop)).alias("stop"),
    ).filter(pl.col("target_index").is_not_null() & pl.col("start").is_not_null() & (pl.col("start") <= now))
    if frame.is_empty():
        return None
    target_table = pl.DataFrame(
        {
            "target_index": [t.index for t in targets],
            "calendar": [t.calendar for t in targets],
            "within_s": [t.within_s for t in targets],
            "objective": [policy.objective_for(t) for t in targets],
        },
        schema={"target_index": pl.Int32, "calendar": pl.String, "within_s": pl.Float64, "objective": pl.Float64},
    )
    frame = frame.join(target_table, on="target_index", how="left", maintain_order="left").with_columns(
        pl.lit(metric.name).alias("metric"),
        pl.coalesce("stop", pl.lit(now, UTC_US)).alias("clock_end"),
    )
    parts = []
    for calendar_name in frame["calendar"].unique(maintain_order=True).to_list():
        group = frame.filter(pl.col("calendar") == calendar_name)
        parts.append(_judge(group, status, policy.calendars[calendar_name], metric))
    return pl.concat(parts, how="vertical")


def _judge(group: pl.DataFrame, status: pl.DataFrame, calendar, metric: Metric) -> pl.DataFrame:
    start_us = _microseconds(group, "start")
    end_us = _microseconds(group, "clock_end")
    running = group["stop"].is_null().to_numpy()
    gross_us = calendar.business_us(start_us, end_us)
    paused_us = np.zeros(len(group), dtype=np.int64)
    paused_now = np.zeros(len(group), dtype=bool)
    if metric.pause_when_status and not status.is_empty():
        pauses = (
            status.filter(pl.col("value").is_in(list(metric.pause_when_status)))
            .join(
                group.select("source", "item_id", "start", "clock_end").with_row_index("row"),
                on=["source", "item_id"],
                how="inner",
            )
            .with_columns(
                pl.max_horizontal("occurred_at", "start").alias("pause_start"),
                pl.min_horizontal(pl.coalesce("next_at", "clock_end"), "clock_end").alias("pause_end"),
            )
            .filter(pl.col("pause_end") > pl.col("pause_start"))
        )
        if not pauses.is_empty():
            rows = pauses["row"].to_numpy()
            each_us = calendar.business_us(_microseconds(pauses, "pause_start"), _microseconds(pauses, "pause_end"))
            np.add.at(paused_us, rows, each_us)
            open_pause = pauses["next_at"].is_null().to_numpy()
            paused_now[rows[open_pause]] = True
    paused_now &= running
    elapsed_us = gross_us - paused_us
    within_us = np.round(group["within_s"].to_numpy() * US).astype(np.int64)
    due_us = calendar.due_us(start_us, within_us + paused_us)
    over = elapsed_us > within_us
    state = np.select([over, ~running, paused_now], ["breached", "achieved", "paused"], "active")
    decided = ~running | over  # a running clock past its budget is already breached
    met = pl.select(
        pl.when(pl.Series(decided)).then(pl.Series(~over)).otherwise(None).alias("met")
    ).to_series()
    elapsed_s = elapsed_us / US
    within_s = within_us / US
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_used = np.where(within_us > 0, 100.0 * elapsed_us / np.maximum(within_us, 1),
                            np.where(elapsed_us > 0, np.inf, 0.0))
    return group.select(
        "source", "item_id", "metric", *COPIED_COLUMNS, "policy_version", "target_index", "calendar",
        "within_s", "objective", "start", "stop",
    ).with_columns(
        pl.Series("elapsed_s", elapsed_s, dtype=pl.Float64),
        pl.Series("paused_s", paused_us / US, dtype=pl.Float64),
        pl.Series("state", state, dtype=pl.String),
        met,
        pl.Series("due_at", due_us, dtype=pl.Int64).cast(UTC_US),
        pl.Series("remaining_s", within_s - elapsed_s, dtype=pl.Float64),
        pl.Series("pct_used", pct_used, dtype=pl.Float64),
    ).select(RESULT_COLUMNS)
