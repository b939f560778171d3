"""The shared import pipeline: raw rows (sla_store.importers.reading) -> typed, validated staging table ->
items, events, rejects.

Everything runs as set-based DuckDB SQL on the writer's connection (a million rows import in seconds).
Identifiers and literals that come from mapping files are quoted by DuckDB (sla_store.sql), never pasted raw.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from sla_store import segments
from sla_store.coverage import note_event_names
from sla_store.importers.mapping import LOWERED_FIELDS, OFFSET_FORMATS, TEXT_FIELDS, TIME_FIELDS, Mapping
from sla_store.importers.reading import (
    LINE,
    RawTable,
    drop_temp,
    numbered_columns,
    read_raw,
    settle,
    unreadable,
)
from sla_store.sql import ident, literal, literal_list

# A trailing UTC offset after a time of day: "... 09:12:33Z", "...09:12+02:00", "... 09:12:33 +0200".
# Real offsets lie within +-14:00; "+2500" is not an offset, so such a cell does not parse.
OFFSET_PATTERN = r"\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)$"
# Stored instants lie in [EARLIEST, LATEST): "0001-01-01" or "9999-12-31" are "no date" placeholders, not
# times, and years outside Python's range would break every reader. Such cells reject their row.
EARLIEST, LATEST = "1900-01-01", "2200-01-01"
# "Minutes after creation" beyond a century are not a duration (and 1e12 minutes overflow an instant).
MAX_MINUTES = 100 * 366 * 24 * 60




def _trimmed(value: str) -> str:
    """SQL for trim(value), computed only where it can change something.

    DuckDB's trim strips spaces: U+0020 and the other Unicode space separators, never another ASCII
    character. Most cells start and end with neither, and trimming every cell (a new string each) cost more
    than reading the file; a cell that may start with a space (it sorts before "!": a space, a control
    character or nothing), ends with one, or holds any non-ASCII character (strlen counts bytes, length
    characters), is trimmed as before. The first test compares the string's inlined prefix only.
    """
    return (f"(CASE WHEN {value} < '!' OR strlen({value}) <> length({value}) OR ends_with({value}, ' ') "
            f"THEN trim({value}) ELSE {value} END)")


def _clean(column: str, mapping: Mapping, markers_done: bool = False) -> str:
    """SQL for an export column as trimmed text with the missing markers turned into NULL."""
    value = f"CAST({ident(column)} AS VARCHAR)"
    if markers_done:
        return f"nullif({_trimmed(value)}, '')"
    markers = ", ".join(literal(marker) for marker in ["", *mapping.missing])
    trimmed = _trimmed(value)
    return f"(CASE WHEN {trimmed} IN ({markers}) THEN NULL ELSE {trimmed} END)"


def _canonical(mapping: Mapping, field: str, cleaned: str | None, lowered: str | None = None) -> str:
    """SQL for a text field from its cleaned column: mapped to canonical names, or the mapping's constant.

    `lowered` names a column holding lower(cleaned) where the caller computed it once (a CASE on an
    expression evaluates it again for every WHEN)."""
    if cleaned is None:
        constant = mapping.constants.get(field)
        return literal(constant) if constant is not None else "NULL::VARCHAR"
    lowered = lowered or f"lower({cleaned})"
    fallback = lowered if field in LOWERED_FIELDS else cleaned
    table = mapping.values.get(field, {})
    if not table:
        return fallback
    cases = " ".join(f"WHEN {literal(str(k).lower())} THEN {literal(str(v))}" for k, v in table.items())
    return f"(CASE {lowered} {cases} ELSE {fallback} END)"


def _first_format(text: str, formats: list[str] | tuple[str, ...]) -> str:
    """SQL for try_strptime(text, formats): the first format that parses wins, so trying the first one
    alone before the list gives the same instant - and an export written in one format (the usual case)
    pays for one format instead of the list."""
    return f"coalesce(try_strptime({text}, {literal(formats[0])}), try_strptime({text}, {literal_list(formats)}))"


def parse_time_sql(text: str, mapping: Mapping) -> str:
    """SQL parsing a trimmed text timestamp to TIMESTAMPTZ (NULL when it does not parse)."""
    zone = literal(mapping.timezone)
    return (
        f"(CASE WHEN {text} IS NULL THEN NULL::TIMESTAMPTZ "
        f"WHEN regexp_matches({text}, {literal(OFFSET_PATTERN)}) "
        # strptime's %z rolls an impossible day over ("2024-02-30 10:00 +0100" -> 1 March): a day of 29-31
        # must be a real date first (the cheap string test keeps other days off that extra cast).
        f"THEN coalesce(CASE WHEN substr({text}, 9, 2) < '29' OR try_cast(left({text}, 10) AS DATE) IS NOT NULL "
        f"THEN {_first_format(text, OFFSET_FORMATS)}::TIMESTAMPTZ END, try_cast({text} AS TIMESTAMPTZ)) "
        f"ELSE timezone({zone}, {_first_format(text, mapping.naive_formats())}) END)"
    )


def staged_name(field: str) -> str:
    """`at` is an SQL keyword: the event time is staged as occurred_at."""
    return "occurred_at" if field == "at" else field



@dataclass
class Staged:
    """Counts over the staged table, taken in one pass: all rows, rejected ones, distinct ids of the good."""

    rows: int
    rejected: int
    distinct_good: int | None  # None for event rows (not counted)


def stage(con: duckdb.DuckDBPyConnection, mapping: Mapping, raw: RawTable) -> Staged:
    """Create temp view `staged`: one row per raw row with canonical, typed fields and a reject reason.

    When raw_rows is a view over a CSV file this pass is the one that reads the file; a file with broken
    lines is read again into a table that numbers its rows by file line (sla_store.importers.reading.settle).
    The rows are kept in temp table staged_rows; what is the same on every row (a mapping's constant, a
    field the file has no column for) is added by the view instead of being stored a million times.
    """
    drop_temp(con, "staged", "staged_rows")
    same = _same_on_every_row(mapping, raw)
    try:
        con.execute(_stage_sql(mapping, raw, exclude=tuple(same)))
    except duckdb.Error as exc:
        if raw.path is None:
            raise
        raise unreadable(raw.path, exc) from exc
    # CSV rows were stored in the file's order: their rowids number them by file line (header: line 1).
    numbered = numbered_columns(con, 2, "staged_rows") if raw.reader_sql is not None else "*"
    added = "".join(f", {sql} AS {name}" for name, sql in same.items())
    con.execute(f"CREATE TEMP VIEW staged AS SELECT {numbered}{added} FROM staged_rows")
    # Distinct ids only where rows are items (a file's later row of an item replaces its earlier one).
    distinct_sql = ("count(DISTINCT item_id) FILTER (WHERE reason IS NULL)" if mapping.rows in ("items", "updates")
                    else "NULL")
    rows, rejected, distinct = con.sql(
        f"SELECT count(*), count(*) FILTER (WHERE reason IS NOT NULL), {distinct_sql} FROM staged").fetchall()[0]
    if not settle(con, raw, rows):
        again = read_raw(con, raw.path, raw.mapping, materialize=True)
        raw.rows, raw.broken_rows, raw.path, raw.reader_sql = again.rows, again.broken_rows, None, None
        return stage(con, mapping, raw)
    return Staged(rows=rows, rejected=rejected, distinct_good=distinct)


def _same_on_every_row(mapping: Mapping, raw: RawTable) -> dict[str, str]:
    """Staged column -> its SQL, for the columns the file does not fill: constants and NULLs."""
    present = set(raw.columns)
    same: dict[str, str] = {}
    if not any(column in present for column in mapping.attribute_columns().values()):
        same["attributes"] = "NULL::JSON"
    for field in TEXT_FIELDS:
        if mapping.columns.get(field) not in present:
            same[field] = _canonical(mapping, field, None)
    for field in TIME_FIELDS:
        if field not in mapping.minutes_after_created and mapping.columns.get(field) not in present:
            same[staged_name(field)] = "NULL::TIMESTAMPTZ"
    return same


def _stage_sql(mapping: Mapping, raw: RawTable, exclude: tuple[str, ...] = ()) -> str:
    """The CREATE statement of staged_rows (long: one select item per mapped field and check), without the
    `exclude` columns."""
    present = set(raw.columns)
    numbered_later = raw.reader_sql is not None
    cleaned: list[str] = [] if numbered_later else [LINE]
    cleaned_name: dict[str, str] = {}
    for field, column in [*mapping.columns.items(), *mapping.minutes_after_created.items()]:
        if column in present:
            cleaned_name[field] = f"c_{field}"
            cleaned.append(f"{_clean(column, mapping, raw.markers_done)} AS c_{field}")
    # Attributes are kept under their names (lower_snake), as trimmed text with the missing markers NULL.
    attributes = {name: col for name, col in mapping.attribute_columns().items() if col in present}
    if attributes:
        packed = ", ".join(f"{ident(name)} := {_clean(col, mapping, raw.markers_done)}"
                           for name, col in attributes.items())
        cleaned.append(f"to_json(struct_pack({packed})) AS attributes")
    else:
        cleaned.append("NULL::JSON AS attributes")
    # Fields mapped through a value table are looked up by their lower-case text, computed once here.
    lowered = {field: f"l_{field}" for field in TEXT_FIELDS if field in cleaned_name and mapping.values.get(field)}
    lowering = "".join(f", lower({cleaned_name[field]}) AS {name}" for field, name in lowered.items())

    select = ["attributes"] if numbered_later else [LINE, "attributes"]
    for field in TEXT_FIELDS:
        select.append(f"{_canonical(mapping, field, cleaned_name.get(field), lowered.get(field))} AS {field}")
    for field in TIME_FIELDS:
        text, name = cleaned_name.get(field), staged_name(field)
        if text is None:
            select += [f"NULL::VARCHAR AS {name}_text", f"NULL::TIMESTAMPTZ AS {name}"]
        elif field in mapping.minutes_after_created:
            select += [f"{text} AS {name}_text", f"NULL::TIMESTAMPTZ AS {name}",
                       f"try_cast({text} AS DOUBLE) AS {name}_minutes"]
        else:
            select += [f"{text} AS {name}_text", f"{parse_time_sql(text, mapping)} AS {name}"]
    # Milestones exported as "minutes after creation" (Zendesk's reply and resolution times).
    offsets = [f"(CASE WHEN abs({field}_minutes) <= {MAX_MINUTES} THEN "
               f"created + to_microseconds(CAST(round({field}_minutes * 60e6) AS BIGINT)) END) AS {field}"
               for field in mapping.minutes_after_created if field in cleaned_name]
    replace = f" REPLACE ({', '.join(offsets)})" if offsets else ""
    # The texts and minutes only serve the reject reasons: they are not kept in the staged table.
    scratch = [f"{staged_name(field)}_text" for field in TIME_FIELDS]
    scratch += [f"{field}_minutes" for field in mapping.minutes_after_created if field in cleaned_name]
    return f"""
        CREATE TEMP TABLE staged_rows AS
        WITH cleaned AS (SELECT {', '.join(cleaned)} FROM {raw.reader_sql if numbered_later else 'raw_rows'}),
             typed AS (SELECT {', '.join(select)} FROM (SELECT *{lowering} FROM cleaned)),
             timed AS (SELECT *{replace} FROM typed)
        SELECT * EXCLUDE ({', '.join([*scratch, *exclude])}), {_reason_sql(mapping, cleaned_name)} AS reason
        FROM timed
    """


def _reason_sql(mapping: Mapping, cleaned_name: dict[str, str]) -> str:
    """The first problem a row has, as a one-line reason naming the column (NULL for a good row)."""
    primary = "at" if mapping.rows == "events" else "created"
    checks = [
        ("item_id IS NULL", literal(f"missing id in column {mapping.columns['item_id']!r}")),
        (f"{staged_name(primary)}_text IS NULL", literal(f"missing time in column {mapping.columns[primary]!r}")),
    ]
    if mapping.rows == "updates":
        checks.append(("updated_text IS NULL", literal(f"missing time in column {mapping.columns['updated']!r}")))
    if mapping.rows == "events" and "activity" in mapping.columns:
        checks.append(("activity IS NULL", literal(f"missing activity in column {mapping.columns['activity']!r}")))
    for field in TIME_FIELDS:
        if field not in cleaned_name:
            continue
        if field in mapping.minutes_after_created:
            column = mapping.minutes_after_created[field]
            checks.append((f"{field}_text IS NOT NULL AND {field}_minutes IS NULL",
                           f"{literal(f'not a number of minutes in column {column!r}: ')} || {field}_text"))
            # NaN compares above every number in DuckDB, so NaN and inf fail this test too.
            checks.append((f"{field}_text IS NOT NULL AND NOT abs({field}_minutes) <= {MAX_MINUTES}",
                           f"{literal(f'minutes out of range in column {column!r}: ')} || {field}_text"))
            checks.append((f"NOT ({field} >= TIMESTAMPTZ '{EARLIEST}' AND {field} < TIMESTAMPTZ '{LATEST}')",
                           f"{literal(f'minutes out of range in column {column!r}: ')} || {field}_text"))
        else:
            column, name = mapping.columns[field], staged_name(field)
            checks.append((f"{name}_text IS NOT NULL AND {name} IS NULL",
                           f"{literal(f'unparseable time in column {column!r}: ')} || {name}_text"))
            checks.append((f"NOT ({name} >= TIMESTAMPTZ '{EARLIEST}' AND {name} < TIMESTAMPTZ '{LATEST}')",
                           f"{literal(f'year out of range (1900-2199) in column {column!r}: ')} || {name}_text"))
    for field in ("first_response", "resolved", "closed"):
        if field in cleaned_name:
            checks.append((f"{field} < created", literal(f"{field.replace('_', ' ')} before created")))
    cases = " ".join(f"WHEN {condition} THEN {reason}" for condition, reason in checks)
    return f"CASE {cases} ELSE NULL END"


@dataclass
class Loaded:
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    items: int
    events: int


# What an event-log item's targets match on, taken from one row (with its attributes).
_CLASSIFYING = ("process", "channel", "team", "priority")
_LINE_ORDER = f"occurred_at, {LINE}"  # an event log's rows in time order, ties in file order


def store(con: duckdb.DuckDBPyConnection, mapping: Mapping, raw: RawTable, import_id: int,
          staged: Staged) -> Loaded:
    """Move the staged rows into items / events / rejected_rows for this import.

    Long: one SQL statement per step of the write, in the order they must run in the import's transaction."""
    rejected = staged.rejected
    if rejected:  # the join reads raw_rows (a CSV file's view reads the file again): only for rejects
        con.execute(f"""
            INSERT INTO rejected_rows
            SELECT ?, s.{LINE}, json_merge_patch(to_json(r), '{{"{LINE}": null}}')::VARCHAR, s.reason
            FROM (SELECT {LINE}, reason FROM staged WHERE reason IS NOT NULL) s JOIN raw_rows r ON r.{LINE} = s.{LINE}
        """, [import_id])
    con.execute(f"INSERT INTO rejected_rows SELECT ?, {LINE}, raw, reason FROM raw_rejects", [import_id])
    source, kind = literal(mapping.source), literal(mapping.kind)
    items = events = 0
    # The file's items that were sealed with the old history are written live from here on.
    segments.unseal(con, "SELECT ? AS source, item_id FROM staged WHERE reason IS NULL", [mapping.source])

    if mapping.rows in ("items", "updates"):
        # Overlapping exports: the latest row of an item wins, in the file and over what was stored.
        rows, distinct = staged.rows - rejected, staged.distinct_good
        latest_only = (f"QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY {LINE} DESC) = 1"
                       if rows != distinct else "")
        con.execute("DELETE FROM items WHERE source = ? AND item_id IN "
                    "(SELECT item_id FROM staged WHERE reason IS NULL)", [mapping.source])
        con.execute(f"""
            INSERT INTO items
            SELECT {source} AS source, item_id, {kind} AS kind, process, channel, team, priority, agent,
                   status, subject, created, first_response, resolved, closed, attributes, ? AS import_id
            FROM staged WHERE reason IS NULL
            {latest_only}
        """, [import_id])
        items = distinct
    if mapping.rows == "updates":
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE new_events AS
            SELECT DISTINCT {source} AS source, item_id, updated AS occurred_at, 'status' AS kind,
                   status AS value, ? AS import_id
            FROM staged WHERE reason IS NULL AND status IS NOT NULL
        """, [import_id])
        events = _insert_events(con)
        if mapping.first_response_statuses:
            # Judged over every stored update of the incident, so a later partial log cannot move it.
            con.execute(f"""
                UPDATE items SET first_response = f.first_at
                FROM (SELECT e.item_id, min(e.occurred_at) AS first_at
                      FROM events e JOIN items i ON i.source = e.source AND i.item_id = e.item_id
                      WHERE e.source = ? AND e.kind = 'status' AND e.occurred_at >= i.created
                        AND e.value IN ({", ".join(literal(status) for status in mapping.first_response_statuses)})
                        AND e.item_id IN (SELECT item_id FROM staged)
                      GROUP BY e.item_id) f
                WHERE items.source = ? AND items.item_id = f.item_id AND items.first_response IS NULL
            """, [mapping.source, mapping.source])
    if mapping.rows == "events":
        kind_sql = literal(mapping.event_kind) if mapping.event_kind else "activity"
        value_sql = "activity" if mapping.event_kind else "''"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE new_events AS
            SELECT DISTINCT {source} AS source, item_id, occurred_at, {kind_sql} AS kind,
                   {value_sql} AS value, ? AS import_id
            FROM staged WHERE reason IS NULL
        """, [import_id])
        events = _insert_events(con)
        if mapping.creates_items:
            # An event-log item starts at its first event (or its created column); a milestone is the first
            # activity the mapping names for it (or the column mapped to it); its status is its latest row's.
            # What targets match on - process, channel, team, priority and the attributes - comes from one
            # row: the latest that records any of them (a log may name them on a case's first event only).
            times = []
            for field in ("first_response", "resolved", "closed"):
                from_column = f"max_by({field}, occurred_at) FILTER (WHERE {field} IS NOT NULL)"
                names = mapping.milestones.get(field)
                if names:
                    globs = " OR ".join(f"activity GLOB {literal(name.lower())}" for name in names)
                    from_activity = f"min(occurred_at) FILTER (WHERE {globs})"
                    times.append(f"coalesce({from_column}, {from_activity}) AS {field}")
                else:
                    times.append(f"{from_column} AS {field}")
            created_names = mapping.milestones.get("created")
            created_sql = "coalesce(min(created), min(occurred_at))"
            if created_names:
                globs = " OR ".join(f"activity GLOB {literal(name.lower())}" for name in created_names)
                created_sql = f"coalesce(min(created), min(occurred_at) FILTER (WHERE {globs}), min(occurred_at))"
            records = " OR ".join([*(f"{field} IS NOT NULL" for field in _CLASSIFYING if field not in
                                     mapping.constants),  # a constant is on every row: it records nothing
                                   "coalesce(len(list_filter(attributes->>'$.*', lambda v: v IS NOT NULL)) > 0, "
                                   "false)"])
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE new_items AS
                SELECT {source} AS source, item_id, {kind} AS kind,
                       {", ".join(f"classified.{field} AS {field}" for field in _CLASSIFYING)}, agent, status, subject,
                       created, first_response, resolved, closed, classified.attributes AS attributes, ? AS import_id,
                       classified_at, last_at
                FROM (SELECT item_id,
                             max_by({{{", ".join(f"'{field}': {field}" for field in _CLASSIFYING)},
                                     'attributes': attributes}}, ({_LINE_ORDER})) FILTER (WHERE {records}) AS classified,
                             max(occurred_at) FILTER (WHERE {records}) AS classified_at, max(occurred_at) AS last_at,
                             max_by(agent, ({_LINE_ORDER})) FILTER (WHERE agent IS NOT NULL) AS agent,
                             max_by(coalesce(status, activity), ({_LINE_ORDER})) AS status,
                             min_by(subject, occurred_at) FILTER (WHERE subject IS NOT NULL) AS subject,
                             {created_sql} AS created, {", ".join(times)}
                      FROM staged WHERE reason IS NULL GROUP BY item_id)
            """, [import_id])
            items = con.sql("SELECT count(*) FROM new_items").fetchall()[0][0]
            # Merge with items stored by earlier imports of the same log: the earliest start and milestones
            # win; the later rows win the rest - status and agent when this import's latest row is no older
            # than the item's events stored by other imports, the matched-on fields (all together) when this
            # import's row for them is no older than those events.
            replaced = ", ".join(f"{field} = CASE WHEN n.newer THEN n.{field} ELSE items.{field} END"
                                   for field in (*_CLASSIFYING, "attributes"))
            con.execute(f"""
                UPDATE items SET
                    created = least(items.created, n.created),
                    {replaced},
                    agent = CASE WHEN n.later THEN coalesce(n.agent, items.agent) ELSE coalesce(items.agent, n.agent) END,
                    status = CASE WHEN n.later THEN n.status ELSE items.status END,
                    subject = coalesce(items.subject, n.subject),
                    first_response = least(items.first_response, n.first_response),
                    resolved = least(items.resolved, n.resolved),
                    closed = least(items.closed, n.closed),
                    import_id = n.import_id
                FROM (SELECT n.*, n.classified_at >= coalesce(s.stored_at, n.classified_at) AS newer,
                             n.last_at >= coalesce(s.stored_at, n.last_at) AS later
                      FROM new_items n LEFT JOIN (
                          SELECT e.item_id, max(e.occurred_at) AS stored_at FROM events e
                          SEMI JOIN new_items k ON e.source = k.source AND e.item_id = k.item_id
                          WHERE e.import_id <> ? GROUP BY e.item_id) s ON s.item_id = n.item_id) n
                WHERE items.source = n.source AND items.item_id = n.item_id
            """, [import_id])
            con.execute("""
                INSERT INTO items
                SELECT n.* EXCLUDE (classified_at, last_at) FROM new_items n ANTI JOIN (
                    SELECT i.source, i.item_id FROM items i SEMI JOIN new_items k
                        ON i.source = k.source AND i.item_id = k.item_id) i  -- the log's items only
                    ON i.source = n.source AND i.item_id = n.item_id
            """)
    loaded = raw.rows - rejected
    return Loaded(rows_read=raw.rows + raw.broken_rows, rows_loaded=loaded,
                  rows_rejected=rejected + raw.broken_rows, items=items, events=events)


def _insert_events(con: duckdb.DuckDBPyConnection) -> int:
    """Add the unseen rows of new_events to events; the number added.

    Events are unique on (source, item_id, occurred_at, kind, value). Only the stored events of the file's
    items are compared (a semi join on the few keys, which DuckDB prunes by its zone maps), not the whole
    history; the names the new events bring are added to the coverage summary (sla_store.coverage).

    They are stored in item order: each row group then holds a narrow range of items, so reading one item's
    events (here, and when its results are judged again) skips the row groups of other items instead of
    scanning every event (a log in time order spreads every item over the whole table)."""
    before = segments.event_count(con)
    added = con.execute("""
        INSERT INTO events
        SELECT n.* FROM new_events n ANTI JOIN (
            SELECT e.* FROM events e SEMI JOIN (SELECT DISTINCT source, item_id FROM new_events) k
                ON e.source = k.source AND e.item_id = k.item_id) e
            ON e.source = n.source AND e.item_id = n.item_id AND e.occurred_at = n.occurred_at
               AND e.kind = n.kind AND e.value = n.value
        ORDER BY n.source, n.item_id, n.occurred_at
    """).fetchall()[0][0]
    note_event_names(con, "new_events", before, added)
    return added
