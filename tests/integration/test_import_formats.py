"""Each export format imports into a real DuckDB file with times in UTC and canonical values."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from sla_store.ingest import ingest, resolve_mapping
from tests.integration.conftest import CONFIG, FIXTURES, MAPPINGS, query

NOW = datetime(2026, 4, 1, tzinfo=UTC)
SERVICENOW = FIXTURES / "servicenow_incident_event_log_subset.csv"
NYC311 = FIXTURES / "nyc311_2022-05-01_sample.csv"


def _rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _local(text: str, fmt: str, zone: str) -> datetime:
    return datetime.strptime(text, fmt).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _ingest(path, db, **kwargs):
    return ingest(path, db=db, config=CONFIG, now=NOW, **kwargs)


def test_the_servicenow_event_log_becomes_one_item_per_incident_and_a_status_event_per_update(tmp_path):
    db = tmp_path / "sla.duckdb"
    rows = _rows(SERVICENOW)
    summary = _ingest(SERVICENOW, db)
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (len(rows), len(rows), 0)
    assert summary.format == "servicenow"
    incidents = {row["number"] for row in rows}
    assert query(db, "SELECT count(*) FROM items WHERE source = 'servicenow'")[0][0] == len(incidents)
    distinct_updates = {(row["number"], row["sys_updated_at"], row["incident_state"]) for row in rows}
    assert query(db, "SELECT count(*) FROM events WHERE kind = 'status'")[0][0] == len(distinct_updates)
    last = [row for row in rows if row["number"] == "INC0000045"][-1]
    item = query(db, "SELECT created, resolved, closed, priority, team, channel, status, "
                     "attributes->>'made_sla' FROM items WHERE item_id = 'INC0000045'")[0]
    assert item[0] == _local(last["opened_at"], "%d-%m-%Y %H:%M", "UTC")
    assert item[1] == _local(last["resolved_at"], "%d-%m-%Y %H:%M", "UTC")
    assert item[2] == _local(last["closed_at"], "%d-%m-%Y %H:%M", "UTC")
    assert item[3:] == ("normal", last["assignment_group"], "phone", "closed", last["made_sla"])


def test_servicenow_question_marks_become_nulls_not_rejects(tmp_path):
    db = tmp_path / "sla.duckdb"
    _ingest(SERVICENOW, db)
    unresolved = {row["number"] for row in _rows(SERVICENOW) if row["resolved_at"] == "?"}
    stored = {row[0] for row in query(db, "SELECT item_id FROM items WHERE resolved IS NULL")}
    assert unresolved and stored == unresolved


def test_servicenow_awaiting_states_become_pauses(tmp_path):
    db = tmp_path / "sla.duckdb"
    _ingest(SERVICENOW, db)
    waiting_on_caller = {(r["number"], r["sys_updated_at"]) for r in _rows(SERVICENOW)
                         if r["incident_state"] in ("Awaiting User Info", "Awaiting Evidence")}
    waiting_on_others = {(r["number"], r["sys_updated_at"]) for r in _rows(SERVICENOW)
                         if r["incident_state"] in ("Awaiting Problem", "Awaiting Vendor")}
    assert query(db, "SELECT count(*) FROM events WHERE value = 'pending'")[0][0] == len(waiting_on_caller)
    assert query(db, "SELECT count(*) FROM events WHERE value = 'on_hold'")[0][0] == len(waiting_on_others)


def test_nyc311_requests_import_with_new_york_times_and_agencies_as_teams(tmp_path):
    db = tmp_path / "sla.duckdb"
    rows = _rows(NYC311)
    summary = _ingest(NYC311, db, mapping=MAPPINGS / "nyc311.yaml")
    assert (summary.rows_loaded, summary.rows_rejected) == (len(rows), 0)
    first = rows[0]
    stored = query(db, "SELECT created, team, channel, resolved FROM items WHERE item_id = ?",
                   [first["Unique Key"]])[0]
    assert stored[0] == _local(first["Created Date"], "%m/%d/%Y %I:%M:%S %p", "America/New_York")
    assert stored[0] == datetime(2022, 5, 1, 4, 0, 3, tzinfo=UTC)
    assert stored[1:3] == (first["Agency"], "web")
    open_requests = sum(1 for row in rows if not row["Closed Date"])
    assert query(db, "SELECT count(*) FROM items WHERE resolved IS NULL")[0][0] == open_requests
    agencies = {row["Agency"] for row in rows}
    assert {row[0] for row in query(db, "SELECT DISTINCT team FROM items")} == agencies


def test_nyc311_is_recognised_from_its_columns_without_a_format(tmp_path):
    assert resolve_mapping(NYC311, config=CONFIG).name == "nyc311"
    assert resolve_mapping(SERVICENOW, config=CONFIG).name == "servicenow"
    assert resolve_mapping(FIXTURES / "jira_issues.csv", config=CONFIG).name == "jira"
    assert resolve_mapping(FIXTURES / "freshdesk_tickets.csv", config=CONFIG).name == "freshdesk"
    assert resolve_mapping(FIXTURES / "zendesk_tickets.json", config=CONFIG).name == "zendesk_json"


def test_freshdesk_rows_are_loaded_in_utc_and_bad_rows_kept_with_their_reasons(tmp_path):
    db = tmp_path / "sla.duckdb"
    summary = _ingest(FIXTURES / "freshdesk_tickets.csv", db, format_name="freshdesk")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (6, 3, 3)
    # 09:15 in Amsterdam winter time is 08:15 UTC; 01:30 on 29 March is still winter time (switch at 02:00).
    assert query(db, "SELECT created, first_response, channel, priority FROM items WHERE item_id = '1001'")[0] == (
        datetime(2026, 3, 2, 8, 15, tzinfo=UTC), datetime(2026, 3, 2, 8, 50, tzinfo=UTC), "email", "high")
    assert query(db, "SELECT created, status, channel FROM items WHERE item_id = '1003'")[0] == (
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "pending", "phone")
    assert query(db, "SELECT priority, channel FROM items WHERE item_id = '1002'")[0] == ("normal", "web")
    rejects = query(db, "SELECT line, reason, raw FROM rejected_rows ORDER BY line")
    assert [(line, reason) for line, reason, _ in rejects] == [
        (5, "missing id in column 'Ticket ID'"),
        (6, "resolved before created"),
        (7, "unparseable time in column 'Created time': yesterday at noon"),
    ]
    assert json.loads(rejects[1][2])["Subject"] == "Clock in the past"


def test_jira_day_first_am_pm_times_and_priorities_are_understood(tmp_path):
    db = tmp_path / "sla.duckdb"
    summary = _ingest(FIXTURES / "jira_issues.csv", db, format_name="jira")
    assert (summary.rows_loaded, summary.rows_rejected) == (3, 1)
    assert query(db, "SELECT created, priority, team, status FROM items WHERE item_id = 'ITSD-103'")[0] == (
        _local("28/Mar/26 11:59 PM", "%d/%b/%y %I:%M %p", "Europe/Amsterdam"), "low", "Technical", "closed")
    assert query(db, "SELECT priority, status FROM items WHERE item_id = 'ITSD-101'")[0] == ("urgent", "solved")
    assert query(db, "SELECT reason FROM rejected_rows")[0][0] == \
        "unparseable time in column 'Resolved': 31/Feb/26 10:00 AM"


def test_zendesk_json_reads_nested_via_channel_groups_and_reply_minutes(tmp_path):
    db = tmp_path / "sla.duckdb"
    summary = _ingest(FIXTURES / "zendesk_tickets.json", db)
    assert (summary.mapping, summary.rows_loaded, summary.rows_rejected) == ("zendesk_json", 3, 1)
    rows = {row[0]: row[1:] for row in query(
        db, "SELECT item_id, channel, team, status, created, first_response, attributes->>'tags' FROM items")}
    assert rows["501"] == ("email", "Billing", "solved", datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
                           datetime(2026, 3, 2, 9, 12, tzinfo=UTC), "damage, refund")
    # +01:00 offset honoured; 1.5 calendar minutes to the first reply.
    assert rows["502"][3:5] == (datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC), datetime(2026, 3, 2, 8, 1, 35, tzinfo=UTC))
    assert rows["503"][:3] == ("social", "Billing", "on_hold")
    assert query(db, "SELECT line, reason FROM rejected_rows") == [(4, "missing id in column 'id'")]


def test_generic_parquet_imports_with_a_mapping_file(tmp_path):
    db = tmp_path / "sla.duckdb"
    table = tmp_path / "tickets.parquet"
    pl.DataFrame({
        "ref": ["A-1", "A-2"],
        "opened": ["2026-03-02T09:00:00+01:00", "2026-03-03 10:00:00"],
        "done": ["2026-03-02T12:00:00+01:00", None],
        "queue": ["Billing", "Technical"],
        "medium": ["E-mail", "Phone"],
    }).write_parquet(table)
    mapping = tmp_path / "desk.yaml"
    mapping.write_text(
        "format: csv\nsource: desk\ntimezone: Europe/Amsterdam\n"
        "columns: {item_id: ref, created: opened, resolved: done, team: queue, channel: medium}\n"
        "values: {channel: {e-mail: email}}\n"
    )
    summary = _ingest(table, db, mapping=mapping)
    assert (summary.rows_loaded, summary.rows_rejected) == (2, 0)
    assert query(db, "SELECT item_id, created, resolved, channel FROM items ORDER BY item_id") == [
        ("A-1", datetime(2026, 3, 2, 8, 0, tzinfo=UTC), datetime(2026, 3, 2, 11, 0, tzinfo=UTC), "email"),
        ("A-2", datetime(2026, 3, 3, 9, 0, tzinfo=UTC), None, "phone"),
    ]


def _write_ops_log(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Case ID", "Activity", "Timestamp", "Team", "Process"])
        writer.writerows(rows)


def test_an_ops_event_log_creates_items_that_start_at_their_first_event(tmp_path):
    db = tmp_path / "sla.duckdb"
    log = tmp_path / "ops.csv"
    _write_ops_log(log, [
        ["LEAD-1", "Scored", "2026-03-02 10:20:00", "", ""],
        ["LEAD-1", "Submitted", "2026-03-02 10:00:00", "Growth Ops", "leads"],
        ["LEAD-2", "Submitted", "2026-03-02 11:00:00", "Growth Ops", "leads"],
        ["LEAD-3", "Submitted", "not a time", "Growth Ops", "leads"],
    ])
    summary = _ingest(log, db, format_name="events")
    assert (summary.rows_loaded, summary.rows_rejected, summary.items, summary.events) == (3, 1, 2, 3)
    assert query(db, "SELECT kind, process, team, created, status FROM items WHERE item_id = 'LEAD-1'")[0] == (
        "ops", "leads", "Growth Ops", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "scored")
    assert query(db, "SELECT kind FROM events WHERE item_id = 'LEAD-1' ORDER BY occurred_at") == [
        ("submitted",), ("scored",)]


def test_a_status_change_log_adds_events_without_creating_items(tmp_path, sample_samples_dir, sample_db):
    db = tmp_path / "sla.duckdb"
    log = sample_samples_dir / "zendesk_ticket_events.csv"
    summary = _ingest(log, db, mapping=MAPPINGS / "zendesk_status_events.yaml")
    lines = _rows(log)
    assert summary.rows_loaded == len(lines) and summary.items == 0
    assert query(db, "SELECT count(*) FROM items")[0][0] == 0
    on_hold = sum(1 for row in lines if row["Status"] == "On-Hold")
    assert on_hold and query(db, "SELECT count(*) FROM events WHERE value = 'on_hold'")[0][0] == on_hold


@pytest.mark.parametrize("text, expected", [
    ("2026-07-01T10:00:00Z", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
    ("2026-07-01 12:00:00 +0200", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
    ("2026-07-01T12:00:00+02:00", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
    ("2026-07-01 12:00:00", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),      # naive: Amsterdam summer time
    ("01/07/2026 12:00", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),         # day first
    ("01-07-2026 12:00:00", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
    ("01/07/2026 12:00 PM", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
    ("NULL", None),
    ("?", None),
])
def test_timestamps_in_the_usual_export_styles_parse_to_utc(tmp_path, text, expected):
    db = tmp_path / "sla.duckdb"
    table = tmp_path / "one.csv"
    with table.open("w", newline="") as handle:
        csv.writer(handle).writerows([["id", "created", "closed"], ["X-1", "2026-07-01 09:00:00", text]])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("format: csv\nsource: t\ntimezone: Europe/Amsterdam\ndates: day_first\n"
                       "columns: {item_id: id, created: created, closed: closed}\n")
    _ingest(table, db, mapping=mapping)
    assert query(db, "SELECT closed FROM items")[0][0] == expected


def test_zendesk_metric_events_become_named_milestones_on_existing_tickets(tmp_path):
    db = tmp_path / "sla.duckdb"
    _ingest(FIXTURES / "zendesk_tickets.json", db)
    summary = _ingest(FIXTURES / "zendesk_metric_events.json", db)
    assert (summary.mapping, summary.rows_loaded, summary.rows_rejected, summary.items) == (
        "zendesk_metric_events", 4, 1, 0)
    assert query(db, "SELECT kind, occurred_at FROM events WHERE item_id = '501' ORDER BY occurred_at") == [
        ("reply_time_activate", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
        ("reply_time_fulfill", datetime(2026, 3, 2, 9, 12, tzinfo=UTC)),
        ("agent_work_time_pause", datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
    ]
    assert query(db, "SELECT reason FROM rejected_rows WHERE import_id = ?", [summary.import_id]) == [
        ("unparseable time in column 'time': not-a-time",)]
    assert query(db, "SELECT count(*) FROM items")[0][0] == 3


def test_an_excel_style_export_with_bom_semicolons_and_crlf_is_read(tmp_path):
    db = tmp_path / "sla.duckdb"
    export = tmp_path / "excel.csv"
    export.write_bytes(
        "\ufeffTicket ID;Subject;Status;Priority;Source;Group;Created time;Resolved time\r\n"
        "7;Hallo;Open;High;Email;Billing;2026-03-02 09:00:00;\r\n"
        '8;"Semi; colon";Resolved;Low;Phone;Billing;2026-03-02 10:00:00;2026-03-02 11:00:00\r\n'.encode()
    )
    summary = _ingest(export, db)
    assert (summary.format, summary.rows_loaded, summary.rows_rejected) == ("freshdesk", 2, 0)
    assert query(db, "SELECT item_id, subject, resolved FROM items ORDER BY item_id") == [
        ("7", "Hallo", None), ("8", "Semi; colon", datetime(2026, 3, 2, 10, 0, tzinfo=UTC))]


def test_a_servicenow_incident_is_first_responded_to_when_it_first_leaves_new(tmp_path):
    db = tmp_path / "sla.duckdb"
    _ingest(SERVICENOW, db)
    expected: dict[str, datetime] = {}
    for row in _rows(SERVICENOW):
        opened = _local(row["opened_at"], "%d-%m-%Y %H:%M", "UTC")
        updated = _local(row["sys_updated_at"], "%d-%m-%Y %H:%M", "UTC")
        if row["incident_state"] != "New" and updated >= opened:
            expected[row["number"]] = min(expected.get(row["number"], updated), updated)
    stored = dict(query(db, "SELECT item_id, first_response FROM items WHERE first_response IS NOT NULL"))
    assert len(stored) > 800 and stored == expected


def test_a_servicenow_incident_list_export_loads_one_row_per_incident(tmp_path):
    db = tmp_path / "sla.duckdb"
    export = FIXTURES / "servicenow_incidents.csv"
    assert resolve_mapping(export, config=CONFIG).name == "servicenow_incidents"
    summary = _ingest(export, db)
    assert (summary.rows_loaded, summary.rows_rejected) == (2, 1)
    assert query(db, "SELECT item_id, status, priority, channel, team FROM items ORDER BY item_id") == [
        ("INC0010001", "closed", "high", "email", "Service Desk"),
        ("INC0010002", "on_hold", "normal", "phone", "Network"),
    ]
    assert query(db, "SELECT line, reason FROM rejected_rows") == [(4, "resolved before created")]
