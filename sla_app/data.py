"""Database access for the pages: one LiveDatabase per process, cached reads keyed by the file identity.

A writer swaps a new file in atomically (sla_store.db); the identity (inode, mtime) changes with it, so
cached frames of the old file are never served for the new one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from sla_store import queries, reads, rollup
from sla_store.db import LiveDatabase, db_path
from sla_store.queries import Selection
from sla_ui.view import plain

CACHE_TTL_S = 600
CACHE_ENTRIES = 512


@st.cache_resource(show_spinner=False)
def live_database(path: str) -> LiveDatabase:
    return LiveDatabase(path)


def database_path() -> Path:
    return db_path()


def database_ready() -> bool:
    """True when the database file exists and has a results table to read."""
    path = database_path()
    if not path.exists():
        return False
    try:
        return bool(live_database(str(path.resolve())).cursor().sql(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'results'").fetchall()[0][0])
    except Exception:  # a half-written or foreign file: the pages show how to build one
        return False


@st.cache_resource(show_spinner=False, max_entries=2)
def _memory_rollup(path: str, identity: tuple[int, int] | None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the daily rollup of a database file written before the store kept one
    (built once per version of the file)."""
    frame = reads.rollup(live_database(path).cursor())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("rollup_frame", frame)
    con.execute(f"CREATE TABLE {rollup.ROLLUP_TABLE} AS SELECT * FROM rollup_frame")
    con.unregister("rollup_frame")
    return con


@st.cache_data(show_spinner=False, max_entries=4)
def _keeps_rollup(path: str, identity: tuple[int, int] | None) -> bool:
    return rollup.kept(live_database(path).cursor())


def rollup_cursor(path: str, identity: tuple[int, int] | None) -> duckdb.DuckDBPyConnection:
    """A cursor on the daily rollup (table `daily_rollup`): the one the store keeps in the file, written with
    every import (a few thousand rows however many items there are)."""
    if _keeps_rollup(path, identity):
        return live_database(path).cursor()
    return _memory_rollup(path, identity).cursor()


Extra = tuple[tuple[str, str], ...]  # (column, value) pairs: hashable, so they can key the cache


def _file() -> tuple[str, tuple[int, int] | None]:
    """The database file and its identity: the cache key that changes when a writer swaps a new file in."""
    path = str(database_path().resolve())
    return path, live_database(path).identity


def _cached(function):
    return st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_ENTRIES, show_spinner=False)(function)


@_cached
def _attainment(path: str, identity: tuple[int, int] | None, filters: Selection, by: tuple[str, ...], kind: str | None,
                extra: Extra, percentiles: bool, with_total: bool, use_dates: bool,
                use_metric: bool) -> pl.DataFrame:
    if queries.rollup_covers(by, dict(extra), percentiles, with_total) and not queries.selection_needs_results(filters):
        return reads.rollup_attainment(rollup_cursor(path, identity), filters, by, kind=kind,
                                         use_dates=use_dates, use_metric=use_metric, extra=dict(extra))
    return reads.attainment(live_database(path).cursor(), filters, by, kind=kind, use_dates=use_dates,
                              use_metric=use_metric, extra=dict(extra), percentiles=percentiles,
                              with_total=with_total)


def attainment(filters: Selection, by: Sequence[str], *, kind: str | None = "ticket",
               extra: Extra = (), percentiles: bool = False, with_total: bool = False,
               use_dates: bool = True, use_metric: bool = True) -> pl.DataFrame:
    """Attainment per slice (sla_store.queries.attainment_sql). Answered from the daily rollup (same
    figures) unless it needs percentiles, a total row or a dimension the rollup does not keep."""
    return _attainment(*_file(), filters, tuple(by), kind, tuple(extra), percentiles, with_total, use_dates,
                       use_metric)


@_cached
def _burn_down(path: str, identity: tuple[int, int] | None, filters: Selection, first_day: dt.date,
               last_day: dt.date, kind: str | None, by_metric: bool) -> pl.DataFrame:
    return reads.burn_down(live_database(path).cursor(), filters, first_day, last_day, kind=kind,
                             by_metric=by_metric)


def burn_down(filters: Selection, first_day: dt.date, last_day: dt.date, *, kind: str | None = "ticket",
              by_metric: bool = False) -> pl.DataFrame:
    """Items created first_day..last_day, decided and breached per decision day (queries.burn_down_sql)."""
    return _burn_down(*_file(), filters, first_day, last_day, kind, by_metric)


@_cached
def _months(path: str, identity: tuple[int, int] | None, kind: str | None) -> pl.DataFrame:
    return reads.months(rollup_cursor(path, identity), kind, table=rollup.ROLLUP_TABLE)


def months(*, kind: str | None = "ticket") -> list[dt.date]:
    """The months that have items, newest first."""
    return _months(*_file(), kind)["month"].to_list()


@_cached
def _filter_options(path: str, identity: tuple[int, int] | None, kind: str | None) -> pl.DataFrame:
    return reads.filter_options(rollup_cursor(path, identity), kind, table=rollup.ROLLUP_TABLE)


def filter_options(*, kind: str | None = "ticket") -> pl.DataFrame:
    """One row: the channels, teams, priorities and metrics to offer, and the first and last day."""
    return _filter_options(*_file(), kind)


