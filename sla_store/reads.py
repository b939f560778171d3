"""Readers: run a query builder of sla_store.queries on a DuckDB cursor and return polars frames (the
typed, cached versions the pages call are in sla_app.data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import duckdb
import polars as pl

from sla_store.queries import (
    FILTER_COLUMNS,
    FilterLike,
    Query,
    attainment_sql,
    breached_by_now_sql,
    breached_items_sql,
    burn_down_sql,
    counts_sql,
    data_notes_sql,
    date_bounds_sql,
    dimension_names_sql,
    dimension_values_sql,
    elapsed_histogram_sql,
    filter_values_sql,
    imports_sql,
    months_sql,
    open_clocks_sql,
    open_events_sql,
    open_items_sql,
    open_results_sql,
    rejected_rows_sql,
    scheduled_instances_sql,
    table_counts_sql,
)
from sla_store.rollup import dimension_values_sql as kept_dimension_values_sql
from sla_store.rollup import kept, rollup_attainment_sql, rollup_sql


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
    """The daily rollup computed from the results table (what `daily_rollup` keeps)."""
    return read(cur, rollup_sql())


def rollup_attainment(rollup_cur: duckdb.DuckDBPyConnection, filters: FilterLike | None, by: Sequence[str],
                      kind: str | None = "ticket", use_dates: bool = True, use_metric: bool = True,
                      extra: Mapping[str, str] | None = None) -> pl.DataFrame:
    """attainment() over a connection holding the rollup as table `daily_rollup` (the database file itself
    when it keeps one, see sla_store.rollup)."""
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


def scheduled_instances(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None, metrics: Sequence[str],
                        kind: str | None = "ops") -> pl.DataFrame:
    return read(cur, scheduled_instances_sql(filters, tuple(metrics), kind=kind))


def elapsed_histogram(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None,
                      kind: str | None = "ticket") -> pl.DataFrame:
    return read(cur, elapsed_histogram_sql(filters, kind=kind))


def open_items(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None,
               kind: str | None = "ticket") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, events) of the items whose clock was running at the last ingest, as the core expects."""
    return read(cur, open_items_sql(filters, kind=kind)), read(cur, open_events_sql(filters, kind=kind))


def open_results(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None,
                 kind: str | None = "ticket") -> pl.DataFrame:
    """Stored running clocks with their subject (sla_core.open_clocks.advance brings them to now): from the
    kept open clocks, or from every result in a database written before they were kept."""
    return read(cur, open_clocks_sql(filters, kind=kind) if kept(cur) else open_results_sql(filters, kind=kind))


def breached_by_now(cur: duckdb.DuckDBPyConnection, filters: FilterLike | None, now: dt.datetime,
                    kind: str | None = "ticket") -> int:
    return int(read(cur, breached_by_now_sql(filters, now, kind=kind))["breached"][0])


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
    values = kept_dimension_values_sql if kept(cur) else dimension_values_sql
    return {name: read(cur, values(name, kind))["value"].to_list() for name in dimension_names(cur)}


def data_notes(cur: duckdb.DuckDBPyConnection, topic: str | None = None, within: FilterLike | None = None,
               kind: str | None = None) -> pl.DataFrame:
    """The data notes (those about items in the selection `within`, when given); an empty frame for a
    database made before notes were kept."""
    try:
        return read(cur, data_notes_sql(topic, within, kind=kind))
    except duckdb.CatalogException:
        return pl.DataFrame(schema={"topic": pl.String, "source": pl.String, "metric": pl.String,
                                    "items": pl.Int64, "message": pl.String})
