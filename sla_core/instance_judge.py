"""Judging instances: elapsed and paused time, the due instant, state and met for each instance row built by
`sla_core.instances`, under the same rules as plain clocks.

Deadline kinds (schedule and `by: "next business day HH:MM"`) count wall-clock seconds: within_s = due - start,
elapsed_s = time from start to stop (or now) minus paused time, so met <=> stopped by the deadline (pauses move
it). Duration targets on repeat and between clocks count business time in the calendar, as plain clocks do.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl

from sla_core.calendar import US, Calendar
from sla_core.policy import Metric

UTC_US = pl.Datetime("us", "UTC")
EPOCH = date(1970, 1, 1)
_STATE_NAMES = pl.Series("state", ["breached", "achieved", "paused", "active"], dtype=pl.String)


def local_instant_us(day: date, seconds: int, zone) -> int:
    """A local wall-clock time as UTC microseconds (zoneinfo's fold=0 for skipped or repeated times)."""
    local = datetime.combine(day, time(0)) + timedelta(seconds=seconds)
    return round(local.replace(tzinfo=zone).timestamp() * US)


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
        day = EPOCH + timedelta(days=number + 1)
        for _ in range(3660):
            if _has_open_hours(calendar, day):
                break
            day += timedelta(days=1)
        else:
            raise ValueError(f"calendar {calendar.name}: no open day within ten years")
        dues.append(local_instant_us(day, by_s, zone))
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


def judge_instances(
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
