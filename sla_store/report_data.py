"""The monthly report's figures: read from `results` in DuckDB, added up per metric and slice here.

Items belong to the month (UTC) in which they were created, as on the dashboard's date filter.
Attainment = met / (met + breached); items still running are counted but not judged. Error budget used =
breached / allowed breaches, where each decided item allows (1 - its target's objective) breaches, so
100% means the month spent exactly its budget (sla_core.budget; SQL in sla_store.measures). A week is
flagged for investigation when its attainment is below its objective.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from sla_core.budget import attainment_expr, burn_rate_expr
from sla_core.safe_csv import rows_csv
from sla_store import measures as M
from sla_store.reads import data_notes
from sla_store.selection import Selection

MIN_SLICE_DECIDED = 10
WORST_SLICES = 5
TREND_MONTHS = 6
TREND_WEEKS = 13

FIGURE_COLUMNS = ["items", "decided", "met", "breached", "active", "attainment", "objective", "allowed",
                  "budget_used"]


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- figures --------------------------------------------------------------------------------------


def load_daily(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pl.DataFrame:
    """Counts per metric, team, channel and UTC day of creation for items created in [start, end):
    items, decided, met, breached, the sums of objectives over decided and over all items, allowed
    breaches = sum(1 - objective) over decided items, and the lowest/highest objective. Every figure of
    the report adds these up, so DuckDB does the heavy lifting and a million items stay light here."""
    frame = con.cursor().sql(
        f"""
        SELECT metric, team, channel, CAST(created AS DATE) AS day,
               {M.SLICE_COUNTS},
               {M.DECIDED} AS decided,
               {M.ALLOWED_BREACHES} AS allowed
        FROM results WHERE created >= $start AND created < $end
        GROUP BY ALL
        """,
        params={"start": utc_midnight(start), "end": utc_midnight(end)},
    ).pl()
    return frame.with_columns(pl.col(c).cast(pl.Int64) for c in ("items", "decided", "met", "breached"))


def in_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB hands TIMESTAMPTZ over as "Etc/UTC"; polars refuses to compare that with "UTC" literals."""
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )


