"""What the data can measure and what is wrong with the setup: dimension columns, not-measured metrics, notes.

- Dimensions: a policy's `dimensions` are real VARCHAR columns of `results` (and `not_measured`), filled from
  the items' `attributes` JSON once per refresh, so pages group and filter on them like on `team`.
- Not measured: a source whose mappings never fill a metric's start or stop ("no column"), or whose items
  never have it ("never recorded"), is not measured for that metric: its items go to `not_measured`, not
  to `results` as breached.
- Notes (`data_notes`): one line per not-measured source x metric, per source no target of the policy
  matches, and for items created before the first policy version (judged by that first version).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from sla_store import segments
from sla_store.sql import ident, literal

NOTE_TOPICS = ("not_measured", "unmatched_source", "before_first_policy")


def record_source_fields(con: duckdb.DuckDBPyConnection, source: str, fields: Sequence[str]) -> None:
    """Remember that imports of `source` can fill these item time fields."""
    for field in fields:
        con.execute("INSERT INTO source_fields SELECT ?, ? WHERE NOT EXISTS "
                    "(SELECT 1 FROM source_fields WHERE source = ? AND field = ?)", [source, field, source, field])


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.sql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
        "AND table_catalog = current_database() ORDER BY ordinal_position", params=[table]).fetchall()]


def ensure_dimension_columns(con: duckdb.DuckDBPyConnection, dimensions: Sequence[str]) -> None:
    """Add a VARCHAR column per dimension to `results` and `not_measured` (kept once added)."""
    for table in ("results", "not_measured"):
        present = set(table_columns(con, table))
        for name in dimensions:
            if name not in present:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {ident(name)} VARCHAR")


def dimension_select(dimensions: Sequence[str], alias: str = "") -> str:
    """SQL select items for each dimension from the items' attributes JSON (", ..." or "")."""
    prefix = f"{alias}." if alias else ""
    return "".join(f", {prefix}attributes->>{literal(name)} AS {ident(name)}" for name in dimensions)


def unrecorded(con: duckdb.DuckDBPyConnection, milestones: Sequence[str]) -> tuple[dict[str, set[str]],
                                                                                   dict[str, set[str]]]:
    """(source -> milestones it never records, source -> item fields no mapping of it fills)."""
    from sla_core.clocks import unrecorded_milestones

    counted = con.sql("SELECT source, count(created), count(first_response), count(resolved), count(closed) "
                      f"FROM {segments.whole(con, 'items')} GROUP BY source").fetchall()
    columns = {row[0]: {name for name, count in zip(("created", "first_response", "resolved", "closed"), row[1:],
                                                    strict=True) if count}
               for row in counted}
    events: dict[str, set[str]] = {source: set() for source in columns}
    for source, name in event_names(con):
        events.setdefault(source, set()).add(name)
    mapped: dict[str, set[str]] = {}
    for source, field in con.sql("SELECT source, field FROM source_fields").fetchall():
        mapped.setdefault(source, set()).add(field)
    never = unrecorded_milestones(milestones, columns, events)
    no_column = {source: {f for f in ("created", "first_response", "resolved", "closed")
                          if source in mapped and f not in mapped[source]} for source in columns}
    return never, no_column


_NAMES_SQL = ("SELECT DISTINCT source, kind AS name FROM {table} UNION "
              "SELECT DISTINCT source, value FROM {table} WHERE kind = 'status'")


