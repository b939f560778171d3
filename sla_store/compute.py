"""Computed results: every item x metric judged by the policy version in force, rebuilt from raw data."""

from __future__ import annotations

from datetime import datetime

import duckdb

ITEM_FIELDS = ("source, item_id, kind, process, channel, team, priority, agent, status, subject, created, "
               "first_response, resolved, closed")


def refresh_results(con: duckdb.DuckDBPyConnection, history, now: datetime) -> int:
    """Rebuild the results table from items + events with `history` (a Policy or PolicyHistory) at `now`.

    Runs on the caller's (write-transaction) connection, so data and results change together.
    Returns the number of result rows.
    """
    from sla_core.clocks import evaluate  # the core may be absent while only raw data is loaded

    items = con.sql(f"SELECT {ITEM_FIELDS} FROM items").pl()  # row order is irrelevant to the clocks
    events = con.sql(
        "SELECT source, item_id, occurred_at, kind, value FROM events ORDER BY source, item_id, occurred_at"
    ).pl()
    results = evaluate(items, events, history, now)
    con.execute("DELETE FROM results")
    if results.height:
        con.register("computed_results", results.to_arrow())
        try:
            con.execute(
                "INSERT INTO results BY NAME SELECT *, ?::TIMESTAMPTZ AS computed_at FROM computed_results",
                [now],
            )
        finally:
            con.unregister("computed_results")
    return results.height
