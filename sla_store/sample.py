"""A seeded generator of realistic exports, and the sample database built from them.

Writes to data/samples/:
- zendesk_tickets.csv: a Zendesk-style ticket export (Id, Via, Group, Priority, Status, Created at, Solved at,
  First reply time in minutes, ...), timestamps in Amsterdam local time with their UTC offset;
- zendesk_ticket_events.csv: the tickets' status changes (new, open, pending / on-hold pauses, solved, closed);
- zendesk_ticket_replies.csv: the conversation on email, web and social tickets - each customer message
  (`customer_reply`) and the agent's answer (`agent_reply`), for the repeating next-reply clock;
- ops_events.csv: an internal-operations event log - leads submitted -> scored -> routed ("Growth Ops",
  process "leads"), a weekly report requested Monday 00:00 and delivered ("BI", process "reporting"),
  two scheduled report streams that deliver every week by Wednesday 17:00, one week missed, some late
  (process "scheduled_reports"), and marketing campaigns launched and then updated every few days, some
  gaps longer than a week (process "campaigns").

Arrivals follow business-hour curves (Europe/Amsterdam) with weekly seasonality, a backlog spike about six
weeks before `now` and slower handling during it; handling times are drawn in business time on the desks'
calendars, so breaches are occasional and spread over teams. Tickets still open at `now` sit at every stage of
their budget, so the live queue shows items on track, past 50% and 75%, and breached.

The draws live in `sla_store.sample_tickets` (tickets, status changes, replies), `sla_store.sample_ops` (the
ops log) and `sla_store.sample_draws` (what both share); this module writes the files and builds the database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import polars as pl

from sla_store.sample_draws import HISTORY_DAYS, ZONE
from sla_store.sample_ops import generate_ops
from sla_store.sample_tickets import VIA, generate_replies, generate_tickets

SAMPLE_CHUNK = 1_000_000  # tickets generated at once


@dataclass
class SampleFiles:
    tickets: Path
    ticket_events: Path
    ops_events: Path
    replies: Path


def _local_text(column: str, fmt: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(ZONE).dt.strftime(fmt)


def write_samples(tickets: int = 20000, seed: int = 42, now: datetime | None = None,
                  samples_dir: Path = Path("data/samples"), days: int = HISTORY_DAYS) -> SampleFiles:
    """Write the three sample exports, `days` days of history up to `now`, and return their paths.

    Tickets are generated and written SAMPLE_CHUNK at a time (the first chunk is what a smaller sample of the
    same seed holds), so memory stays bounded for any count."""
    samples_dir.mkdir(parents=True, exist_ok=True)
    files = SampleFiles(samples_dir / "zendesk_tickets.csv", samples_dir / "zendesk_ticket_events.csv",
                        samples_dir / "ops_events.csv", samples_dir / "zendesk_ticket_replies.csv")
    with files.tickets.open("wb") as ticket_file, files.ticket_events.open("wb") as event_file, \
            files.replies.open("wb") as reply_file:
        for chunk, first in enumerate(range(0, tickets, SAMPLE_CHUNK)):
            count = min(SAMPLE_CHUNK, tickets - first)
            frame, status_events = generate_tickets(count, seed if chunk == 0 else [seed, chunk], now,
                                                    first_id=100_001 + first, days=days)
            write_ticket_csv(frame, ticket_file, header=chunk == 0)
            status_events.select(
                pl.col("item_id").alias("Ticket ID"),
                pl.col("status").replace({"on_hold": "on-hold"}).str.to_titlecase().alias("Status"),
                pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("Changed at"),
            ).write_csv(event_file, include_header=chunk == 0)
            generate_replies(frame, seed if chunk == 0 else [seed, chunk], now).select(
                pl.col("item_id").alias("Ticket ID"),
                pl.col("kind").alias("Event"),
                pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("At"),
            ).write_csv(reply_file, include_header=chunk == 0)
            del frame, status_events
    generate_ops(seed, now, leads=max(60, tickets // 8), days=days).select(
        pl.col("case").alias("Case ID"),
        pl.col("activity").alias("Activity"),
        _local_text("at", "%Y-%m-%d %H:%M:%S").alias("Timestamp"),
        pl.col("team").alias("Team"),
        pl.col("process").alias("Process"),
    ).write_csv(files.ops_events)
    return files


def write_ticket_csv(frame: pl.DataFrame, path: Path | BinaryIO, header: bool = True) -> None:
    """The tickets as a Zendesk CSV export (local times with offsets, calendar minutes to first reply)."""
    stamp = "%Y-%m-%d %H:%M:%S %z"
    frame.select(
        pl.col("item_id").alias("Id"),
        pl.col("subject").alias("Subject"),
        pl.col("status").replace({"on_hold": "on-hold"}).str.to_titlecase().alias("Status"),
        pl.col("priority").str.to_titlecase().alias("Priority"),
        pl.col("channel").replace_strict(VIA, default=None).alias("Via"),
        pl.col("team").alias("Group"),
        pl.col("agent").alias("Assignee"),
        (pl.lit("customer") + pl.col("item_id").str.slice(-3)).alias("Requester"),
        _local_text("created", stamp).alias("Created at"),
        _local_text("updated", stamp).alias("Updated at"),
        _local_text("resolved", stamp).alias("Solved at"),
        ((pl.col("first_response") - pl.col("created")).dt.total_microseconds() / 60e6).round(2)
        .alias("First reply time in minutes"),
    ).write_csv(path, include_header=header)


def build_sample_db(db: str | os.PathLike | None = None, tickets: int = 20000, seed: int = 42,
                    now: datetime | None = None, samples_dir: Path = Path("data/samples"),
                    config: str | os.PathLike | None = None, days: int = HISTORY_DAYS) -> dict:
    """Write the sample exports (`days` days of history), load them into `db` (replacing its contents) and
    compute results."""
    from sla_store import segments
    from sla_store.compute import refresh_results
    from sla_store.db import current_time, write_transaction
    from sla_store.importers import load_mapping
    from sla_store.ingest import load_file, mappings_dir, policy_history_or_none

    now = (now or current_time()).astimezone(UTC).replace(microsecond=0)
    files = write_samples(tickets, seed, now, Path(samples_dir), days)
    folder = mappings_dir(config)
    history = policy_history_or_none(config)
    loads = [(files.tickets, "zendesk.yaml"), (files.ticket_events, "zendesk_status_events.yaml"),
             (files.replies, "zendesk_reply_events.yaml"), (files.ops_events, "events.yaml")]
    summary: dict = {"now": now.isoformat(), "imports": []}
    with write_transaction(db) as con:
        segments.forget_sealed(con)  # a new sample replaces the whole history, sealed part included
        for table in ("results", "results_basis", "not_measured", "data_notes", "source_fields", "rejected_rows",
                      "events", "items", "imports"):
            con.execute(f"DELETE FROM {table}")
        # Same seed, same database: import ids restart too.
        con.execute("DROP SEQUENCE IF EXISTS import_seq")
        con.execute("CREATE SEQUENCE import_seq START 1")
        for path, mapping_file in loads:
            loaded = load_file(con, path, load_mapping(folder / mapping_file))
            summary["imports"].append(loaded.as_dict())
        summary["results"] = refresh_results(con, history, now) if history is not None else None
        summary["items"] = con.sql("SELECT count(*) FROM items").fetchall()[0][0]
        summary["events"] = con.sql("SELECT count(*) FROM events").fetchall()[0][0]
    return summary
