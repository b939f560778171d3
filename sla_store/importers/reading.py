"""Reading an export file into DuckDB: its encoding and delimiter, the raw rows numbered by file line
(`raw_rows`, with `LINE`), and the column names without loading it. Files that cannot be read are refused
by name, in one line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sla_store.importers.errors import FileUnreadable, ImportRefused
from sla_store.importers.mapping import Mapping
from sla_store.sql import ident, literal, literal_list

LINE = "__line"


def drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop these temp tables or views if they exist (DROP TABLE refuses a view and the other way round)."""
    for name in names:
        found = con.sql(
            "SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND view_name = ? "
            "UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = ?",
            params=[name, name]).fetchall()
        for (kind,) in found:
            con.execute(f"DROP {kind} {ident(name)}")



def _temp_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The columns of a temp table or view, without __line, from the catalog: DESCRIBE would bind a view's query
    again, and binding a CSV reader samples the file."""
    return [row[0] for row in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'temp' AND table_name = ? "
        "ORDER BY column_index", [name]).fetchall() if row[0] != LINE]


def text_encoding(path: Path, declared: str = "utf-8") -> str:
    """The encoding to read a CSV export with: a byte-order mark wins over the mapping's `encoding`.

    Excel's "Unicode text" is UTF-16 with a mark; UTF-16 without one (NUL bytes between the letters) or a
    binary file would read as garbage and look like "missing columns", so it is refused by name.
    """
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if b"\x00" in head and declared != "utf-16":
        even, odd = head[0::2], head[1::2]
        if odd and odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16"  # little-endian without a mark: ASCII letters each followed by a NUL byte
        if even and even.count(0) > 0.9 * len(even):
            raise FileUnreadable(f"{path}: is UTF-16 (big-endian, without a byte-order mark); save it as CSV UTF-8")
        raise FileUnreadable(f"{path}: not a text CSV file (it holds NUL bytes, as a spreadsheet or other binary "
                             "file does); save it as CSV UTF-8")
    return declared


def _python_encoding(path: Path, encoding: str) -> str:
    """Python's codec for a file DuckDB reads as `encoding` (DuckDB takes UTF-16 without a mark as LE)."""
    if encoding == "utf-8":
        return "utf-8-sig"
    if encoding == "utf-16":
        with path.open("rb") as handle:
            return "utf-16" if handle.read(2) in (b"\xff\xfe", b"\xfe\xff") else "utf-16-le"
    return encoding


def header_delimiter(path: Path, encoding: str = "utf-8") -> str:
    """The delimiter of a CSV export, judged from its header line (a ragged body can fool a sniffer)."""
    with path.open("r", encoding=_python_encoding(path, encoding), errors="replace", newline="") as handle:
        header = handle.readline(MAX_LINE_BYTES)
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@dataclass
class RawTable:
    """The file's rows in temp table (or view) raw_rows (all VARCHAR for CSV, plus __line) and structural
    rejects.

    A CSV file is not copied into a table first: the staging pass reads it through DuckDB's CSV reader
    (`reader_sql`, in parallel, keeping the file's order) and numbers the rows it stored by rowid. raw_rows is
    a view over the reader numbering its records in the same order (a row_number() window, which runs on one
    thread), read again only to show rejected rows. Its `rows` and `broken_rows` are known once the staging
    pass ran (`settle`)."""

    columns: list[str]
    rows: int
    broken_rows: int
    markers_done: bool = False  # missing markers already NULL (the CSV reader applied them)
    path: Path | None = None    # set while raw_rows is still a view over this CSV file (not yet read)
    mapping: Mapping | None = None
    reader_sql: str | None = None  # the CSV reader itself, for a pass that numbers rows afterwards


# The CSV reader's buffer (DuckDB's default is 16 MB). The staging pass stores the rows in file order, and a
# reader batch smaller than a row group (122,880 rows) is merged with its neighbours by copying: 16 MB holds
# fewer rows than that for a typical export. Measured (1M tickets, 166 bytes a row, and 400k rows of 494
# bytes): 32 MB cuts the staging pass's CPU by ~10% (1.48 -> 1.32 CPU-s); 64 MB and 128 MB stage as fast, but
# the commit's checkpoint then costs 0.15-0.27 CPU-s more.
CSV_BUFFER_BYTES = 32 << 20


