"""What the store keeps beside `results` so a page reads what it shows, not the history.

- `daily_rollup`: result counts per UTC created day, slice (ROLLUP_SLICES) and objective. Every measure is a
  count (the objective is a key, so its sums, minimum and maximum follow), so a write subtracts what the rows
  it deletes counted and adds what the rows it inserts count: the table follows the change, never a rescan.
- `dimension_counts`: result rows per policy dimension, kind and value - the sidebar's value lists.
- `open_clocks`: the stored running clocks (stop null, an item's latest instance of a metric) with their
  item's subject - the live queue reads these few rows instead of scanning every result.

sla_store.compute calls the three hooks (`clear`, `delete_results`, `add`) in every write. A database written
before these tables existed has none (or an empty rollup beside its results): readers then build the rollup
in memory and read open clocks and dimension values from `results` (`kept`); the next write fills them once.
"""

from __future__ import annotations

import duckdb

from sla_store import measures as M
from sla_store import segments
from sla_store.selection import ROLLUP_SLICES, FilterLike, Query, dimension, utc_day, where_clause
from sla_store.sql import ident, literal

ROLLUP_TABLE = "daily_rollup"
OPEN_TABLE = "open_clocks"
ROLLUP_KEYS = (*ROLLUP_SLICES, "day", "objective")
ROLLUP_COUNTS = ("items", "met", "breached", "active")

RETURNED_ITEMS = 200_000  # up to this many re-judged items, a DELETE returns what their rows counted
DIMENSION_TABLE = "dimension_counts"
DIMENSION_KEYS = ("name", "kind", "value")
DIMENSION_DDL = f"CREATE TABLE IF NOT EXISTS {DIMENSION_TABLE} (name VARCHAR, kind VARCHAR, value VARCHAR, items BIGINT)"
ROLLUP_DDL = f"""CREATE TABLE IF NOT EXISTS {ROLLUP_TABLE} (
    {', '.join(f'{name} VARCHAR' for name in ROLLUP_SLICES)}, day DATE, objective DOUBLE,
    {', '.join(f'{name} BIGINT' for name in ROLLUP_COUNTS)})"""


def rollup_sql(table: str = "results") -> Query:
    """Counts per UTC created day, slice and objective of a table of result rows: the daily rollup's rows."""
    sql = f"""
        SELECT {', '.join(ROLLUP_SLICES)}, {utc_day('created')} AS day, objective,
               count(*) AS items, {M.MET} AS met, {M.BREACHED} AS breached, {M.ACTIVE} AS active
        FROM {table}
        GROUP BY ALL"""
    return sql, []


def rollup_attainment_sql(filters: FilterLike | None, by: tuple[str, ...] | list[str], *,
                          kind: str | None = "ticket", use_dates: bool = True, use_metric: bool = True,
                          extra: dict[str, str] | None = None) -> Query:
    """sla_store.queries.attainment_sql's figures (without percentiles) summed from the daily rollup."""
    keys = [f"{dimension(name, rollup=True)} AS {name}" for name in by]
    where, params = where_clause(filters, kind=kind, use_dates=use_dates, use_metric=use_metric, extra=extra,
                                 rollup=True)
    select_keys = (", ".join(keys) + ",") if keys else ""
    positions = ", ".join(str(i + 1) for i in range(len(by)))
    group = f"GROUP BY {positions}" if by else ""
    order = f"ORDER BY {positions}" if by else ""
    sql = f"""
        SELECT {select_keys}
            CAST(coalesce(sum(items), 0) AS BIGINT) AS items,
            CAST(coalesce(sum(met), 0) AS BIGINT) AS met,
            CAST(coalesce(sum(breached), 0) AS BIGINT) AS breached,
            CAST(coalesce(sum(active), 0) AS BIGINT) AS active,
            {M.attainment_of_counts("met", "breached")} AS attainment,
            coalesce(sum(objective * (met + breached)) / nullif(sum(met) + sum(breached), 0),
                     sum(objective * items) / nullif(sum(items), 0)) AS objective,
            min(objective) AS objective_min,
            max(objective) AS objective_max
        FROM {ROLLUP_TABLE}
        WHERE {where}
        {group}
        {order}"""
    return sql, params


