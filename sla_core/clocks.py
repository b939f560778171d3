"""Metric clocks: for every item x metric, when the clock started and stopped, how much business time it
used (minus pauses), and whether it met the target that judged it.

Vectorized per (policy version, metric, calendar) group: the items of a group go through the calendar's
interval-table kernel as numpy arrays (sla_core.clock_judge); no Python loop runs over items. Targets are
matched once per distinct combination of the attributes they match on, not per item.

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
from datetime import datetime
from typing import NamedTuple, TypedDict, Unpack

import numpy as np
import polars as pl

from sla_core.clock_inputs import (
    ITEM_COLUMNS,
    ITEM_TIMES,
    NEVER,
    UTC_US,
    EventNames,
    StatusIntervals,
    as_datetimes,
    epoch_us,
    first_events,
    instants,
    matches_any,
    matching_values,
    normalize_events,
    normalize_items,
    utc_now,
    with_item_rows,
)
from sla_core.clock_judge import StartPositions, Targets, judge_clocks
from sla_core.instances import evaluate_instances, never_starts, uses_instances
from sla_core.policy import Metric, Policy, PolicyHistory, as_history

__all__ = ["ITEM_COLUMNS", "ITEM_TIMES", "NOT_MEASURED_SCHEMA", "RESULT_SCHEMA", "Coverage", "evaluate",
           "evaluate_coverage", "matches_any", "matching_values", "metric_milestones", "unrecorded_milestones"]
COPIED_COLUMNS = ("kind", "process", "channel", "team", "priority", "agent", "status", "created")

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


def empty_results(dimensions: Sequence[str] = ()) -> pl.DataFrame:
    return pl.DataFrame(schema={**RESULT_SCHEMA, **{name: pl.String() for name in dimensions}})


def empty_not_measured(dimensions: Sequence[str] = ()) -> pl.DataFrame:
    return pl.DataFrame(schema={**NOT_MEASURED_SCHEMA, **{name: pl.String() for name in dimensions}})



class Coverage(NamedTuple):
    """evaluate_coverage's answer: the results, and the item x metric rows their source cannot measure."""

    results: pl.DataFrame
    not_measured: pl.DataFrame


class Scope(TypedDict, total=False):
    """What to evaluate beyond the items themselves (see evaluate_coverage)."""

    metrics: Sequence[str] | None
    unrecorded: Mapping[str, Collection[str]] | None


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
    items: pl.DataFrame, events: pl.DataFrame | None, policy: Policy | PolicyHistory, now: datetime,
    **scope: Unpack[Scope],
) -> pl.DataFrame:
    """One result row per item x metric with a matching target and a start at or before `now`.

    The target comes from the policy version in force at the item's `created` (UTC date). Milestones and
    status events after `now` have not happened yet. Columns and types: RESULT_SCHEMA, then one String
    column per dimension the policy versions declare. Items their source cannot measure are left out (see
    evaluate_coverage, which takes the same arguments).
    """
    return evaluate_coverage(items, events, policy, now, **scope).results