def _csv_source(path: Path, mapping: Mapping | None) -> str:
    encoding = text_encoding(path, mapping.encoding if mapping else "utf-8")
    return (f"read_csv({literal(str(path))}, all_varchar = true, header = true, store_rejects = true,"
            f" delim = {literal(header_delimiter(path, encoding))}, quote = '\"', escape = '\"',"
            f" nullstr = {literal_list(['', *(mapping.missing if mapping else [])])},"
            f" encoding = {literal(encoding)}, buffer_size = {CSV_BUFFER_BYTES},"
            " rejects_table = 'csv_rejects', rejects_scan = 'csv_scans')")


def unreadable(path: Path, error: duckdb.Error) -> ImportRefused:
    """The one-line refusal for a file DuckDB could not read as a table."""
    if "Maximum line size" in str(error):
        return ImportRefused(_overlong_line(path))
    message = str(error).strip().splitlines()[0]
    return ImportRefused(f"{path}: cannot be read as a table ({message})")


def read_raw(con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping | None = None,
             relation_sql: str | None = None, materialize: bool = False) -> RawTable:
    """Make raw_rows for a CSV / Parquet file (or a prepared relation).

    For CSV the reader itself turns the mapping's missing markers into NULL (the cheapest place to do it),
    and raw_rows stays a view over the reader unless `materialize` (see RawTable)."""
    suffix = path.suffix.lower()
    is_csv = relation_sql is None and suffix != ".parquet"
    drop_temp(con, "raw_rows", "raw_data", "raw_rejects", "csv_rejects", "csv_scans")
    con.execute(f"CREATE TEMP TABLE raw_rejects ({LINE} BIGINT, raw VARCHAR, reason VARCHAR)")
    try:
        if is_csv and not materialize:
            # Records numbered in the order the reader yields them, which is the file's order (DuckDB
            # preserves insertion order; the rowid numbering below relies on the same).
            reader = _csv_source(path, mapping)
            con.execute(f"CREATE TEMP VIEW raw_rows AS SELECT row_number() OVER () + 1 AS {LINE}, * FROM {reader}")
            columns = _temp_columns(con, "raw_rows")
            if not columns:
                raise ImportRefused(f"{path}: no columns found")
            return RawTable(columns=columns, rows=0, broken_rows=0, markers_done=True, path=path, mapping=mapping,
                            reader_sql=reader)
        if relation_sql is not None:
            source = relation_sql
        elif suffix == ".parquet":
            source = f"(SELECT * FROM read_parquet({literal(str(path))}))"
        else:
            source = _csv_source(path, mapping)
        # CSV rows are numbered by file line (the header is line 1); JSON and Parquet records from 1.
        first_line = 2 if is_csv else 1
        con.execute(f"CREATE TEMP TABLE raw_data AS SELECT * FROM {source}")
        numbered = numbered_columns(con, first_line)
        con.execute(f"CREATE TEMP VIEW raw_rows AS SELECT {numbered} FROM raw_data")
    except duckdb.Error as exc:
        raise unreadable(path, exc) from exc
    broken = _broken_rows(con) if is_csv else 0
    if broken:
        # Rowids count good rows only: shift each row past the broken lines before it.
        con.execute("DROP VIEW raw_rows")
        con.execute(f"CREATE TEMP TABLE raw_rows AS SELECT {numbered} FROM raw_data")
        con.execute("DROP TABLE raw_data")
        con.execute(f"""
            UPDATE raw_rows SET {LINE} = {LINE} + (
                SELECT count(*) FROM (
                    SELECT {LINE} - (row_number() OVER (ORDER BY {LINE}) - 1) AS threshold
                    FROM raw_rejects) t
                WHERE t.threshold <= raw_rows.{LINE})
        """)
    columns = _temp_columns(con, "raw_rows")
    if not columns:
        raise ImportRefused(f"{path}: no columns found")
    rows = con.sql("SELECT count(*) FROM raw_rows").fetchall()[0][0]
    return RawTable(columns=columns, rows=rows, broken_rows=broken, markers_done=is_csv)