def summarize(daily: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per metric and `by` over daily counts (`load_daily`): items, decided, met, breached, active,
    attainment = met / decided, the mean objective of decided items (of all items while none is
    decided), allowed breaches = sum(1 - objective) and budget used = breached / allowed."""
    keys = ["metric", *by]
    return (
        daily.group_by(keys)
        .agg(
            pl.col("items", "decided", "met", "breached", "allowed", "objective_decided_sum", "objective_sum").sum(),
            mixed_objectives=pl.col("objective_max").max() > pl.col("objective_min").min(),
        )
        .with_columns(
            active=pl.col("items") - pl.col("decided"),
            objective=pl.when(pl.col("decided") > 0)
            .then(pl.col("objective_decided_sum") / pl.col("decided"))
            .otherwise(pl.col("objective_sum") / pl.col("items")),
            attainment=attainment_expr(pl.col("met"), pl.col("breached")),
            budget_used=burn_rate_expr(pl.col("breached"), pl.col("allowed")),
        )
        .select(*keys, *FIGURE_COLUMNS, "mixed_objectives")
        .sort(keys, nulls_last=True)
    )


def with_previous(current: pl.DataFrame, previous: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Adds the previous month's attainment and the change in percentage points."""
    before = previous.select(*keys, previous_attainment=pl.col("attainment"))
    return current.join(before, on=keys, how="left", nulls_equal=True).with_columns(
        change_pp=(pl.col("attainment") - pl.col("previous_attainment")) * 100.0
    )


def breached_in(con: duckdb.DuckDBPyConnection, slices: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Breached results of items created in [start, end) in the given (metric, team, channel) slices."""
    cur = con.cursor()
    cur.register("chosen", slices.select("metric", "team", "channel"))
    frame = cur.sql(
        """
        SELECT r.source, r.item_id, r.metric, r.instance, r.kind, r.team, r.channel, r.priority, r.agent, r.paused_s,
               r.due_at
        FROM results r SEMI JOIN chosen c
          ON r.metric = c.metric AND r.team IS NOT DISTINCT FROM c.team
         AND r.channel IS NOT DISTINCT FROM c.channel
        WHERE r.created >= $start AND r.created < $end AND r.met = false
        """,
        params={"start": utc_midnight(start), "end": utc_midnight(end)},
    ).pl()
    return in_utc(frame)


def status_at_breach(con: duckdb.DuckDBPyConnection, breached: pl.DataFrame) -> pl.DataFrame:
    """The item's status when its budget ran out: the last status event at or before due_at."""
    cur = con.cursor()
    cur.register("keyed", breached.select("source", "item_id", "metric", "instance", "due_at", "status_now"))
    frame = cur.sql(
        """
        SELECT k.source, k.item_id, k.metric, k.instance, coalesce(e.value, k.status_now) AS status_at_breach
        FROM keyed k ASOF LEFT JOIN (
            SELECT e.source, e.item_id, e.occurred_at, e.value
            FROM events e SEMI JOIN keyed b ON e.source = b.source AND e.item_id = b.item_id
            WHERE e.kind = 'status'
        ) e ON k.source = e.source AND k.item_id = e.item_id AND k.due_at >= e.occurred_at
        """
    ).pl()
    return frame


def _most_common(frame: pl.DataFrame, column: str) -> tuple[str, float] | None:
    """The most common non-null value among the rows and its share of all rows (None: nothing known)."""
    counts = (frame.filter(pl.col(column).is_not_null()).group_by(column).len()
              .sort(["len", column], descending=[True, False]))
    if counts.height == 0:
        return None
    value, count = counts.row(0)
    return (str(value), count / frame.height)


@dataclass
class Slice:
    metric: str
    team: str | None
    channel: str | None
    figures: dict[str, Any]
    reasons: list[tuple[str, str, float]] = field(default_factory=list)  # (label, value, share of breaches)


def worst_slices(con: duckdb.DuckDBPyConnection, daily: pl.DataFrame, first: date, end: date,
                 min_decided: int = MIN_SLICE_DECIDED, limit: int = WORST_SLICES) -> list[Slice]:
    """Metric x team x channel slices with enough decided items that breached more than their budget
    allows, ranked by excess breaches = breached - allowed (so a big slice slightly over budget can
    outrank a tiny one far over it), each with its top breach reasons: the priority, agent and status at
    breach most common among its breached items, and the share of them that had been paused."""
    table = summarize(daily, ["team", "channel"]).with_columns(
        excess=pl.col("breached") - pl.col("allowed")
    ).filter(
        (pl.col("decided") >= min_decided) & (pl.col("excess") > 0)
    ).sort(["excess", "metric", "team", "channel"], descending=[True, False, False, False], nulls_last=True)
    chosen = table.head(limit)
    if chosen.height == 0:
        return []
    breached = breached_in(con, chosen, first, end)
    # a ticket with no status change yet is still "new"; ops items carry no status, so no reason is given
    statuses = status_at_breach(con, breached.with_columns(
        status_now=pl.when(pl.col("kind") == "ticket").then(pl.lit("new")).otherwise(pl.lit(None, pl.String))
    ))
    breached = breached.join(statuses, on=["source", "item_id", "metric", "instance"], how="left")
    slices = []
    for row in chosen.iter_rows(named=True):
        mine = breached.filter(
            (pl.col("metric") == row["metric"])
            & pl.col("team").eq_missing(row["team"])
            & pl.col("channel").eq_missing(row["channel"])
        )
        reasons = []
        for label, column in (("priority", "priority"), ("agent", "agent"), ("status at breach", "status_at_breach")):
            top = _most_common(mine, column)
            if top is not None:
                reasons.append((label, top[0], top[1]))
        paused_share = mine.filter(pl.col("paused_s") > 0).height / mine.height
        reasons.append(("paused before breach", "yes", paused_share))
        slices.append(Slice(row["metric"], row["team"], row["channel"], row, reasons))
    return slices


def weekly_compliance(daily: pl.DataFrame, first: date, end: date) -> pl.DataFrame:
    """Per week (Monday start, UTC, clipped to the month) and metric: decided, breached, attainment and
    whether it is below its objective (the policy's, as for the month: investigate those weeks)."""
    weekly = daily.with_columns(week=pl.col("day").dt.truncate("1w"))
    table = summarize(weekly, ["week"]).with_columns(
        week_from=pl.max_horizontal(pl.col("week"), pl.lit(first)),
        week_to=pl.min_horizontal(pl.col("week") + timedelta(days=6), pl.lit(end - timedelta(days=1))),
        investigate=pl.col("attainment") < pl.col("objective"),
    )
    return table.sort(["week", "metric"])


def period_attainment(daily: pl.DataFrame, every: str) -> pl.DataFrame:
    """Attainment per metric and period ("1w" weeks from Monday, "1mo" months), UTC."""
    frame = daily.with_columns(period=pl.col("day").dt.truncate(every))
    return summarize(frame, ["period"]).sort(["metric", "period"])


@dataclass
class MonthlyReport:
    month: date
    previous: date
    generated_at: datetime
    headline: pl.DataFrame
    by_channel: pl.DataFrame
    by_team: pl.DataFrame
    worst: list[Slice]
    weekly: pl.DataFrame
    weekly_series: pl.DataFrame
    monthly_series: pl.DataFrame
    notes: tuple[str, ...] = ()  # data notes: metrics a source cannot measure, unmatched sources
    policies: tuple[dict, ...] = ()  # the policy versions that judged the month's items, with their targets

    @property
    def label(self) -> str:
        return self.month.strftime("%B %Y")

    def figures_csv(self) -> str:
        """Every figure in the report, one row per section x metric x slice."""
        rows: list[list[Any]] = [["section", "month", "metric", "dimension", "slice", *FIGURE_COLUMNS,
                                  "previous_attainment", "change_pp", "investigate"]]
        sections = (("headline", None, self.headline), ("channel", "channel", self.by_channel),
                    ("team", "team", self.by_team))
        for section, dimension, table in sections:
            for row in table.iter_rows(named=True):
                rows.append([section, self.month.isoformat()[:7], row["metric"], dimension or "",
                             (row.get(dimension) or "") if dimension else "",
                             *(_csv_value(row[c]) for c in FIGURE_COLUMNS),
                             _csv_value(row["previous_attainment"]), _csv_value(row["change_pp"]), ""])
        for row in self.weekly.iter_rows(named=True):
            rows.append(["week", self.month.isoformat()[:7], row["metric"], "week",
                         f"{row['week_from']}..{row['week_to']}",
                         *(_csv_value(row[c]) for c in FIGURE_COLUMNS), "", "",
                         _csv_value(row["investigate"])])
        return rows_csv(rows)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return value


def policies_in_force(con: duckdb.DuckDBPyConnection, history, first: date, end: date) -> tuple[dict, ...]:
    """The versions of `history` that judged items created in [first, end) (the one in force on `first`
    when there are none), each with its targets as people read them (sla_core.durations.target_rows)."""
    from sla_core.durations import target_rows

    if history is None:
        return ()
    used = {row[0] for row in con.sql(
        "SELECT DISTINCT policy_version FROM results WHERE created >= ? AND created < ?",
        params=[utc_midnight(first), utc_midnight(end)]).fetchall()}
    versions = [p for p in history.versions if p.version in used] or [history.in_force(first)]
    return tuple({"version": p.version, "effective_from": p.effective_from, "author": p.author or "",
                  "reason": p.reason or "", "targets": target_rows(p)} for p in versions)


def build_report(con: duckdb.DuckDBPyConnection, month: date, generated_at: datetime,
                 policy_history=None) -> MonthlyReport:
    """All the figures of the monthly report for `month` (any day of it), read from `results`; with the
    `policy_history`, also the versions and targets that judged the month."""
    first = month_start(month)
    end = add_months(first, 1)
    previous = add_months(first, -1)
    history = load_daily(con, add_months(first, -(TREND_MONTHS - 1)), end)
    weeks_from = first - timedelta(weeks=TREND_WEEKS)
    history_start = weeks_from - timedelta(days=weeks_from.weekday())  # whole weeks
    in_month = history.filter(pl.col("day") >= first)
    in_previous = history.filter((pl.col("day") >= previous) & (pl.col("day") < first))

    def compared(by: list[str]) -> pl.DataFrame:
        return with_previous(summarize(in_month, by), summarize(in_previous, by), ["metric", *by])

    weekly_window = history.filter(pl.col("day") >= history_start)
    return MonthlyReport(
        month=first,
        previous=previous,
        generated_at=generated_at,
        headline=compared([]),
        by_channel=compared(["channel"]),
        by_team=compared(["team"]),
        worst=worst_slices(con, in_month, first, end),
        weekly=weekly_compliance(in_month, first, end),
        weekly_series=period_attainment(weekly_window, "1w"),
        monthly_series=period_attainment(history, "1mo"),
        notes=tuple(data_notes(con, within=Selection(date_from=first, date_to=end - timedelta(days=1)))["message"]
                    .to_list()),
        policies=policies_in_force(con, policy_history, first, end),
    )


