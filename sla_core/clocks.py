"""Metric clocks: for every item x metric, when the clock started and stopped, how much business time it
used (minus pauses), and whether it met the target that judged it.

Vectorized per (policy version, metric, calendar) group: the items of a group go through the calendar's
interval-table kernel as numpy arrays; no Python loop runs over items.

A metric's start and stop are item columns or "event:<kind>" milestones, or lists of them: the clock takes
whichever comes first. An "event:<kind>" milestone is the item's first event of that kind, or its first
status event with that value (an event log imported as status events yields its milestones too). Names
match without regard to case, and may be glob patterns ("wait*").

Items of a source that never records a metric's start or stop (the shell knows: no column was mapped, or no
item of that source has it; see `unrecorded_milestones`) are not measured for it: they get no result row,
and `evaluate_coverage` lists them with the missing milestone.

Pauses come from status events: a pause starts at a status event whose value matches the metric's
`pause_when_status` (globs allowed) and ends at the item's next status event, or at the clock's end. Consecutive status
events never overlap, so the pause intervals of one item are disjoint; they are clipped to the clock
[start, stop or now] and measured in the target's business calendar.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase

import numpy as np
import polars as pl

from sla_core.calendar import US
from sla_core.instances import evaluate_instances, uses_instances
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
    "instance": pl.Int32(),  # 1, 2, ... per item and metric (a plain clock is instance 1)
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
# Items a metric cannot measure (their source never records its start or stop), one row per item x metric.
NOT_MEASURED_SCHEMA: dict[str, pl.DataType] = {
    **{name: RESULT_SCHEMA[name] for name in ("source", "item_id", "metric", *COPIED_COLUMNS, "policy_version",
                                               "target_index")},
    "missing": pl.String(),  # the milestone(s) the source never records, e.g. "first_response"
}
NOT_MEASURED_COLUMNS = tuple(NOT_MEASURED_SCHEMA)
STATES = ("achieved", "breached", "active", "paused")
_STATE_NAMES = pl.Series("state", ["breached", "achieved", "paused", "active"], dtype=pl.String)


def empty_results(dimensions: Sequence[str] = ()) -> pl.DataFrame:
    return pl.DataFrame(schema={**RESULT_SCHEMA, **{name: pl.String() for name in dimensions}})


def empty_not_measured(dimensions: Sequence[str] = ()) -> pl.DataFrame:
    return pl.DataFrame(schema={**NOT_MEASURED_SCHEMA, **{name: pl.String() for name in dimensions}})


def matches_any(value: str, patterns: Sequence[str]) -> bool:
    """Case-insensitive glob match ("wait*" matches "Wait - User")."""
    lowered = value.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


def matching_values(values: Sequence[str | None], patterns: Sequence[str]) -> list[str]:
    """The values (as given) that match any of the glob patterns, case-insensitively."""
    return [value for value in values if value is not None and matches_any(value, patterns)]


def _as_utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        expr = expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr.dt.convert_time_zone("UTC")
        return expr.dt.cast_time_unit("us")
    if dtype == pl.Null:
        return expr.cast(UTC_US)
    if dtype == pl.Date:
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    raise TypeError(f"expected datetimes, got {dtype}")


def _normalize_items(items: pl.DataFrame, dimensions: Sequence[str] = ()) -> pl.DataFrame:
    """All contract columns present; timestamps as Datetime(us, UTC); text columns as strings.

    Dimension columns (the policy's declared attributes) go along as strings, null where absent.
    """
    wanted = (*ITEM_COLUMNS, *dimensions)
    missing = [pl.lit(None, pl.String).alias(c) for c in wanted if c not in items.columns and c not in ITEM_TIMES]
    missing += [pl.lit(None, UTC_US).alias(c) for c in ITEM_TIMES if c not in items.columns]
    if missing:
        items = items.with_columns(missing)
    # Only the contract's columns (and dimensions, whose names the policy keeps apart from helper names) go
    # on: extra columns (attributes, import ids) cannot clash with the helper columns added below.
    return items.select(
        _as_utc(pl.col(c), items.schema[c]).alias(c) if c in ITEM_TIMES else pl.col(c).cast(pl.String)
        for c in wanted
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


def metric_milestones(history: Policy | PolicyHistory) -> tuple[str, ...]:
    """Every milestone name (item column or event:<kind>) the metrics of any version start or stop at."""
    versions = history.versions if isinstance(history, PolicyHistory) else (history,)
    return tuple(sorted({name for policy in versions for metric in policy.metrics.values()
                         for name in (*metric.starts, *metric.stops)}))


def unrecorded_milestones(
    milestone_names: Sequence[str],
    columns_by_source: Mapping[str, Collection[str]],
    events_by_source: Mapping[str, Collection[str]],
) -> dict[str, set[str]]:
    """source -> the milestones it never records.

    `columns_by_source`: the item columns at least one item of the source has (created, resolved...);
    `events_by_source`: the event kinds and status values its events carry. An "event:<kind>" milestone
    is recorded when a kind or status value matches it (case-insensitive, globs allowed).
    """
    out: dict[str, set[str]] = {}
    for source in set(columns_by_source) | set(events_by_source):
        columns = {name.lower() for name in columns_by_source.get(source, ())}
        names = list(events_by_source.get(source, ()))
        missing = set()
        for milestone in milestone_names:
            if milestone.startswith("event:"):
                if not matching_values(names, [milestone.removeprefix("event:")]):
                    missing.add(milestone)
            elif milestone not in columns:
                missing.add(milestone)
        out[source] = missing
    return out


def evaluate(
    items: pl.DataFrame,
    events: pl.DataFrame | None,
    policy: Policy | PolicyHistory,
    now: datetime,
    metrics: Sequence[str] | None = None,
    unrecorded: Mapping[str, Collection[str]] | None = None,
) -> pl.DataFrame:
    """One result row per item x metric with a matching target and a start at or before `now`.

    The target comes from the policy version in force at the item's `created` (UTC date). Milestones and
    status events after `now` have not happened yet. Columns and types: RESULT_SCHEMA, then one String
    column per dimension the policy versions declare. Items their source cannot measure are left out (see
    evaluate_coverage).
    """
    return evaluate_coverage(items, events, policy, now, metrics, unrecorded)[0]


def evaluate_coverage(
    items: pl.DataFrame,
    events: pl.DataFrame | None,
    policy: Policy | PolicyHistory,
    now: datetime,
    metrics: Sequence[str] | None = None,
    unrecorded: Mapping[str, Collection[str]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(results, not_measured): evaluate's results, and one row per item x metric with a matching target
    whose source never records the metric's start or stop (NOT_MEASURED_SCHEMA + dimensions).

    `unrecorded` (source -> milestones it never records, from `unrecorded_milestones`) says which sources
    cannot measure what; None measures everything. A first-of list is recorded when any of its milestones is.
    """
    history = policy if isinstance(policy, PolicyHistory) else PolicyHistory([policy])
    dimensions = history.dimensions
    now = _utc_now(now)
    if items.is_empty():
        return empty_results(dimensions), empty_not_measured(dimensions)
    items = _normalize_items(items, dimensions)
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
        if not uses_instances(history[version], history[version].metrics[name])
        for milestone in (*history[version].metrics[name].starts, *history[version].metrics[name].stops)
        if milestone.startswith("event:")
    })
    items = _with_first_events(items, events, milestone_kinds)
    recorded = _unrecorded_frame(unrecorded)
    status = StatusIntervals(events, items.height)

    parts, unmeasured = [], []
    for version, name in sorted(wanted):
        of_version = items.filter(pl.col("policy_version") == version)
        if of_version.is_empty():
            continue
        part, skipped = _evaluate_metric(of_version, events, status, history[version], history[version].metrics[name],
                                         now, recorded, dimensions)
        if part is not None:
            parts.append(part)
        if skipped is not None:
            unmeasured.append(skipped)
    results = pl.concat(parts, how="vertical") if parts else empty_results(dimensions)
    not_measured = pl.concat(unmeasured, how="vertical") if unmeasured else empty_not_measured(dimensions)
    return results, not_measured


