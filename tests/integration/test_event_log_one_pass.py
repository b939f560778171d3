"""A real event log (the ServiceNow incident log) in one import with one mapping and one policy: items, status
events and milestones from the same rows, attributes as dimensions, a glob pause and a first-of stop - every
count checked against plain DuckDB SQL over the raw CSV. NYC 311 never records a first response: it is not
measured for it, not 0%."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import duckdb
import pytest
from typer.testing import CliRunner

from sla_store import queries, reads
from sla_store.cli import app
from sla_store.db import connect_read_only
from sla_store.ingest import ingest
from tests.integration.conftest import CONFIG, FIXTURES, MAPPINGS, query

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
LOG = FIXTURES / "servicenow_incident_event_log_subset.csv"
NYC311 = FIXTURES / "nyc311_2022-05-01_sample.csv"
POLICY = """\
version: 1
effective_from: 2016-01-01
dimensions: [impact, urgency]
calendars: {always: 24/7}
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: ["event:Resolved", "event:Closed"], pause_when_status: ["Awaiting*"]}
targets:
  - {metric: first_response, within: 1h, calendar: always}
  - {metric: resolution, match: {impact: ["1 - HIGH"]}, within: 4h, calendar: always}
  - {metric: resolution, within: 5d, calendar: always}
"""
HIGH_S, DEFAULT_S = 4 * 3600, 5 * 86400

# The same judgement written independently, in SQL over the raw file: 24/7 time, pauses from "Awaiting ..."
# states until the incident's next state, the clock stops at the first Resolved or Closed row.
INDEPENDENT = """
WITH raw AS (
    SELECT number, lower(trim(incident_state)) AS state, impact,
           strptime(sys_updated_at, '%d-%m-%Y %H:%M')::TIMESTAMP AS ts,
           strptime(opened_at, '%d-%m-%Y %H:%M')::TIMESTAMP AS opened
    FROM read_csv(?, all_varchar = true, header = true)
    WHERE number IS NOT NULL AND incident_state NOT IN ('?', '') AND sys_updated_at NOT IN ('?', '')),
items AS (
    SELECT number, min(opened) AS start, max_by(impact, ts) AS impact,
           min(ts) FILTER (WHERE state IN ('resolved', 'closed')) AS stop
    FROM raw GROUP BY number),
changes AS (SELECT DISTINCT number, ts, state FROM raw),
timeline AS (
    SELECT number, ts, state, lead(ts) OVER (PARTITION BY number ORDER BY ts, state) AS next_at FROM changes),
clocks AS (
    SELECT i.*, coalesce(i.stop, ?::TIMESTAMP) AS clock_end,
           CASE WHEN i.impact = '1 - High' THEN ? ELSE ? END AS within_s
    FROM items i),
paused AS (
    SELECT c.number,
           coalesce(sum(greatest(0, epoch(least(coalesce(t.next_at, c.clock_end), c.clock_end))
                                    - epoch(greatest(t.ts, c.start))))
                    FILTER (WHERE t.ts IS NOT NULL), 0) AS paused_s
    FROM clocks c LEFT JOIN timeline t ON t.number = c.number AND t.state LIKE 'awaiting%'
    GROUP BY c.number),
judged AS (
    SELECT c.number, c.impact, c.stop IS NOT NULL AS stopped,
           epoch(c.clock_end) - epoch(c.start) - p.paused_s AS elapsed_s, c.within_s
    FROM clocks c JOIN paused p USING (number))
SELECT impact,
       count(*) FILTER (WHERE stopped OR elapsed_s > within_s) AS decided,
       count(*) FILTER (WHERE stopped AND elapsed_s <= within_s) AS met,
       count(*) FILTER (WHERE elapsed_s > within_s) AS breached,
       count(*) FILTER (WHERE NOT stopped AND elapsed_s <= within_s) AS running
