"""Metrics with many clocks per item: repeating clocks, gaps between events, scheduled deadlines, and
targets due at a wall-clock deadline ("next business day 17:00").

Every clock is an *instance*: one row per (item, metric, instance number) with the same columns as a plain
clock (`sla_core.clocks.RESULT_SCHEMA`). Instance numbers count from 1 per item and metric in time order.

- repeat (`repeat: true`): a clock starts at a start event when none is running and stops at the next
  stop event; start events while a clock runs start nothing (Zendesk's next reply time). Ties: a start and
  a stop at the same instant open and close a clock (as a plain clock with start == stop). Pauses apply.
- between (`between: "event:X"`): gaps created -> 1st X, 1st -> 2nd, ..., and the open gap from the last
  one to now, or to the item's `closed` milestone when it is closed. Events before `created` or after the
  end are ignored. No pauses.
- schedule (`schedule: {every, due}`): one instance per calendar period (day, ISO week from Monday, month)
  in the target calendar's zone, from the period holding the item's start up to the one holding now (or
  its `closed` milestone); a period whose deadline lies before the item's start is left out. An instance
  starts at its period's start (or the item's start) and stops at the first stop event inside the period;
  it is due at the period's deadline, a wall-clock time in that zone (a month day past the month's end
  means its last day). Its instance number is the period's place counted from the one holding the item's
  start (1), so a period keeps its number when the due time moves (a first period left out leaves a gap). No stop event by the deadline = breached; a period before its deadline = active.
- `by: "next business day HH:MM"` targets: due at HH:MM local on the first date after the start's local
  date on which the target calendar has open hours.

Deadline kinds (schedule and `by`) count wall-clock seconds, duration targets business time: each instance is
judged by `sla_core.instance_judge`.

Everything is vectorized: per metric the instances are built with sorts, shifts and joins over all items
at once; Python loops run only over distinct local dates and periods, never over items or events.
"""

from __future__ import annotations

import calendar as month_lengths
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from sla_core.calendar import US, Calendar
from sla_core.clock_inputs import EventNames, matching_values
from sla_core.instance_judge import EPOCH, UTC_US, judge_instances, local_instant_us
from sla_core.policy import Metric, Policy

_INSTANCE = ["_row", "instance", "start", "stop"]


DELIVERABLE_STATUSES = ("met", "late", "missing", "due")


def deliverable_status() -> pl.Expr:
    """A scheduled period as people say it, from a results frame's stop and met:
    met (delivered by the deadline), late (delivered after it, inside the period), missing (nothing
    delivered and the deadline passed), due (nothing yet, the deadline is still ahead)."""
    delivered = pl.col("stop").is_not_null()
    return (
        pl.when(delivered & pl.col("met").fill_null(False)).then(pl.lit("met"))
        .when(delivered).then(pl.lit("late"))
        .when(pl.col("met").is_not_null() & ~pl.col("met")).then(pl.lit("missing"))
        .otherwise(pl.lit("due"))
        .alias("status")
    )


def uses_instances(policy: Policy, metric: Metric) -> bool:
    """True when the metric is evaluated here: a kind other than a plain clock, or a `by` deadline target."""
    return metric.kind != "clock" or any(t.by_s is not None for t in policy.targets if t.metric == metric.name)


def never_starts(metric: Metric, names: EventNames) -> bool:
    """True when no instance can start: a repeating clock whose start milestones are all events that no event
    kind or status value in `names` matches."""
    if metric.kind != "repeat" or not all(name.startswith("event:") for name in metric.starts):
        return False
    kinds = [name.removeprefix("event:") for name in metric.starts]
    return not matching_values(names.kinds, kinds) and not matching_values(names.any_status_values, kinds)


# -- building instances per kind: frames of _row, instance, start, stop (and _due_us for schedules) --------


