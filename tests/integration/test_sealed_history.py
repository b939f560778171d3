"""Old items move to a sealed file beside the live one; every read and write still sees one database."""

from __future__ import annotations

import random
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sla_store import segments
from sla_store.db import LiveDatabase, connect_read_only, write_transaction
from sla_store.ingest import ingest
from tests.integration.conftest import read_tables
from tests.integration.test_incremental_results import (
    NOW,
    _assert_equals_full_rebuild,
    _batch,
    _import,
    random_writes,
)
from tests.integration.test_incremental_results import config as config  # noqa: F401 (fixture)

# Everything a page or command reads, in a stable order (results without their computation time).
TABLES = {
    "items": "SELECT * FROM items",
    "events": "SELECT * FROM events",
    "results": "SELECT * EXCLUDE (computed_at) FROM results",
    "not_measured": "SELECT * FROM not_measured",
    "daily_rollup": "SELECT * FROM daily_rollup",
    "open_clocks": "SELECT * EXCLUDE (computed_at) FROM open_clocks",
    "dimension_counts": "SELECT * FROM dimension_counts",
    "data_notes": "SELECT * FROM data_notes",
    "event_names": "SELECT * FROM event_names",
}


@pytest.fixture
def sealing(monkeypatch):
    """Seal every item created more than 20 days before NOW, at every write."""
    monkeypatch.setenv("SLA_NOW", NOW.isoformat())
    monkeypatch.setattr(segments, "SEAL_MIN_ITEMS", 1)
    monkeypatch.setattr(segments, "SEAL_AGE_DAYS", 20)


def _snapshot(db: Path) -> dict[str, pl.DataFrame]:
    return read_tables(db, TABLES)


def _live_only(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()[0][0]
    finally:
        con.close()


def _sealed(db: Path) -> list[Path]:
    return segments.sealed_files(db)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_with_sealing_read_exactly_as_without(tmp_path, config, monkeypatch, seed):  # noqa: F811
    plain, sealed = tmp_path / "plain", tmp_path / "sealed"
    plain.mkdir()
    sealed.mkdir()
    plain_config, config = shutil.copytree(config, plain / "config"), shutil.copytree(config, sealed / "config")
    monkeypatch.setenv("SLA_NOW", NOW.isoformat())
    monkeypatch.setattr(segments, "SEAL_AGE_DAYS", 20)
    actions = ("import", "reimport", "events", "events", "commit")
    monkeypatch.setattr(segments, "SEAL_MIN_ITEMS", 10**9)
    list(random_writes(plain, plain / "sla.duckdb", plain_config, random.Random(seed), steps=8, actions=actions))
    monkeypatch.setattr(segments, "SEAL_MIN_ITEMS", 1)
    unsealed = []
    real_unseal = segments.unseal

    def counting_unseal(*args, **kwargs):
        unsealed.append(real_unseal(*args, **kwargs))
        return unsealed[-1]

    monkeypatch.setattr(segments, "unseal", counting_unseal)
    for _ in random_writes(sealed, sealed / "sla.duckdb", config, random.Random(seed), steps=8, actions=actions):
        db = sealed / "sla.duckdb"
        if db.exists() and _sealed(db):
            _assert_equals_full_rebuild(db, config)
    db = sealed / "sla.duckdb"
    assert len(_sealed(db)) == 1  # replaced sealed files are removed
    whole = _snapshot(db)
    assert _live_only(db, "SELECT count(*) FROM items") < whole["items"].height  # some history is sealed
    expected = _snapshot(plain / "sla.duckdb")
    for name in TABLES:
        assert_frame_equal(whole[name], expected[name], check_dtypes=False, check_column_order=False)
    assert not [p for p in sealed.iterdir() if p.name.startswith(".")]  # no private copies left
    assert sum(unsealed)  # later writes changed sealed items


def test_reimporting_a_sealed_ticket_unseals_it_and_hides_its_sealed_rows(tmp_path, config, sealing, monkeypatch):  # noqa: F811
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 120, seed=3)
    _import(tmp_path, db, config, 0, tickets, events)
    old = tickets.filter(pl.col("created") < NOW - timedelta(days=25)).head(3)
    assert old.height == 3 and _sealed(db)
    live_before = _live_only(db, "SELECT count(*) FROM items")
    segments_before = _sealed(db)
    monkeypatch.setattr(segments, "SEAL_MIN_ITEMS", 10)  # three unsealed items are no batch to seal again
    changed, changed_events = _batch(500_000, 120, seed=99)  # the same ticket numbers, other contents
    changed = changed.filter(pl.col("item_id").is_in(old["item_id"].implode()))
    _import(tmp_path, db, config, 1, changed, None)
    # A batch too small to seal again: the sealed file stays, the three items are live and listed as unsealed.
    assert _sealed(db) == segments_before
    assert _live_only(db, "SELECT count(*) FROM unsealed") == 3
    assert _live_only(db, "SELECT count(*) FROM items") == live_before + 3
    con = connect_read_only(db)
    try:
        assert con.sql("SELECT count(*) FROM items WHERE item_id IN (SELECT unnest(?))",
                       params=[old["item_id"].to_list()]).fetchall()[0][0] == 3  # once each, not twice
        stored = con.sql("SELECT item_id, subject FROM items WHERE item_id IN (SELECT unnest(?))",
                         params=[old["item_id"].to_list()]).pl().sort("item_id")
    finally:
        con.close()
    assert stored["subject"].to_list() == changed.sort("item_id")["subject"].to_list()
    _assert_equals_full_rebuild(db, config)


