"""Read queries for the dashboard pages.

Builders return ``(sql, params)``: values are always bound parameters, identifiers (group-by columns) come
from the DIMENSIONS whitelist. Readers take a DuckDB cursor and return polars frames. Aggregation runs in
DuckDB over the ``results`` table so a page costs about the same on 10,000 or 1,000,000 items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import polars as pl

from sla_core.clocks import ITEM_COLUMNS, RESULT_SCHEMA
from sla_core.policy import DIMENSION_NAME, RESERVED_NAMES
from sla_store import measures as M
from sla_store.sql import ident as quoted


class FilterLike(Protocol):
    date_from: dt.date | None
    date_to: dt.date | None
    channels: tuple[str, ...]
    teams: tuple[str, ...]
    priorities: tuple[str, ...]
    metric: str | None
    # (dimension, values) pairs: policy dimensions (result columns) to keep, e.g. (("impact", ("High",)),)
    attributes: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Selection:
    """A FilterLike value: which results to read. Empty tuples mean "all"; None dates mean "no bound"."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    channels: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    metric: str | None = None
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()


Query = tuple[str, list[Any]]



def utc_day(column: str) -> str:
    """The UTC calendar day of a TIMESTAMPTZ column from its epoch microseconds: the same value as a cast
    to DATE under TimeZone=UTC, without the per-row time-zone conversion (5-10x faster on millions)."""
    return f"(DATE '1970-01-01' + CAST(epoch_us({column}) // 86400000000 AS INTEGER))"


# The slice columns the daily rollup keeps (rollup_sql): agent and calendar are read from `results` only.
ROLLUP_SLICES = ("metric", "kind", "process", "channel", "team", "priority")


def _time_dimensions(day: str) -> dict[str, str]:
    return {"day": day, "week": f"CAST(date_trunc('week', {day}) AS DATE)",
            "month": f"CAST(date_trunc('month', {day}) AS DATE)"}


# Group-by dimensions a page may ask for: name -> SQL expression over `results`.
DIMENSIONS: dict[str, str] = {
    **{column: column for column in (*ROLLUP_SLICES, "agent", "calendar")},
    **_time_dimensions(utc_day("created")),
}

# The same dimensions over the daily rollup: one row per UTC created day and slice.
ROLLUP_DIMENSIONS: dict[str, str] = {**{column: column for column in ROLLUP_SLICES}, **_time_dimensions("day")}

EVENT_COLUMNS = ("source", "item_id", "occurred_at", "kind", "value")


def is_policy_dimension(name: str) -> bool:
    """A name a policy may declare as a dimension (sla_core.policy): a result column of its own."""
    return bool(DIMENSION_NAME.match(name)) and name not in RESERVED_NAMES


def dimension(name: str, rollup: bool = False) -> str:
    """The SQL expression of a whitelisted dimension or a policy dimension's column; anything else is refused.

    Policy dimensions are result columns only (the daily rollup does not keep them)."""
    table = ROLLUP_DIMENSIONS if rollup else DIMENSIONS
    if name in table:
        return table[name]
    if not rollup and is_policy_dimension(name):
        return '"' + name + '"'
    raise ValueError(f"unknown dimension {name!r} (use one of {', '.join(table)} or a policy dimension)")


def rollup_covers(by: Sequence[str], extra: Mapping[str, str] | None = None, percentiles: bool = False,
                  with_total: bool = False) -> bool:
    """Whether an attainment query can run on the daily rollup instead of the results table."""
    names = [*by, *dict(extra or {})]
    return not percentiles and not with_total and all(name in ROLLUP_DIMENSIONS for name in names)


def selection_needs_results(filters: FilterLike | None) -> bool:
    """True when the filters select on policy dimensions, which only the results table has."""
    return any(values for _, values in getattr(filters, "attributes", ()) or ())


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _in_list(column: str, values: Sequence[str], params: list[Any]) -> str:
    params.extend(values)
    return f"{column} IN ({', '.join('?' for _ in values)})"


