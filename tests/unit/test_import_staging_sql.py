"""The staging pass's cheaper SQL gives the same values as the plain formulation it replaces: time parsing
tries the first format alone before the whole list, value tables look up a lower-case column computed once,
and what is the same on every row is added by the `staged` view instead of being stored per row."""

from __future__ import annotations

from pathlib import Path

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_store.importers.mapping import OFFSET_FORMATS, Mapping
from sla_store.importers.reading import read_raw
from sla_store.importers.tabular import OFFSET_PATTERN, parse_time_sql, stage
from sla_store.sql import literal, literal_list

DATES = ["2026-03-02", "2024-02-29", "2023-02-29", "2024-02-30", "2024-04-31", "2026-12-31", "02/03/2026", "03-02-2026",
         "0001-01-01", "2026-3-2", "31/12/2026"]
TIMES = ["09:00:00", "9:00", "23:59:59.123", "12:00", "24:00:00", "09:60:00", "09:00:5", "12:00:00 PM", "01:02 am", ""]
OFFSETS = ["", "Z", "+0100", "+01:00", "+01", "-14:00", "+1400", "+1459", "+15:00", "+2500", "-1961", "+01:0", " UTC", "z"]
SEPARATORS = [" ", "T", "  ", ""]
texts = st.one_of(
    st.builds(lambda d, sep, t, gap, o: f"{d}{sep}{t}{gap}{o}", st.sampled_from(DATES), st.sampled_from(SEPARATORS),
              st.sampled_from(TIMES), st.sampled_from(["", " "]), st.sampled_from(OFFSETS)),
    st.text(alphabet="0123456789-:/ T+Z.", max_size=26),
)


def _reference(text: str, mapping: Mapping) -> str:
    """The formulation before the first-format shortcut: each format list tried as a whole."""
    return (
        f"(CASE WHEN {text} IS NULL THEN NULL::TIMESTAMPTZ "
        f"WHEN regexp_matches({text}, {literal(OFFSET_PATTERN)}) "
        f"THEN coalesce(CASE WHEN substr({text}, 9, 2) < '29' OR try_cast(left({text}, 10) AS DATE) IS NOT NULL "
        f"THEN try_strptime({text}, {literal_list(OFFSET_FORMATS)})::TIMESTAMPTZ END, "
        f"try_cast({text} AS TIMESTAMPTZ)) "
        f"ELSE timezone({literal(mapping.timezone)}, try_strptime({text}, {literal_list(mapping.naive_formats())})) END)"
    )


MAPPINGS = [
    Mapping(format="csv", source="t", columns={"item_id": "id", "created": "c"}, timezone="Europe/Amsterdam"),
    Mapping(format="csv", source="t", columns={"item_id": "id", "created": "c"}, dates="day_first",
            timezone="America/New_York"),
    Mapping(format="csv", source="t", columns={"item_id": "id", "created": "c"}, dates="month_first",
            timestamp_formats=["%d %b %Y %H:%M"]),
    # A mapping's own format first, overlapping a later one: "02/03/2026 09:00" is 3 February, not 2 March.
    Mapping(format="csv", source="t", columns={"item_id": "id", "created": "c"}, dates="day_first",
            timestamp_formats=["%m/%d/%Y %H:%M"]),
]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(texts, min_size=1, max_size=30), which=st.integers(0, len(MAPPINGS) - 1))
def test_trying_the_first_format_alone_first_parses_every_text_as_the_whole_list_does(values, which):
    mapping = MAPPINGS[which]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[value] for value in values])
    pairs = con.sql(f"SELECT {_reference('v', mapping)}, {parse_time_sql('v', mapping)} FROM t").fetchall()
    assert [fast for _, fast in pairs] == [plain for plain, _ in pairs]


def test_a_mapping_format_that_overlaps_a_later_one_still_wins():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.sql(f"SELECT strftime({parse_time_sql('v', MAPPINGS[-1])}, '%Y-%m-%d %H:%M') FROM (VALUES "
                   "('02/03/2026 09:00'), ('25/03/2026 09:00'), ('2026-03-02 09:00:00')) t(v)").fetchall()
    assert [row[0] for row in rows] == ["2026-02-03 09:00", "2026-03-25 09:00", "2026-03-02 09:00"]


def test_the_usual_export_styles_still_parse_and_impossible_days_do_not():
    mapping = MAPPINGS[0]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.sql(f"SELECT strftime({parse_time_sql('v', mapping)}, '%Y-%m-%d %H:%M') FROM (VALUES "
                   "('2026-07-01 12:00:00 +0200'), ('2026-07-01T10:00:00Z'), ('2026-07-01 12:00:00'), "
                   "('2024-02-30 10:00 +0100'), ('2026-03-02 10:00 +2500')) t(v)").fetchall()
    assert [row[0] for row in rows] == ["2026-07-01 10:00", "2026-07-01 10:00", "2026-07-01 10:00", None, None]


def test_columns_the_same_on_every_row_are_added_by_the_view_not_stored(tmp_path: Path):
    export = tmp_path / "export.csv"
    export.write_text("id,created,channel\nA1,2026-03-02 09:00:00,Mail\nA2,2026-03-02 10:00:00,PHONE call\n")
    mapping = Mapping(format="csv", source="t", columns={"item_id": "id", "created": "created", "channel": "channel"},
                      constants={"process": "support", "team": "Billing"},
                      values={"channel": {"mail": "email", "Phone Call": "phone"}})
    con = duckdb.connect()
    raw = read_raw(con, export, mapping)
    staged = stage(con, mapping, raw)
    assert (staged.rows, staged.rejected, staged.distinct_good) == (2, 0, 2)
    stored = {row[0] for row in con.sql("DESCRIBE staged_rows").fetchall()}
    assert {"process", "team", "closed", "attributes", "activity"}.isdisjoint(stored)
    assert {"item_id", "channel", "created", "reason"} <= stored
    rows = con.sql("SELECT __line, item_id, channel, process, team, agent, closed, attributes FROM staged "
                   "ORDER BY __line").fetchall()
    assert rows == [(2, "A1", "email", "support", "Billing", None, None, None),
                    (3, "A2", "phone", "support", "Billing", None, None, None)]
