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
_STATE_NAMES = pl.Series("state", ["breached", "achieved", "paused", "active"], dtype=pl.String)


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
    # Only the contract's columns go on: extra columns (attributes, import ids) cannot clash with the
    # helper columns added below.
    return items.select(
        _as_utc(pl.col(c), items.schema[c]).alias(c) if c in ITEM_TIMES else pl.col(c).cast(pl.String)
        for c in ITEM_COLUMNS
    )


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
    items = items.with_columns(history.version_for(items["created"]).alias("policy_version")).with_row_index("_row")
    # Events carry their item's row number from here on: integer keys instead of (source, item_id) joins.
    events = events.join(items.select("source", "item_id", "_row"), on=["source", "item_id"], how="inner")

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
    status = StatusIntervals(events, items.height)

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
        first = events.filter(pl.col("kind") == kind).group_by("_row").agg(
            pl.col("occurred_at").min().alias(f"event:{kind}")
        )
        items = items.join(first, on="_row", how="left", maintain_order="left")
    return items


class StatusIntervals:
    """Every status event as numpy arrays: item row, instant, next status instant of the same item."""

    NEVER = np.iinfo(np.int64).max

    def __init__(self, events: pl.DataFrame, item_count: int):
        status = (
            events.filter(pl.col("kind") == "status")
            .select("_row", "occurred_at", pl.col("value").str.to_lowercase().alias("value"))
            .sort("_row", "occurred_at", "value")
            .with_columns(
                pl.when(pl.col("_row").shift(-1) == pl.col("_row")).then(pl.col("occurred_at").shift(-1)).alias("next_at")
            )
        )
        self.values = status["value"]
        self.item = status["_row"].cast(pl.Int64).to_numpy()
        self.at_us = status["occurred_at"].to_physical().to_numpy()
        next_at = status["next_at"].to_physical()
        self.still_open = next_at.is_null().to_numpy()
        self.next_us = next_at.fill_null(self.NEVER).to_numpy()
        self.item_count = item_count
        self._masks: dict[tuple[str, ...], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.item)

    def in_status(self, values: tuple[str, ...]) -> np.ndarray:
        if values not in self._masks:
            self._masks[values] = self.values.is_in(list(values)).to_numpy()
        return self._masks[values]


def _evaluate_metric(
    items: pl.DataFrame, status: StatusIntervals, policy: Policy, metric: Metric, now: datetime
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


def _judge(group: pl.DataFrame, status: StatusIntervals, calendar, metric: Metric) -> pl.DataFrame:
    start_us = _microseconds(group, "start")
    end_us = _microseconds(group, "clock_end")
    running = group["stop"].is_null().to_numpy()
    gross_us = calendar.business_us(start_us, end_us)
    paused_us = np.zeros(len(group), dtype=np.int64)
    paused_now = np.zeros(len(group), dtype=bool)
    if metric.pause_when_status and len(status):
        # Position of each item row inside this group (-1: not in it), to pick this group's pauses.
        position = np.full(status.item_count, -1, dtype=np.int64)
        position[group["_row"].cast(pl.Int64).to_numpy()] = np.arange(len(group))
        chosen = status.in_status(metric.pause_when_status) & (position[status.item] >= 0)
        owner = position[status.item[chosen]]
        pause_start = np.maximum(status.at_us[chosen], start_us[owner])
        pause_end = np.minimum(status.next_us[chosen], end_us[owner])
        # A running clock is paused when the item's latest status so far is a pause status.
        paused_now[owner[status.still_open[chosen]]] = True
        real = pause_end > pause_start
        owner, pause_start, pause_end = owner[real], pause_start[real], pause_end[real]
        each_us = calendar.business_us(pause_start, pause_end)
        # Float sums are exact here: business microseconds stay far below 2**53.
        paused_us = np.bincount(owner, weights=each_us, minlength=len(group)).astype(np.int64)
    paused_now &= running
    elapsed_us = gross_us - paused_us
    within_us = np.round(group["within_s"].to_numpy() * US).astype(np.int64)
    due_us = calendar.due_us(start_us, within_us + paused_us)
    over = elapsed_us > within_us
    state_code = np.select([over, ~running, paused_now], [0, 1, 2], 3)
    state = _STATE_NAMES.gather(state_code)
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
        state.alias("state"),
        met,
        pl.Series("due_at", due_us, dtype=pl.Int64).cast(UTC_US),
        pl.Series("remaining_s", within_s - elapsed_s, dtype=pl.Float64),
        pl.Series("pct_used", pct_used, dtype=pl.Float64),
    ).select(RESULT_COLUMNS)
