"""The DuckDB file: read-only connections for readers, write-then-swap for writers.

DuckDB takes a file lock, so a process writing the live file would lock the dashboard out. Writers
therefore copy the file, change the copy in one transaction and atomically rename it over the live path;
readers open read-only and reconnect when the file's identity (inode, mtime) changes. Writers take an
exclusive lock on the database's folder first, so two writers never start from the same copy and lose one's
changes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from sla_store import segments
from sla_store.sql import literal

DEFAULT_DB = Path("data/sla.duckdb")
# DuckDB's buffer limit while writing: scans of a large history stream through it instead of filling memory
# (a 1,000-ticket import into 10M tickets peaks at 0.97 GiB with 768MB, 2.1 GiB with 2GB; rebuilds spill, ~4% slower).
WRITE_MEMORY = os.environ.get("SLA_WRITE_MEMORY", "768MB")
SCHEMA_SQL = (Path(__file__).with_name("schema.sql")).read_text()


class DatabaseUnusable(Exception):
    """The database file cannot be opened or written (corrupt, a folder, no permission, disk full): one line
    naming the live file, never the writer's private copy."""


def _os_reason(error: OSError) -> str:
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full (no space left to write the new copy)"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "no permission to write in its folder"
    return error.strerror or str(error).splitlines()[0]


def _duckdb_reason(error: duckdb.Error) -> str:
    message = str(error).strip().splitlines()[0]
    lowered = message.lower()
    if "not a valid duckdb database" in lowered or "corrupt" in lowered or "checksum" in lowered:
        return "not a DuckDB database file, or a damaged one (restore it from a backup, or move it away)"
    if "is a directory" in lowered:
        return "is a folder, not a database file"
    if "no space left" in lowered or "file too large" in lowered or "disk full" in lowered:
        return "the disk is full (no space left to write the new copy)"
    if "permission denied" in lowered or "read-only file system" in lowered:
        return "no permission to write in its folder"
    return message


def unusable(live: Path, error: BaseException) -> DatabaseUnusable:
    """The one-line error for a database file that failed to open or write."""
    reason = _os_reason(error) if isinstance(error, OSError) else _duckdb_reason(error)
    return DatabaseUnusable(f"{live}: {reason}")


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
    """A read-only connection to the live file (never blocks or is blocked by a writer).

    With a sealed history beside it (sla_store.segments), both files are attached to an in-memory database
    whose views show each table whole, so queries (and their cursors) read it as one file."""
    live = db_path(path)
    if not live.exists():
        raise FileNotFoundError(f"{live}: no database yet - run `sla sample` or `sla ingest FILE`")
    if live.is_dir():
        raise DatabaseUnusable(f"{live}: is a folder, not a database file")
    try:
        for _attempt in range(3):
            con = _prepare(duckdb.connect(str(live), read_only=True))
            if segments.named_file(con, None) is None:
                return con  # a single file: read as it is (one open)
            con.close()
            con = _prepare(duckdb.connect())
            try:
                con.execute(f"ATTACH {literal(str(live))} AS {segments.LIVE} (READ_ONLY)")
                if segments.attach_sealed(con, live):
                    segments.create_reader_views(con)
                    return con
            except FileNotFoundError:
                pass  # a writer swapped in a new pair between the opens: open the new one
            con.close()
        raise DatabaseUnusable(f"{live}: the sealed history file it names is missing (restore both files from "
                               "the same backup)")
    except (duckdb.Error, OSError) as error:
        raise unusable(live, error) from None


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_SQL)


