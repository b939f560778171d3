"""What an import keeps up to date without reading the whole history - results, not-measured rows, data notes,
the basis and the summary of event names - equals what a full rebuild of the same database stores."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sla_store import segments
from sla_store.compute import refresh_results
from sla_store.coverage import event_names
from sla_store.db import connect_read_only, copy_database, write_transaction
from sla_store.ingest import ingest
from sla_store.policy_files import load_policy_history
from sla_store.sample import generate_replies, generate_tickets, write_ticket_csv
from tests.integration.conftest import FIXTURES, read_tables

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
STATE = {
    "results": "SELECT * FROM results",
    "not_measured": "SELECT * FROM not_measured",
    "data_notes": "SELECT * FROM data_notes",
    "results_basis": "SELECT basis FROM results_basis",
}


@pytest.fixture
def config(tmp_path):
    root = tmp_path / "config"
    shutil.copytree(REPO / "config" / "mappings", root / "mappings")
    shutil.copy(REPO / "config" / "sla.yaml", root / "sla.yaml")
    # A source no target matches (its notes say so): an archive's event log.
    (root / "mappings" / "archive.yaml").write_text(
        (root / "mappings" / "events.yaml").read_text().replace("source: ops", "source: archive"))
    return root


def _batch(first_id: int, count: int, seed: int):
    tickets, events = generate_tickets(count, seed=seed, now=NOW)
    renumber = (pl.col("item_id").cast(pl.Int64) + first_id - 100_001).cast(pl.String)
    tickets, events = tickets.with_columns(renumber), events.with_columns(renumber)
    return tickets, events, generate_replies(tickets, seed, NOW)


def _ingest_frame(frame: pl.DataFrame, path: Path, db: Path, config: Path, mapping: str) -> None:
    frame.write_csv(path)
    ingest(path, db=db, mapping=config / "mappings" / mapping, config=config, now=NOW)


def _status_events(events: pl.DataFrame) -> pl.DataFrame:
    return events.select(
        pl.col("item_id").alias("Ticket ID"),
        pl.col("status").replace({"on_hold": "on-hold"}).str.to_titlecase().alias("Status"),
        pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("Changed at"))


def _replies(replies: pl.DataFrame) -> pl.DataFrame:
    return replies.select(pl.col("item_id").alias("Ticket ID"), pl.col("kind").alias("Event"),
                          pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("At"))


def _state(db: Path) -> dict[str, pl.DataFrame]:
    return read_tables(db, STATE)


def _assert_equals_a_full_rebuild(db: Path, config: Path, tmp_path: Path) -> None:
    rebuilt = tmp_path / "rebuilt.duckdb"
    copy_database(db, rebuilt)
    with write_transaction(rebuilt) as con:
        refresh_results(con, load_policy_history(config), NOW)
    kept, expected = _state(db), _state(rebuilt)
    for name in STATE:
        assert_frame_equal(kept[name], expected[name], check_row_order=False), name
    con = connect_read_only(db)
    try:
        summary = con.sql("SELECT source, name, events FROM event_names").fetchall()
        scanned = set(con.sql("SELECT DISTINCT source, kind FROM events UNION "
                              "SELECT DISTINCT source, value FROM events WHERE kind = 'status'").fetchall())
        stored = con.sql("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        con.close()
    assert {(source, name) for source, name, _ in summary} == scanned
    assert {events for _, _, events in summary} <= {stored}
    rebuilt.unlink()


@pytest.mark.parametrize("seed", [4, 5])
def test_random_imports_keep_the_same_state_as_a_full_rebuild(tmp_path, config, seed):
    rng = random.Random(seed)
    db = tmp_path / "sla.duckdb"
    batches: list[tuple[int, int, int]] = []
    next_id = 700_000
    steps = ["tickets", "status", "nyc311", "replies", "ops", "reimport", "status", "tickets", "replies",
             "archive", "archive"]
    rng.shuffle(steps)
    for step, action in enumerate(["tickets", *steps]):
        path = tmp_path / f"step_{step}.csv"
        if action == "tickets" or (not batches and action in ("status", "replies", "reimport")):
            count, batch_seed = rng.randint(20, 80), rng.randrange(10_000)
            tickets, _, _ = _batch(next_id, count, batch_seed)
            write_ticket_csv(tickets, path)
            ingest(path, db=db, format_name="zendesk", config=config, now=NOW)
            batches.append((next_id, count, batch_seed))
            next_id += count
        elif action in ("status", "replies", "reimport"):
            first, count, batch_seed = rng.choice(batches)
            tickets, events, replies = _batch(first, count, batch_seed if action != "reimport" else batch_seed + 1)
            if action == "status":
                _ingest_frame(_status_events(events), path, db, config, "zendesk_status_events.yaml")
            elif action == "replies":
                _ingest_frame(_replies(replies), path, db, config, "zendesk_reply_events.yaml")
            else:
                write_ticket_csv(tickets[rng.sample(range(count), k=max(1, count // 2))], path)
                ingest(path, db=db, format_name="zendesk", config=config, now=NOW)
        elif action == "nyc311":
            ingest(FIXTURES / "nyc311_2022-05-01_sample.csv", db=db, mapping=config / "mappings" / "nyc311.yaml",
                   config=config, now=NOW)
        else:
            process, mapping = ("leads", "events.yaml") if action == "ops" else ("archive", "archive.yaml")
            path.write_text("Case ID,Activity,Timestamp,Team,Process\n"
                            f"LD-{step},submitted,2026-11-02 09:00,Sales,{process}\n"
                            f"LD-{step},scored,2026-11-02 09:20,Sales,{process}\n")
            ingest(path, db=db, mapping=config / "mappings" / mapping, config=config, now=NOW)
        _assert_equals_a_full_rebuild(db, config, tmp_path)


def test_events_written_around_the_importers_are_read_from_the_events_themselves(tmp_path, config):
    db = tmp_path / "sla.duckdb"
    tickets, events, _ = _batch(700_000, 30, seed=6)
    write_ticket_csv(tickets, tmp_path / "tickets.csv")
    ingest(tmp_path / "tickets.csv", db=db, format_name="zendesk", config=config, now=NOW)
    _ingest_frame(_status_events(events), tmp_path / "status.csv", db, config, "zendesk_status_events.yaml")
    with write_transaction(db) as con:
        con.execute("INSERT INTO events VALUES ('zendesk', '700001', ?, 'escalated', '', NULL)", [NOW])
    con = connect_read_only(db)
    try:
        assert ("zendesk", "escalated") in event_names(con)  # the summary no longer describes every event
    finally:
        con.close()
    with write_transaction(db) as con:
        names = event_names(con)
        assert ("zendesk", "escalated") in names
        assert con.sql("SELECT count(*) FROM event_names WHERE name = 'escalated'").fetchall() == [(1,)]
        assert con.sql("SELECT DISTINCT events FROM event_names").fetchall() == [(segments.event_count(con),)]


def test_events_are_stored_in_item_order_whatever_the_file_order(tmp_path, config):
    """Reading one item's events skips other items' row groups only when each holds a narrow range of items."""
    db = tmp_path / "sla.duckdb"
    tickets, events, _ = _batch(700_000, 60, seed=7)
    write_ticket_csv(tickets, tmp_path / "tickets.csv")
    ingest(tmp_path / "tickets.csv", db=db, format_name="zendesk", config=config, now=NOW)
    _ingest_frame(_status_events(events.sample(fraction=1.0, shuffle=True, seed=1)), tmp_path / "status.csv", db,
                  config, "zendesk_status_events.yaml")
    con = connect_read_only(db)
    try:
        stored = con.sql("SELECT item_id, occurred_at FROM events ORDER BY rowid").fetchall()
    finally:
        con.close()
    assert len(stored) == events.unique(["item_id", "at", "status"]).height
    assert stored == sorted(stored)
