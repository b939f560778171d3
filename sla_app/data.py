"""Database access for the pages: one LiveDatabase per process, cached reads keyed by the file identity.

A writer swaps a new file in atomically (sla_store.db); the identity (inode, mtime) changes with it, so
cached frames of the old file are never served for the new one.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from sla_store import queries
from sla_store.db import LiveDatabase, db_path

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
def rollup_database(path: str, identity: tuple[int, int] | None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the daily rollup of one version of the database file (built once per
    ingest; a few thousand rows however many items there are)."""
    frame = queries.rollup(live_database(path).cursor())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("rollup_frame", frame)
    con.execute("CREATE TABLE rollup AS SELECT * FROM rollup_frame")
    con.unregister("rollup_frame")
    return con


_ATTAINMENT = inspect.signature(queries.attainment)
ROLLUP_READS = ("filter_options", "months")  # readers that take table="rollup"


def _rollup_arguments(query_name: str, args: tuple, kwargs: dict) -> dict | None:
    """The rollup_attainment arguments when this read can be answered from the rollup, else None."""
    if query_name != "attainment":
        return None
    bound = _ATTAINMENT.bind(None, *args, **kwargs)
    bound.apply_defaults()
    named = dict(bound.arguments)
    if not queries.rollup_covers(named["by"], named["extra"], named["percentiles"], named["with_total"]):
        return None
    for unused in ("cur", "percentiles", "with_total"):
        named.pop(unused)
    return named


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_ENTRIES, show_spinner=False)
def _cached(query_name: str, path: str, identity: tuple[int, int] | None, args: tuple,
            kwargs: tuple) -> Any:
    if query_name in ROLLUP_READS:
        return getattr(queries, query_name)(rollup_database(path, identity).cursor(), *args, table="rollup",
                                            **dict(kwargs))
    rollup_args = _rollup_arguments(query_name, args, dict(kwargs))
    if rollup_args is not None:
        return queries.rollup_attainment(rollup_database(path, identity).cursor(), **rollup_args)
    reader = getattr(queries, query_name)
    return reader(live_database(path).cursor(), *args, **dict(kwargs))


def read(query_name: str, *args: Any, **kwargs: Any) -> Any:
    """Run sla_store.queries.<query_name>(cursor, *args, **kwargs), cached per database file identity.

    Filter options, months and attainment reads without agent or percentiles are answered from the daily
    rollup (same figures)."""
    path = str(database_path().resolve())
    identity = live_database(path).identity
    return _cached(query_name, path, identity, args, tuple(sorted(kwargs.items())))


def require_database() -> bool:
    """Show how to get data when there is no database yet; True when the pages can read."""
    if database_ready():
        return True
    st.warning(
        f"No data yet at `{database_path()}`. Build the sample with `make sample` (or "
        "`sla sample`), or load an export with `sla ingest FILE` or on the **Data** page.",
        icon=":material/database:",
    )
    return False


def cursor():
    """A fresh cursor for uncached work (e.g. the live queue, which depends on the real now)."""
    return live_database(str(database_path().resolve())).cursor()

