"""The import trims a cell only where trimming changes it; the outcome is DuckDB's trim() of every cell."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_store.importers.tabular import _trimmed

SPACES = [" ", "\u00a0", "\u2003", "\u3000", "\u202f", "\t", "\n", "\r", "\x0b"]
cells = st.lists(st.one_of(st.sampled_from(SPACES), st.characters(codec="utf-8", exclude_characters="\x00")),
                 max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(cells, min_size=1, max_size=20))
def test_the_guarded_trim_equals_trim_on_every_cell(values):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[value] for value in values])
    pairs = con.sql(f"SELECT trim(v), {_trimmed('v')} FROM t").fetchall()
    assert [guarded for _, guarded in pairs] == [plain for plain, _ in pairs]


def test_padded_cells_are_trimmed_and_plain_ones_kept():
    con = duckdb.connect()
    rows = con.sql(f"SELECT {_trimmed('v')} FROM (VALUES (' a'), ('b '), ('\u00a0c\u3000'), ('d'), ('é f')) t(v)")
    assert [row[0] for row in rows.fetchall()] == ["a", "b", "c", "d", "é f"]
