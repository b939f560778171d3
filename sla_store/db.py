"""The DuckDB file: read-only connections for readers, write-then-swap for writers.

DuckDB takes a file lock, so a process writing the live file would lock the dashboard out. Writers
therefore copy the file, change the copy in one transaction and atomically rename it over the live path;
readers open read-only and reconnect when the file's identity (inode, mtime) changes. Writers take an
exclusive lock on the database's folder first, so two writers never start from the same copy and lose one's
changes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

DEFAULT_DB = Path("data/sla.duckdb")
SCHEMA_SQL = (Path(__file__).with_name("schema.sql")).read_text()


def db_path(path: str | os.PathLike | None = None) -> Path:
    """The database path: explicit argument, else $SLA_DB, else data/sla.duckdb."""
    return Path(path or os.environ.get("SLA_DB") or DEFAULT_DB)


def current_time() -> datetime:
    """The shell's clock. $SLA_NOW (ISO 8601) pins it for demos and tests."""
    pinned = os.environ.get("SLA_NOW")
    if pinned:
        moment = datetime.fromisoformat(pinned)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def file_identity(path: Path) -> tuple[int, int] | None:
    """(inode, mtime_ns) of the live file; changes whenever a writer swaps a new file in."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns)


def _prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute("SET TimeZone = 'UTC'")
    return con


def connect_read_only(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the live file (never blocks or is blocked by a writer)."""
    live = db_path(path)
    if not live.exists():
        raise FileNotFoundError(f"{live}: no database yet - run `sla sample` or `sla ingest FILE`")
    return _prepare(duckdb.connect(str(live), read_only=True))


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_SQL)


@contextmanager
def write_transaction(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-write connection to a private copy; on success swap it in atomically.

    Any exception leaves the live file exactly as it was.
    """
    live = db_path(path)
    live.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(live.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)  # released on close, also if the process dies
        yield from _write_locked(live)
    finally:
        os.close(folder)


def _write_locked(live: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{live.name}.", suffix=".tmp", dir=live.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        if live.exists():
            shutil.copyfile(live, tmp)
        con = _prepare(duckdb.connect(str(tmp)))
        try:
            ensure_schema(con)
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, live)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()


class LiveDatabase:
    """A long-lived read-only handle that follows the file across writer swaps.

    DuckDB caches one database instance per path inside a process, so the old connection must be closed
    before the swapped-in file can be opened; `cursor()` does that when the file's identity changed.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = db_path(path)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._identity: tuple[int, int] | None = None

    @property
    def identity(self) -> tuple[int, int] | None:
        return file_identity(self.path)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        identity = self.identity
        if self._con is None or identity != self._identity:
            if self._con is not None:
                self._con.close()
            self._con = connect_read_only(self.path)
            self._identity = identity
        return self._con.cursor()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