def where_clause(filters: FilterLike | None, *, kind: str | None = None, use_dates: bool = True,
                 use_metric: bool = True, extra: Mapping[str, str] | None = None,
                 alias: str = "", rollup: bool = False, dimensions_from_attributes: bool = False) -> Query:
    """WHERE conditions for the sidebar filters (+ kind, + equality on whitelisted dimensions), over
    `results` or, with rollup, over the daily rollup (the created day instead of the instant). With
    dimensions_from_attributes (over `items`), policy dimensions are read from the attributes JSON."""
    prefix = f"{alias}." if alias else ""
    conditions: list[str] = []
    params: list[Any] = []
    if kind is not None:
        conditions.append(f"{prefix}kind = ?")
        params.append(kind)
    if filters is not None:
        if use_dates and filters.date_from is not None:
            conditions.append(f"{prefix}day >= ?" if rollup else f"{prefix}created >= ?")
            params.append(filters.date_from if rollup else _day_start(filters.date_from))
        if use_dates and filters.date_to is not None:
            conditions.append(f"{prefix}day <= ?" if rollup else f"{prefix}created < ?")
            params.append(filters.date_to if rollup else _day_start(filters.date_to + dt.timedelta(days=1)))
        for column, values in (("channel", filters.channels), ("team", filters.teams),
                               ("priority", filters.priorities)):
            if values:
                conditions.append(_in_list(f"{prefix}{column}", values, params))
        if use_metric and filters.metric:
            conditions.append(f"{prefix}metric = ?")
            params.append(filters.metric)
        for name, values in getattr(filters, "attributes", ()) or ():
            if values:
                if rollup:
                    raise ValueError(f"the daily rollup has no {name!r} column; read the results table")
                column = dimension(name)  # refuses anything but a policy dimension's name
                if dimensions_from_attributes:
                    params.append(name)
                    column = f"({prefix}attributes->>?)"
                else:
                    column = prefix + column
                conditions.append(_in_list(column, values, params))
    for name, value in dict(extra or {}).items():
        expression = dimension(name, rollup)
        if prefix and expression in (name, f'"{name}"'):
            expression = prefix + expression
        if value is None:
            conditions.append(f"{expression} IS NULL")
        else:
            conditions.append(f"{expression} = ?")
            params.append(value)
    sql = " AND ".join(conditions) if conditions else "TRUE"
    return sql, params


# ---------------------------------------------------------------------------------------------- builders

FILTER_COLUMNS = ("channel", "team", "priority", "metric")


SOURCES = {  # table -> (first day, last day) expressions
    "results": (utc_day("min(created)"), utc_day("max(created)")),
    "rollup": ("min(day)", "max(day)"),
}
DAY_OF = {"results": utc_day("created"), "rollup": "day"}  # table -> the UTC created day of a row
DATA_DAYS_WINDOW = 90  # the sidebar's default: the latest 90 days that have data


def _source(table: str) -> tuple[str, str]:
    if table not in SOURCES:
        raise ValueError(f"unknown table {table!r} (use one of {', '.join(SOURCES)})")
    return SOURCES[table]


def filter_values_sql(kind: str | None = "ticket", table: str = "results") -> Query:
    """Distinct channels, teams, priorities and metrics in one scan (one grouping set per column)."""
    _source(table)
    where, params = where_clause(None, kind=kind)
    sets = ", ".join(f"({column})" for column in FILTER_COLUMNS)
    return (f"SELECT {', '.join(FILTER_COLUMNS)} FROM {table} WHERE {where} GROUP BY GROUPING SETS ({sets})",
            params)


