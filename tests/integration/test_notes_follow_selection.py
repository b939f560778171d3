"""Data notes follow the selection: a source's "not measured" note shows only where its items are in view
(the month asked for, the page's filters), in the CLI, the report and the pages alike."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from sla_store import reads
from sla_store.cli import app
from sla_store.db import connect_read_only
from sla_store.ingest import ingest
from sla_store.report_data import build_report
from sla_store.sample import generate_tickets, write_ticket_csv
from sla_store.selection import Selection
from tests.integration.conftest import CONFIG, FIXTURES, MAPPINGS

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
NOTE = "first response: not measured for nyc311"


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory):
    """NYC 311 requests of May 2022 (no first-response column) and helpdesk tickets of 2026."""
    folder = tmp_path_factory.mktemp("notes")
    db = folder / "sla.duckdb"
    ingest(FIXTURES / "nyc311_2022-05-01_sample.csv", db=db, mapping=MAPPINGS / "nyc311.yaml", config=CONFIG,
           now=NOW)
    tickets, _ = generate_tickets(200, seed=3, now=NOW)
    write_ticket_csv(tickets, folder / "tickets.csv")
    ingest(folder / "tickets.csv", db=db, format_name="zendesk", config=CONFIG, now=NOW)
    return db


def _notes(db, within=None) -> list[str]:
    con = connect_read_only(db)
    try:
        return reads.data_notes(con, "not_measured", within)["message"].to_list()
    finally:
        con.close()


def test_the_note_shows_only_for_selections_holding_items_of_its_source(two_sources):
    assert any(NOTE in note for note in _notes(two_sources))  # the Data page lists every note
    assert any(NOTE in note for note in _notes(two_sources, Selection(date_from=date(2022, 5, 1),
                                                                      date_to=date(2022, 5, 31))))
    assert not any(NOTE in note for note in _notes(two_sources, Selection(date_from=date(2026, 10, 1),
                                                                          date_to=date(2026, 10, 31))))
    # The note is about first response: a selection of another metric does not carry it.
    assert not any(NOTE in note for note in _notes(two_sources, Selection(date_from=date(2022, 5, 1),
                                                                          date_to=date(2022, 5, 31),
                                                                          metric="resolution")))


@pytest.mark.parametrize(("month", "shown"), [("2022-05", True), ("2026-10", False)])
def test_sla_attainment_for_a_month_prints_the_notes_of_that_month(two_sources, month, shown):
    result = CliRunner().invoke(app, ["attainment", "--month", month, "--db", str(two_sources)])
    assert result.exit_code == 0, result.output
    assert (f"note: {NOTE}" in result.stdout) is shown


@pytest.mark.parametrize(("month", "shown"), [(date(2022, 5, 1), True), (date(2026, 10, 1), False)])
def test_the_monthly_report_carries_the_notes_of_its_month(two_sources, month, shown):
    con = connect_read_only(two_sources)
    try:
        report = build_report(con, month, NOW)
    finally:
        con.close()
    assert any(NOTE in note for note in report.notes) is shown
