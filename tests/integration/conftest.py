"""A small sample database built once per test session, plus helpers for fresh databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sla_store.db import connect_read_only
from sla_store.sample import build_sample_db

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
MAPPINGS = CONFIG / "mappings"
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE_NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
SAMPLE_TICKETS = 3000


@pytest.fixture(scope="session")
def sample_samples_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("samples")


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, sample_samples_dir) -> Path:
    """3,000 tickets plus the ops log, seed 42, history ending 2026-11-24 20:00 UTC; do not write to it."""
    db = tmp_path_factory.mktemp("sample-db") / "sla.duckdb"
    build_sample_db(db, tickets=SAMPLE_TICKETS, seed=42, now=SAMPLE_NOW, samples_dir=sample_samples_dir,
                    config=CONFIG)
    return db


def read_tables(db: Path, queries: dict[str, str]) -> dict:
    """Each named query's rows as a polars frame in a stable row order (a database's state, to compare)."""
    import polars as pl

    con = connect_read_only(db)
    try:
        return {name: con.sql(sql).pl().sort(pl.all()) for name, sql in queries.items()}
    finally:
        con.close()


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Run one read-only query against a database (both files when it has a sealed history)."""
    con = connect_read_only(db)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.sql(sql, params=params or []).fetchall()
    finally:
        con.close()