FROM judged GROUP BY impact ORDER BY impact
"""


@pytest.fixture(scope="module")
def event_log_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("event-log")
    config = folder / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(POLICY)
    db = folder / "sla.duckdb"
    summary = ingest(LOG, db=db, mapping=MAPPINGS / "servicenow_events.yaml", config=config, now=NOW)
    nyc = ingest(NYC311, db=db, mapping=MAPPINGS / "nyc311.yaml", config=config, now=NOW)
    return db, config, summary, nyc


def expected_by_impact() -> dict:
    con = duckdb.connect()
    try:
        rows = con.sql(INDEPENDENT, params=[str(LOG), NOW.replace(tzinfo=None), HIGH_S, DEFAULT_S]).fetchall()
    finally:
        con.close()
    return {impact: dict(zip(("decided", "met", "breached", "running"), counts, strict=True))
            for impact, *counts in rows}


def test_one_import_yields_items_status_events_milestones_and_attributes(event_log_db):
    db, _, summary, _ = event_log_db
    assert (summary.rows_read, summary.rows_rejected, summary.items) == (5998, 0, 890)
    distinct_changes = query(db, "SELECT count(*) FROM (SELECT DISTINCT number, sys_updated_at, lower(incident_state) "
                                 f"FROM read_csv('{LOG}', all_varchar = true))")[0][0]
    assert summary.events == distinct_changes
    assert query(db, "SELECT DISTINCT kind FROM events WHERE source = 'servicenow_log'") == [("status",)]
    # milestones from the rows' states; attributes kept under their names
    item = query(db, "SELECT created, first_response, resolved, closed, attributes->>'impact', "
                     "attributes->>'made_sla' FROM items WHERE item_id = 'INC0000045'")[0]
    assert item == (datetime(2016, 2, 29, 1, 16, tzinfo=UTC), datetime(2016, 2, 29, 8, 53, tzinfo=UTC),
                    datetime(2016, 2, 29, 8, 53, tzinfo=UTC), datetime(2016, 3, 5, 12, 0, tzinfo=UTC), "2 - Medium",
                    "TRUE")


LATEST_ROWS = """
    WITH log AS (
        SELECT *, row_number() OVER () AS line FROM read_csv(?, all_varchar = true, nullstr = '?'))
    SELECT number,
           max_by({'priority': CASE lower(priority) WHEN '1 - critical' THEN 'urgent' WHEN '2 - high' THEN 'high'
                                  WHEN '3 - moderate' THEN 'normal' WHEN '4 - low' THEN 'low' END,
                   'team': assignment_group, 'status': lower(incident_state), 'impact': impact,
                   'urgency': urgency, 'category': category},
                  (strptime(sys_updated_at, '%d-%m-%Y %H:%M'), line))
    FROM log GROUP BY number ORDER BY number
"""


def test_an_incident_is_classified_by_its_latest_row_all_fields_from_that_one_row(event_log_db):
    """Priority, team, status and the attributes (policy dimensions) of an incident come from one row, its
    latest (by update time, then file order), as an incident-table export of it shows them: INC0000341 went
    from 4 - Low to 1 - Critical with impact 1 - High, and is urgent with impact 1 - High."""
    db = event_log_db[0]
    stored = query(db, "SELECT item_id, {'priority': priority, 'team': team, 'status': status, "
                       "'impact': attributes->>'impact', 'urgency': attributes->>'urgency', "
                       "'category': attributes->>'category'} FROM items WHERE source = 'servicenow_log' "
                       "ORDER BY item_id")
    con = duckdb.connect()
    try:
        expected = con.execute(LATEST_ROWS, [str(LOG)]).fetchall()
    finally:
        con.close()
    assert len(stored) == 890 and stored == expected
    assert dict(stored)["INC0000341"] | {"category": None} == {
        "priority": "urgent", "team": "Group 66", "status": "closed", "impact": "1 - High", "urgency": "1 - High",
        "category": None}


def test_the_log_in_two_imports_later_half_first_gives_the_items_of_one_import(event_log_db, tmp_path):
    """Across imports the later rows win too: the half with the earlier updates, imported last, changes no
    field its incidents' later rows set."""
    db, config, _, _ = event_log_db
    header, *rows = LOG.read_text().splitlines(keepends=True)
    column = header.split(",").index("sys_updated_at")

    def updated(row: str) -> datetime:
        return datetime.strptime(row.split(",")[column], "%d-%m-%Y %H:%M")

    cut = datetime(2016, 3, 15)
    later, earlier = tmp_path / "later.csv", tmp_path / "earlier.csv"
    later.write_text(header + "".join(row for row in rows if updated(row) >= cut))
    earlier.write_text(header + "".join(row for row in rows if updated(row) < cut))
    split = tmp_path / "split.duckdb"
    for part in (later, earlier):
        ingest(part, db=split, mapping=MAPPINGS / "servicenow_events.yaml", config=config, now=NOW)

    fields = "item_id, kind, process, channel, team, priority, agent, status, subject, created, first_response, " \
             "resolved, closed, attributes"
    one = query(db, f"SELECT {fields} FROM items WHERE source = 'servicenow_log' ORDER BY item_id")
    two = query(split, f"SELECT {fields} FROM items WHERE source = 'servicenow_log' ORDER BY item_id")
    halves = [{row.split(",")[0] for row in part.read_text().splitlines()[1:]} for part in (later, earlier)]
    assert len(halves[0] & halves[1]) > 20  # incidents with updates on both sides of the cut
    assert len(two) == len(one) == 890 and two == one


