"""The live queue: open items re-judged at the real now (stored results are as of the last ingest)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from sla_core.attainment import warning_level
from sla_core.clocks import evaluate
from sla_core.policy import PolicyHistory
from sla_ui import view

LEVEL_MARKS = {"on track": "🟢 on track", "50%": "🟡 50% used", "75%": "🟠 75% used", "breached": "🔴 breached"}


def _local_due(due_at: dt.datetime | None, timezone: str) -> str:
    if due_at is None:
        return view.NO_VALUE
    from zoneinfo import ZoneInfo

    return due_at.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %H:%M ") + timezone


def open_clocks(items: pl.DataFrame, events: pl.DataFrame, history: PolicyHistory, now: dt.datetime,
                metric: str | None) -> pl.DataFrame:
    """Running clocks at `now`, soonest breach first: evaluate's columns plus subject, level and the
    calendar's time zone."""
    if items.is_empty():
        return pl.DataFrame()
    results = evaluate(items, events, history, now, metrics=[metric] if metric else None)
    running = results.filter(pl.col("stop").is_null())
    if running.is_empty():
        return pl.DataFrame()
    zones = pl.DataFrame(
        [(policy.version, name, calendar.timezone)
         for policy in history.versions for name, calendar in policy.calendars.items()],
        schema={"policy_version": running.schema["policy_version"], "calendar": pl.String, "timezone": pl.String},
        orient="row",
    )
    subjects = items.select("source", "item_id", "subject")
    return (
        running.join(subjects, on=["source", "item_id"], how="left", maintain_order="left")
        .join(zones, on=["policy_version", "calendar"], how="left", maintain_order="left")
        .with_columns(level=warning_level(pl.col("pct_used")), timezone=pl.col("timezone").fill_null("UTC"))
        .sort("remaining_s", "item_id")
    )


def for_display(clocks: pl.DataFrame) -> pl.DataFrame:
    """Readable columns for the queue table: due-at in the calendar's zone, remaining time, marks."""
    return clocks.with_columns(
        due_local=pl.struct("due_at", "timezone").map_elements(
            lambda r: _local_due(r["due_at"], r["timezone"]), return_dtype=pl.String),
        remaining=pl.col("remaining_s").map_elements(view.remaining, return_dtype=pl.String),
        target=pl.col("within_s").map_elements(view.duration, return_dtype=pl.String),
        status_mark=pl.when(pl.col("state") == "paused").then(pl.lit("⏸ paused"))
        .otherwise(pl.lit("▶ running")),
        level_mark=pl.col("level").replace_strict(LEVEL_MARKS, return_dtype=pl.String),
    )