def test_a_failed_write_leaves_the_live_and_sealed_files_as_they_were(tmp_path, config, sealing):  # noqa: F811
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 80, seed=5)
    _import(tmp_path, db, config, 0, tickets, events)
    (sealed_file,) = _sealed(db)
    live_bytes, sealed_bytes = db.read_bytes(), sealed_file.read_bytes()
    with pytest.raises(RuntimeError, match="stop"), write_transaction(db) as con:
        segments.unseal(con, "SELECT source, item_id FROM items")  # touches sealed items, then fails
        raise RuntimeError("stop")
    assert db.read_bytes() == live_bytes and _sealed(db) == [sealed_file]
    assert sealed_file.read_bytes() == sealed_bytes
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_sealed_file_left_by_a_killed_writer_is_removed_by_the_next(tmp_path, config, sealing):  # noqa: F811
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 40, seed=6)
    _import(tmp_path, db, config, 0, tickets, events)
    (named,) = _sealed(db)
    leftover = db.with_name(f"{db.name}.sealed-0123456789ab")
    shutil.copy(named, leftover)
    assert connect_read_only(db).sql("SELECT count(*) FROM items").fetchall()[0][0] == 40  # readers ignore it
    more, _ = _batch(600_000, 5, seed=7)
    _import(tmp_path, db, config, 1, more, None)
    assert not leftover.exists() and len(_sealed(db)) == 1


def test_a_reader_follows_the_pair_across_a_seal(tmp_path, config, sealing):  # noqa: F811
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 60, seed=8)
    _import(tmp_path, db, config, 0, tickets, events)
    live = LiveDatabase(db)
    before = live.cursor().sql("SELECT count(*) FROM items").fetchall()[0][0]
    older, older_events = _batch(700_000, 30, seed=9)
    older = older.with_columns(pl.col("created") - timedelta(days=60))  # old enough to be sealed at once
    _import(tmp_path, db, config, 1, older, None)
    cursor = live.cursor()  # a new cursor sees the new pair (both files) with every view
    assert cursor.sql("SELECT count(*) FROM items").fetchall()[0][0] == before + 30
    assert cursor.sql("SELECT count(*) FROM results WHERE item_id LIKE '7%'").fetchall()[0][0] > 0
    live.close()


def test_a_full_rebuild_judges_the_sealed_items_in_place_and_seals_their_new_results(tmp_path, config, sealing):  # noqa: F811
    from sla_store.compute import refresh_results
    from sla_store.policy_files import load_policy_history

    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 90, seed=10)
    _import(tmp_path, db, config, 0, tickets, events)
    first = _sealed(db)
    before = _snapshot(db)
    with write_transaction(db) as con:
        refresh_results(con, load_policy_history(config), NOW)
    assert len(_sealed(db)) == 1 and _sealed(db) != first
    after = _snapshot(db)
    for name in TABLES:
        assert_frame_equal(after[name], before[name], check_dtypes=False, check_column_order=False)
    assert after["open_clocks"]["subject"].null_count() == 0  # sealed items' subjects, read from the sealed file
    assert _live_only(db, "SELECT count(*) FROM results") < after["results"].height  # sealed results moved back


