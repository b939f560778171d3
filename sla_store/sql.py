"""Names and constants pasted into SQL, quoted by DuckDB itself - for the statements that cannot take bound
parameters (views, CASE tables assembled into one statement, identifiers). Values go in as bound
parameters everywhere else."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb


def ident(name: str) -> str:
    """A quoted SQL identifier: 'Case ID' -> "Case ID" (a double quote inside is doubled).

    DuckDB quotes every name but a lone `*`, which it keeps as a star expression; a name is one column."""
    if str(name) == "*":
        return '"*"'
    return str(duckdb.ColumnExpression(str(name)))


def literal(value: str) -> str:
    """A SQL string constant: it's -> 'it''s'."""
    return str(duckdb.ConstantExpression(str(value)))


def literal_list(values: Iterable[str]) -> str:
    """A SQL list constant of strings: ['a', 'b''c']."""
    return str(duckdb.ConstantExpression([str(v) for v in values]))
