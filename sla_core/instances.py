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

Deadline kinds (schedule and `by`) count wall-clock seconds: within_s = due - start, elapsed_s = time from
start to stop (or now) minus paused time, so met <=> stopped by the deadline (pauses move it). Duration
targets on repeat and between clocks count business time in the calendar, as plain clocks do.

Everything is vectorized: per metric the instances are built with sorts, shifts and joins over all items
at once; Python loops run only over distinct local dates and periods, never over items or events.
"""

from __future__ import annotations

import calendar as month_lengths
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import polars as pl

from sla_core.calendar import US, Calendar
from sla_core.policy import Metric, Policy

UTC_US = pl.Datetime("us", "UTC")
_EPOCH = date(1970, 1, 1)
_STATE_NAMES = pl.Series("state", ["breached", "achieved", "paused", "active"], dtype=pl.String)
_INSTANCE = ["_row", "instance", "start", "stop"]
_SCHEDULE_ZONE = "_zone"


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


# -- building instances per kind: frames of _row, instance, start, stop (and _due_us for schedules) --------


def _milestone_events(items: pl.DataFrame, events: pl.DataFrame, milestone: str | tuple[str, ...]) -> pl.DataFrame:
    """(_row, occurred_at) of a milestone (or of any of a first-of list): every event of the kind, or status
    event with that value (case-insensitive, globs allowed, as for plain clocks), or the item column as one
    event."""
    from sla_core.clocks import matching_values  # clocks imports this module

    names = (milestone,) if isinstance(milestone, str) else tuple(milestone)
    parts = []
    kinds = [name.removeprefix("event:") for name in names if name.startswith("event:")]
    if kinds:
        by_kind = matching_values(events.get_column("kind").unique().to_list(), kinds)
        statuses = events.filter(pl.col("kind").str.to_lowercase() == "status").get_column("value").unique()
        by_status = matching_values(statuses.to_list(), kinds)
        chosen = pl.col("kind").is_in(by_kind)
        if by_status:
            chosen = chosen | ((pl.col("kind").str.to_lowercase() == "status") & pl.col("value").is_in(by_status))
        parts.append(events.filter(chosen).select("_row", "occurred_at"))
    for name in names:
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


def repeat_instances(items: pl.DataFrame, events: pl.DataFrame, metric: Metric) -> pl.DataFrame:
    """One clock per start event that finds no clock running; it stops at the next stop event."""
    starts = _milestone_events(items, events, metric.start).with_columns(pl.lit(0, pl.Int8).alias("_type"))
    stops = _milestone_events(items, events, metric.stop).with_columns(pl.lit(1, pl.Int8).alias("_type"))
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


def between_instances(items: pl.DataFrame, events: pl.DataFrame, metric: Metric, now: datetime) -> pl.DataFrame:
    """Gaps created -> 1st event -> 2nd event ... -> (closed or open to now)."""
    assert metric.between is not None
    bounds = items.select("_row", "created", _item_end(now).alias("_end"))
    marks = (
        _milestone_events(items, events, metric.between)
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
        return _EPOCH + timedelta(days=index)
    if every == "week":
        return _EPOCH + timedelta(days=7 * index - 3)
    return date(index // 12, index % 12 + 1, 1)


def _local_instant_us(day: date, seconds: int, zone) -> int:
    """A local wall-clock time as UTC microseconds (zoneinfo's fold=0 for skipped or repeated times)."""
    local = datetime.combine(day, time(0)) + timedelta(seconds=seconds)
    return round(local.replace(tzinfo=zone).timestamp() * US)


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
        starts.append(_local_instant_us(first, 0, zone))
        ends.append(_local_instant_us(following, 0, zone))
        dues.append(_local_instant_us(due_day, schedule.due_s, zone))
    return pl.DataFrame(
        {"_period": indices, "_period_start": starts, "_period_end": ends, "_due_us": dues},
        schema={"_period": pl.Int64, "_period_start": pl.Int64, "_period_end": pl.Int64, "_due_us": pl.Int64},
    )


def schedule_instances(
    items: pl.DataFrame, events: pl.DataFrame, metric: Metric, calendar: Calendar, now: datetime
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
    stops = _milestone_events(items, events, metric.stop)
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


# -- deadlines ------------------------------------------------------------------------------------------------


def _has_open_hours(calendar: Calendar, day: date) -> bool:
    if calendar.always:
        return True
    return bool(calendar.local_intervals(day))


def next_business_day_us(calendar: Calendar, start_us: np.ndarray, by_s: int) -> np.ndarray:
    """HH:MM local on the first date after each start's local date with open hours (holidays skipped)."""
    if not len(start_us):
        return np.zeros(0, dtype=np.int64)
    local_days = (
        pl.Series(start_us).cast(UTC_US).dt.convert_time_zone(calendar.timezone).dt.date().cast(pl.Int32)
    )
    distinct = local_days.unique().sort()
    zone = calendar._zone
    dues = []
    for number in distinct.to_list():
        day = _EPOCH + timedelta(days=number + 1)
        for _ in range(3660):
            if _has_open_hours(calendar, day):
                break
            day += timedelta(days=1)
        else:
            raise ValueError(f"calendar {calendar.name}: no open day within ten years")
        dues.append(_local_instant_us(day, by_s, zone))
    position = distinct.search_sorted(local_days).to_numpy()
    return np.asarray(dues, dtype=np.int64)[position]


# -- pauses -----------------------------------------------------------------------------------------------


def paused_business_us(
    status, pause_values: tuple[str, ...], rows: np.ndarray, start_us: np.ndarray, end_us: np.ndarray,
    measure,
) -> tuple[np.ndarray, np.ndarray]:
    """Paused time inside [start, end] per query row (several per item allowed), and "paused at the end".

    P_i(t) = paused time of item i before t = C_k + M(min(t, pause_end_k)) - M(pause_start_k), k the item's
    last pause starting at or before t and C_k the measured length of its earlier pauses (an item's pauses
    are disjoint). paused(s, e) = P_i(e) - P_i(s). `measure(a_us, b_us)` is the calendar's business time.
    """
    count = len(rows)
    zero = np.zeros(count, dtype=np.int64)
    if not pause_values or not len(status) or not count:
        return zero, np.zeros(count, dtype=bool)
    chosen = status.in_status(pause_values)
    item = status.item[chosen]
    pause_start = status.at_us[chosen]
    pause_end = np.minimum(status.next_us[chosen], max(int(end_us.max()), int(start_us.max())))
    still_open = status.still_open[chosen]
    if not len(item):
        return zero, np.zeros(count, dtype=bool)
    length = measure(pause_start, np.maximum(pause_end, pause_start))
    pauses = pl.DataFrame({"_row": item, "_ps": pause_start, "_pe": pause_end, "_len": length,
                           "_open": still_open}).sort("_row", "_ps")
    pauses = pauses.with_columns((pl.col("_len").cum_sum().over("_row") - pl.col("_len")).alias("_before"))
    pauses = pauses.sort("_ps")

    def cumulative(t_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        queries = pl.DataFrame({"_q": np.arange(count), "_row": rows.astype(np.int64), "_t": t_us}).sort("_t")
        found = queries.join_asof(pauses.with_columns(pl.col("_row").cast(pl.Int64)), left_on="_t",
                                  right_on="_ps", by="_row", strategy="backward",
                                  check_sortedness=False).sort("_q")  # both sorted by time above
        matched = found["_ps"].is_not_null().to_numpy()
        ps = found["_ps"].fill_null(0).to_numpy()
        pe = found["_pe"].fill_null(0).to_numpy()
        inside = np.zeros(count, dtype=np.int64)
        if matched.any():
            upto = np.minimum(t_us[matched], pe[matched])
            inside[matched] = measure(ps[matched], np.maximum(upto, ps[matched]))
        before = found["_before"].fill_null(0).to_numpy().astype(np.int64)
        in_pause = matched & found["_open"].fill_null(False).to_numpy()
        return np.where(matched, before + inside, 0), in_pause

    at_start, _ = cumulative(start_us)
    at_end, paused_now = cumulative(end_us)
    return np.maximum(at_end - at_start, 0), paused_now


# -- judging ------------------------------------------------------------------------------------------------


def _wall_us(start_us: np.ndarray, end_us: np.ndarray) -> np.ndarray:
    return np.maximum(end_us - start_us, 0)


def _judge(
    group: pl.DataFrame, status, calendar: Calendar, metric: Metric, by_s: int | None, now_us: int
) -> pl.DataFrame:
    """elapsed, paused, due, state, met for instances of one target calendar (same rules as plain clocks)."""
    start_us = group["start"].dt.cast_time_unit("us").to_physical().to_numpy()
    stop = group["stop"].dt.cast_time_unit("us").to_physical()
    running = stop.is_null().to_numpy()
    end_us = stop.fill_null(now_us).to_numpy()
    deadline = "schedule" if metric.kind == "schedule" else ("by" if by_s is not None else None)
    measure = _wall_us if deadline else calendar.business_us
    gross_us = measure(start_us, end_us)
    pauses = metric.pause_when_status if metric.kind in ("clock", "repeat") else ()
    rows = group["_row"].cast(pl.Int64).to_numpy()
    paused_us, paused_now = paused_business_us(status, pauses, rows, start_us, end_us, measure)
    paused_now &= running
    elapsed_us = gross_us - paused_us
    if deadline == "schedule":
        base_due = group["_due_us"].to_numpy()
        within_us = np.maximum(base_due - start_us, 0)
        due_us = base_due
    elif deadline == "by":
        base_due = next_business_day_us(calendar, start_us, int(by_s))
        within_us = np.maximum(base_due - start_us, 0)
        due_us = base_due + paused_us
    else:
        within_us = np.round(group["within_s"].to_numpy() * US).astype(np.int64)
        due_us = calendar.due_us(start_us, within_us + paused_us)
    over = elapsed_us > within_us
    state = _STATE_NAMES.gather(np.select([over, ~running, paused_now], [0, 1, 2], 3))
    decided = ~running | over
    met = pl.select(pl.when(pl.Series(decided)).then(pl.Series(~over)).otherwise(None).alias("met")).to_series()
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_used = np.where(within_us > 0, 100.0 * elapsed_us / np.maximum(within_us, 1),
                            np.where(elapsed_us > 0, np.inf, 0.0))
    return group.with_columns(
        pl.Series("within_s", within_us / US, dtype=pl.Float64),
        pl.Series("elapsed_s", elapsed_us / US, dtype=pl.Float64),
        pl.Series("paused_s", paused_us / US, dtype=pl.Float64),
        state.alias("state"),
        met,
        pl.Series("due_at", due_us, dtype=pl.Int64).cast(UTC_US),
        pl.Series("remaining_s", (within_us - elapsed_us) / US, dtype=pl.Float64),
        pl.Series("pct_used", pct_used, dtype=pl.Float64),
    )


def evaluate_instances(
    items: pl.DataFrame, events: pl.DataFrame, status, policy: Policy, metric: Metric, now: datetime,
    copied_columns: tuple[str, ...], result_columns: tuple[str, ...],
) -> pl.DataFrame | None:
    """Result rows (one per instance) of one metric for items judged by one policy version.

    `items` carry `_row`, `policy_version` and their `target_index` (matched, measurable items only);
    `events` (at or before now) carry `_row`.
    """
    targets = [t for t in policy.targets if t.metric == metric.name]
    judged = items
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
    judged = judged.join(target_table, on="target_index", how="left", maintain_order="left")
    now = now.astimezone(UTC)
    now_us = round(now.timestamp() * US)
    parts = []
    for (calendar_name, by_s), group in judged.group_by(["calendar", "by_s"], maintain_order=True):
        calendar = policy.calendars[calendar_name]
        if group.height < judged.height:
            events_of_group = events.join(group.select("_row"), on="_row", how="semi")
        else:
            events_of_group = events
        if metric.kind == "repeat":
            instances = repeat_instances(group, events_of_group, metric)
        elif metric.kind == "between":
            instances = between_instances(group, events_of_group, metric, now)
        elif metric.kind == "schedule":
            instances = schedule_instances(group, events_of_group, metric, calendar, now)
        else:
            instances = group.select("_row", pl.lit(1, pl.Int32).alias("instance"), pl.col(metric.start).alias("start"),
                                     pl.when(pl.col(metric.stop) <= now).then(pl.col(metric.stop)).alias("stop"))
        instances = instances.filter(pl.col("start").is_not_null() & (pl.col("start") <= now))
        if instances.is_empty():
            continue
        rows = instances.join(
            group.select("_row", "source", "item_id", *copied_columns, "policy_version", "target_index",
                         "calendar", "within_s", "objective"),
            on="_row", how="inner",
        ).with_columns(pl.lit(metric.name).alias("metric"))
        if metric.kind != "clock":
            # Each instance sits in its own period: date filters, trends and reports use its start.
            rows = rows.with_columns(pl.col("start").alias("created"))
        parts.append(_judge(rows, status, calendar, metric, by_s, now_us).select(result_columns))
    if not parts:
        return None
    return pl.concat(parts, how="vertical")