def test_ingest_into_a_database_without_sealing_makes_no_sealed_file(tmp_path, config, monkeypatch):  # noqa: F811
    monkeypatch.setattr(segments, "SEAL_MIN_ITEMS", 10**9)
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 30, seed=11)
    _import(tmp_path, db, config, 0, tickets, events)
    assert _sealed(db) == []
    summary = ingest(tmp_path / "tickets_0.csv", db=db, format_name="zendesk", config=config, now=NOW)
    assert summary.rows_loaded == 30 and _sealed(db) == []


def test_sla_backup_copies_both_files_and_the_copy_reads_the_same(tmp_path, config, sealing):  # noqa: F811
    from typer.testing import CliRunner

    from sla_store.cli import app

    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 60, seed=12)
    _import(tmp_path, db, config, 0, tickets, events)
    target = tmp_path / "backup" / "copy.duckdb"
    target.parent.mkdir()
    result = CliRunner().invoke(app, ["backup", str(target), "--db", str(db)])
    assert result.exit_code == 0, result.output
    (copied_sealed,) = _sealed(target)
    assert copied_sealed.parent == target.parent and copied_sealed.name.startswith("copy.duckdb.sealed-")
    expected, copied = _snapshot(db), _snapshot(target)
    for name in TABLES:
        assert_frame_equal(copied[name], expected[name])
    again = CliRunner().invoke(app, ["backup", str(target), "--db", str(db)])
    assert again.exit_code == 2 and "already exists" in again.output
    # A later seal of the original removes its own old sealed file, never the copy's.
    older, _ = _batch(700_000, 20, seed=13)
    _import(tmp_path, db, config, 1, older.with_columns(pl.col("created") - timedelta(days=60)), None)
    assert copied_sealed.exists() and _snapshot(target)["items"].height == 60


def test_a_live_file_without_its_sealed_history_is_refused_in_one_line(tmp_path, config, sealing):  # noqa: F811
    from sla_store.db import DatabaseUnusable

    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 30, seed=14)
    _import(tmp_path, db, config, 0, tickets, events)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copyfile(db, moved / "sla.duckdb")  # the live file alone
    with pytest.raises(DatabaseUnusable, match="sealed history file it names is missing"):
        connect_read_only(moved / "sla.duckdb")


def test_a_seal_that_fails_leaves_no_sealed_file_and_the_database_as_it_was(tmp_path, config, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SLA_NOW", NOW.isoformat())
    monkeypatch.setattr(segments, "SEAL_AGE_DAYS", 20)
    monkeypatch.setattr(segments, "SEAL_MIN_ITEMS", 10**9)
    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 50, seed=15)
    _import(tmp_path, db, config, 0, tickets, events)
    before = db.read_bytes()
    monkeypatch.setattr(segments, "SEAL_MIN_ITEMS", 1)
    real_compacted_copy = segments.compacted_copy

    def failing(*args, **kwargs):
        raise duckdb.IOException("disk full while compacting")

    monkeypatch.setattr(segments, "compacted_copy", failing)
    with pytest.raises(Exception, match="disk"):
        with write_transaction(db) as con:
            con.execute("SELECT 1")
    assert db.read_bytes() == before and _sealed(db) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(segments, "compacted_copy", real_compacted_copy)
    with write_transaction(db) as con:
        con.execute("SELECT 1")
    assert len(_sealed(db)) == 1


@pytest.mark.parametrize("where", ["sla_store.compute.refresh_notes", "sla_store.segments._same_columns"])
def test_an_interrupted_write_reports_the_interruption_not_a_cleanup_error(tmp_path, config, sealing, monkeypatch,  # noqa: F811
                                                                           where):
    """Ctrl-C aborts DuckDB's transaction; clean-up statements after it would fail and hide why the write stopped."""
    import importlib

    db = tmp_path / "sla.duckdb"
    tickets, events = _batch(500_000, 40, seed=16)
    _import(tmp_path, db, config, 0, tickets, events)
    before = db.read_bytes()

    def interrupted(con, *args, **kwargs):
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM no_such_table")  # leaves the transaction aborted, as an interrupt does
        raise RuntimeError("Query interrupted")

    module, name = where.rsplit(".", 1)
    monkeypatch.setattr(importlib.import_module(module), name, interrupted)
    again, _ = _batch(500_000, 40, seed=17)  # the same (sealed) tickets changed: unsealed, then re-judged
    with pytest.raises(RuntimeError, match="Query interrupted"):
        _import(tmp_path, db, config, 1, again, None)
    assert db.read_bytes() == before
