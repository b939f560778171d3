"""Judging plain clocks (one per item and metric) with numpy: business time, pauses, due instant, state.

The clocks of one metric arrive as int64 arrays (item row, start, stop, target); each calendar's rows go
through its interval-table kernel once. B(start) is looked up once and serves both the
elapsed time and the due instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from sla_core.calendar import US, Calendar
from sla_core.clock_inputs import NEVER, UTC_US, StatusIntervals, as_datetimes
from sla_core.policy import Metric, Policy

STATE_NAMES = pl.Series("state", ["breached", "achieved", "paused", "active"], dtype=pl.String)


@dataclass(frozen=True)
class Targets:
    """A metric's targets in one policy version, as arrays indexed by target index."""

    calendars: list[str]  # calendar names, in order of the targets
    calendar_code: np.ndarray  # target index -> position in `calendars` (-1: not this metric's target)
    within_s: np.ndarray
    objective: np.ndarray

    @property
    def within_us(self) -> np.ndarray:
        return np.round(self.within_s * US).astype(np.int64)

    @classmethod
    def of(cls, policy: Policy, metric: str) -> Targets:
        targets = [t for t in policy.targets if t.metric == metric]
        size = max(t.index for t in targets) + 1
        calendars = list(dict.fromkeys(t.calendar for t in targets))
        code = np.full(size, -1, dtype=np.int64)
        within = np.zeros(size, dtype=np.float64)
        objective = np.zeros(size, dtype=np.float64)
        for target in targets:
            code[target.index] = calendars.index(target.calendar)
            within[target.index] = target.within_s
            objective[target.index] = policy.objective_for(target)
        return cls(calendars, code, within, objective)


class StartPositions:
    """B(start) per item row, for each calendar and start milestone(s): the clocks of several metrics that
    start at the same milestone (most start at `created`) look it up once."""

    def __init__(self, item_count: int):
        self.item_count = item_count
        self._known: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def of(self, calendar: Calendar, starts: tuple[str, ...], rows: np.ndarray, start_us: np.ndarray) -> np.ndarray:
        if (calendar, starts) not in self._known:
            positions = calendar.position_us(start_us)
            values, known = np.zeros(self.item_count, dtype=np.int64), np.zeros(self.item_count, dtype=bool)
            values[rows], known[rows] = positions, True
            self._known[(calendar, starts)] = (values, known)
            return positions
        values, known = self._known[(calendar, starts)]
        todo = np.flatnonzero(~known[rows])
        if len(todo):
            values[rows[todo]] = calendar.position_us(start_us[todo])
            known[rows[todo]] = True
        return values[rows]


def by_calendar(target: np.ndarray, targets: Targets) -> list[tuple[str, np.ndarray | slice]]:
    """Each calendar with the positions of its rows (a whole slice when every row is on it)."""
    if len(targets.calendars) == 1:
        return [(targets.calendars[0], slice(None))]
    code = targets.calendar_code[target]
    counts = np.bincount(code, minlength=len(targets.calendars))
    if counts.max(initial=0) == len(target):
        return [(targets.calendars[int(counts.argmax())], slice(None))]
    return [(name, np.flatnonzero(code == c)) for c, name in enumerate(targets.calendars) if counts[c]]


