"""Raw data as Parquet partitions by month, and the function that judges one partition.

`export_parquet(db, folder)` writes hive-style partitions any engine can read (DuckDB, Spark, Dask, Ray,
polars): `items/month=YYYY-MM/*.parquet` by the item's `created` month (UTC) and `events/month=YYYY-MM/*.parquet`
by the month of the item the event belongs to - so a month's items and events are self-contained, and
`judge_partition` can judge them with no other data. That is the same unit `sla_store.compute` streams through
the core on one machine (there by hashed item key; any split that keeps an item with its events works).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import polars as pl

from sla_store.compute import ITEM_FIELDS

MONTH = "strftime(created AT TIME ZONE 'UTC', '%Y-%m')"


def export_parquet(db: str | os.PathLike | None, folder: str | os.PathLike) -> dict:
    """Write items and events of `db` under `folder` (replacing earlier partitions). Returns row counts."""
    from sla_store.db import connect_read_only

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    con = connect_read_only(db)
    try:
        con.execute("SET preserve_insertion_order = false")  # lets DuckDB stream the copy in bounded memory
        items_dir, events_dir = out / "items", out / "events"
        con.execute(f"""
            COPY (SELECT {ITEM_FIELDS}, attributes::VARCHAR AS attributes, {MONTH} AS month FROM items)
            TO '{_quoted(items_dir)}' (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE true)""")
        con.execute(f"""
            COPY (SELECT e.source, e.item_id, e.occurred_at, e.kind, e.value,
                         strftime(coalesce(i.created, e.occurred_at) AT TIME ZONE 'UTC', '%Y-%m') AS month
                  FROM events e LEFT JOIN items i ON i.source = e.source AND i.item_id = e.item_id)
            TO '{_quoted(events_dir)}' (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE true)""")
        counts = {
            "items": con.sql("SELECT count(*) FROM items").fetchall()[0][0],
            "events": con.sql("SELECT count(*) FROM events").fetchall()[0][0],
        }
    finally:
        con.close()
    counts["months"] = sorted(path.name.removeprefix("month=") for path in items_dir.glob("month=*"))
    counts["folder"] = str(out)
    return counts


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def judge_partition(items: pl.DataFrame, events: pl.DataFrame, history, now: datetime) -> pl.DataFrame:
    """Results of one partition (an item's events always with it): sla_core.clocks.evaluate, nothing else.

    Pure of I/O, so an engine can call it per partition: Spark `cogroup(...).applyInArrow`, Dask
    `map_partitions`, Ray `map_batches` (see docs/scaling.md)."""
    from sla_core.clocks import evaluate

    return evaluate(items.drop("month", strict=False), events.drop("month", strict=False), history, now)


def judge_month(folder: str | os.PathLike, month: str, history, now: datetime) -> pl.DataFrame:
    """Read one month's partition written by export_parquet and judge it."""
    root = Path(folder)
    items = pl.read_parquet(root / "items" / f"month={month}")
    events_dir = root / "events" / f"month={month}"
    events = pl.read_parquet(events_dir) if events_dir.exists() else None
    return judge_partition(items, events if events is not None else pl.DataFrame(), history, now)
