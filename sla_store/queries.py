"""Read queries for the dashboard pages (what they select - Selection, dimensions, the WHERE clause - is
sla_store.selection, whose names are importable from here too).

Builders return ``(sql, params)``: values are always bound parameters, identifiers (group-by columns) come
from the DIMENSIONS whitelist; sla_store.reads runs them. Aggregation runs in DuckDB; counts without
percentiles come from the daily rollup and the live queue from the stored open clocks (sla_store.rollup),
so a page costs what it shows, not the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sla_core.clocks import ITEM_COLUMNS, RESULT_SCHEMA
from sla_store import measures as M
from sla_store.selection import (  # noqa: F401
    DIMENSIONS,
    EVENT_COLUMNS,
    ROLLUP_DIMENSIONS,
    ROLLUP_SLICES,
    FilterLike,
    Query,
    Selection,
    _day_start,
    _in_list,
    _time_dimensions,
    dimension,
    is_policy_dimension,
    rollup_covers,
    selection_needs_results,
    utc_day,
    where_clause,
)
from sla_store.sql import ident as quoted

# ---------------------------------------------------------------------------------------------- builders

FILTER_COLUMNS = ("channel", "team", "priority", "metric")


SOURCES = {  # table -> (first day, last day) expressions
    "results": (utc_day("min(created)"), utc_day("max(created)")),
    "daily_rollup": ("min(day)", "max(day)"),
}
DAY_OF = {"results": utc_day("created"), "daily_rollup": "day"}  # table -> the UTC created day of a row
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
    # Both quantiles from one sort of each group (median is quantile_cont at 0.5).
    spread = (", quantile_cont(elapsed_s, [0.5, 0.9]) FILTER (WHERE met IS NOT NULL) AS elapsed_quantiles"
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
    if percentiles:
        sql = f"""
        SELECT * EXCLUDE (elapsed_quantiles), elapsed_quantiles[1] AS median_elapsed_s,
               elapsed_quantiles[2] AS p90_elapsed_s
        FROM ({sql})
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
            SELECT r.item_id, r.metric, r.instance, r.channel, r.team, r.priority, r.agent, r.process, r.status,
                   r.created, r.stop, r.elapsed_s, r.within_s, r.elapsed_s - r.within_s AS overrun_s,
                   r.pct_used, r.state, r.source
            FROM results r WHERE {where} AND r.met = FALSE
            ORDER BY overrun_s DESC, r.item_id, r.instance LIMIT {int(limit)})
        SELECT w.item_id, w.metric, w.instance, w.channel, w.team, w.priority, w.agent, w.process, w.status, i.subject,
               w.created, w.stop, w.elapsed_s, w.within_s, w.overrun_s, w.pct_used, w.state, w.source
        FROM worst w
        LEFT JOIN items i ON i.source = w.source AND i.item_id = w.item_id
            AND i.created BETWEEN (SELECT min(created) FROM worst) AND (SELECT max(created) FROM worst)
        ORDER BY w.overrun_s DESC, w.item_id, w.instance"""
    return sql, params


def scheduled_instances_sql(filters: FilterLike | None, metrics: Sequence[str], *,
                            kind: str | None = "ops") -> Query:
    """Every instance (period) of the scheduled metrics: stream, period start, due, delivery, verdict."""
    where, params = where_clause(filters, kind=kind, use_metric=False)
    chosen = _in_list("metric", list(metrics), params) if metrics else "FALSE"
    sql = f"""
        SELECT item_id, source, metric, instance, team, process, calendar, start, due_at, stop, state, met
        FROM results WHERE {where} AND {chosen}
        ORDER BY metric, item_id, instance"""
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
    # One key per item (an item may run several instances); `created` is the earliest open row's, which for
    # repeat, between and schedule rows is the instance's start, not the item's.
    return (f"""open_keys AS (SELECT source, item_id, min(created) AS created FROM results
                              WHERE {where} AND stop IS NULL GROUP BY source, item_id),
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
        WHERE i.created <= k.created
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


def open_results_sql(filters: FilterLike | None, *, kind: str | None = "ticket") -> Query:
    """Stored running clocks (stop null) with their item's subject: due instant, paused or running, elapsed so
    far and when that was computed - what sla_core.open_clocks.advance brings forward to now without the raw
    data. The date range does not apply: an old open item is still in the queue."""
    where, params = where_clause(filters, kind=kind, use_dates=False)
    # Only an item's latest instance of a metric can still be acted on: an earlier one without a stop is a
    # scheduled period that ended missing (breached for good). An item's created is at or before its
    # instances' (for repeat, between and schedule rows `created` is the instance's start).
    sql = f"""
        WITH candidates AS (SELECT * FROM results WHERE {where} AND stop IS NULL),
        open AS (SELECT c.* FROM candidates c
                 ANTI JOIN (SELECT source, item_id, metric, instance FROM results WHERE instance > 1) l
                   ON l.source = c.source AND l.item_id = c.item_id AND l.metric = c.metric
                  AND l.instance > c.instance)
        SELECT o.*, i.subject FROM open o
        LEFT JOIN items i ON i.source = o.source AND i.item_id = o.item_id
            AND i.created <= (SELECT max(created) FROM open)
        WHERE {M.STILL_OPEN}
        ORDER BY o.due_at, o.source, o.item_id, o.metric"""
    return sql, params


def open_clocks_sql(filters: FilterLike | None, *, kind: str | None = "ticket") -> Query:
    """open_results_sql's rows from the stored open clocks (sla_store.rollup): a few rows, not every result.
    Unordered: the live queue orders them by the time left at its own now."""
    where, params = where_clause(filters, kind=kind, use_dates=False)
    return f"SELECT * EXCLUDE (subject), subject FROM open_clocks WHERE {where}", params


def breached_by_now_sql(filters: FilterLike | None, now: dt.datetime, *, kind: str | None = "ticket") -> Query:
    """How many open clocks are breached by `now`: decided breached, or running (not paused) past their due
    instant. A query over the stored clocks, nothing is re-judged."""
    where, params = where_clause(filters, kind=kind, use_dates=False)
    sql = f"""
        SELECT count(*) AS breached FROM results
        WHERE {where} AND stop IS NULL AND (met = false OR (state = 'active' AND due_at < ?))"""
    return sql, [*params, now]


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
                WHERE table_name = 'results' AND table_schema = 'main' AND table_catalog = current_database()
                  AND column_name NOT IN ({placeholders})
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


def data_notes_sql(topic: str | None = None, within: FilterLike | None = None, *, kind: str | None = None) -> Query:
    """What is wrong with the data or the setup (see sla_store.coverage): topic, source, metric, items, message.

    With `within` (a selection: dates, channels, teams, priorities, metric, policy dimensions), a note about
    items a source cannot measure is kept only when such items are in the selection: a note about one source
    does not follow every page and month that shows none of its items."""
    conditions, params = ["TRUE"], []
    if topic is not None:
        conditions.append("n.topic = ?")
        params.append(topic)
    if within is not None:
        where, chosen = where_clause(within, kind=kind, alias="m")
        conditions.append(f"""(n.topic <> 'not_measured' OR EXISTS (
            SELECT 1 FROM not_measured m WHERE m.source = n.source AND m.metric = n.metric AND {where}))""")
        params += chosen
    return (f"SELECT topic, source, metric, items, message FROM data_notes n WHERE {' AND '.join(conditions)} "
            "ORDER BY topic, source, metric", params)
