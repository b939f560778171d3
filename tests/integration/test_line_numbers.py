"""Rejected rows name their file line: the numbering follows the file's order however the rows were stored."""

from __future__ import annotations

import duckdb
import pytest

from sla_store.importers.reading import numbered_columns


def _numbered(con: duckdb.DuckDBPyConnection, first_line: int) -> list[tuple[int, str]]:
    select = numbered_columns(con, first_line)
    return con.sql(f"SELECT {select} FROM raw_data ORDER BY 1").fetchall()


@pytest.mark.parametrize("in_transaction", [False, True])
def test_rows_are_numbered_in_file_order_from_the_first_line(in_transaction):
    con = duckdb.connect()
    if in_transaction:
        con.execute("BEGIN")  # uncommitted rows get rowids from a large base
    con.execute("CREATE TEMP TABLE raw_data AS SELECT 'row' || i AS value FROM range(1, 2001) t(i)")
    numbered = _numbered(con, 2)
    assert numbered[0] == (2, "row1") and numbered[-1] == (2001, "row2000")
    assert [line for line, _ in numbered] == list(range(2, 2002))


def test_a_gap_in_the_rowids_falls_back_to_counting_rows():
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE raw_data AS SELECT 'row' || i AS value FROM range(1, 6) t(i)")
    con.execute("DELETE FROM raw_data WHERE value = 'row3'")
    assert _numbered(con, 1) == [(1, "row1"), (2, "row2"), (3, "row4"), (4, "row5")]


@pytest.mark.parametrize("broken", [False, True])
def test_rejects_in_a_large_csv_name_their_file_lines(tmp_path, broken):
    """A file large enough for DuckDB to read in parallel chunks: bad rows anywhere keep their file line, also
    after a malformed line (which makes the import read the file again, numbering every line)."""
    from sla_store.ingest import ingest
    from tests.integration.conftest import CONFIG, query

    bad = {2_000: "not a date", 150_001: "2026-02-30 10:00:00", 299_999: "0001-01-01 00:00:00"}
    lines = ["Ticket ID,Subject,Status,Priority,Source,Group,Created time,Resolved time"]
    for number in range(2, 300_002):  # file lines 2 .. 300,001
        created = bad.get(number, "2026-03-02 09:00:00")
        lines.append(f"{number},s,Open,High,Email,Billing,{created}," if not (broken and number == 100_000)
                     else f"{number},s,Open")
    export = tmp_path / "large.csv"
    export.write_text("\n".join(lines) + "\n")
    db = tmp_path / "sla.duckdb"
    summary = ingest(export, db=db, format_name="freshdesk", config=CONFIG)
    rejects = query(db, "SELECT line, reason, CASE WHEN reason LIKE 'malformed%' THEN NULL "
                        "ELSE raw::JSON->>'Ticket ID' END FROM rejected_rows ORDER BY line")
    expected = sorted([*bad, *([100_000] if broken else [])])
    assert [line for line, _, _ in rejects] == expected
    assert all(ticket == str(line) for line, reason, ticket in rejects if not reason.startswith("malformed"))
    assert summary.rows_read == 300_000 and summary.rows_rejected == len(expected)