def date_bounds_sql(kind: str | None = "ticket", table: str = "results",
                    data_days: int = DATA_DAYS_WINDOW) -> Query:
    """First and last created day (UTC), and `window_day`: the earliest of the latest `data_days` days
    that have items (so a default window of that many days with data spans gaps between sources)."""
    first, last = _source(table)
    where, params = where_clause(None, kind=kind)
    sql = f"""
        SELECT {first} AS first_day, {last} AS last_day,
               (SELECT min(day) FROM (SELECT DISTINCT {DAY_OF[table]} AS day FROM {table} WHERE {where}
                                      ORDER BY day DESC LIMIT ?)) AS window_day
        FROM {table} WHERE {where}"""
    return sql, [*params, int(data_days), *params]


def rollup_sql() -> Query:
    """Daily rollup of `results`: counts per UTC created day and slice. Every attainment figure without
    agent or percentiles is a sum over it, so pages read thousands of rows instead of millions."""
    sql = f"""
        SELECT {', '.join(ROLLUP_SLICES)}, {utc_day('created')} AS day,
               {M.SLICE_COUNTS},
               {M.ACTIVE} AS active
        FROM results
        GROUP BY ALL"""
    return sql, []


def rollup_attainment_sql(filters: FilterLike | None, by: Sequence[str], *, kind: str | None = "ticket",
                          use_dates: bool = True, use_metric: bool = True,
                          extra: Mapping[str, str] | None = None) -> Query:
    """attainment_sql's figures (without percentiles) summed from the daily rollup table `rollup`."""
    keys = [f"{dimension(name, rollup=True)} AS {name}" for name in by]
    where, params = where_clause(filters, kind=kind, use_dates=use_dates, use_metric=use_metric, extra=extra,
                                 rollup=True)
    select_keys = (", ".join(keys) + ",") if keys else ""
    group = f"GROUP BY {', '.join(str(i + 1) for i in range(len(by)))}" if by else ""
    order = f"ORDER BY {', '.join(str(i + 1) for i in range(len(by)))}" if by else ""
    sql = f"""
        SELECT {select_keys}
            CAST(coalesce(sum(items), 0) AS BIGINT) AS items,
            CAST(coalesce(sum(met), 0) AS BIGINT) AS met,
            CAST(coalesce(sum(breached), 0) AS BIGINT) AS breached,
            CAST(coalesce(sum(active), 0) AS BIGINT) AS active,
            {M.attainment_of_counts("met", "breached")} AS attainment,
            coalesce(sum(objective_decided_sum) / nullif(sum(met) + sum(breached), 0),
                     sum(objective_sum) / nullif(sum(items), 0)) AS objective,
            min(objective_min) AS objective_min,
            max(objective_max) AS objective_max
        FROM rollup
        WHERE {where}
        {group}
        {order}"""
    return sql, params


def attainment_sql(filters: FilterLike | None, by: Sequence[str], *, kind: str | None = "ticket",
                   use_dates: bool = True, use_metric: bool = True,
                   extra: Mapping[str, str] | None = None, percentiles: bool = False,
                   with_total: bool = False) -> Query:
    """Attainment per slice: items, met, breached, active, attainment = met / (met + breached).

    ``objective`` is the mean objective of the decided items (each item carries its target's objective),
    so a slice mixing a 95% and a 90% target is held to the share of items both targets expect.
    With ``percentiles``, also median_elapsed_s and p90_elapsed_s (they sort every group: ask only when
    shown). With ``with_total``, one more row for the whole selection (its `by` columns null, `total` true),
    from the same scan.
    """
    keys = [f"{dimension(name)} AS {name}" for name in by]
    where, params = where_clause(filters, kind=kind, use_dates=use_dates, use_metric=use_metric, extra=extra)
    select_keys = (", ".join(keys) + ",") if keys else ""
    positions = ", ".join(str(i + 1) for i in range(len(by)))
    group = f"GROUP BY {positions}" if by else ""
    order = f"ORDER BY {positions}" if by else ""
    if with_total and by:
        expressions = ", ".join(dimension(name) for name in by)
        select_keys += f" grouping({expressions}) <> 0 AS total,"
        group = f"GROUP BY GROUPING SETS (({expressions}), ())"
        order = f"ORDER BY total, {positions}"
    spread = (", median(elapsed_s) FILTER (WHERE met IS NOT NULL) AS median_elapsed_s, "
              "quantile_cont(elapsed_s, 0.9) FILTER (WHERE met IS NOT NULL) AS p90_elapsed_s"
              if percentiles else "")
    sql = f"""
        SELECT {select_keys}
            count(*) AS items,
            {M.MET} AS met,
            {M.BREACHED} AS breached,
            {M.ACTIVE} AS active,
            {M.ATTAINMENT} AS attainment,
            {M.OBJECTIVE} AS objective,
            min(objective) AS objective_min,
            max(objective) AS objective_max
            {spread}
        FROM results
        WHERE {where}
        {group}
        {order}"""
    return sql, params


