"""The write-then-swap store: failed writes change nothing, readers see new data after a swap."""

import duckdb
import pytest

from sla_store.db import LiveDatabase, connect_read_only, copy_database_file, file_identity, write_transaction


def _count(path) -> int:
    con = connect_read_only(path)
    try:
        return con.sql("SELECT count(*) FROM imports").fetchall()[0][0]
    finally:
        con.close()


def _add_import(con, import_id: int) -> None:
    con.execute(
        "INSERT INTO imports VALUES (?, 'f.csv', 'abc', 'csv', NULL, 1, 1, 0, now())", [import_id]
    )


def test_a_failed_write_leaves_the_live_file_unchanged(tmp_path):
    db = tmp_path / "sla.duckdb"
    with write_transaction(db) as con:
        _add_import(con, 1)
    before = db.read_bytes()
    with pytest.raises(RuntimeError), write_transaction(db) as con:
        _add_import(con, 2)
        raise RuntimeError("importer failed half-way")
    assert db.read_bytes() == before
    assert _count(db) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["sla.duckdb"]


def test_a_reader_keeps_working_while_a_writer_swaps_and_then_sees_the_new_data(tmp_path):
    db = tmp_path / "sla.duckdb"
    with write_transaction(db) as con:
        _add_import(con, 1)
    live = LiveDatabase(db)
    old_cursor = live.cursor()
    identity = file_identity(db)
    with write_transaction(db) as con:
        _add_import(con, 2)
        assert old_cursor.sql("SELECT count(*) FROM imports").fetchall()[0][0] == 1
    assert old_cursor.sql("SELECT count(*) FROM imports").fetchall()[0][0] == 1
    assert file_identity(db) != identity
    assert live.cursor().sql("SELECT count(*) FROM imports").fetchall()[0][0] == 2
    live.close()


def test_reading_a_missing_database_says_how_to_create_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="sla sample"):
        connect_read_only(tmp_path / "none.duckdb")


def test_the_live_file_is_never_locked_by_a_writer(tmp_path):
    db = tmp_path / "sla.duckdb"
    with write_transaction(db) as con:
        _add_import(con, 1)
    with write_transaction(db) as con:
        # Another process may open the live file read-only while this write is under way.
        other = duckdb.connect(str(db), read_only=True)
        assert other.sql("SELECT count(*) FROM imports").fetchall()[0][0] == 1
        other.close()
        _add_import(con, 2)
    assert _count(db) == 2


def test_two_writers_at_once_both_land(tmp_path):
    import threading

    db = tmp_path / "sla.duckdb"
    with write_transaction(db) as con:
        _add_import(con, 1)
    first_inside = threading.Event()
    release_first = threading.Event()

    def slow_writer():
        with write_transaction(db) as con:
            _add_import(con, 2)
            first_inside.set()
            release_first.wait(timeout=10)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert first_inside.wait(timeout=10)
    second = threading.Thread(target=lambda: _write_one(db, 3))
    second.start()
    release_first.set()
    thread.join(timeout=20)
    second.join(timeout=20)
    ids = connect_read_only(db).sql("SELECT import_id FROM imports ORDER BY 1").fetchall()
    assert [row[0] for row in ids] == [1, 2, 3]


def _write_one(db, import_id: int) -> None:
    with write_transaction(db) as con:
        _add_import(con, import_id)


def test_a_writers_private_copy_is_byte_identical_and_never_overwrites_a_file(tmp_path):
    live = tmp_path / "live.duckdb"
    with write_transaction(live) as con:
        con.execute("CREATE TABLE t AS SELECT range AS n FROM range(50000)")
    copy = tmp_path / "copy.duckdb"
    how = copy_database_file(live, copy)
    assert how in ("clone", "copy")
    assert copy.read_bytes() == live.read_bytes()
    with pytest.raises(FileExistsError):
        copy_database_file(live, copy)


def test_folders_a_killed_writer_left_beside_the_live_file_are_removed_by_the_next_writer(tmp_path):
    live = tmp_path / "live.duckdb"
    with write_transaction(live) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS n")
    spill = tmp_path / ".live.duckdb.abc123.tmp.tmp"  # DuckDB's spill folder of a private copy
    parts = tmp_path / ".live.duckdb.abc123.tmp.xyz.parts.tmp" / "events" / "part=0"  # a rebuild's partitions
    for folder in (spill, parts):
        folder.mkdir(parents=True)
        (folder / "data_0.parquet").write_bytes(b"left behind")
    with write_transaction(live) as con:
        con.execute("INSERT INTO t VALUES (2)")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["live.duckdb"]
    assert connect_read_only(live).sql("SELECT count(*) FROM t").fetchall() == [(2,)]
