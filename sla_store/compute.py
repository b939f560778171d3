"""Computed results: every item x metric judged by the policy version in force, from raw data.

A write costs the change, not the history:
- an import re-judges only the items it loaded and the items it added events to (`rejudge_import`);
- a policy commit re-judges only the items created on or after the new version's effective date
  (`rejudge_since`): older items keep the version that governs them, so their verdicts cannot change;
- a full rebuild (`refresh_results`, `sla recompute`, `sla sample`) runs only when asked, or when the policy
  history on file is not the one the stored results were judged by (`results_basis`).

Every evaluation streams through the pure core in partitions of hashed item keys (an item and all its events
land in the same partition; the core judges each item from its own rows only), so memory is bounded by the
partition size, not by the history. While the main thread reads the next partition from DuckDB and writes
the previous one's results, worker threads judge partitions (polars and numpy release the GIL), so a
rebuild keeps both cores busy.

Policy dimensions are read from the items' attributes here, once, into real result columns; items whose
source cannot measure a metric go to `not_measured` (sla_store.coverage); `data_notes` is rebuilt after
every write. Which sources record which milestones is part of the basis: an import that changes it (a
source's first reply time, say) rebuilds every result once.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from sla_store import rollup, segments
from sla_store.coverage import (
    coverage_fingerprint,
    dimension_select,
    ensure_dimension_columns,
    refresh_notes,
    store_not_measured,
    unrecorded,
)
from sla_store.queries import EVENT_COLUMNS, ITEM_COLUMNS
from sla_store.sql import literal

ITEM_FIELDS = ", ".join(ITEM_COLUMNS)
EVENT_FIELDS = ", ".join(EVENT_COLUMNS)
PARTITION_ITEMS = int(os.environ.get("SLA_PARTITION_ITEMS", "400000"))  # items judged at once
WORKERS = max(1, min(2, os.cpu_count() or 1))


def history_basis(history) -> str:
    """A fingerprint of every policy version (number, effective date, contents) results were judged by."""
    from sla_core.policy import PolicyHistory

    versions = history.versions if isinstance(history, PolicyHistory) else [history]
    text = "|".join(f"{p.version}:{p.effective_from.isoformat()}:{p.fingerprint}" for p in versions)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_basis(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.sql("SELECT basis FROM results_basis").fetchall()
    return rows[0][0] if rows else None


def judged_by(con: duckdb.DuckDBPyConnection, history) -> bool:
    """Whether the stored results were judged by `history` (whatever the data's coverage)."""
    basis = stored_basis(con)
    return basis is not None and basis.split(":", 1)[0] == history_basis(history)


def forget_basis(con: duckdb.DuckDBPyConnection) -> None:
    """Raw data changed without results being judged: the next write rebuilds them all."""
    con.execute("DELETE FROM results_basis")


def _set_basis(con: duckdb.DuckDBPyConnection, history, now: datetime, coverage: str) -> None:
    con.execute("DELETE FROM results_basis")
    con.execute("INSERT INTO results_basis VALUES (?, ?)", [history_basis(history) + coverage, now])


class _Coverage:
    """What the stored data can measure (sla_store.coverage.unrecorded), read once per write."""

    def __init__(self, con: duckdb.DuckDBPyConnection, history):
        from sla_core.clocks import metric_milestones
        from sla_core.policy import as_history

        self.history = as_history(history)
        self.dimensions = self.history.dimensions
        self.never, self.no_column = unrecorded(con, metric_milestones(self.history))
        self.fingerprint = ":" + coverage_fingerprint(self.never, self.no_column)


def refresh_results(con: duckdb.DuckDBPyConnection, history, now: datetime) -> int:
    """Rebuild the whole results table from items + events with `history` (a Policy or PolicyHistory) at `now`.

    Runs on the caller's (write-transaction) connection, so data and results change together.
    Returns the number of result rows.
    """
    segments.void_judged(con)  # sealed items are judged too; the write's seal moves their new results
    coverage = _Coverage(con, history)
    ensure_dimension_columns(con, coverage.dimensions)
    segments.set_periodic_metrics(con, _periodic_metrics(coverage.history))
    con.execute("DELETE FROM results")
    rollup.clear(con)
    con.execute("DELETE FROM not_measured")
    items = con.sql(f"SELECT count(*) FROM {segments.whole(con, 'items')}").fetchall()[0][0]
    count = _judge_partitions(con, coverage, now, items, scoped=False)
    _set_basis(con, history, now, coverage.fingerprint)
    refresh_notes(con, coverage.history)
    return count


def rejudge_import(con: duckdb.DuckDBPyConnection, history, now: datetime, import_id: int) -> int:
    """Re-judge the items an import loaded or added events to; everything else keeps its results.

    Falls back to a full rebuild when the stored results were judged by another policy history.
    Returns the number of result rows written.
    """
    scope = ("SELECT source, item_id FROM items WHERE import_id = $import "
             "UNION SELECT source, item_id FROM events WHERE import_id = $import")
    params: dict = {"import": import_id}
    if periodic := _periodic_metrics(history):
        # A new period or gap begins with time alone (a missed week has no row in any export): every write
        # also re-judges the few items that carry scheduled or between clocks, so their new instances appear.
        scope += " UNION SELECT DISTINCT source, item_id FROM results WHERE metric IN (SELECT unnest($periodic))"
        params["periodic"] = periodic
    # The import's items and the items it added events to were unsealed by the importer; periodic ones stay live.
    return _rejudge(con, history, now, scope, params, live_only=True)


def _periodic_metrics(history) -> list[str]:
    """Names of the schedule and between metrics in any version: their instances multiply as time passes."""
    versions = getattr(history, "versions", (history,))
    return sorted({name for policy in versions for name, metric in policy.metrics.items()
                   if metric.kind in ("schedule", "between")})


def rejudge_since(con: duckdb.DuckDBPyConnection, history, now: datetime, effective: date) -> int:
    """After committing the newest version of `history`, effective from `effective` (UTC date): re-judge the
    items created on or after that date, the ones it governs; earlier items keep the version that judged them
    and their verdicts. Full rebuild when the stored results were not judged by the history before it."""
    start = datetime(effective.year, effective.month, effective.day, tzinfo=UTC)
    scope = f"SELECT source, item_id FROM {segments.whole(con, 'items')} WHERE created >= $start"
    return _rejudge(con, history, now, scope, {"start": start}, previous=_without_newest(history))


def _without_newest(history):
    """The history as it was before its newest version was committed (None when it has only one)."""
    from sla_core.policy import PolicyHistory

    if not isinstance(history, PolicyHistory) or len(history.versions) < 2:
        return None
    newest = max(p.version for p in history.versions)
    return PolicyHistory([p for p in history.versions if p.version != newest])


def _rejudge(con: duckdb.DuckDBPyConnection, history, now: datetime, scope: str, params: dict,
             previous=None, live_only: bool = False) -> int:
    # Results are kept incrementally only on top of results judged by the history before this change (or
    # by this one); anything else - no basis yet, an edited policy file - rebuilds them all once.
    coverage = _Coverage(con, history)
    accepted = {history_basis(history) + coverage.fingerprint} | (
        {history_basis(previous) + coverage.fingerprint} if previous is not None else set())
    if stored_basis(con) not in accepted:
        return refresh_results(con, history, now)
    ensure_dimension_columns(con, coverage.dimensions)
    segments.set_periodic_metrics(con, _periodic_metrics(coverage.history))
    con.execute(f"CREATE OR REPLACE TEMP TABLE rejudge_keys AS SELECT DISTINCT source, item_id FROM ({scope})",
                params)
    if not live_only:
        segments.unseal(con, "SELECT source, item_id FROM rejudge_keys")  # then all their rows are live
    keys = con.sql("SELECT count(*) FROM rejudge_keys").fetchall()[0][0]
    if keys:
        rollup.delete_results(con, "rejudge_keys")  # and what the daily rollup and open clocks kept of them
        con.execute("DELETE FROM not_measured WHERE (source, item_id) IN (SELECT source, item_id FROM rejudge_keys)")
    count = _judge_partitions(con, coverage, now, keys, scoped=True) if keys else 0
    # An import (same policy history) changes the notes of its items' sources only; a commit may change
    # the wording of every note (the version it names).
    refresh_notes(con, coverage.history, "rejudge_keys" if previous is None else None)
    # Dropped on success only: after a failure (Ctrl-C included) the transaction is aborted and any statement
    # would replace the real error; the connection and its private copy are discarded anyway.
    con.execute("DROP TABLE rejudge_keys")
    _set_basis(con, history, now, coverage.fingerprint)
    return count


Frames = tuple[pl.DataFrame, pl.DataFrame]


def _partition_selects(con: duckdb.DuckDBPyConnection, parts: int, scoped: bool, dimensions=()) -> tuple[str, str]:
    """SELECTs of the items (with their dimension columns) and the events to judge, each row with its hash
    partition `part` (all of an item's events land with it). Re-judged items are all live (unsealed first);
    a full rebuild reads the sealed ones too."""
    key = f"hash(source, item_id) % {int(parts)} AS part"
    if scoped:
        scope = " SEMI JOIN rejudge_keys USING (source, item_id)"
        return (f"SELECT {ITEM_FIELDS}{dimension_select(dimensions)}, {key} FROM items{scope}",
                f"SELECT {EVENT_FIELDS}, {key} FROM events{scope}")
    return (f"SELECT {ITEM_FIELDS}{dimension_select(dimensions)}, {key} FROM {segments.whole(con, 'items')}",
            f"SELECT {EVENT_FIELDS}, {key} FROM {segments.whole(con, 'events')}")


@contextmanager
def _partitions(con: duckdb.DuckDBPyConnection, parts: int, scoped: bool,
                dimensions=()) -> Iterator[Callable[[int], Frames]]:
    """A reader of partition k's (items, events) frames.

    One partition reads its rows straight from the tables. Several are first written, in one pass over each
    table, to Parquet files per partition beside the database file, so reading partition k costs that
    partition only; filtering the tables by hash instead would scan every event once per partition (28 scans
    of 67M events at 10M tickets, which dominated a rebuild). The files live in a folder named like the
    writer's private copy: removed when the rebuild ends, or with the copy by the next writer if this one is
    killed (sla_store.db.remove_stale_copies).
    """
    selects = _partition_selects(con, parts, scoped, dimensions)
    if parts == 1:
        yield lambda _part: tuple(con.sql(f"SELECT * EXCLUDE (part) FROM ({select})").pl() for select in selects)
        return
    database = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    beside = Path(database[0]) if database and database[0] else None
    folder = Path(tempfile.mkdtemp(prefix=f"{beside.name}." if beside else "sla-", suffix=".parts.tmp",
                                   dir=beside.parent if beside else None))
    try:
        for name, select in zip(("items", "events"), selects, strict=True):
            con.execute(f"COPY ({select}) TO {literal(str(folder / name))} (FORMAT parquet, PARTITION_BY (part))")

        def read(part: int) -> Frames:
            frames = []
            for name, select in zip(("items", "events"), selects, strict=True):
                files = folder / name / f"part={part}"
                if files.is_dir():
                    query = f"SELECT * FROM read_parquet({literal(str(files / '*.parquet'))}, hive_partitioning = false)"
                else:  # no row hashed to this partition: an empty frame of the same columns
                    query = f"SELECT * EXCLUDE (part) FROM ({select}) LIMIT 0"
                frames.append(con.sql(query).pl())
            return frames[0], frames[1]

        yield read
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _commit_part(con: duckdb.DuckDBPyConnection) -> None:
    """Commit what is written so far and go on in a new transaction, so a rebuild's memory stays bounded by
    its partition instead of holding every new result row in one transaction. Safe for the all-or-nothing
    promise: writes change a private copy of the database (sla_store.db.write_transaction) that replaces the
    live file only when the whole write succeeded; a failure discards the copy, committed parts included."""
    try:
        con.execute("COMMIT")
    except duckdb.TransactionException:  # not inside a transaction: nothing to split
        return
    con.execute("BEGIN TRANSACTION")


def _judge_partitions(con: duckdb.DuckDBPyConnection, coverage: _Coverage, now: datetime, items: int,
                      scoped: bool) -> int:
    """Judge `items` items (all, or the rejudge_keys) partition by partition; insert their results (and
    their not-measured rows)."""
    from sla_core.clocks import evaluate_coverage  # the core may be absent while only raw data is loaded

    if not items:
        return 0
    parts = max(1, math.ceil(items / PARTITION_ITEMS))
    written = 0
    pending: deque[Future] = deque()

    def insert(judged: tuple[pl.DataFrame, pl.DataFrame]) -> None:
        nonlocal written
        results, not_measured = judged
        store_not_measured(con, not_measured, coverage.no_column)
        if results.height:
            con.register("computed_results", results.to_arrow())
            try:
                con.execute("INSERT INTO results BY NAME SELECT *, ?::TIMESTAMPTZ AS computed_at "
                            "FROM computed_results ORDER BY created", [now])  # date windows skip row groups
                rollup.add(con, "computed_results", now)
            finally:
                con.unregister("computed_results")
        written += results.height
        if parts > 1:
            _commit_part(con)

    with _partitions(con, parts, scoped, coverage.dimensions) as frames, ThreadPoolExecutor(WORKERS) as pool:
        for part in range(parts):
            item_frame, event_frame = frames(part)
            pending.append(pool.submit(evaluate_coverage, item_frame, event_frame, coverage.history, now,
                                       None, coverage.never))
            del item_frame, event_frame
            while len(pending) >= WORKERS:
                insert(pending.popleft().result())
        while pending:
            insert(pending.popleft().result())
    return written