def burn_down_sql(filters: FilterLike | None, first_day: dt.date, last_day: dt.date, *,
                  kind: str | None = "ticket", by_metric: bool = False) -> Query:
    """Items created between first_day and last_day (UTC, inclusive; replaces the date filter), counted on
    the UTC day they were decided - met at their stop, breached when their budget ran out (the rule of
    sla_core.budget.decided_at). A month's figures are about the items created in it, as on the Overview and
    in the report; the days show when its error budget was spent. With by_metric, one row per day and
    metric (and the metric filter is not applied)."""
    where, params = where_clause(filters, kind=kind, use_dates=False, use_metric=not by_metric)
    where += " AND created >= ? AND created < ?"
    params += [_day_start(first_day), _day_start(last_day + dt.timedelta(days=1))]
    metric = "metric, " if by_metric else ""
    decided_day = utc_day(M.DECIDED_AT)
    sql = f"""
        SELECT {decided_day} AS day, {metric} count(*) AS decided, {M.BREACHED} AS breached,
               avg(objective) AS objective
        FROM results WHERE {where} AND met IS NOT NULL
        GROUP BY ALL ORDER BY ALL"""
    return sql, params


def months_sql(kind: str | None = "ticket", table: str = "results") -> Query:
    """The months that have items, newest first (a six-year gap between two exports lists no empty months)."""
    _source(table)
    where, params = where_clause(None, kind=kind)
    sql = f"""
        SELECT DISTINCT CAST(date_trunc('month', {DAY_OF[table]}) AS DATE) AS month
        FROM {table} WHERE {where}
        ORDER BY 1 DESC"""
    return sql, params


def breached_items_sql(filters: FilterLike | None, *, kind: str | None = "ticket",
                       extra: Mapping[str, str] | None = None, limit: int = 1000) -> Query:
    """The breached items behind a number, worst overrun first, with elapsed vs target."""
    where, params = where_clause(filters, kind=kind, extra=extra, alias="r")
    # results.created is the item's created: bounding it lets DuckDB skip most of items for the subject.
    sql = f"""
        WITH worst AS (
            SELECT r.item_id, r.metric, r.channel, r.team, r.priority, r.agent, r.process, r.status,
                   r.created, r.stop, r.elapsed_s, r.within_s, r.elapsed_s - r.within_s AS overrun_s,
                   r.pct_used, r.state, r.source
            FROM results r WHERE {where} AND r.met = FALSE
            ORDER BY overrun_s DESC, r.item_id LIMIT {int(limit)})
        SELECT w.item_id, w.metric, w.channel, w.team, w.priority, w.agent, w.process, w.status, i.subject,
               w.created, w.stop, w.elapsed_s, w.within_s, w.overrun_s, w.pct_used, w.state, w.source
        FROM worst w
        LEFT JOIN items i ON i.source = w.source AND i.item_id = w.item_id
            AND i.created BETWEEN (SELECT min(created) FROM worst) AND (SELECT max(created) FROM worst)
        ORDER BY w.overrun_s DESC, w.item_id"""
    return sql, params


