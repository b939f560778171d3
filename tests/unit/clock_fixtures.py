"""Small builders for items and events frames in the contract's shape."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

UTC_US = pl.Datetime("us", "UTC")
ITEM_SCHEMA = {
    "source": pl.String, "item_id": pl.String, "kind": pl.String, "process": pl.String, "channel": pl.String,
    "team": pl.String, "priority": pl.String, "agent": pl.String, "status": pl.String, "subject": pl.String,
    "created": UTC_US, "first_response": UTC_US, "resolved": UTC_US, "closed": UTC_US,
}
EVENT_SCHEMA = {"source": pl.String, "item_id": pl.String, "occurred_at": UTC_US, "kind": pl.String, "value": pl.String}


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """An instant in November 2026 (UTC); 23 November 2026 is a Monday."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def item(item_id: str, created: datetime, **fields) -> dict:
    row = {key: None for key in ITEM_SCHEMA}
    row.update(source="test", item_id=item_id, kind="ticket", process="support", channel="email", team="Billing",
               priority="normal", agent="ann", status="open", subject=f"ticket {item_id}", created=created)
    row.update(fields)
    return row


def items_frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ITEM_SCHEMA)


def event(item_id: str, occurred_at: datetime, kind: str = "status", value: str = "") -> dict:
    return {"source": "test", "item_id": item_id, "occurred_at": occurred_at, "kind": kind, "value": value}


def events_frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=EVENT_SCHEMA)