def dimension_values_sql(name: str, kind: str | None = "ticket") -> Query:
    """dimension_values_sql's list from the kept counts."""
    sql = f"SELECT value FROM {DIMENSION_TABLE} WHERE name = ?" + (" AND kind = ?" if kind is not None else "")
    return (f"SELECT DISTINCT value FROM ({sql}) ORDER BY 1 LIMIT 500", [name, *([kind] if kind is not None else [])])


def kept(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether this database keeps the rollup and the open clocks up to date (written since they exist)."""
    try:
        return bool(cur.sql(f"SELECT EXISTS (SELECT 1 FROM {ROLLUP_TABLE}) OR NOT EXISTS "
                            f"(SELECT 1 FROM {segments.whole(cur, 'results')})").fetchall()[0][0]) and _has_table(cur, OPEN_TABLE) and _has_table(cur, DIMENSION_TABLE)
    except duckdb.CatalogException:
        return False


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                        "AND table_catalog = current_database() AND table_name = ?", params=[name]).fetchall()[0][0])


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.sql("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                      "'main' AND table_catalog = current_database() AND table_name = ? "
                                      "ORDER BY ordinal_position", params=[table]).fetchall()]


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables when missing; `open_clocks` gains the dimension columns `results` has gained."""
    con.execute(ROLLUP_DDL)
    con.execute(DIMENSION_DDL)
    if not _has_table(con, OPEN_TABLE):
        con.execute(f"CREATE TABLE {OPEN_TABLE} AS SELECT *, NULL::VARCHAR AS subject FROM results LIMIT 0")
    have = set(_columns(con, OPEN_TABLE))
    for name in _columns(con, "results"):
        if name not in have:
            con.execute(f"ALTER TABLE {OPEN_TABLE} ADD COLUMN {ident(name)} VARCHAR")


def _merge(con: duckdb.DuckDBPyConnection, delta_sql: str, sign: int = 1, table: str = ROLLUP_TABLE,
           keys: tuple[str, ...] = ROLLUP_KEYS, counts: tuple[str, ...] = ROLLUP_COUNTS) -> None:
    """Add (sign 1) or subtract (sign -1) the counts of `delta_sql` (rows shaped like `table`) to `table`; a
    group whose items reach zero is dropped. Updates the groups the delta touches in place: the table (days x
    slices, 381,000 rows at 10M tickets) is probed, never rewritten."""
    summed = ", ".join(f"CAST(sum({sign} * {name}) AS BIGINT) AS {name}" for name in counts)
    matched = " AND ".join(f"t.{name} IS NOT DISTINCT FROM d.{name}" for name in keys)
    added = ", ".join(f"{name} = t.{name} + d.{name}" for name in counts)
    columns = [*keys, *counts]
    con.execute(f"""
        MERGE INTO {table} AS t
        USING (SELECT {', '.join(keys)}, {summed} FROM ({delta_sql}) GROUP BY ALL) AS d
        ON {matched}
        WHEN MATCHED THEN UPDATE SET {added}
        WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({', '.join(f'd.{name}' for name in columns)})""")
    con.execute(f"DELETE FROM {table} WHERE items = 0")


def dimension_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The policy dimensions stored as result columns."""
    from sla_store.queries import RESULT_BASE_COLUMNS

    return [name for name in _columns(con, "results") if name not in RESULT_BASE_COLUMNS]


def _dimension_counts_sql(table: str, dimensions: list[str]) -> str:
    """Rows of `table` per policy dimension, kind and value (the sidebar's value lists)."""
    if not dimensions:
        return "SELECT NULL::VARCHAR AS name, NULL::VARCHAR AS kind, NULL::VARCHAR AS value, 0 AS items LIMIT 0"
    return " UNION ALL ".join(
        f"SELECT {literal(name)} AS name, kind, {ident(name)} AS value, count(*) AS items FROM {table} "
        f"WHERE {ident(name)} IS NOT NULL GROUP BY ALL" for name in dimensions)


def _open_rows_sql(table: str) -> str:
    """The running clocks of `table` (result rows of whole items): stop null, the item's latest instance of
    the metric (an earlier open one is a scheduled period that ended missing). Only the open rows and the
    rows of repeating clocks are read, never a window over every row."""
    return f"""SELECT c.* FROM (SELECT * FROM {table} WHERE stop IS NULL) c
               ANTI JOIN (SELECT source, item_id, metric, instance FROM {table} WHERE instance > 1) l
                 ON l.source = c.source AND l.item_id = c.item_id AND l.metric = c.metric AND l.instance > c.instance"""


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Fill both tables from the whole results table (once, for a database written before they existed)."""
    _ensure_tables(con)
    results, items = segments.whole(con, "results"), segments.whole(con, "items")
    con.execute(f"DELETE FROM {ROLLUP_TABLE}")
    con.execute(f"INSERT INTO {ROLLUP_TABLE} BY NAME {rollup_sql(results)[0]}")
    con.execute(f"DELETE FROM {DIMENSION_TABLE}")
    con.execute(f"INSERT INTO {DIMENSION_TABLE} BY NAME {_dimension_counts_sql(results, dimension_columns(con))}")
    con.execute(f"DELETE FROM {OPEN_TABLE}")
    con.execute(f"""INSERT INTO {OPEN_TABLE} BY NAME
                    SELECT o.*, i.subject FROM ({_open_rows_sql(results)}) o
                    LEFT JOIN {items} i ON i.source = o.source AND i.item_id = o.item_id
                    WHERE {M.STILL_OPEN}""")


def clear(con: duckdb.DuckDBPyConnection) -> None:
    """Hook: every result is about to be judged again (a full rebuild)."""
    _ensure_tables(con)
    for table in (ROLLUP_TABLE, DIMENSION_TABLE, OPEN_TABLE):
        con.execute(f"DELETE FROM {table}")


def delete_results(con: duckdb.DuckDBPyConnection, keys: str = "rejudge_keys") -> None:
    """Hook: delete the results of the items in table `keys` (source, item_id), and what they counted."""
    if not kept(con):
        rebuild(con)
    else:
        _ensure_tables(con)
    match = f"(source, item_id) IN (SELECT source, item_id FROM {keys})"
    dimensions = dimension_columns(con)
    if con.sql(f"SELECT count(*) FROM {keys}").fetchall()[0][0] > RETURNED_ITEMS:
        # Many items (a commit reaching far back): counted in DuckDB, never held in memory.
        rows = f"(SELECT * FROM results WHERE {match})"
        _merge(con, rollup_sql(rows)[0], sign=-1)
        _merge(con, _dimension_counts_sql(rows, dimensions), -1, DIMENSION_TABLE, DIMENSION_KEYS, ("items",))
        con.execute(f"DELETE FROM results WHERE {match}")
        con.execute(f"DELETE FROM {OPEN_TABLE} WHERE {match}")
        return
    # One statement deletes and returns what the deleted rows counted (no second scan of the results).
    # (con.sql runs a DELETE at once and keeps its returned rows; reading them does not run it again.)
    returned = ", ".join([*ROLLUP_SLICES, "created", "objective", "met", "state", *map(ident, dimensions)])
    deleted = con.sql(f"DELETE FROM results WHERE {match} RETURNING {returned}").to_arrow_table()
    if deleted.num_rows:
        con.register("deleted_results", deleted)
        try:
            _merge(con, rollup_sql("deleted_results")[0], sign=-1)
            _merge(con, _dimension_counts_sql("deleted_results", dimensions), -1, DIMENSION_TABLE, DIMENSION_KEYS,
                   ("items",))
        finally:
            con.unregister("deleted_results")
    con.execute(f"DELETE FROM {OPEN_TABLE} WHERE {match}")


def add(con: duckdb.DuckDBPyConnection, table: str, computed_at) -> None:
    """Hook: the rows of `table` (whole items' results, just inserted into `results` with `computed_at`)
    are counted, and their running clocks kept."""
    _ensure_tables(con)
    _merge(con, rollup_sql(table)[0])
    present = set(con.sql(f"SELECT * FROM {table} LIMIT 0").columns)  # a dimension no version declares any more
    dimensions = [name for name in dimension_columns(con) if name in present]
    _merge(con, _dimension_counts_sql(table, dimensions), 1, DIMENSION_TABLE, DIMENSION_KEYS, ("items",))
    con.execute(f"""INSERT INTO {OPEN_TABLE} BY NAME
                    SELECT o.*, ?::TIMESTAMPTZ AS computed_at, i.subject FROM ({_open_rows_sql(table)}) o
                    LEFT JOIN {segments.judged_items(con)} i ON i.source = o.source AND i.item_id = o.item_id
                    WHERE {M.STILL_OPEN}""", [computed_at])