@_cached
def _breached_items(path: str, identity: tuple[int, int] | None, filters: Selection, kind: str | None,
                    extra: Extra, limit: int) -> pl.DataFrame:
    return reads.breached_items(live_database(path).cursor(), filters, kind, dict(extra), limit)


def breached_items(filters: Selection, *, kind: str | None = "ticket", extra: Extra = (),
                   limit: int = 1000) -> pl.DataFrame:
    """The breached items behind a figure, worst overrun first."""
    return _breached_items(*_file(), filters, kind, tuple(extra), limit)


@_cached
def _elapsed_histogram(path: str, identity: tuple[int, int] | None, filters: Selection,
                       kind: str | None) -> pl.DataFrame:
    return reads.elapsed_histogram(live_database(path).cursor(), filters, kind)


def elapsed_histogram(filters: Selection, *, kind: str | None = "ticket") -> pl.DataFrame:
    """Elapsed business time as % of each item's target, in bins."""
    return _elapsed_histogram(*_file(), filters, kind)


@_cached
def _open_results(path: str, identity: tuple[int, int] | None, filters: Selection, kind: str | None) -> pl.DataFrame:
    return reads.open_results(live_database(path).cursor(), filters, kind)


def open_results(filters: Selection, *, kind: str | None = "ticket") -> pl.DataFrame:
    """Stored running clocks (as of their last judgement) with the item's subject; advance them to now."""
    return _open_results(*_file(), filters, kind)


@_cached
def _scheduled_instances(path: str, identity: tuple[int, int] | None, filters: Selection, metrics: tuple[str, ...],
                         kind: str | None) -> pl.DataFrame:
    return reads.scheduled_instances(live_database(path).cursor(), filters, metrics, kind)


def scheduled_instances(filters: Selection, metrics: Sequence[str], *, kind: str | None = "ops") -> pl.DataFrame:
    """Every period of the scheduled metrics: stream, due, delivery, verdict (reads.scheduled_instances_sql)."""
    return _scheduled_instances(*_file(), filters, tuple(metrics), kind)


@_cached
def _open_items(path: str, identity: tuple[int, int] | None, filters: Selection,
                kind: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    return reads.open_items(live_database(path).cursor(), filters, kind)


def open_items(filters: Selection, *, kind: str | None = "ticket") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, events) of the items whose clock was running at the last ingest."""
    return _open_items(*_file(), filters, kind)


@_cached
def _dimension_values(path: str, identity: tuple[int, int] | None, kind: str | None) -> dict[str, list[str]]:
    return reads.dimension_values(live_database(path).cursor(), kind)


def dimension_values(*, kind: str | None = "ticket") -> dict[str, list[str]]:
    """Policy dimension (a result column) -> its values, for the sidebar filters and breakdowns."""
    return _dimension_values(*_file(), kind)


@_cached
def _data_notes(path: str, identity: tuple[int, int] | None, topic: str | None, within: Selection | None,
                kind: str | None) -> pl.DataFrame:
    return reads.data_notes(live_database(path).cursor(), topic, within, kind)


def data_notes(topic: str | None = None, within: Selection | None = None, *, kind: str | None = "ticket") -> list[str]:
    """What is wrong with the data or setup, one line each (sla_store.coverage): not-measured metrics,
    sources no target matches, items older than the first policy version. With `within` (the selection a page
    shows), a note about items a source cannot measure only when such items are in it."""
    return _data_notes(*_file(), topic, within, kind if within is not None else None)["message"].to_list()


@_cached
def _table(path: str, identity: tuple[int, int] | None, name: str) -> pl.DataFrame:
    reader = {"imports": reads.imports, "rejected_rows": reads.rejected_rows,
              "table_counts": reads.table_counts}[name]
    return reader(live_database(path).cursor())


def imports() -> pl.DataFrame:
    """Every file loaded, newest first."""
    return _table(*_file(), "imports")


def rejected_rows() -> pl.DataFrame:
    """Rows left out of imports, with the reason."""
    return _table(*_file(), "rejected_rows")


def table_counts() -> dict:
    """Items, events, results and when the results were computed."""
    return _table(*_file(), "table_counts").row(0, named=True)


def database_problem() -> str | None:
    """Why an existing database file cannot be read (corrupt, a folder, no permission), one line naming only the
    file; None when there is no file or it reads."""
    from sla_store.db import DatabaseUnusable, connect_read_only

    path = database_path()
    if not path.exists():
        return None
    try:
        connect_read_only(path).close()
    except DatabaseUnusable as error:
        return str(error).replace(str(path), path.name, 1)
    except Exception as error:  # anything else DuckDB says: its first line
        return f"{path.name}: {str(error).splitlines()[0]}"
    return None


def require_database() -> bool:
    """Show how to get data when there is no database yet; True when the pages can read."""
    if database_ready():
        return True
    if problem := database_problem():
        st.error(plain(problem), icon=":material/database:")
        return False
    st.warning(
        f"No data yet at `{database_path()}`. Build the sample with `make sample` (or "
        "`sla sample`), or load an export with `sla ingest FILE` or on the **Data** page.",
        icon=":material/database:",
    )
    return False


def cursor():
    """A fresh cursor for uncached work (e.g. the live queue, which depends on the real now)."""
    return live_database(str(database_path().resolve())).cursor()

