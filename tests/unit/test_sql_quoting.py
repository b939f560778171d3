"""Values pasted into import statements are quoted by DuckDB itself and read back unchanged."""

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_store.sql import ident, literal, literal_list

TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_a_quoted_string_reads_back_as_itself(value):
    assert duckdb.sql(f"SELECT {literal(value)}").fetchall()[0][0] == value


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, max_size=5))
def test_a_quoted_list_reads_back_as_itself(values):
    assert duckdb.sql(f"SELECT {literal_list(values)}::VARCHAR[]").fetchall()[0][0] == values


def test_quotes_and_sql_in_a_value_stay_text():
    hostile = "x'); DROP TABLE items; --"
    assert duckdb.sql(f"SELECT {literal(hostile)} AS v").fetchall()[0][0] == hostile


@settings(max_examples=100, deadline=None)
@given(TEXT.filter(lambda name: name.strip() != ""))
def test_a_quoted_name_is_one_column_of_that_name(name):
    assert duckdb.sql(f"SELECT 1 AS {ident(name)}").columns == [name]


def test_a_column_named_star_is_that_column_not_every_column():
    assert duckdb.sql(f"SELECT 1 AS {ident('*')}, 2 AS b").columns == ["*", "b"]