def elapsed_histogram_sql(filters: FilterLike | None, *, kind: str | None = "ticket",
                          bin_pct: int = 10, cap_pct: int = 300) -> Query:
    """Elapsed business time as % of each item's own target, in bins (capped: the last bin is "cap+")."""
    where, params = where_clause(filters, kind=kind)
    bin_pct, cap_pct = int(bin_pct), int(cap_pct)
    sql = f"""
        SELECT least(floor(100.0 * elapsed_s / within_s / {bin_pct}) * {bin_pct}, {cap_pct}) AS pct_bin,
               count(*) AS items,
               {M.MET} AS met,
               {M.BREACHED} AS breached
        FROM results
        WHERE {where} AND within_s > 0 AND elapsed_s IS NOT NULL
        GROUP BY 1 ORDER BY 1"""
    return sql, params


def _open_keys_cte(filters: FilterLike | None, kind: str | None) -> Query:
    where, params = where_clause(filters, kind=kind, use_dates=False)
    return (f"""open_keys AS (SELECT DISTINCT source, item_id, created FROM results
                              WHERE {where} AND stop IS NULL),
                oldest AS (SELECT coalesce(min(created), TIMESTAMPTZ '9999-12-31') AS created FROM open_keys)""",
            params)


def open_items_sql(filters: FilterLike | None, *, kind: str | None = "ticket") -> Query:
    """Items with a clock still running at the last ingest (the date range does not apply: an old open
    item is still in the queue)."""
    cte, params = _open_keys_cte(filters, kind)
    columns = ", ".join(f"i.{c}" for c in ITEM_COLUMNS)
    sql = f"""
        WITH {cte}
        SELECT {columns} FROM items i JOIN open_keys k ON i.source = k.source AND i.item_id = k.item_id
        WHERE i.created >= (SELECT created FROM oldest)
        ORDER BY i.created, i.item_id"""
    return sql, params


def open_events_sql(filters: FilterLike | None, *, kind: str | None = "ticket") -> Query:
    cte, params = _open_keys_cte(filters, kind)
    columns = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
    sql = f"""
        WITH {cte}
        SELECT {columns} FROM events e JOIN open_keys k ON e.source = k.source AND e.item_id = k.item_id
        WHERE e.occurred_at >= (SELECT created FROM oldest) - INTERVAL 1 DAY
        ORDER BY e.source, e.item_id, e.occurred_at"""
    return sql, params


def imports_sql() -> Query:
    return ("""SELECT import_id, file, format, mapping, rows_read, rows_loaded, rows_rejected, imported_at,
                      sha256
               FROM imports ORDER BY import_id DESC""", [])


def rejected_rows_sql(limit: int = 5000) -> Query:
    return (f"""SELECT r.import_id, m.file, r.line, r.reason, r.raw
                FROM rejected_rows r LEFT JOIN imports m USING (import_id)
                ORDER BY r.import_id DESC, r.line LIMIT {int(limit)}""", [])


def table_counts_sql() -> Query:
    return ("""SELECT (SELECT count(*) FROM items) AS items,
                      (SELECT count(*) FROM events) AS events,
                      (SELECT count(*) FROM results) AS results,
                      (SELECT max(computed_at) FROM results) AS computed_at""", [])


# Columns of `results` that are not dimensions (dimension columns follow them, one per policy dimension).
RESULT_BASE_COLUMNS = (*RESULT_SCHEMA, "computed_at")
COUNT_KEYS = ("metric", "channel", "team", "priority", "agent", "process", "kind", "source", "calendar", "status",
              "policy_version")


def dimension_names_sql() -> Query:
    """The policy dimensions stored as columns of `results`."""
    placeholders = ", ".join("?" for _ in RESULT_BASE_COLUMNS)
    return (f"""SELECT column_name FROM information_schema.columns
                WHERE table_name = 'results' AND table_schema = 'main' AND column_name NOT IN ({placeholders})
                ORDER BY ordinal_position""", list(RESULT_BASE_COLUMNS))