def test_every_count_by_impact_matches_an_independent_sql_computation(event_log_db):
    db, *_ = event_log_db
    expected = expected_by_impact()
    assert set(expected) == {"1 - High", "2 - Medium", "3 - Low"}
    result = CliRunner().invoke(app, ["attainment", "--by", "impact", "--metric", "resolution", "--json",
                                      "--db", str(db)])
    assert result.exit_code == 0, result.output
    rows = {row["impact"]: row for row in json.loads(result.stdout) if row["impact"] is not None}
    for impact, counts in expected.items():
        got = {key: rows[impact][key] for key in counts}
        assert got == counts, impact
        assert rows[impact]["not_measured"] == 0
    # the impact target (matched case-insensitively) judged the high-impact incidents
    assert query(db, "SELECT DISTINCT within_s FROM results WHERE metric = 'resolution' AND impact = '1 - High'") \
        == [(HIGH_S,)]
    # glob pauses happened
    assert query(db, "SELECT count(*) > 0 FROM results WHERE metric = 'resolution' AND paused_s > 0")[0][0]


def test_a_page_selection_slices_by_the_attribute(event_log_db):
    db, *_ = event_log_db
    expected = expected_by_impact()["1 - High"]
    selection = queries.Selection(metric="resolution", attributes=(("impact", ("1 - High",)),))
    con = connect_read_only(db)
    try:
        table = reads.attainment(con, selection, ("impact",), kind=None).to_dicts()
        breached = reads.breached_items(con, selection, kind=None, extra={"impact": "1 - High"})
        assert reads.dimension_names(con) == ("impact", "urgency")
    finally:
        con.close()
    assert [(row["impact"], row["met"], row["breached"]) for row in table] == [
        ("1 - High", expected["met"], expected["breached"])]
    assert breached.height == expected["breached"]


def test_nyc311_is_not_measured_where_it_records_nothing(event_log_db):
    db, _, _, nyc = event_log_db
    assert "first response: not measured for nyc311 (no column); 924 items without first_response" in nyc.notes
    # this policy stops resolution at events, which NYC 311 has none of
    assert any(note.startswith("resolution: not measured for nyc311 (never recorded)") for note in nyc.notes)
    assert query(db, "SELECT count(*) FROM results WHERE source = 'nyc311'") == [(0,)]
    result = CliRunner().invoke(app, ["attainment", "--by", "source", "--metric", "first_response", "--json",
                                      "--db", str(db)])
    rows = {row["source"]: row for row in json.loads(result.stdout)}
    assert rows["nyc311"] == {"source": "nyc311", "decided": 0, "met": 0,
                              "breached": 0, "running": 0, "not_measured": 924, "attainment": None}
    assert "first response: not measured for nyc311 (no column)" in CliRunner().invoke(
        app, ["attainment", "--by", "source", "--db", str(db)]).stdout.replace("\n", " ")


def test_nyc311_with_the_shipped_policy_measures_resolution_and_not_first_response(tmp_path):
    db = tmp_path / "sla.duckdb"
    summary = ingest(NYC311, db=db, mapping=MAPPINGS / "nyc311.yaml", config=CONFIG, now=NOW)
    assert summary.notes[1] == "first response: not measured for nyc311 (no column); 924 items without first_response"
    counts = {row[0]: row[1:] for row in query(
        db, "SELECT metric, count(*), count(*) FILTER (WHERE met IS NOT NULL) FROM results GROUP BY 1")}
    assert "first_response" not in counts and counts["resolution"][0] == 924
    assert query(db, "SELECT count(*), any_value(reason) FROM not_measured WHERE metric = 'first_response'") == [
        (924, "no column")]


def test_attainment_counts_over_a_month_of_created_dates(event_log_db):
    db, *_ = event_log_db
    result = CliRunner().invoke(app, ["attainment", "--by", "source", "--metric", "resolution", "--month", "2016-03",
                                      "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    expected = query(db, """SELECT count(*) FILTER (WHERE met IS NOT NULL), count(*) FILTER (WHERE met),
                                   count(*) FILTER (WHERE NOT met), count(*) FILTER (WHERE met IS NULL)
                            FROM results WHERE metric = 'resolution' AND created >= '2016-03-01 00:00:00+00'
                              AND created < '2016-04-01 00:00:00+00'""")[0]
    assert (row["decided"], row["met"], row["breached"], row["running"]) == expected
    assert 0 < row["decided"] < 890
    same = CliRunner().invoke(app, ["attainment", "--by", "source", "--metric", "resolution", "--from", "2016-03-01",
                                    "--to", "2016-03-31", "--json", "--db", str(db)])
    assert json.loads(same.stdout) == [row]
    assert date(2016, 3, 1)  # the month is read as UTC created days


@pytest.mark.parametrize("args, message", [
    (["--month", "2016-13"], "--month '2016-13' is not a month"),
    (["--from", "2016-03-40"], "--from '2016-03-40' is not a date"),
    (["--month", "2016-03", "--from", "2016-03-01"], "--month cannot be combined"),
    (["--by", "colour"], "--by colour: not a grouping key (use channel"),
])
def test_attainment_refuses_bad_ranges_and_keys(event_log_db, args, message):
    db, *_ = event_log_db
    result = CliRunner().invoke(app, ["attainment", *args, "--db", str(db)])
    assert result.exit_code == 2
    assert message in result.stderr