def event_names(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(source, name) of every event kind and status value stored, from the `event_names` summary.

    The summary records how many events it describes; when that is not the table's row count (a file
    written before the summary existed, rows written around the importers) the names are read from the
    events themselves, and on a write connection the summary is rebuilt from them."""
    try:
        described = con.sql("SELECT coalesce(max(events), 0), count(*) FROM event_names").fetchall()[0]
    except duckdb.CatalogException:  # a file made before the summary, opened read-only
        return con.sql(_NAMES_SQL.format(table="events")).fetchall()
    stored = segments.event_count(con)
    if described[0] == stored and (described[1] > 0) == (stored > 0):
        return con.sql("SELECT source, name FROM event_names").fetchall()
    names = con.sql(_NAMES_SQL.format(table=segments.whole(con, "events"))).fetchall()
    try:
        con.execute("DELETE FROM event_names")
        con.executemany("INSERT INTO event_names VALUES (?, ?, ?)", [[*row, stored] for row in names])
    except duckdb.Error:  # read-only: answer without keeping the summary
        pass
    return names


def note_event_names(con: duckdb.DuckDBPyConnection, table: str, before: int, added: int) -> None:
    """After `added` rows of `table` went into events (which held `before`): add their names to the
    summary, if it described the events before them (else the next reader rebuilds it)."""
    described = con.sql("SELECT max(events) FROM event_names").fetchall()[0][0]
    if (described if described is not None else 0) != before or not added:
        return
    con.execute(f"""
        INSERT INTO event_names
        SELECT source, name, ? FROM ({_NAMES_SQL.format(table=ident(table))})
        EXCEPT SELECT source, name, ? FROM event_names""", [before, before])
    con.execute("UPDATE event_names SET events = ?", [before + added])


def coverage_fingerprint(never: dict[str, set[str]], no_column: dict[str, set[str]]) -> str:
    """A short text that changes when any source starts or stops recording a milestone."""
    import hashlib

    text = repr(sorted((source, sorted(never.get(source, ())), sorted(no_column.get(source, ())))
                       for source in set(never) | set(no_column)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def unrecorded_or_none(con: duckdb.DuckDBPyConnection, history) -> dict[str, set[str]] | None:
    """source -> milestones it never records, for re-judging stored items (None for a database made before
    sources' fields were kept: everything is measured then)."""
    from sla_core.clocks import metric_milestones

    try:
        return unrecorded(con, metric_milestones(history))[0]
    except duckdb.CatalogException:
        return None


def store_not_measured(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame,
                       no_column: dict[str, set[str]]) -> None:
    """Add these rows to `not_measured`, each with its reason (no column / never recorded)."""
    if frame.is_empty():
        return
    no_column_pairs = {(source, field) for source, fields in no_column.items() for field in fields}
    labels = {(s, m): ("no column" if all((s, part) in no_column_pairs for part in m.split(" or "))
                       else "never recorded")
              for s, m in frame.select("source", "missing").unique().iter_rows()}
    frame = frame.with_columns(
        pl.struct("source", "missing").map_elements(lambda row: labels[(row["source"], row["missing"])],
                                                    return_dtype=pl.String).alias("reason"))
    con.register("computed_not_measured", frame.to_arrow())
    try:
        con.execute("INSERT INTO not_measured BY NAME SELECT * FROM computed_not_measured")
    finally:
        con.unregister("computed_not_measured")


NOT_MEASURED_NOTES = """
    INSERT INTO data_notes
    SELECT 'not_measured', source, metric, count(*),
           replace(metric, '_', ' ') || ': not measured for ' || source || ' (' || any_value(reason) || '); '
           || count(*) || ' items without ' || any_value(missing)
    FROM {table} {where} GROUP BY source, metric ORDER BY source, metric"""
UNMATCHED_NOTE = ("'no target of policy version ' || ? || ' matches any of the ' || count(*) || ' items of ' "
                  "|| i.source || ' (targets match on ' || ? || ')'")


def refresh_notes(con: duckdb.DuckDBPyConnection, history, touched: str | None = None) -> None:
    """Rebuild `data_notes` from items, results and not_measured.

    With `touched` - a table of the (source, item_id) a write just re-judged under an unchanged policy
    history - only the notes of those items' sources are rebuilt: the items, results and not-measured rows
    of every other source are as they were, and so are their notes."""
    if touched is not None:
        _refresh_source_notes(con, history, touched)
    else:
        items, results, not_measured = (segments.whole(con, table) for table in ("items", "results", "not_measured"))
        con.execute("DELETE FROM data_notes")
        con.execute(NOT_MEASURED_NOTES.format(table=not_measured, where=""))
        con.execute(f"""
            INSERT INTO data_notes
            SELECT 'unmatched_source', i.source, NULL, count(*), {UNMATCHED_NOTE}
            FROM {items} i
            WHERE i.source NOT IN (SELECT DISTINCT source FROM {results})
              AND i.source NOT IN (SELECT DISTINCT source FROM {not_measured})
            GROUP BY i.source ORDER BY i.source""",
                    [history.current.version, _match_summary(history.current)])
    first = history.versions[0]
    con.execute("DELETE FROM data_notes WHERE topic = 'before_first_policy'")
    # Zone maps skip the row groups created after the date: this reads only the items older than it.
    con.execute(f"""
        INSERT INTO data_notes
        SELECT 'before_first_policy', NULL, NULL, count(*),
               count(*) || ' items were created before ' || ? || ', when the first policy version (v' || ? ||
               ') took effect; they are judged by that first version'
        FROM {segments.whole(con, 'items')} WHERE created < ?::DATE HAVING count(*) > 0""",
                [first.effective_from.isoformat(), first.version, first.effective_from])


def _refresh_source_notes(con: duckdb.DuckDBPyConnection, history, touched: str) -> None:
    sources = [row[0] for row in con.sql(f"SELECT DISTINCT source FROM {ident(touched)}").fetchall()]
    if not sources:
        return
    con.execute("DELETE FROM data_notes WHERE topic IN ('not_measured', 'unmatched_source') "
                "AND source IN (SELECT unnest(?))", [sources])
    items, results, not_measured = (segments.whole(con, table) for table in ("items", "results", "not_measured"))
    con.execute(NOT_MEASURED_NOTES.format(table=not_measured, where="WHERE source IN (SELECT unnest($sources))"),
                {"sources": sources})
    for source in sources:
        # A source with any result or not-measured row is matched: the first such row answers (LIMIT 1
        # stops the scan), instead of listing the sources of every stored result.
        judged = con.sql(f"SELECT 1 FROM {results} WHERE source = $s UNION ALL "
                         f"SELECT 1 FROM {not_measured} WHERE source = $s LIMIT 1", params={"s": source}).fetchall()
        if not judged:
            con.execute(f"""
                INSERT INTO data_notes
                SELECT 'unmatched_source', i.source, NULL, count(*), {UNMATCHED_NOTE}
                FROM {items} i WHERE i.source = ? GROUP BY i.source""",
                        [history.current.version, _match_summary(history.current), source])


def _match_summary(policy) -> str:
    keys = sorted({key for target in policy.targets for key in target.match})
    return ", ".join(keys) if keys else "nothing: every target matches every item"


def notes(con: duckdb.DuckDBPyConnection, topic: str | None = None) -> list[str]:
    """The data notes' messages (one topic or all)."""
    if topic is None:
        return [row[0] for row in con.sql("SELECT message FROM data_notes ORDER BY topic, source, metric")
                .fetchall()]
    return [row[0] for row in con.sql("SELECT message FROM data_notes WHERE topic = ? ORDER BY source, metric",
                                      params=[topic]).fetchall()]