def counts_sql(by: Sequence[str], *, dimensions: Sequence[str] = (), metric: str | None = None,
               date_from: dt.date | None = None, date_to: dt.date | None = None) -> Query:
    """Counts a person can check, per slice, over items created between date_from and date_to (UTC days,
    inclusive): decided (met + breached), met, breached, running (undecided: active or paused), not_measured
    (the item's source never records the metric's start or stop), attainment = met / decided.

    `by` names come from COUNT_KEYS or `dimensions` (the stored dimension columns); anything else is refused.
    """
    for name in by:
        if name not in COUNT_KEYS and name not in dimensions:
            raise ValueError(f"unknown dimension {name!r} (use one of {', '.join([*COUNT_KEYS, *dimensions])})")
    conditions, params = [], []
    if metric is not None:
        conditions.append("metric = ?")
        params.append(metric)
    if date_from is not None:
        conditions.append("created >= ?")
        params.append(_day_start(date_from))
    if date_to is not None:
        conditions.append("created < ?")
        params.append(_day_start(date_to + dt.timedelta(days=1)))
    where = " AND ".join(conditions) or "TRUE"
    keys = ", ".join(quoted(name) for name in by)
    missing_in_not_measured = {"calendar"}
    nm_keys = ", ".join(f"NULL AS {quoted(n)}" if n in missing_in_not_measured else quoted(n) for n in by)
    select_keys = f"{keys}, " if by else ""
    group = f"GROUP BY {keys} ORDER BY {keys}" if by else ""
    sql = f"""
        WITH judged AS (
            SELECT {select_keys}met, FALSE AS unmeasured FROM results WHERE {where}
            UNION ALL
            SELECT {nm_keys + ', ' if by else ''}NULL::BOOLEAN AS met, TRUE AS unmeasured
            FROM not_measured WHERE {where})
        SELECT {select_keys}
               {M.DECIDED} AS decided,
               {M.MET} AS met,
               {M.BREACHED} AS breached,
               count(*) FILTER (WHERE met IS NULL AND NOT unmeasured) AS running,
               count(*) FILTER (WHERE unmeasured) AS not_measured,
               {M.ATTAINMENT} AS attainment
        FROM judged
        {group}"""
    return sql, params + params


def dimension_values_sql(name: str, kind: str | None = "ticket") -> Query:
    """The distinct values of one policy dimension in the results (for the sidebar filter)."""
    where, params = where_clause(None, kind=kind)
    column = dimension(name)
    return (f"SELECT DISTINCT {column} AS value FROM results WHERE {where} AND {column} IS NOT NULL "
            "ORDER BY 1 LIMIT 500", params)


def data_notes_sql(topic: str | None = None) -> Query:
    """What is wrong with the data or the setup (see sla_store.coverage): topic, source, metric, items, message."""
    if topic is None:
        return "SELECT topic, source, metric, items, message FROM data_notes ORDER BY topic, source, metric", []
    return ("SELECT topic, source, metric, items, message FROM data_notes WHERE topic = ? "
            "ORDER BY source, metric", [topic])


# ------------------------------------------------------------------------------------------------ reads

def read(cur: duckdb.DuckDBPyConnection, query: Query) -> pl.DataFrame:
    sql, params = query
    return cur.sql(sql, params=params).pl()


def filter_options(cur: duckdb.DuckDBPyConnection, kind: str | None = "ticket",
                   table: str = "results") -> pl.DataFrame:
    """One row: a sorted list per filter column (channels, teams, priorities, metrics), first/last day."""
    values = read(cur, filter_values_sql(kind, table))
    bounds = read(cur, date_bounds_sql(kind, table))
    row: dict[str, object] = {
        f"{column}s" if column != "priority" else "priorities":
            [sorted(v for v in values[column].unique().to_list() if v is not None)]
        for column in FILTER_COLUMNS
    }
    row.update(first_day=bounds["first_day"].to_list(), last_day=bounds["last_day"].to_list(),
               window_day=bounds["window_day"].to_list())
    return pl.DataFrame(row, schema={"channels": pl.List(pl.String), "teams": pl.List(pl.String),
                                     "priorities": pl.List(pl.String), "metrics": pl.List(pl.String),
                                     "first_day": pl.Date, "last_day": pl.Date, "window_day": pl.Date})