def evaluate_coverage(
    items: pl.DataFrame,
    events: pl.DataFrame | None,
    policy: Policy | PolicyHistory,
    now: datetime,
    metrics: Sequence[str] | None = None,
    unrecorded: Mapping[str, Collection[str]] | None = None,
) -> Coverage:
    """(results, not_measured): evaluate's results, and one row per item x metric with a matching target
    whose source never records the metric's start or stop (NOT_MEASURED_SCHEMA + dimensions).

    `metrics` limits the metrics evaluated (None: all). `unrecorded` (source -> milestones it never
    records, from `unrecorded_milestones`) says which sources cannot measure what; None measures
    everything. A first-of list is recorded when any of its milestones is.
    """
    history = as_history(policy)
    dimensions = history.dimensions
    now = utc_now(now)
    if items.is_empty():
        return Coverage(empty_results(dimensions), empty_not_measured(dimensions))
    items = normalize_items(items, dimensions)
    items = items.with_columns(history.version_for(items["created"]).alias("policy_version")).with_row_index("_row")
    # Events carry their item's row number from here on: integer keys instead of (source, item_id) joins.
    events = normalize_events(events)
    occurred = events["occurred_at"]
    if occurred.null_count() or (events.height and occurred.max() > now):  # only events by now (not null)
        events = events.filter(pl.col("occurred_at") <= now)
    events = with_item_rows(events, items)

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
    clocks = _Clocks(items, events, milestone_kinds, now, _unrecorded_frame(unrecorded), dimensions)
    parts, unmeasured = [], []
    for version in sorted({version for version, _ in wanted}):
        of_version = clocks.of_version(history[version])
        if of_version is None:
            continue
        for name in sorted(name for number, name in wanted if number == version):
            part, skipped = clocks.evaluate_metric(of_version, history[version], history[version].metrics[name])
            if part is not None:
                parts.append(part)
            if skipped is not None:
                unmeasured.append(skipped)
    results = pl.concat(parts, how="vertical") if parts else empty_results(dimensions)
    not_measured = pl.concat(unmeasured, how="vertical") if unmeasured else empty_not_measured(dimensions)
    return Coverage(results, not_measured)


def _unrecorded_frame(unrecorded: Mapping[str, Collection[str]] | None) -> pl.DataFrame:
    """source, unrecorded (list of milestone names) - one row per source that misses any."""
    rows = {source: sorted(names) for source, names in (unrecorded or {}).items() if names}
    return pl.DataFrame({"source": list(rows), "unrecorded": list(rows.values())},
                        schema={"source": pl.String, "unrecorded": pl.List(pl.String)})


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


class _Version(NamedTuple):
    """The items one policy version judges, grouped by the attributes its targets match on."""

    rows: np.ndarray  # their item rows
    combos: pl.DataFrame  # the distinct combinations of those attributes (and the source)
    combo: np.ndarray  # per item of the version, its combination (row of `combos`)


