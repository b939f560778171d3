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
