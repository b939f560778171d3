"""Sealed history: old items live in a second DuckDB file that writers never copy.

A writer changes a private copy of the live file and swaps it in (sla_store.db), so a write used to cost a
copy of the whole history. Items created more than `SEAL_AGE_DAYS` ago - with their events, results and
not-measured rows - are moved to a sealed file beside the live one (`<live>.sealed-<token>`); the live file
keeps the recent items and everything else (policy, imports, rollups, open clocks) and names the sealed file
it goes with (`sealed_history`). A write then copies the small live file only, and its keyed reads and deletes
scan the live rows only.

- Readers attach both files read-only and see each big table as one view (`union_sql`), so every query reads
  the whole history as before.
- A write that touches a sealed item (a re-import of an old ticket, events added to it, a policy commit
  reaching back) first copies that item's rows into the live file (`unseal`) and lists it in `unsealed`:
  its sealed rows are hidden from then on. The sealed file is never changed in place.
- A write that finds at least `SEAL_MIN_ITEMS` items old enough in the live file seals them (`seal`): a new
  sealed file = the old one (a clone or copy) + those items - the unsealed ones, and a compacted live file.
  The swap of the live file is the one step that makes both visible, so a failed or killed write leaves the
  pair as it was; sealed files no live file names are removed by the next writer.
- Items carrying scheduled or between metrics stay live: each write judges them again (time alone adds
  their instances).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from sla_store.sql import ident, literal

SEAL_AGE_DAYS = float(os.environ.get("SLA_SEAL_AGE_DAYS", "90"))
SEAL_MIN_ITEMS = int(os.environ.get("SLA_SEAL_MIN_ITEMS", "200000"))
# DuckDB's buffer while sealing: moving a long history out at once (the first seal of a large database) joins
# on every moved item's key; below ~3GB that hash table does not fit for 10M items.
SEAL_MEMORY = os.environ.get("SLA_SEAL_MEMORY", "3GB")
BIG_TABLES = ("items", "events", "results", "not_measured")
LIVE = "live"  # the live file (a writer's private copy of it) as writers and readers attach it
SEALED = "sealed"
SEALING = "sealing"  # the new sealed file while a write builds it
KEYS = "source, item_id"


def sealed_files(live: Path) -> list[Path]:
    """Sealed files beside `live` (the one it names, and any a failed writer left)."""
    from sla_store.db import glob_escape

    return sorted(live.parent.glob(f"{glob_escape(live.name)}.sealed-*"))


def _new_sealed_name(live: Path) -> Path:
    return live.with_name(f"{live.name}.sealed-{uuid.uuid4().hex[:12]}")


def named_file(con: duckdb.DuckDBPyConnection, database: str | None = LIVE) -> str | None:
    """The sealed file's name (in the live file's folder) that `database` (None: the connection's own file)
    goes with, if any."""
    table = f"{ident(database)}.main.sealed_history" if database else "sealed_history"
    try:
        rows = con.sql(f"SELECT file FROM {table}").fetchall()
    except duckdb.CatalogException:  # a file written before sealed history existed
        return None
    return rows[0][0] if rows else None


def attached(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.sql("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?",
                        params=[SEALED]).fetchall()[0][0])


def attach_sealed(con: duckdb.DuckDBPyConnection, live: Path) -> bool:
    """Attach (read-only, as `sealed`) the sealed file the attached live file names; whether there is one."""
    name = named_file(con)
    if name is None:
        return False
    path = live.parent / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the sealed history this database names is missing")
    con.execute(f"ATTACH {literal(str(path))} AS {SEALED} (READ_ONLY)")
    return True


JUDGED = ("results", "not_measured")  # rebuilt by a full rebuild; items and events are raw data


def union_sql(table: str, hide_unsealed: bool = True, judged_void: bool = False) -> str:
    """The whole `table` (one of BIG_TABLES): the live rows and the sealed rows of items not unsealed (none of
    the sealed results while a full rebuild writes them all again, `judged_void`)."""
    if judged_void and table in JUDGED:
        return f"SELECT * FROM {LIVE}.main.{table}"
    sealed = f"SELECT * FROM {SEALED}.main.{table}"
    if hide_unsealed:
        sealed = f"SELECT h.* FROM {SEALED}.main.{table} h ANTI JOIN {LIVE}.main.unsealed u USING ({KEYS})"
    return f"SELECT * FROM {LIVE}.main.{table} UNION ALL BY NAME {sealed}"


def whole(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """SQL naming the whole `table` on a write connection: the live table alone, or with its sealed rows."""
    if not attached(con):
        return table
    return f"({union_sql(table, judged_void=judged_void(con))})"


def judged_void(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a full rebuild in this write made the sealed results void (their new ones are in the live copy
    until the write's seal moves them)."""
    rows = con.sql(f"SELECT bool_or(results_void) FROM {LIVE}.main.sealed_history").fetchall()
    return bool(rows[0][0])


def judged_items(con: duckdb.DuckDBPyConnection) -> str:
    """The items whose results this write inserts: live ones (re-judged items are unsealed first), or all of
    them during a full rebuild of a sealed database."""
    return whole(con, "items") if attached(con) and judged_void(con) else "items"


def void_judged(con: duckdb.DuckDBPyConnection) -> None:
    """Before a full rebuild: the sealed results and not-measured rows stop counting; items and events stay
    sealed and are read from there. The write's seal replaces the sealed results with the new ones."""
    if attached(con):
        con.execute(f"UPDATE {LIVE}.main.sealed_history SET results_void = true")


def create_reader_views(con: duckdb.DuckDBPyConnection) -> None:
    """On a reader's in-memory database with both files attached: one view per live table, the big ones over
    both files, so queries read unqualified names as on a single file."""
    hide = bool(con.sql(f"SELECT count(*) FROM {LIVE}.main.unsealed").fetchall()[0][0])
    void = judged_void(con)
    tables = [row[0] for row in con.sql(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'",
        params=[LIVE]).fetchall()]
    for table in tables:
        body = (union_sql(table, hide, void) if table in BIG_TABLES
                else f"SELECT * FROM {LIVE}.main.{ident(table)}")
        con.execute(f"CREATE VIEW {ident(table)} AS {body}")


def event_count(con: duckdb.DuckDBPyConnection) -> int:
    """How many events the database holds (live + sealed - hidden), without scanning the sealed events."""
    if not attached(con):
        return con.sql("SELECT count(*) FROM events").fetchall()[0][0]
    return con.sql(f"""SELECT (SELECT count(*) FROM {LIVE}.main.events)
                              + (SELECT coalesce(sum(events), 0) FROM {LIVE}.main.sealed_history)
                              - (SELECT coalesce(sum(events), 0) FROM {LIVE}.main.unsealed)""").fetchall()[0][0]


def _same_columns(con: duckdb.DuckDBPyConnection, table: str, source: str, target: str) -> None:
    """Give `target`.table every column `source`.table has (policy dimensions are added to results over time)."""
    def columns(database: str) -> dict[str, str]:
        return dict(con.sql("SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
                            "AND table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                            params=[database, table]).fetchall())
    have = columns(target)
    for name, data_type in columns(source).items():
        if name not in have:
            con.execute(f"ALTER TABLE {ident(target)}.main.{table} ADD COLUMN {ident(name)} {data_type}")


def unseal(con: duckdb.DuckDBPyConnection, keys_sql: str, params: list | dict | None = None) -> int:
    """Before a write changes the items `keys_sql` selects (source, item_id): copy the sealed ones' rows into
    the live file and hide their sealed rows. Returns how many items were unsealed."""
    if not attached(con):
        return 0
    # The sealed items are the probe side: the few keys' range prunes their row groups.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE unseal_keys AS
                    SELECT h.source, h.item_id FROM {SEALED}.main.items h
                    SEMI JOIN (SELECT DISTINCT source, item_id FROM ({keys_sql})) k USING ({KEYS})
                    ANTI JOIN {LIVE}.main.unsealed u USING ({KEYS})""", params)
    count = con.sql("SELECT count(*) FROM unseal_keys").fetchall()[0][0]
    if count:
        for table in BIG_TABLES:
            _same_columns(con, table, SEALED, LIVE)
            con.execute(f"INSERT INTO {LIVE}.main.{table} BY NAME SELECT h.* FROM {SEALED}.main.{table} h "
                        f"SEMI JOIN unseal_keys k USING ({KEYS})")
        con.execute(f"""INSERT INTO {LIVE}.main.unsealed
                        SELECT k.source, k.item_id, count(e.item_id) FROM unseal_keys k
                        LEFT JOIN {SEALED}.main.events e USING ({KEYS}) GROUP BY ALL""")
    # Cleaned up on success only (here and below): after a failure the transaction is aborted, a statement
    # would replace the real error (Ctrl-C's included), and the caller discards the connection and its copy.
    con.execute("DROP TABLE unseal_keys")
    return count


def forget_sealed(con: duckdb.DuckDBPyConnection) -> None:
    """The write replaces every row: the live file stops naming the sealed file (removed after the swap)."""
    if attached(con):
        con.execute(f"DELETE FROM {LIVE}.main.unsealed")
        con.execute(f"DELETE FROM {LIVE}.main.sealed_history")
        con.execute(f"DETACH {SEALED}")


def set_periodic_metrics(con: duckdb.DuckDBPyConnection, metrics: list[str]) -> None:
    """Record the metrics whose items stay live (their instances multiply with time alone)."""
    stored = sorted(row[0] for row in con.sql("SELECT metric FROM periodic_metrics").fetchall())
    if stored != sorted(metrics):
        con.execute("DELETE FROM periodic_metrics")
        con.executemany("INSERT INTO periodic_metrics VALUES (?)", [[m] for m in metrics])


@dataclass(frozen=True)
class Sealed:
    """What a seal moved: the new sealed file and the one it replaces (removed once the live file is in)."""
    new_file: Path
    old_file: Path | None
    items: int


def _sealable_sql(cutoff: datetime) -> tuple[str, list]:
    return (f"""SELECT source, item_id FROM {LIVE}.main.items WHERE created < ?
                AND (source, item_id) NOT IN (SELECT source, item_id FROM {LIVE}.main.results
                                              WHERE metric IN (SELECT metric FROM {LIVE}.main.periodic_metrics))""",
            [cutoff])


def seal_due(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """How many live items are old enough to seal (0 below the threshold: sealing waits for a batch; and
    always a seal after a full rebuild of a sealed database, to move the sealed items' new results)."""
    if attached(con) and judged_void(con):
        return 1
    sql, params = _sealable_sql(now - timedelta(days=SEAL_AGE_DAYS))
    count = con.sql(f"SELECT count(*) FROM ({sql})", params=params).fetchall()[0][0]
    return count if count >= max(1, SEAL_MIN_ITEMS) else 0


def seal(con: duckdb.DuckDBPyConnection, live: Path, now: datetime) -> Sealed:
    """Move the items old enough (and their rows) from the attached live copy into a new sealed file.

    Runs after the write's own transaction committed, in three transactions on private files: the new sealed
    file is filled and checkpointed, then the live copy drops the moved rows and names the new file. Neither
    is visible until the caller swaps the live copy in."""
    from sla_store.db import copy_database_file

    cutoff = now - timedelta(days=SEAL_AGE_DAYS)
    old_name = named_file(con)
    old_file = live.parent / old_name if old_name else None
    new_file = _new_sealed_name(live)
    memory = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    con.execute(f"SET memory_limit = '{SEAL_MEMORY}'")
    try:
        if old_file is not None:
            copy_database_file(old_file, new_file)
        moved = _move_sealable(con, new_file, cutoff, now)
    except BaseException:
        new_file.unlink(missing_ok=True)  # the live copy is discarded by the caller; nothing names this file
        raise
    con.execute(f"SET memory_limit = '{memory}'")
    return Sealed(new_file=new_file, old_file=old_file, items=moved)


def _move_sealable(con: duckdb.DuckDBPyConnection, new_file: Path, cutoff: datetime, now: datetime) -> int:
    """Fill `new_file` with the sealable items' rows (and drop the unsealed ones' old rows), then remove them from
    the live copy and name the new file there. Returns how many items moved."""
    sql, params = _sealable_sql(cutoff)
    void = attached(con) and judged_void(con)
    con.execute(f"CREATE OR REPLACE TABLE {LIVE}.main.seal_keys AS {sql}", params)
    con.execute(f"ATTACH {literal(str(new_file))} AS {SEALING}")
    if void and named_file(con):
        # Dropped and checkpointed first, so the new results reuse the old ones' blocks instead of growing
        # the file by a second copy of every sealed result.
        con.execute("BEGIN TRANSACTION")
        for table in JUDGED:
            con.execute(f"DELETE FROM {SEALING}.main.{table}")
        con.execute("COMMIT")
        con.execute(f"CHECKPOINT {SEALING}")
    con.execute("BEGIN TRANSACTION")
    for table in BIG_TABLES:
        con.execute(f"CREATE TABLE IF NOT EXISTS {SEALING}.main.{table} AS "
                    f"SELECT * FROM {LIVE}.main.{table} LIMIT 0")
        _same_columns(con, table, LIVE, SEALING)
        # Sealed items in key order: looking the few keys of a write up among them prunes by zone maps.
        order = {"items": f" ORDER BY {KEYS}", "results": " ORDER BY created"}.get(table, "")
        if void and table in JUDGED:
            # A full rebuild judged every item again: the sealed items' new rows (those of keys the live
            # copy has no item for) replace all the old ones (deleted above).
            con.execute(f"INSERT INTO {SEALING}.main.{table} BY NAME SELECT t.* FROM {LIVE}.main.{table} t "
                        f"ANTI JOIN {LIVE}.main.items i USING ({KEYS}){order}")
        else:
            # Unsealed items' sealed rows are replaced by their live ones (sealed again now, or kept live).
            con.execute(f"DELETE FROM {SEALING}.main.{table} WHERE ({KEYS}) IN "
                        f"(SELECT {KEYS} FROM {LIVE}.main.unsealed)")
        con.execute(f"INSERT INTO {SEALING}.main.{table} BY NAME SELECT t.* FROM {LIVE}.main.{table} t "
                    f"SEMI JOIN {LIVE}.main.seal_keys k USING ({KEYS}){order}")
    con.execute("COMMIT")
    con.execute(f"CHECKPOINT {SEALING}")
    counts = {table: con.sql(f"SELECT count(*) FROM {SEALING}.main.{table}").fetchall()[0][0]
              for table in ("items", "events", "results")}
    con.execute(f"DETACH {SEALING}")
    moved = con.sql(f"SELECT count(*) FROM {LIVE}.main.seal_keys").fetchall()[0][0]
    con.execute("BEGIN TRANSACTION")
    if void:  # the rebuilt results of sealed items went to the new file above
        for table in JUDGED:
            con.execute(f"DELETE FROM {LIVE}.main.{table} WHERE ({KEYS}) NOT IN (SELECT {KEYS} FROM {LIVE}.main.items)")
    for table in BIG_TABLES:
        con.execute(f"DELETE FROM {LIVE}.main.{table} WHERE ({KEYS}) IN (SELECT {KEYS} FROM {LIVE}.main.seal_keys)")
    con.execute(f"DELETE FROM {LIVE}.main.unsealed")
    con.execute(f"DELETE FROM {LIVE}.main.sealed_history")
    con.execute(f"""INSERT INTO {LIVE}.main.sealed_history (file, items, events, results, sealed_before, sealed_at)
                    VALUES (?, ?, ?, ?, ?, ?)""",
                [new_file.name, counts["items"], counts["events"], counts["results"], cutoff, now])
    con.execute(f"DROP TABLE {LIVE}.main.seal_keys")
    con.execute("COMMIT")
    return moved


def compacted_copy(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Write the attached live copy, without the free space the moved rows left, to the new file `target`."""
    con.execute(f"ATTACH {literal(str(target))} AS compacted")
    con.execute(f"COPY FROM DATABASE {LIVE} TO compacted")
    con.execute("CHECKPOINT compacted")
    con.execute("DETACH compacted")
