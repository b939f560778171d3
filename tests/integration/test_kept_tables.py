"""The daily rollup and the open clocks the store keeps (sla_store.rollup) always equal what the results table
gives when they are computed from it again, after any sequence of writes."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sla_store import rollup
from sla_store.db import connect_read_only, write_transaction
from sla_store.ingest import ingest
from sla_store.queries import open_clocks_sql, open_results_sql
from tests.integration.test_incremental_results import NOW, _batch, _import, random_writes
from tests.integration.test_incremental_results import config as config  # noqa: F401  (the fixture)

OPS_LOG = ("Case ID,Activity,Timestamp,Team,Process\n"
           "RPT-1,opened,2026-10-05 09:00,BI,scheduled_reports\n"
           "RPT-1,delivered,2026-10-07 10:00,BI,scheduled_reports\n"
           "LEAD-1,form_submitted,2026-11-20 09:00,Sales,leads\n")


def _assert_kept_tables_match_the_results(db: Path) -> None:
    con = connect_read_only(db)
    try:
        assert rollup.kept(con)
        keys = list(rollup.ROLLUP_KEYS)
        kept = con.sql(f"SELECT * FROM {rollup.ROLLUP_TABLE}").pl().sort(keys, nulls_last=True)
        fresh = con.sql(rollup.rollup_sql()[0]).pl().sort(keys, nulls_last=True)
        assert kept.height == fresh.height
        assert_frame_equal(kept, fresh.select(kept.columns), check_dtypes=False)
        dims = rollup.dimension_columns(con)
        counted = con.sql(f"SELECT * FROM {rollup.DIMENSION_TABLE}").pl().sort("name", "kind", "value")
        fresh_counts = con.sql(rollup._dimension_counts_sql("results", dims)).pl().sort("name", "kind", "value")
        assert_frame_equal(counted, fresh_counts.select(counted.columns), check_dtypes=False)
        sql, params = open_clocks_sql(None, kind=None)
        stored = con.sql(sql, params=params).pl()
        sql, params = open_results_sql(None, kind=None)
        scanned = con.sql(sql, params=params).pl()
    finally:
        con.close()
    order = ["source", "item_id", "metric", "instance"]
    assert stored.height == scanned.height
    assert_frame_equal(stored.sort(order), scanned.select(stored.columns).sort(order), check_dtypes=False)


@pytest.mark.parametrize(("seed", "returned_items"), [(4, 200_000), (5, 200_000), (6, 0)])
def test_kept_rollup_and_open_clocks_follow_every_write(tmp_path, config, seed, returned_items,  # noqa: F811
                                                        monkeypatch):
    """(returned_items 0: every write counts what it deletes in DuckDB, as for a commit reaching far back.)"""
    monkeypatch.setattr(rollup, "RETURNED_ITEMS", returned_items)
    rng = random.Random(seed)
    db = tmp_path / "sla.duckdb"
    (log := tmp_path / "ops.csv").write_text(OPS_LOG)
    ingest(log, db=db, mapping=config / "mappings" / "events.yaml", config=config, now=NOW)
    _assert_kept_tables_match_the_results(db)
    for _ in random_writes(tmp_path, db, config, rng, steps=6, actions=("import", "reimport", "events", "commit"),
                           events_share=None):
        _assert_kept_tables_match_the_results(db)


def test_a_database_written_before_the_tables_were_kept_fills_them_at_its_next_write(tmp_path, config):  # noqa: F811
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 80, seed=12)
    _import(tmp_path, db, config, 0, tickets, events)
    with write_transaction(db) as con:
        con.execute(f"DROP TABLE {rollup.ROLLUP_TABLE}")
        con.execute(f"DROP TABLE {rollup.OPEN_TABLE}")
    assert not rollup.kept(connect_read_only(db))
    more, more_events = _batch(600_000, 10, seed=13)
    _import(tmp_path, db, config, 1, more, more_events)
    _assert_kept_tables_match_the_results(db)


def test_a_rebuild_in_small_partitions_keeps_the_same_tables(tmp_path, config, monkeypatch):  # noqa: F811
    from sla_store import compute
    from sla_store.policy_files import load_policy_history

    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 90, seed=14)
    _import(tmp_path, db, config, 0, tickets, events)
    monkeypatch.setattr(compute, "PARTITION_ITEMS", 11)
    with write_transaction(db) as con:
        compute.refresh_results(con, load_policy_history(config), NOW)
    _assert_kept_tables_match_the_results(db)


def test_dimension_value_counts_follow_imports_and_reimports(tmp_path):
    """A policy with dimensions: the sidebar's value lists come from counts the writes keep."""
    import shutil

    from tests.integration.conftest import FIXTURES, MAPPINGS

    config = tmp_path / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(
        "version: 1\neffective_from: 2016-01-01\ndimensions: [impact, urgency]\ncalendars: {always: 24/7}\n"
        "metrics:\n  resolution: {start: created, stop: [resolved, closed]}\n"
        "targets:\n  - {metric: resolution, within: 5d, calendar: always}\n")
    db = tmp_path / "sla.duckdb"
    log = FIXTURES / "servicenow_incident_event_log_subset.csv"
    ingest(log, db=db, mapping=MAPPINGS / "servicenow_events.yaml", config=config, now=NOW)
    _assert_kept_tables_match_the_results(db)
    counted = connect_read_only(db).sql(f"SELECT count(*) FROM {rollup.DIMENSION_TABLE}").fetchall()[0][0]
    assert counted >= 6  # impact and urgency, three values each
    # The same log again with one incident's impact changed: its old value's count drops, the new one's grows.
    lines = log.read_text().splitlines(keepends=True)
    changed = tmp_path / "changed.csv"
    changed.write_text("".join(lines[:1] + [line.replace("1 - High", "3 - Low") for line in lines[1:40]]))
    shutil.copy(changed, tmp_path / "again.csv")
    ingest(tmp_path / "again.csv", db=db, mapping=MAPPINGS / "servicenow_events.yaml", config=config, now=NOW)
    _assert_kept_tables_match_the_results(db)


def test_a_solved_or_closed_item_leaves_the_live_queue_but_keeps_its_verdict(tmp_path, config):  # noqa: F811
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(700_000, 300, seed=21)
    done = tickets["resolved"].is_not_null() & (tickets["created"] < NOW - timedelta(days=20))
    assert done.sum() > 20
    # Solved without any reply: the first-response clock never stopped.
    tickets = tickets.with_columns(first_response=pl.when(done).then(None).otherwise(pl.col("first_response")))
    _import(tmp_path, db, config, 0, tickets, events)
    solved = set(tickets.filter(done)["item_id"].to_list())
    con = connect_read_only(db)
    try:
        unanswered = con.sql("SELECT item_id, met FROM results WHERE metric = 'first_response' AND stop IS NULL "
                             "AND source = 'zendesk'").pl()
        queues = [con.sql(sql, params=params).pl() for sql, params in (open_clocks_sql(None, kind=None),
                                                                        open_results_sql(None, kind=None))]
    finally:
        con.close()
    judged = unanswered.filter(pl.col("item_id").is_in(list(solved)))
    assert judged.height == len(solved) and judged["met"].to_list() == [False] * judged.height  # still breached
    for queue in queues:
        assert not solved & set(queue["item_id"].to_list())  # but no longer work to do
        assert queue.height > 0  # the open tickets are still there
    _assert_kept_tables_match_the_results(db)