class _Clocks:
    """Normalized items (with `_row` and `policy_version`), their milestones as arrays, their status events."""

    def __init__(self, items: pl.DataFrame, events: pl.DataFrame, kinds: Sequence[str], now: datetime,
                 recorded: pl.DataFrame, dimensions: Sequence[str]):
        self.items, self.events, self.now, self.now_us = items, events, now, epoch_us(now)
        self.recorded, self.dimensions = recorded, tuple(dimensions)
        self.names = EventNames.of(events)
        self.event_milestones = first_events(events, kinds, items.height, self.names)
        self.milestones = dict(self.event_milestones)  # item columns join when a metric first names them
        self._happened: dict[str, bool] = {}  # item columns whose every instant lies at or before now
        self.status = StatusIntervals(events, items.height, self.names)
        self.start_positions = StartPositions(items.height)

    def of_version(self, policy: Policy) -> _Version | None:
        judged = self.items["policy_version"] == policy.version
        count = judged.sum()
        if not count:
            return None
        frame = self.items if count == self.items.height else self.items.filter(judged)
        return _Version(frame["_row"].cast(pl.Int64).to_numpy(), *_combinations(frame, policy))

    def evaluate_metric(
        self, version: _Version, policy: Policy, metric: Metric
    ) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
        """(results, not measured) of one metric for the items one policy version judges."""
        if not any(t.metric == metric.name for t in policy.targets):
            return None, None
        target = policy.match_targets(version.combos, metric.name).cast(pl.Int64).fill_null(-1).to_numpy()
        if not (target >= 0).any():  # no combination of attributes has a target: nothing to measure or skip
            return None, None
        missing = version.combos.select("source").join(
            _missing_milestones(self.recorded, metric), on="source", how="left", maintain_order="left")["missing"]
        unmeasurable_combo = missing.is_not_null().to_numpy()
        everyone = bool((target >= 0).all()) and not unmeasurable_combo.any()  # every item is measured
        target = target[version.combo]
        unmeasurable = unmeasurable_combo[version.combo] if unmeasurable_combo.any() else None
        skipped = None
        if unmeasurable is not None:
            chosen = np.flatnonzero((target >= 0) & unmeasurable)
            skipped = self.items[version.rows[chosen]].with_columns(
                pl.Series("target_index", target[chosen], dtype=pl.Int32), pl.lit(metric.name).alias("metric"),
                missing.gather(version.combo[chosen]).alias("missing"),
            ).select(*NOT_MEASURED_COLUMNS, *self.dimensions)
            skipped = skipped if skipped.height else None
        if everyone:
            rows = version.rows
        else:
            chosen = np.flatnonzero(target >= 0 if unmeasurable is None else (target >= 0) & ~unmeasurable)
            if not len(chosen):
                return None, skipped
            rows, target = version.rows[chosen], target[chosen]
        if uses_instances(policy, metric):
            if never_starts(metric, self.names):
                return None, skipped
            # what the instances are built from; the result rows copy the other columns from the items
            matched = self.items.select("_row", *ITEM_TIMES)[rows].with_columns(
                pl.Series("target_index", target, dtype=pl.Int32),
                *[as_datetimes(name, self.event_milestones[name][rows]) for name in (*metric.starts, *metric.stops)
                  if name in self.event_milestones])
            part = evaluate_instances(matched, self.items, self.events, self.status, policy, metric, self.now,
                                      (*COPIED_COLUMNS, *self.dimensions), (*RESULT_COLUMNS, *self.dimensions),
                                      self.names)
            return part, skipped
        start_us, stop_us = self._first_of(metric.starts, rows), self._first_of(metric.stops, rows)
        started = start_us != NEVER
        if not started.any():
            return None, skipped
        if not started.all():
            rows, target, start_us, stop_us = rows[started], target[started], start_us[started], stop_us[started]
        part = judge_clocks(self.items, rows, start_us, stop_us, target, Targets.of(policy, metric.name), policy,
                            metric, self.status, self.now_us, self.start_positions, ("source", "item_id", *COPIED_COLUMNS,
                                                                "policy_version", *self.dimensions),
                            (*RESULT_COLUMNS, *self.dimensions))
        return part, skipped

    def _first_of(self, names: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """The earliest of these milestones that happened by now, per item row (NEVER when none has); read
        only (it may be the items' own array)."""
        first = None
        for name in names:
            if name not in self.milestones:
                self.milestones[name] = instants(self.items[name])
                self._happened[name] = int(self.milestones[name].max(initial=-NEVER)) <= self.now_us
            values = self.milestones[name]
            values = values if len(rows) == len(values) else values[rows]  # rows ascend: all of them, in order
            happened = values if self._happened.get(name) else np.where(values <= self.now_us, values, NEVER)
            first = happened if first is None else np.minimum(first, happened)
        return first if first is not None else np.full(len(rows), NEVER, dtype=np.int64)


def _combinations(frame: pl.DataFrame, policy: Policy) -> tuple[pl.DataFrame, np.ndarray]:
    """(the distinct combinations of the source and the attributes the policy's targets match on, per row of
    `frame` its combination)."""
    matched = {key for target in policy.targets for key in target.match}
    keys = ["source", *sorted(key for key in matched if key in frame.columns and key != "source")]
    # A column with one value throughout (one source, one kind...) is left out of the grouping and added back.
    constant = {key: frame[key][0] for key in keys if _is_constant(frame[key])}
    varying = [key for key in keys if key not in constant]
    if not varying:
        combos, combo = frame.select(keys).head(1), np.zeros(frame.height, dtype=np.int64)
    else:
        grouped = frame.select(varying).with_row_index("_at").group_by(varying).agg("_at")
        at = grouped["_at"]
        combo = np.empty(frame.height, dtype=np.int64)
        combo[at.explode().to_numpy()] = np.repeat(np.arange(grouped.height), at.list.len().to_numpy())
        combos = grouped.with_columns(pl.lit(value, frame.schema[key]).alias(key) for key, value in constant.items())
    return combos.select(keys), combo


def _is_constant(series: pl.Series) -> bool:
    """One value in every row (all null counts as one)."""
    nulls = series.null_count()
    if nulls:
        return nulls == len(series)
    return bool((series == series[0]).all())
