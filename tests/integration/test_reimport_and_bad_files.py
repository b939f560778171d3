"""Re-imports never duplicate; a refused file leaves the database byte-identical with a one-line reason."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime

import pytest

from sla_store.importers import ImportRefused, load_mapping
from sla_store.ingest import ingest
from tests.integration.conftest import CONFIG, FIXTURES, MAPPINGS, query

NOW = datetime(2026, 4, 1, tzinfo=UTC)
SERVICENOW = FIXTURES / "servicenow_incident_event_log_subset.csv"


def _ingest(path, db, **kwargs):
    return ingest(path, db=db, config=CONFIG, now=NOW, **kwargs)


def _snapshot(db):
    return (
        query(db, "SELECT * EXCLUDE (import_id) FROM items ORDER BY source, item_id"),
        query(db, "SELECT * EXCLUDE (import_id) FROM events ORDER BY ALL"),
        query(db, "SELECT * EXCLUDE (computed_at) FROM results ORDER BY source, item_id, metric"),
    )


def test_importing_the_same_file_twice_changes_no_items_events_or_results(tmp_path):
    db = tmp_path / "sla.duckdb"
    _ingest(SERVICENOW, db)
    before = _snapshot(db)
    again = _ingest(SERVICENOW, db)
    assert again.events == 0
    assert _snapshot(db) == before
    assert query(db, "SELECT count(*), count(DISTINCT sha256) FROM imports") == [(2, 1)]
    assert query(db, "SELECT count(*) = count(DISTINCT (source, item_id)) FROM items") == [(True,)]
    assert query(db, "SELECT count(*) = count(DISTINCT (source, item_id, occurred_at, kind, value)) "
                     "FROM events") == [(True,)]


def _write(path, header, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


HEADER = ["Ticket ID", "Subject", "Status", "Priority", "Source", "Group", "Created time", "Resolved time"]


def test_an_overlapping_export_updates_tickets_in_place_and_adds_new_ones(tmp_path):
    db = tmp_path / "sla.duckdb"
    first, second = tmp_path / "week1.csv", tmp_path / "week2.csv"
    _write(first, HEADER, [
        ["1", "a", "Open", "High", "Email", "Billing", "2026-03-02 09:00:00", ""],
        ["2", "b", "Open", "Low", "Phone", "Billing", "2026-03-02 10:00:00", ""],
    ])
    _write(second, HEADER, [
        ["2", "b", "Resolved", "Low", "Phone", "Billing", "2026-03-02 10:00:00", "2026-03-03 10:00:00"],
        ["3", "c", "Open", "Urgent", "Chat", "Accounts", "2026-03-04 10:00:00", ""],
        ["3", "c", "Pending", "Urgent", "Chat", "Accounts", "2026-03-04 10:00:00", ""],
    ])
    _ingest(first, db, format_name="freshdesk")
    _ingest(second, db, format_name="freshdesk")
    assert query(db, "SELECT item_id, status, resolved IS NOT NULL FROM items ORDER BY item_id") == [
        ("1", "open", False), ("2", "solved", True), ("3", "pending", False)]


def test_re_importing_an_event_log_adds_only_events_not_seen_before(tmp_path):
    db = tmp_path / "sla.duckdb"
    header = ["Case ID", "Activity", "Timestamp", "Team", "Process"]
    _write(tmp_path / "a.csv", header, [["L1", "submitted", "2026-03-02 10:00:00", "Growth Ops", "leads"]])
    _write(tmp_path / "b.csv", header, [["L1", "submitted", "2026-03-02 10:00:00", "Growth Ops", "leads"],
                                        ["L1", "scored", "2026-03-02 10:30:00", "Growth Ops", "leads"]])
    _ingest(tmp_path / "a.csv", db, format_name="events")
    second = _ingest(tmp_path / "b.csv", db, format_name="events")
    assert second.events == 1
    assert query(db, "SELECT kind FROM events ORDER BY occurred_at") == [("submitted",), ("scored",)]
    assert query(db, "SELECT count(*), min(status) FROM items") == [(1, "scored")]


@pytest.fixture
def loaded_db(tmp_path):
    db = tmp_path / "sla.duckdb"
    _ingest(FIXTURES / "jira_issues.csv", db, format_name="jira")
    return db


def test_a_file_missing_the_formats_columns_is_refused_and_the_database_is_untouched(loaded_db, tmp_path):
    before = loaded_db.read_bytes()
    with pytest.raises(ImportRefused) as refused:
        _ingest(FIXTURES / "jira_issues.csv", loaded_db, format_name="freshdesk")
    message = str(refused.value)
    assert message.startswith(f"{FIXTURES / 'jira_issues.csv'}: not a freshdesk export: missing columns ")
    assert "'Ticket ID'" in message and "'Created time'" in message and "\n" not in message
    assert loaded_db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sla.duckdb"]


def test_a_file_whose_rows_all_fail_is_refused_naming_the_first_bad_line(loaded_db, tmp_path):
    bad = tmp_path / "bad.csv"
    _write(bad, HEADER, [["9", "x", "Open", "Low", "Email", "Billing", "next tuesday", ""]])
    before = loaded_db.read_bytes()
    with pytest.raises(ImportRefused, match=r"none of 1 rows could be loaded \(line 2: unparseable time"):
        _ingest(bad, loaded_db, format_name="freshdesk")
    assert loaded_db.read_bytes() == before


def test_a_file_of_unknown_shape_is_refused_with_the_known_formats(loaded_db, tmp_path):
    odd = tmp_path / "odd.csv"
    _write(odd, ["foo", "bar"], [["1", "2"]])
    before = loaded_db.read_bytes()
    with pytest.raises(ImportRefused, match="cannot tell the export format from its columns; pass --format"):
        _ingest(odd, loaded_db)
    assert loaded_db.read_bytes() == before


def test_malformed_csv_lines_are_rejected_with_their_line_numbers_and_the_rest_loads(tmp_path):
    db = tmp_path / "sla.duckdb"
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(
        ",".join(HEADER) + "\n"
        "1,a,Open,High,Email,Billing,2026-03-02 09:00:00,\n"
        "2,b,Open,High\n"
        "3,c,Open,High,Email,Billing,2026-03-02 11:00:00,\n"
        "4,d,Open,High,Email,Billing,,\n"
    )
    summary = _ingest(ragged, db, format_name="freshdesk")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (4, 2, 2)
    rejects = query(db, "SELECT line, reason FROM rejected_rows ORDER BY line")
    assert rejects[0][0] == 3 and rejects[0][1].startswith("malformed CSV row")
    assert rejects[1] == (5, "missing time in column 'Created time'")
    assert query(db, "SELECT item_id FROM items ORDER BY item_id") == [("1",), ("3",)]


def test_a_bad_mapping_file_gets_a_one_line_error_naming_the_key(tmp_path):
    mapping = tmp_path / "broken.yaml"
    shutil.copy(MAPPINGS / "nyc311.yaml", mapping)
    mapping.write_text(mapping.read_text().replace("timezone: America/New_York", "timezone: Mars/Olympus"))
    with pytest.raises(ImportRefused, match=r"broken.yaml: timezone: .*unknown time zone 'Mars/Olympus'"):
        load_mapping(mapping)
    mapping.write_text("format: csv\nsource: x\ncolumns: {item_id: id}\n")
    with pytest.raises(ImportRefused, match=r"broken.yaml: \(top\): .*columns must name \['created'\]"):
        load_mapping(mapping)


def test_a_missing_file_is_refused_before_the_database_is_touched(tmp_path):
    db = tmp_path / "sla.duckdb"
    with pytest.raises(ImportRefused, match="no such file"):
        _ingest(tmp_path / "nothing.csv", db)
    assert not db.exists()


def test_a_latin_1_export_is_refused_with_a_hint_and_loads_with_the_encoding_named(tmp_path):
    db = tmp_path / "sla.duckdb"
    export = tmp_path / "latin.csv"
    export.write_bytes(("Ticket ID,Subject,Status,Priority,Source,Group,Created time,Resolved time\n"
                        "7,Café müde,Open,High,Email,Billing,2026-03-02 09:00:00,\n").encode("latin-1"))
    with pytest.raises(ImportRefused, match=r"none of 1 rows could be loaded \(line 2: malformed CSV row: .*"
                                            r"not utf-8 encoded.*set `encoding: latin-1`"):
        _ingest(export, db, format_name="freshdesk")
    assert not db.exists()
    mapping = tmp_path / "latin.yaml"
    mapping.write_text((MAPPINGS / "freshdesk.yaml").read_text() + "encoding: latin-1\n")
    _ingest(export, db, mapping=mapping)
    assert query(db, "SELECT subject FROM items") == [("Café müde",)]