@contextmanager
def write_transaction(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-write connection to a private copy; on success swap it in atomically.

    Any exception leaves the live file exactly as it was. Copies left beside it by a writer that was killed
    are removed first (under the lock, so never a running writer's copy). A live file that cannot be opened,
    or a folder / disk that cannot take the copy, raises DatabaseUnusable naming the live file.
    """
    live = db_path(path)
    if live.is_dir():
        raise DatabaseUnusable(f"{live}: is a folder, not a database file")
    try:
        live.parent.mkdir(parents=True, exist_ok=True)
        folder = os.open(live.parent, os.O_RDONLY)
    except OSError as error:
        raise unusable(live, error) from None
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)  # released on close, also if the process dies
        remove_stale_copies(live)
        yield from _write_locked(live)
    finally:
        os.close(folder)


def _copy_names(live: Path) -> list[Path]:
    """The private copies writers of `live` make beside it, with their WAL files and spill folders."""
    return sorted(live.parent.glob(f".{glob_escape(live.name)}.*.tmp")) + sorted(
        live.parent.glob(f".{glob_escape(live.name)}.*.tmp.wal"))


def glob_escape(name: str) -> str:
    return "".join(f"[{char}]" if char in "*?[" else char for char in name)


def remove_stale_copies(live: Path) -> list[Path]:
    """Delete copies of `live` left by writers that died (kill -9, power loss) before swapping them in.

    Call only while holding the folder lock: then no other writer is running, so every copy is stale.
    """
    removed = []
    for leftover in _copy_names(live):
        try:
            if leftover.is_dir():  # DuckDB's spill folder of a copy, or a rebuild's partition files
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            removed.append(leftover)
        except FileNotFoundError:
            pass
    return removed


FICLONE = 0x40049409  # Linux ioctl: share the source's blocks copy-on-write (btrfs, XFS, bcachefs)


def copy_database_file(source: Path, target: Path) -> str:
    """Copy `source` to a new `target`; returns "clone" or "copy".

    Where the filesystem can clone (btrfs, XFS with reflink), the writer's private copy costs no time or space
    whatever the history's size: blocks are shared until the writer changes them. Elsewhere (ext4, tmpfs) the
    kernel copies the bytes (copy_file_range, about 1 s for the 2.4 GB of a 10M-ticket file, bench_scale).
    """
    with open(source, "rb") as src, open(target, "xb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return "clone"
        except OSError:
            pass  # no clone support here (EOPNOTSUPP, EXDEV, EINVAL, ENOTTY): copy the bytes instead
    shutil.copyfile(source, target)
    return "copy"


def copy_database(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy the database `source` (its live file and the sealed history it names) to a new `target`.

    The copy's sealed file is named after `target` and linked (same filesystem) or copied: sealed files are
    never changed in place, and each live file removes only sealed files named after itself."""
    source, target = Path(source), Path(target)
    copy_database_file(source, target)
    con = duckdb.connect(str(target))
    try:
        name = segments.named_file(con, None)
        if name is not None:
            sealed = target.with_name(f"{target.name}.sealed-{name.rsplit('-', 1)[-1]}")
            try:
                os.link(source.parent / name, sealed)
            except OSError:  # another filesystem, or links not allowed
                shutil.copyfile(source.parent / name, sealed)
            con.execute("UPDATE sealed_history SET file = ?", [sealed.name])
    finally:
        con.close()
    return target


def backup_database(source: str | os.PathLike, target: str | os.PathLike) -> list[Path]:
    """`copy_database` under the writers' lock of `source`, so no write swaps a file in half-way.
    Returns the files written (the live copy, and its sealed history if any)."""
    source, target = Path(source), Path(target)
    folder = os.open(source.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        try:
            copy_database(source, target)
        except (duckdb.Error, OSError) as error:
            for written in [target, *segments.sealed_files(target)]:
                written.unlink(missing_ok=True)
            raise unusable(source, error) from None
    finally:
        os.close(folder)
    return [target, *segments.sealed_files(target)]


def _private_name(live: Path) -> Path:
    """A new, unused path for a writer's private file beside `live` (removed as stale if the writer dies)."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{live.name}.", suffix=".tmp", dir=live.parent)
    except OSError as error:
        raise unusable(live, error) from None
    os.close(fd)
    Path(name).unlink()
    return Path(name)


def _remove_unnamed_sealed(live: Path, named: str | None) -> None:
    """Remove sealed files the live file does not name: replaced by a seal, or left by a writer that died
    before its swap. Readers that still have one open keep reading it (the data stays until they close)."""
    for path in segments.sealed_files(live):
        if path.name != named:
            path.unlink(missing_ok=True)


def _write_locked(live: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    tmp = _private_name(live)
    compacted: Path | None = None
    sealed: segments.Sealed | None = None
    swapped = False
    try:
        con = None
        try:
            if live.exists():
                copy_database_file(live, tmp)
            # The copy is attached as `live` (and made the default) beside its sealed history, if any.
            con = _prepare(duckdb.connect())
            con.execute(f"ATTACH {literal(str(tmp))} AS {segments.LIVE}")
            con.execute(f"USE {segments.LIVE}")
            # Bounded: a write of any size spills to disk instead of growing with the history.
            con.execute(f"SET memory_limit = '{WRITE_MEMORY}'")
            ensure_schema(con)
            _remove_unnamed_sealed(live, segments.named_file(con))
            segments.attach_sealed(con, live)
        except (duckdb.Error, OSError) as error:
            if con is not None:
                con.close()
            raise unusable(live, error) from None
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # the copy is discarded anyway; the original error is the one to report
                raise
            try:
                con.execute("COMMIT")
                con.execute(f"CHECKPOINT {segments.LIVE}")
                if segments.seal_due(con, current_time()):
                    sealed = segments.seal(con, live, current_time())
                    compacted = _private_name(live)
                    segments.compacted_copy(con, compacted)
                keep = segments.named_file(con)
            except duckdb.InterruptException:
                raise  # Ctrl-C: one line from the command (sla_store.cli.guarded), not "unusable"
            except (duckdb.Error, OSError) as error:
                raise unusable(live, error) from None
        finally:
            con.close()
        try:
            os.replace(compacted or tmp, live)
        except OSError as error:
            raise unusable(live, error) from None
        swapped = True
        # Under the lock: the sealed file the new live file replaced is no longer named by it.
        _remove_unnamed_sealed(live, keep)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal"), *([compacted] if compacted else [])):
            if leftover.exists():
                leftover.unlink()
        if sealed is not None and not swapped and sealed.new_file.exists():
            sealed.new_file.unlink()


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
