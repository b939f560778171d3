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

from sla_store.importers.errors import FileUnreadable
from sla_store.importers.mapping import Mapping
from sla_store.importers.reading import RawTable, read_raw
from sla_store.importers.reading import read_columns as read_csv_columns

FORMAT = "zendesk"
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


# Deeper JSON is not a ticket export (and Python's parser would exhaust its recursion on it).
MAX_JSON_DEPTH = 32


def _json_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM) or UTF-16/32 as JSON allows; anything else is refused."""
    data = path.read_bytes()
    encoding = json.detect_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileUnreadable(f"{path}: not {encoding.upper()} text (byte 0x{data[exc.start]:02x} at offset "
                            f"{exc.start}); JSON exports must be UTF-8: save the file as UTF-8") from None


def _json_records(path: Path) -> list:
    text = _json_text(path)
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
        raise FileUnreadable(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise FileUnreadable(f"{path}: nested deeper than {MAX_JSON_DEPTH} levels; not a ticket export") from None
    if not isinstance(records, list):
        raise FileUnreadable(f"{path}: expected a list of tickets or {{\"tickets\": [...]}}")
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise FileUnreadable(f"{path}: record {number} is {type(record).__name__} {json.dumps(record)[:40]}, "
                                "not an object; expected a list of tickets or {\"tickets\": [...]}")
    return records


def _cell(value) -> str | None:
    """A JSON value as the text a CSV cell would hold, whatever its type (types may differ between records)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return ", ".join(text for v in value if (text := _cell(v)) is not None)
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _flatten(record: dict, into: dict, prefix: str = "", depth: int = 1) -> dict:
    """Nested objects become dotted names (`via.channel`); lists and scalars become text."""
    if depth > MAX_JSON_DEPTH:
        raise RecursionError
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, into, f"{name}.", depth + 1)
        else:
            into[name] = _cell(value)
    return into


def _json_frame(path: Path, limit: int | None = None) -> pl.DataFrame:
    records = _json_records(path)
    try:
        rows = [_flatten(record, {}) for record in (records[:limit] if limit else records)]
    except RecursionError:
        raise FileUnreadable(f"{path}: nested deeper than {MAX_JSON_DEPTH} levels; not a ticket export") from None
    columns = list(dict.fromkeys(name for row in rows for name in row))
    frame = pl.from_dicts(rows, schema=dict.fromkeys(columns, pl.String)) if columns else pl.DataFrame()
    if {"metric", "type"} <= set(frame.columns):
        # Ticket metric events: "reply_time" + "fulfill" -> milestone "reply_time_fulfill".
        frame = frame.with_columns(event=pl.col("metric") + "_" + pl.col("type"))
    return frame


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