def _with_first_events(items: pl.DataFrame, events: pl.DataFrame, kinds: Sequence[str]) -> pl.DataFrame:
    """Adds a column "event:<kind>" per milestone kind: the first event of that kind of each item, or its
    first status event with that value (case-insensitive; a kind may be a glob pattern)."""
    if not kinds:
        return items
    lowered_kind = pl.col("kind").str.to_lowercase()
    known_kinds = events.get_column("kind").unique().to_list()
    known_status = events.filter(pl.col("kind") == "status").get_column("value").unique().to_list()
    for kind in kinds:
        by_kind = matching_values(known_kinds, [kind])
        by_status = matching_values(known_status, [kind])
        chosen = pl.col("kind").is_in(by_kind) | ((lowered_kind == "status") & pl.col("value").is_in(by_status))
        first = events.filter(chosen).group_by("_row").agg(pl.col("occurred_at").min().alias(f"event:{kind}"))
        items = items.join(first, on="_row", how="left", maintain_order="left")
    return items


def _unrecorded_frame(unrecorded: Mapping[str, Collection[str]] | None) -> pl.DataFrame:
    """source, unrecorded (list of milestone names) - one row per source that misses any."""
    rows = {source: sorted(names) for source, names in (unrecorded or {}).items() if names}
    return pl.DataFrame({"source": list(rows), "unrecorded": list(rows.values())},
                        schema={"source": pl.String, "unrecorded": pl.List(pl.String)})


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

    def in_status(self, patterns: tuple[str, ...]) -> np.ndarray:
        """Which status events match any of the (lower-case, glob) patterns."""
        if patterns not in self._masks:
            chosen = matching_values(self.values.unique().to_list(), patterns)
            self._masks[patterns] = self.values.is_in(chosen).to_numpy()
        return self._masks[patterns]


