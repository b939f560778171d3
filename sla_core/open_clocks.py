"""Stored open clocks brought forward to `now`, without the raw data.

A stored result row of a running clock (stop null) holds what its judgement at `computed_at` knew: elapsed
business time so far, whether the clock was paused (state `paused`) or running (`active`), and the due
instant (`due_at`, pauses so far included). Until the next import brings a new event or milestone for the item
(which re-judges it), nothing else can happen to it but time passing, so:

    running:  elapsed(now) = elapsed_s + B(now) - B(computed_at)   in the target's business calendar
    paused:   elapsed(now) = elapsed_s, paused_s grows by the same business time and due_at moves with it
              (the pause lasts until the next status event)
    breached by now  <=>  met is false, or running and elapsed(now) > within_s, i.e. due_at < now

(the last line is what `sla_store.queries` asks DuckDB directly). A clock stored as already breached keeps
running: a pause that starts after the breach comes with a status event, i.e. with an import.

and state, met, remaining_s and pct_used follow as in `sla_core.clocks.evaluate`, which this equals for items
without events after `computed_at`. Decided rows pass through unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from sla_core.calendar import US
from sla_core.policy import Policy, PolicyHistory, as_history


def _wall_us(start_us: np.ndarray, end_us: np.ndarray) -> np.ndarray:
    return np.maximum(end_us - start_us, 0)


def _deadline_row(policy: Policy, metric: str | None, target_index: int | None) -> bool:
    spec = policy.metrics.get(metric) if metric is not None else None
    if spec is not None and spec.schedule is not None:
        return True
    target = policy.targets[int(target_index)] if target_index is not None and 0 <= target_index < len(
        policy.targets) else None
    return target is not None and target.by_s is not None


def advance(results: pl.DataFrame, policy: Policy | PolicyHistory, now: datetime) -> pl.DataFrame:
    """`results` rows (with `computed_at`) as of `now`: running clocks gain the business time since their
    computation; paused ones keep theirs. Same columns, same order of rows."""
    history = as_history(policy)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    if results.is_empty():
        return results
    now_us = int(now.timestamp() * US)
    open_clock = results["stop"].is_null().fill_null(False).to_numpy()
    # A breached clock without a stop keeps running (a pause that began after it breached is not known here).
    paused = open_clock & (results["state"] == "paused").fill_null(False).to_numpy()
    computed_us = _micros(results["computed_at"]).fill_null(now_us).to_numpy()
    start_us = _micros(results["start"]).fill_null(now_us).to_numpy()
    # Integer microseconds, as evaluate counts them, so the figures match it exactly.
    elapsed_us, paused_us, within_us = (np.round(results[name].fill_null(0).to_numpy() * US).astype(np.int64)
                                        for name in ("elapsed_s", "paused_s", "within_s"))
    due_us = _micros(results["due_at"]).to_numpy().copy()
    keys = results.select(
        pl.col("policy_version").cast(pl.Int64), pl.col("calendar").cast(pl.String), pl.col("metric").cast(pl.String),
        pl.col("target_index").cast(pl.Int64),
    ).with_row_index("_row")
    for (version, calendar_name, metric, target_index), group in keys.filter(pl.Series(open_clock)).group_by(
            ["policy_version", "calendar", "metric", "target_index"]):
        try:
            policy = history[int(version)]
            calendar = policy.calendars[calendar_name]
        except KeyError:  # judged by a version or calendar no longer on file: left as stored
            continue
        # Deadline rows (a schedule, a `by` target) count wall-clock time (sla_core.instances).
        measure = _wall_us if _deadline_row(policy, metric, target_index) else calendar.business_us
        rows = group["_row"].to_numpy()
        gained = measure(np.minimum(computed_us[rows], now_us), np.full(len(rows), now_us, np.int64))
        is_paused = paused[rows]
        elapsed_us[rows] += np.where(is_paused, 0, gained)
        paused_us[rows] += np.where(is_paused, gained, 0)
        # While paused the budget's end moves later by the paused business time.
        moved = rows[is_paused]
        if len(moved):
            due_us[moved] = (start_us[moved] + within_us[moved] + paused_us[moved] if measure is _wall_us
                             else calendar.due_us(start_us[moved], within_us[moved] + paused_us[moved]))
    over = open_clock & ~paused & (elapsed_us > within_us)
    return _with_advanced(results, open_clock, over, elapsed_us, paused_us, within_us, due_us)


def _micros(instants: pl.Series) -> pl.Series:
    """UTC microseconds since the epoch (Int64, nulls kept)."""
    return instants.dt.convert_time_zone("UTC").dt.cast_time_unit("us").to_physical()


def _with_advanced(results: pl.DataFrame, open_clock: np.ndarray, over: np.ndarray, elapsed_us: np.ndarray,
                   paused_us: np.ndarray, within_us: np.ndarray, due_us: np.ndarray) -> pl.DataFrame:
    """The open rows' figures replaced by the advanced ones; `over` rows become breached."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_used = np.where(within_us > 0, 100.0 * elapsed_us / np.maximum(within_us, 1),
                            np.where(elapsed_us > 0, np.inf, 0.0))
    elapsed_s = elapsed_us / US
    updated = pl.Series(open_clock)
    breached = pl.Series(over)
    due_at = pl.Series(due_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
    return results.with_columns(
        pl.when(updated).then(pl.Series(elapsed_s)).otherwise(pl.col("elapsed_s")).alias("elapsed_s"),
        pl.when(updated).then(pl.Series(paused_us / US)).otherwise(pl.col("paused_s")).alias("paused_s"),
        pl.when(updated).then(pl.Series(within_us / US - elapsed_s)).otherwise(pl.col("remaining_s"))
        .alias("remaining_s"),
        pl.when(updated).then(pl.Series(pct_used)).otherwise(pl.col("pct_used")).alias("pct_used"),
        pl.when(updated).then(due_at.cast(results.schema["due_at"])).otherwise(pl.col("due_at")).alias("due_at"),
        pl.when(breached).then(pl.lit("breached")).otherwise(pl.col("state")).alias("state"),
        pl.when(breached).then(pl.lit(False)).otherwise(pl.col("met")).alias("met"),
    )


def breached_by_now(results: pl.DataFrame, now: datetime) -> pl.Series:
    """The query form: decided breached, or a running clock whose due instant has passed."""
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return results.select(
        ((pl.col("met") == False) | ((pl.col("state") == "active") & (pl.col("due_at") < now)))  # noqa: E712
        .fill_null(False).alias("breached_by_now")
    ).to_series()