def _milestone_events(items: pl.DataFrame, events: pl.DataFrame, milestone: str | tuple[str, ...],
                      names: EventNames | None = None) -> pl.DataFrame:
    """(_row, occurred_at) of a milestone (or of any of a first-of list): every event of the kind, or status
    event with that value (case-insensitive, globs allowed, as for plain clocks), or the item column as one
    event. `names` are the EventNames of `events` (or of a frame they were taken from)."""
    milestones = (milestone,) if isinstance(milestone, str) else tuple(milestone)
    parts = []
    kinds = [name.removeprefix("event:") for name in milestones if name.startswith("event:")]
    if kinds:
        names = names or EventNames.of(events)
        by_kind = matching_values(names.kinds, kinds)
        by_status = matching_values(names.any_status_values, kinds)
        chosen = pl.col("kind").is_in(by_kind)
        if by_status:
            chosen = chosen | (pl.col("kind").is_in(names.status_kinds) & pl.col("value").is_in(by_status))
        found = events.filter(chosen) if by_kind or by_status else events.clear()
        parts.append(found.select("_row", "occurred_at"))
    for name in milestones:
        if not name.startswith("event:"):
            parts.append(items.select("_row", pl.col(name).alias("occurred_at")).drop_nulls("occurred_at"))
    if len(parts) == 1:
        return parts[0]
    return pl.concat(parts, how="vertical").unique(maintain_order=False)


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    """Adds `instance` (1, 2, ... per _row) to a frame sorted by _row and time."""
    rows = frame["_row"].to_numpy()
    if not len(rows):
        return frame.with_columns(pl.lit(None, pl.Int32).alias("instance"))
    index = np.arange(len(rows))
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    group_start = np.maximum.accumulate(np.where(first, index, 0))
    return frame.with_columns(pl.Series("instance", index - group_start + 1, dtype=pl.Int32))


def repeat_instances(items: pl.DataFrame, events: pl.DataFrame, metric: Metric,
                     names: EventNames | None = None) -> pl.DataFrame:
    """One clock per start event that finds no clock running; it stops at the next stop event."""
    starts = _milestone_events(items, events, metric.start, names).with_columns(pl.lit(0, pl.Int8).alias("_type"))
    stops = _milestone_events(items, events, metric.stop, names).with_columns(pl.lit(1, pl.Int8).alias("_type"))
    merged = pl.concat([starts, stops], how="vertical").sort("_row", "occurred_at", "_type")
    rows = merged["_row"].to_numpy()
    is_start = merged["_type"].to_numpy() == 0
    previous_start = np.zeros(len(rows), dtype=bool)  # the previous row of the same item is a start
    if len(rows) > 1:
        previous_start[1:] = is_start[:-1] & (rows[1:] == rows[:-1])
    opening = is_start & ~previous_start
    closing = ~is_start & previous_start
    # Openings and closings alternate per item: each opening's stop is the next kept row when that closes it.
    kept = merged.filter(pl.Series(opening | closing))
    kept_rows = kept["_row"].to_numpy()
    kept_open = opening[opening | closing]
    at = kept["occurred_at"]
    closes_next = np.zeros(len(kept_rows), dtype=bool)
    if len(kept_rows) > 1:
        closes_next[:-1] = kept_open[:-1] & ~kept_open[1:] & (kept_rows[1:] == kept_rows[:-1])
    clocks = pl.DataFrame({"_row": kept["_row"], "start": at,
                           "stop": at.shift(-1)}).with_columns(pl.Series("_closed", closes_next))
    clocks = clocks.filter(pl.Series(kept_open)).with_columns(
        pl.when(pl.col("_closed")).then(pl.col("stop")).otherwise(None).alias("stop")
    )
    return _numbered(clocks).select(_INSTANCE)


def _item_end(now: datetime) -> pl.Expr:
    """The item's `closed` milestone when it lies at or before now, else null (still open)."""
    return pl.when(pl.col("closed") <= now).then(pl.col("closed")).otherwise(None)


def between_instances(items: pl.DataFrame, events: pl.DataFrame, metric: Metric, now: datetime,
                      names: EventNames | None = None) -> pl.DataFrame:
    """Gaps created -> 1st event -> 2nd event ... -> (closed or open to now)."""
    assert metric.between is not None
    bounds = items.select("_row", "created", _item_end(now).alias("_end"))
    marks = (
        _milestone_events(items, events, metric.between, names)
        .join(bounds, on="_row", how="inner")
        .filter((pl.col("occurred_at") >= pl.col("created"))
                & (pl.col("_end").is_null() | (pl.col("occurred_at") <= pl.col("_end"))))
        .select("_row", pl.col("occurred_at").alias("start"))
    )
    # Every gap starts at created or at an event; the next start of the same item (or the end) stops it.
    gaps = pl.concat([bounds.select("_row", pl.col("created").alias("start")), marks], how="vertical").sort(
        "_row", "start"
    )
    gaps = gaps.join(bounds.select("_row", "_end"), on="_row", how="left", maintain_order="left")
    same_item = pl.col("_row").shift(-1) == pl.col("_row")
    gaps = gaps.with_columns(
        pl.when(same_item.fill_null(False)).then(pl.col("start").shift(-1)).otherwise(pl.col("_end")).alias("stop")
    )
    return _numbered(gaps).select(_INSTANCE)