def _first_of(names: Sequence[str], now: datetime) -> pl.Expr:
    """The earliest of these milestones that happened by `now` (null when none has)."""
    return pl.min_horizontal([pl.when(pl.col(name) <= now).then(pl.col(name)) for name in names])


def _missing_milestones(unrecorded: pl.DataFrame, metric: Metric) -> pl.DataFrame:
    """Per source, the metric's start or stop it never records ("" when it records both)."""
    rows = []
    for source, names in zip(unrecorded["source"].to_list(), unrecorded["unrecorded"].to_list(), strict=True):
        missing = set(names)
        for needed in (metric.starts, metric.stops):
            if all(name in missing for name in needed):
                rows.append((source, " or ".join(needed)))
                break
    return pl.DataFrame(rows, schema={"source": pl.String, "missing": pl.String}, orient="row")


def _evaluate_metric(
    items: pl.DataFrame, events: pl.DataFrame, status: StatusIntervals, policy: Policy, metric: Metric,
    now: datetime, recorded: pl.DataFrame, dimensions: Sequence[str] = (),
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    targets = [t for t in policy.targets if t.metric == metric.name]
    if not targets:
        return None, None
    matched = items.with_columns(policy.match_targets(items, metric.name).alias("target_index")).filter(
        pl.col("target_index").is_not_null()
    ).join(_missing_milestones(recorded, metric), on="source", how="left", maintain_order="left")
    measurable = pl.col("missing").is_null()
    skipped = matched.filter(~measurable).with_columns(pl.lit(metric.name).alias("metric")).select(
        *NOT_MEASURED_COLUMNS, *dimensions)
    if uses_instances(policy, metric):
        part = evaluate_instances(matched.filter(measurable), events, status, policy, metric, now,
                                  (*COPIED_COLUMNS, *dimensions), (*RESULT_COLUMNS, *dimensions))
        return part, (skipped if skipped.height else None)
    frame = matched.filter(measurable).with_columns(
        _first_of(metric.starts, now).alias("start"),
        _first_of(metric.stops, now).alias("stop"),
    ).filter(pl.col("start").is_not_null())
    if frame.is_empty():
        return None, (skipped if skipped.height else None)
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
        pl.lit(1, pl.Int32).alias("instance"),
        pl.coalesce("stop", pl.lit(now, UTC_US)).alias("clock_end"),
    )
    parts = []
    for calendar_name in frame["calendar"].unique(maintain_order=True).to_list():
        group = frame.filter(pl.col("calendar") == calendar_name)
        parts.append(_judge(group, status, policy.calendars[calendar_name], metric, dimensions))
    return pl.concat(parts, how="vertical"), (skipped if skipped.height else None)


def _judge(group: pl.DataFrame, status: StatusIntervals, calendar, metric: Metric,
           dimensions: Sequence[str] = ()) -> pl.DataFrame:
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
        "source", "item_id", "metric", "instance", *COPIED_COLUMNS, "policy_version", "target_index", "calendar",
        "within_s", "objective", "start", "stop", *dimensions,
    ).with_columns(
        pl.Series("elapsed_s", elapsed_s, dtype=pl.Float64),
        pl.Series("paused_s", paused_us / US, dtype=pl.Float64),
        state.alias("state"),
        met,
        pl.Series("due_at", due_us, dtype=pl.Int64).cast(UTC_US),
        pl.Series("remaining_s", within_s - elapsed_s, dtype=pl.Float64),
        pl.Series("pct_used", pct_used, dtype=pl.Float64),
    ).select(*RESULT_COLUMNS, *dimensions)