def paused_us(status: StatusIntervals, patterns: tuple[str, ...], rows: np.ndarray, start_us: np.ndarray,
              end_us: np.ndarray, running: np.ndarray, calendar: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """Business time paused inside [start, end] per clock, and whether a running clock is paused now.

    A pause starts at a status event matching `patterns` and ends at the item's next status event; it is
    clipped to the clock. A running clock is paused when the item's latest status so far is a pause status.
    """
    paused_now = np.zeros(len(rows), dtype=bool)
    if not patterns or not len(status):
        return np.zeros(len(rows), dtype=np.int64), paused_now
    if len(rows) == status.item_count:  # rows are distinct and ascending: every item, in order
        chosen = status.in_status(patterns)
        owner = status.item[chosen]
    else:
        # Position of each item row among these clocks (-1: not among them), to pick their pauses.
        position = np.full(status.item_count, -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        chosen = status.in_status(patterns) & (position[status.item] >= 0)
        owner = position[status.item[chosen]]
    pause_start = np.maximum(status.at_us[chosen], start_us[owner])
    pause_end = np.minimum(status.next_us[chosen], end_us[owner])
    paused_now[owner[status.still_open[chosen]]] = True
    real = pause_end > pause_start
    owner, pause_start, pause_end = owner[real], pause_start[real], pause_end[real]
    each_us = calendar.business_us(pause_start, pause_end)
    # Float sums are exact here: business microseconds stay far below 2**53.
    paused = np.bincount(owner, weights=each_us, minlength=len(rows)).astype(np.int64)
    return paused, paused_now & running


def _measured(
    calendar: Calendar, metric: Metric, status: StatusIntervals, start_positions: StartPositions, rows: np.ndarray,
    start_us: np.ndarray, end_us: np.ndarray, running: np.ndarray, within_us: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(elapsed, paused, paused now, due) of clocks on one calendar, in microseconds."""
    begin = start_positions.of(calendar, metric.starts, rows, start_us)
    elapsed = calendar.position_us(end_us) - begin  # business time from start to end, less the pauses
    np.maximum(elapsed, 0, out=elapsed)
    if not metric.pause_when_status or not len(status):
        never = np.zeros(len(rows), dtype=bool)
        return elapsed, np.zeros(len(rows), dtype=np.int64), never, calendar.due_us(start_us, within_us, begin)
    paused, paused_now = paused_us(status, metric.pause_when_status, rows, start_us, end_us, running, calendar)
    elapsed -= paused
    return elapsed, paused, paused_now, calendar.due_us(start_us, within_us + paused, start_position=begin)


def judge_clocks(
    items: pl.DataFrame, rows: np.ndarray, start_us: np.ndarray, stop_us: np.ndarray, target: np.ndarray,
    targets: Targets, policy: Policy, metric: Metric, status: StatusIntervals, now_us: int,
    start_positions: StartPositions, item_columns: Sequence[str], columns: Sequence[str],
) -> pl.DataFrame:
    """Result rows (`columns`) of one metric's clocks, in the order of `rows` (positions in `items`, whose
    `item_columns` they copy); stop NEVER = still running. Each calendar's rows go through its kernel once."""
    running = stop_us == NEVER
    end_us = np.where(running, now_us, stop_us)
    within_s = targets.within_s[target]
    within_us = targets.within_us[target]
    calendars = by_calendar(target, targets)
    if len(calendars) == 1:  # every row on one calendar: its arrays are the results
        name, _ = calendars[0]
        elapsed_us, paused, paused_now, due_us = _measured(
            policy.calendars[name], metric, status, start_positions, rows, start_us, end_us, running, within_us)
    else:
        elapsed_us = np.empty(len(rows), dtype=np.int64)
        paused = np.empty(len(rows), dtype=np.int64)
        paused_now = np.empty(len(rows), dtype=bool)
        due_us = np.empty(len(rows), dtype=np.int64)
        for name, part in calendars:
            elapsed_us[part], paused[part], paused_now[part], due_us[part] = _measured(
                policy.calendars[name], metric, status, start_positions, rows[part], start_us[part], end_us[part],
                running[part], within_us[part])
    over = elapsed_us > within_us
    decided = ~running | over  # a running clock past its budget is already breached
    met = pl.Series("met", ~over, dtype=pl.Boolean)
    undecided = np.flatnonzero(~decided)
    if len(undecided):
        met = met.scatter(undecided, None)
    elapsed_s = elapsed_us / US
    remaining_s = within_us / US
    remaining_s -= elapsed_s
    pct_used = elapsed_us * 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(pct_used, within_us, out=pct_used)
    no_budget = np.flatnonzero(within_us <= 0)  # a zero budget is used up by any time at all
    pct_used[no_budget] = np.where(elapsed_us[no_budget] > 0, np.inf, 0.0)
    state = np.full(len(rows), 3, dtype=np.uint32)  # active, unless (later ones win) paused, achieved, breached
    state[paused_now] = 2
    state[~running] = 1
    state[over] = 0
    calendar_names = pl.Series("calendar", targets.calendars, dtype=pl.String)
    base = items.select(item_columns)
    # rows are distinct and ascending: as many as the items means every item, in order
    return (base if len(rows) == items.height else base[rows]).with_columns(
        pl.lit(metric.name).alias("metric"),
        pl.lit(1, pl.Int32).alias("instance"),
        pl.Series("target_index", target, dtype=pl.Int32),
        pl.lit(calendars[0][0], pl.String).alias("calendar") if len(calendars) == 1 and len(rows)
        else calendar_names.gather(targets.calendar_code[target]),
        pl.Series("within_s", within_s, dtype=pl.Float64),
        pl.Series("objective", targets.objective[target], dtype=pl.Float64),
        as_datetimes("start", start_us),
        as_datetimes("stop", stop_us),
        pl.Series("elapsed_s", elapsed_s, dtype=pl.Float64),
        pl.Series("paused_s", paused / US, dtype=pl.Float64),
        STATE_NAMES.gather(pl.Series(state)).alias("state"),
        met,
        pl.Series("due_at", due_us, dtype=pl.Int64).cast(UTC_US),
        pl.Series("remaining_s", remaining_s, dtype=pl.Float64),
        pl.Series("pct_used", pct_used, dtype=pl.Float64),
    ).select(columns)
