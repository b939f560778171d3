"""The import pipeline: one file -> one write transaction (raw rows, rejects, import record, results).

A failed import raises and leaves the database file exactly as it was (see sla_store.db.write_transaction).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from sla_store.compute import forget_basis, rejudge_import
from sla_store.coverage import notes, record_source_fields
from sla_store.db import current_time, write_transaction
from sla_store.importers import FORMATS, ImportRefused, Mapping, importer_for, load_mapping
from sla_store.importers.errors import FileUnreadable
from sla_store.importers.reading import check_columns, drop_temp
from sla_store.importers.tabular import stage, store
from sla_store.policy_files import config_dir

Progress = Callable[[str, float], None]
REPO_MAPPINGS = Path(__file__).resolve().parents[1] / "config" / "mappings"


@dataclass
class ImportSummary:
    import_id: int
    file: str
    format: str
    mapping: str
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    items: int
    events: int
    results: int | None = None
    notes: list[str] = field(default_factory=list)  # what is wrong with the data or setup (data_notes)

    def as_dict(self) -> dict:
        return asdict(self)


def mappings_dir(config: str | os.PathLike | None = None) -> Path:
    """config/mappings of the chosen config folder, else the mappings shipped with the project."""
    folder = config_dir(config) / "mappings"
    return folder if folder.is_dir() else REPO_MAPPINGS


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _file_columns(path: Path, format_name: str) -> list[str]:
    con = duckdb.connect()
    try:
        return importer_for(format_name).columns(con, path)
    finally:
        con.close()


def resolve_mapping(path: Path, format_name: str | None = None, mapping: str | os.PathLike | None = None,
                    config: str | os.PathLike | None = None) -> Mapping:
    """The mapping to import `path` with: the given file, the format's default, or sniffed from columns."""
    if mapping is not None:
        chosen = load_mapping(mapping)
        if format_name and chosen.format != format_name:
            raise ImportRefused(f"{mapping}: is a {chosen.format} mapping, not {format_name}")
        return chosen
    folder = mappings_dir(config)
    if format_name is not None:
        if format_name not in FORMATS:
            raise ImportRefused(f"unknown format {format_name!r} (use {', '.join(FORMATS)})")
        default = folder / f"{format_name}.yaml"
        if not default.exists():
            raise ImportRefused(f"{path}: format {format_name} needs --mapping FILE (no {default})")
        return load_mapping(default)
    candidates = [load_mapping(file) for file in sorted(folder.glob("*.yaml"))]
    columns_by_reader: dict[str, set[str]] = {}
    best: Mapping | None = None
    for candidate in candidates:
        if candidate.format not in columns_by_reader:
            try:
                columns_by_reader[candidate.format] = set(_file_columns(path, candidate.format))
            except FileUnreadable:
                raise  # no format can read it: say why rather than "cannot tell the format"
            except ImportRefused:
                columns_by_reader[candidate.format] = set()
        required = candidate.required_columns()
        if set(required) <= columns_by_reader[candidate.format]:
            if best is None or len(required) > len(best.required_columns()):
                best = candidate
    if best is None:
        known = ", ".join(candidate.name for candidate in candidates)
        raise ImportRefused(f"{path}: cannot tell the export format from its columns; pass --format or "
                            f"--mapping (known: {known})")
    return best


def load_file(con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping,
              progress: Progress | None = None, file_label: str | None = None) -> ImportSummary:
    """Import one file on an open write connection (no results refresh).

    `file_label` is the name recorded in `imports.file` (e.g. an uploaded file's own name), default the path.
    """
    report = progress or (lambda step, fraction: None)
    importer = importer_for(mapping.format)
    check_columns(path, mapping, importer.columns(con, path))
    report("reading", 0.15)
    # The file's hash is computed while DuckDB reads it (hashlib releases the GIL on large chunks); a CSV
    # file is read by the staging pass itself.
    with ThreadPoolExecutor(max_workers=1) as hasher:
        digest_future = hasher.submit(file_sha256, path)
        raw = importer.read(con, path, mapping)
        check_columns(path, mapping, raw.columns)
        report("checking rows", 0.45)
        staged = stage(con, mapping, raw)
        digest = digest_future.result()
    total = raw.rows + raw.broken_rows
    if total and staged.rows == staged.rejected:
        line, reason = con.sql(
            "SELECT __line, reason FROM staged WHERE reason IS NOT NULL UNION ALL "
            "SELECT __line, reason FROM raw_rejects ORDER BY 1 LIMIT 1").fetchall()[0]
        hint = " (set `encoding: latin-1` in the mapping)" if "not utf-8 encoded" in reason else ""
        raise ImportRefused(f"{path}: none of {total} rows could be loaded (line {line}: {reason}){hint}")
    report("storing", 0.6)
    import_id = con.sql("SELECT nextval('import_seq')").fetchall()[0][0]
    loaded = store(con, mapping, raw, import_id, staged)
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [import_id, file_label or str(path), digest, mapping.format, mapping.name, loaded.rows_read, loaded.rows_loaded,
         loaded.rows_rejected, current_time()],
    )
    record_source_fields(con, mapping.source, mapping.recorded_fields())
    drop_temp(con, "raw_rows", "raw_data", "raw_rejects", "staged", "staged_rows", "new_items", "new_events")
    return ImportSummary(import_id=import_id, file=file_label or str(path), format=mapping.format, mapping=mapping.name,
                         sha256=digest, rows_read=loaded.rows_read, rows_loaded=loaded.rows_loaded,
                         rows_rejected=loaded.rows_rejected, items=loaded.items, events=loaded.events)


def policy_history_or_none(config: str | os.PathLike | None = None):
    """The policy history, or None when there is no config/sla.yaml yet (data loads, results wait)."""
    if not (config_dir(config) / "sla.yaml").exists():
        return None
    from sla_store.policy_files import load_policy_history

    return load_policy_history(config)


def ingest(path: str | os.PathLike, db: str | os.PathLike | None = None, format_name: str | None = None,
           mapping: str | os.PathLike | None = None, config: str | os.PathLike | None = None,
           now: datetime | None = None, progress: Progress | None = None,
           file_label: str | None = None) -> ImportSummary:
    """Import one export into the database and re-judge what it touched, all in one write transaction.

    Only the items the file loaded and the items it added events to are judged again (see sla_store.compute).

    Raises ImportRefused (one line naming the file) or the core's PolicyError; either leaves the database as it
    was. `progress(step, fraction)` is called as the import advances; `file_label` names the file in `imports`.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    chosen = resolve_mapping(path, format_name, mapping, config)
    history = policy_history_or_none(config)
    with write_transaction(db) as con:
        summary = load_file(con, path, chosen, progress, file_label)
        if history is None:
            forget_basis(con)
        else:
            if progress:
                progress("computing results", 0.8)
            summary.results = rejudge_import(con, history, now or current_time(), summary.import_id)
            summary.notes = notes(con)
        if progress:
            progress("saving", 0.95)
    if progress:
        progress("done", 1.0)
    return summary