def rollup(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return read(cur, rollup_sql())


def rollup_attainment(rollup_cur: duckdb.DuckDBPyConnection, filters: FilterLike | None, by: Sequence[str],
                      kind: str | None = "ticket", use_dates: bool = True, use_metric: bool = True,
                      extra: Mapping[str, str] | None = None) -> pl.DataFrame:
    """attainment() over a connection holding the rollup as table `rollup`."""
    return read(rollup_cur, rollup_attainment_sql(filters, by, kind=kind, use_dates=use_dates,
                                                  use_metric=use_metric, extra=extra))


def attainment(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None, by: Sequence[str],
               kind: str | None = "ticket", use_dates: bool = True, use_metric: bool = True,
               extra: Mapping[str, str] | None = None, percentiles: bool = False,
               with_total: bool = False) -> pl.DataFrame:
    return read(cur, attainment_sql(filters, by, kind=kind, use_dates=use_dates, use_metric=use_metric,
                                    extra=extra, percentiles=percentiles, with_total=with_total))


def burn_down(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None, first_day: dt.date,
              last_day: dt.date, kind: str | None = "ticket", by_metric: bool = False) -> pl.DataFrame:
    return read(cur, burn_down_sql(filters, first_day, last_day, kind=kind, by_metric=by_metric))


def months(cur: duckdb.DuckDBPyConnection, kind: str | None = "ticket", table: str = "results") -> pl.DataFrame:
    return read(cur, months_sql(kind, table))


def breached_items(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None, kind: str | None = "ticket",
                   extra: Mapping[str, str] | None = None, limit: int = 1000) -> pl.DataFrame:
    return read(cur, breached_items_sql(filters, kind=kind, extra=extra, limit=limit))


def elapsed_histogram(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None,
                      kind: str | None = "ticket") -> pl.DataFrame:
    return read(cur, elapsed_histogram_sql(filters, kind=kind))


def open_items(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None,
               kind: str | None = "ticket") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, events) of the items whose clock was running at the last ingest, as the core expects."""
    return read(cur, open_items_sql(filters, kind=kind)), read(cur, open_events_sql(filters, kind=kind))


def imports(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return read(cur, imports_sql())


def rejected_rows(cur: duckdb.DuckDBPyConnection, limit: int = 5000) -> pl.DataFrame:
    return read(cur, rejected_rows_sql(limit))


def table_counts(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return read(cur, table_counts_sql())


def dimension_names(cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The policy dimensions stored as result columns (empty for a database without any)."""
    return tuple(read(cur, dimension_names_sql())["column_name"].to_list())


def counts(cur: duckdb.DuckDBPyConnection, by: Sequence[str], metric: str | None = None,
           date_from: dt.date | None = None, date_to: dt.date | None = None) -> pl.DataFrame:
    return read(cur, counts_sql(by, dimensions=dimension_names(cur), metric=metric, date_from=date_from,
                                date_to=date_to))


def dimension_values(cur: duckdb.DuckDBPyConnection, kind: str | None = "ticket") -> dict[str, list[str]]:
    """Policy dimension -> its distinct values in the results (at most 500 each)."""
    return {name: read(cur, dimension_values_sql(name, kind))["value"].to_list() for name in dimension_names(cur)}


def data_notes(cur: duckdb.DuckDBPyConnection, topic: str | None = None) -> pl.DataFrame:
    """The data notes; an empty frame for a database made before notes were kept."""
    try:
        return read(cur, data_notes_sql(topic))
    except duckdb.CatalogException:
        return pl.DataFrame(schema={"topic": pl.String, "source": pl.String, "metric": pl.String,
                                    "items": pl.Int64, "message": pl.String})