def _period_index(instants: pl.Expr, zone: str, every: str) -> pl.Expr:
    """The calendar period (in `zone`) holding each instant, as an integer: days, ISO weeks or months."""
    local = instants.dt.convert_time_zone(zone)
    if every == "month":
        return local.dt.year().cast(pl.Int64) * 12 + local.dt.month().cast(pl.Int64) - 1
    days = local.dt.date().cast(pl.Int64)  # days since 1970-01-01, a Thursday
    return days if every == "day" else (days + 3) // 7


def _period_first_day(index: int, every: str) -> date:
    if every == "day":
        return EPOCH + timedelta(days=index)
    if every == "week":
        return EPOCH + timedelta(days=7 * index - 3)
    return date(index // 12, index % 12 + 1, 1)



def period_table(indices: list[int], metric: Metric, calendar: Calendar) -> pl.DataFrame:
    """Per period index: its start, the next period's start and its deadline, as UTC microseconds."""
    schedule = metric.schedule
    assert schedule is not None
    zone = calendar._zone
    starts, ends, dues = [], [], []
    for index in indices:
        first = _period_first_day(index, schedule.every)
        following = _period_first_day(index + 1, schedule.every)
        if schedule.every == "day":
            due_day = first
        elif schedule.every == "week":
            due_day = first + timedelta(days=schedule.due_day)
        else:
            last = month_lengths.monthrange(first.year, first.month)[1]
            due_day = first.replace(day=min(schedule.due_day, last))
        starts.append(local_instant_us(first, 0, zone))
        ends.append(local_instant_us(following, 0, zone))
        dues.append(local_instant_us(due_day, schedule.due_s, zone))
    return pl.DataFrame(
        {"_period": indices, "_period_start": starts, "_period_end": ends, "_due_us": dues},
        schema={"_period": pl.Int64, "_period_start": pl.Int64, "_period_end": pl.Int64, "_due_us": pl.Int64},
    )


def schedule_instances(
    items: pl.DataFrame, events: pl.DataFrame, metric: Metric, calendar: Calendar, now: datetime,
    names: EventNames | None = None,
) -> pl.DataFrame:
    """One instance per period from the item's start to now (or closed); stop = first stop event inside."""
    assert metric.schedule is not None
    zone, every = calendar.timezone, metric.schedule.every
    bounds = items.select(
        "_row", pl.col(metric.start).alias("_begin"), pl.coalesce(_item_end(now), pl.lit(now, UTC_US)).alias("_end")
    ).drop_nulls("_begin").filter(pl.col("_begin") <= pl.col("_end"))
    bounds = bounds.with_columns(
        _period_index(pl.col("_begin"), zone, every).alias("_first"),
        _period_index(pl.col("_end"), zone, every).alias("_last"),
    )
    if bounds.is_empty():
        return pl.DataFrame(schema={"_row": pl.UInt32, "instance": pl.Int32, "start": UTC_US, "stop": UTC_US,
                                    "_due_us": pl.Int64})
    lowest, highest = bounds["_first"].min(), bounds["_last"].max()
    periods = period_table(list(range(int(lowest), int(highest) + 1)), metric, calendar)
    expanded = (
        bounds.select("_row", "_begin", "_end", "_first", pl.int_ranges("_first", pl.col("_last") + 1).alias("_period"))
        .explode("_period")
        .join(periods, on="_period", how="left")
    )
    begin_us = pl.col("_begin").dt.cast_time_unit("us").to_physical()
    end_us = pl.col("_end").dt.cast_time_unit("us").to_physical()
    expanded = expanded.filter(
        (pl.col("_due_us") > begin_us) & (pl.col("_period_start") <= end_us)
    ).with_columns(pl.max_horizontal("_period_start", begin_us).alias("_start_us"))
    stops = _milestone_events(items, events, metric.stop, names)
    stops = stops.with_columns(_period_index(pl.col("occurred_at"), zone, every).alias("_period"))
    firsts = (
        stops.join(expanded.select("_row", "_period", "_start_us"), on=["_row", "_period"], how="inner")
        .filter(pl.col("occurred_at").dt.cast_time_unit("us").to_physical() >= pl.col("_start_us"))
        .group_by("_row", "_period")
        .agg(pl.col("occurred_at").min().alias("stop"))
    )
    # The instance number is the period's place from the one holding the item's start (1), also when that
    # first period is left out: a period keeps its number when the due time moves.
    out = (
        expanded.join(firsts, on=["_row", "_period"], how="left")
        .sort("_row", "_period")
        .with_columns(pl.col("_start_us").cast(pl.Int64).cast(UTC_US).alias("start"),
                      (pl.col("_period") - pl.col("_first") + 1).cast(pl.Int32).alias("instance"))
    )
    return out.select(*_INSTANCE, "_due_us")




def evaluate_instances(
    judged: pl.DataFrame, items: pl.DataFrame, events: pl.DataFrame, status, policy: Policy, metric: Metric,
    now: datetime, copied_columns: tuple[str, ...], result_columns: tuple[str, ...], names: EventNames | None = None,
) -> pl.DataFrame | None:
    """Result rows (one per instance) of one metric for items judged by one policy version.

    `judged` (matched, measurable items only) carries `_row`, `target_index`, the item time columns and the
    metric's event milestones as columns; `items` are all the items, row i being `_row` i (the result rows
    copy `copied_columns` from there); `events` (at or before now) carry `_row`.
    """
    targets = [t for t in policy.targets if t.metric == metric.name]
    if not targets or judged.is_empty():
        return None
    target_table = pl.DataFrame(
        {
            "target_index": [t.index for t in targets],
            "calendar": [t.calendar for t in targets],
            "within_s": [t.within_s for t in targets],
            "objective": [policy.objective_for(t) for t in targets],
            "by_s": [t.by_s for t in targets],
        },
        schema={"target_index": pl.Int32, "calendar": pl.String, "within_s": pl.Float64, "objective": pl.Float64,
                "by_s": pl.Int64},
    )
    # Targets judged on the same calendar and deadline form one group, in the order their rows first appear.
    pairs = list(dict.fromkeys((t.calendar, t.by_s) for t in targets))
    pair_of_target = np.zeros(max(t.index for t in targets) + 1, dtype=np.int64)
    for t in targets:
        pair_of_target[t.index] = pairs.index((t.calendar, t.by_s))
    pair = pair_of_target[judged["target_index"].to_numpy()]
    present, first_at = np.unique(pair, return_index=True)
    now = now.astimezone(UTC)
    now_us = round(now.timestamp() * US)
    copied = items.select("source", "item_id", *copied_columns, "policy_version")
    parts = []
    for code in present[np.argsort(first_at)]:
        calendar_name, by_s = pairs[code]
        calendar = policy.calendars[calendar_name]
        if len(present) > 1:
            group = judged.filter(pl.Series(pair == code))
            events_of_group = events.join(group.select("_row"), on="_row", how="semi")
        else:
            group, events_of_group = judged, events
        if metric.kind == "repeat":
            instances = repeat_instances(group, events_of_group, metric, names)
        elif metric.kind == "between":
            instances = between_instances(group, events_of_group, metric, now, names)
        elif metric.kind == "schedule":
            instances = schedule_instances(group, events_of_group, metric, calendar, now, names)
        else:
            instances = group.select("_row", pl.lit(1, pl.Int32).alias("instance"), pl.col(metric.start).alias("start"),
                                     pl.when(pl.col(metric.stop) <= now).then(pl.col(metric.stop)).alias("stop"))
        instances = instances.filter(pl.col("start").is_not_null() & (pl.col("start") <= now))
        if instances.is_empty():
            continue
        instances = instances.join(group.select("_row", "target_index"), on="_row", how="inner",
                                   maintain_order="left")
        rows = pl.concat([copied[instances["_row"]], instances], how="horizontal").join(
            target_table.drop("by_s"), on="target_index", how="left", maintain_order="left"
        ).with_columns(pl.lit(metric.name).alias("metric"))
        if metric.kind != "clock":
            # Each instance sits in its own period: date filters, trends and reports use its start.
            rows = rows.with_columns(pl.col("start").alias("created"))
        parts.append(judge_instances(rows, status, calendar, metric, by_s, now_us).select(result_columns))
    if not parts:
        return None
    return pl.concat(parts, how="vertical")
