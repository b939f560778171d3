"""Zendesk ticket exports: the CSV export, and JSON (API / incremental export `{"tickets": [...]}` or a list),
including ticket metric events (`{"ticket_metric_events": [...]}`: reply_time fulfil, pauses, SLA breaches).

Nested JSON fields are flattened with dotted names, so a mapping can name `via.channel` or
`metric_set.reply_time_in_minutes.calendar`.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from sla_store.importers.errors import ImportRefused
from sla_store.importers.mapping import Mapping
from sla_store.importers.tabular import RawTable, read_raw
from sla_store.importers.tabular import read_columns as read_csv_columns

FORMAT = "zendesk"
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def _json_frame(path: Path, limit: int | None = None) -> pl.DataFrame:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
            records = data
            if isinstance(data, dict):
                key = next((k for k in ("tickets", "ticket_metric_events", "results") if k in data), None)
                records = data[key] if key else []
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ImportRefused(f"{path}: expected a list of tickets or {{\"tickets\": [...]}}")
    frame = pl.json_normalize(records[:limit] if limit else records, separator=".", infer_schema_length=None)
    if {"metric", "type"} <= set(frame.columns):
        # Ticket metric events: "reply_time" + "fulfill" -> milestone "reply_time_fulfill".
        frame = frame.with_columns(event=pl.col("metric").cast(pl.String) + "_" + pl.col("type").cast(pl.String))
    # Every value becomes text like a CSV cell; lists (tags) are joined, leftover structs kept as JSON.
    return frame.select(_as_text(name, dtype) for name, dtype in frame.schema.items())


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.List | pl.Array):
        return pl.col(name).cast(pl.List(pl.String)).list.join(", ")
    if isinstance(dtype, pl.Struct):
        return pl.col(name).struct.json_encode()
    return pl.col(name).cast(pl.String)


def read(con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping | None = None) -> RawTable:
    if path.suffix.lower() not in JSON_SUFFIXES:
        return read_raw(con, path, mapping)
    con.register("zendesk_tickets", _json_frame(path).to_arrow())
    try:
        return read_raw(con, path, mapping, relation_sql="(SELECT * FROM zendesk_tickets)")
    finally:
        con.unregister("zendesk_tickets")


def columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    if path.suffix.lower() in JSON_SUFFIXES:
        return list(_json_frame(path, limit=200).columns)
    return read_csv_columns(con, path)