def _broken_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Move the CSV reader's rejects (one row per broken line) into raw_rejects; how many there are."""
    found = con.sql("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'csv_rejects'")
    if found.fetchall()[0][0]:
        con.execute(
            "INSERT INTO raw_rejects SELECT line, any_value(csv_line), 'malformed CSV row: ' || min(error_message) "
            "FROM csv_rejects GROUP BY line"
        )
    drop_temp(con, "csv_rejects", "csv_scans")
    return con.sql("SELECT count(*) FROM raw_rejects").fetchall()[0][0]


def settle(con: duckdb.DuckDBPyConnection, raw: RawTable, staged_rows: int) -> bool:
    """After the staging pass read a CSV view: count its rows and broken lines. Returns False when lines
    were broken: the reader's numbering skipped them, so the file must be read again into a table that
    numbers every row by its file line (read_raw(materialize=True)) and staged again."""
    if raw.path is None:
        return True
    broken = _broken_rows(con)
    if broken:
        return False
    raw.rows, raw.broken_rows = staged_rows, 0
    return True


MAX_LINE_BYTES = 2_000_000  # DuckDB's read_csv limit for one row


def _overlong_line(path: Path) -> str:
    """The refusal for a row over the CSV reader's limit, naming its line (DuckDB's own message does not)."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if len(line) > MAX_LINE_BYTES:
                return (f"{path}: line {number} is {len(line) / 1e6:.0f} MB long, over the {MAX_LINE_BYTES // 10**6} MB "
                        "a row may hold (a runaway cell or an unclosed quote); trim it and import again")
    return f"{path}: a row is longer than {MAX_LINE_BYTES // 10**6} MB (an unclosed quote?); fix it and import again"


def numbered_columns(con: duckdb.DuckDBPyConnection, first_line: int, table: str = "raw_data") -> str:
    """A select list over `table` (filled in the file's order): its rows numbered from `first_line` in file
    order as __line, then its columns.

    The table was filled in the file's order, so its rowids run in that order (inside a transaction they
    start from a large base, hence the offset). A row_number() window would cost more than the read
    itself; it is the fallback should the rowids ever not be one gap-free run.
    """
    base, span, rows = con.sql(
        f"SELECT min(rowid), max(rowid) - min(rowid) + 1, count(*) FROM {ident(table)}").fetchall()[0]
    if rows == 0 or span == rows:
        return f"rowid - {int(base or 0)} + {first_line} AS {LINE}, *"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS "
                f"SELECT row_number() OVER () - 1 AS __position, * FROM {ident(table)}")
    return f"__position + {first_line} AS {LINE}, * EXCLUDE (__position)"


def check_columns(path: Path, mapping: Mapping, columns: list[str]) -> None:
    present = set(columns)
    missing = [col for col in mapping.required_columns() if col not in present]
    if missing:
        names = ", ".join(repr(col) for col in missing)
        raise ImportRefused(f"{path}: not a {mapping.name or mapping.format} export: missing columns {names}")


def read_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The column names of a CSV / Parquet file, without loading it."""
    if path.suffix.lower() == ".parquet":
        try:
            return list(con.sql(f"SELECT * FROM read_parquet({literal(str(path))}) LIMIT 0").columns)
        except duckdb.Error as exc:
            message = str(exc).strip().splitlines()[0]
            raise ImportRefused(f"{path}: cannot be read as a table ({message})") from exc
    encoding = text_encoding(path)
    with path.open("r", encoding=_python_encoding(path, encoding), errors="replace", newline="") as handle:
        line = handle.readline(MAX_LINE_BYTES)  # a header, not a whole one-line file
    try:
        header = next(csv.reader([line], delimiter=header_delimiter(path, encoding)), [])
    except csv.Error:  # e.g. a field over the csv module's limit: not a CSV header
        return []
    return [name.strip() for name in header]
