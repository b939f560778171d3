"""Database access for the pages: one LiveDatabase per process, cached reads keyed by the file identity.

A writer swaps a new file in atomically (sla_store.db); the identity (inode, mtime) changes with it, so
cached frames of the old file are never served for the new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_ENTRIES, show_spinner=False)
def _cached(query_name: str, path: str, identity: tuple[int, int] | None, args: tuple,
            kwargs: tuple) -> Any:
    reader = getattr(queries, query_name)
    return reader(live_database(path).cursor(), *args, **dict(kwargs))


def read(query_name: str, *args: Any, **kwargs: Any) -> Any:
    """Run sla_store.queries.<query_name>(cursor, *args, **kwargs), cached per database file identity."""
    path = str(database_path().resolve())
    identity = live_database(path).identity
    return _cached(query_name, path, identity, args, tuple(sorted(kwargs.items())))


def cursor():
    """A fresh cursor for uncached work (e.g. the live queue, which depends on the real now)."""
    return live_database(str(database_path().resolve())).cursor()

