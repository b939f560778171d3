"""The `sla ingest / sample / attainment / recompute` commands: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import polars as pl
import pytest
from typer.testing import CliRunner

from sla_store.cli import app
from sla_store.db import copy_database
from tests.integration.conftest import CONFIG, FIXTURES, REPO, SAMPLE_NOW, query

SERVICENOW = FIXTURES / "servicenow_incident_event_log_subset.csv"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"SLA_NOW": "2026-04-01T00:00:00+00:00", "SLA_CONFIG": str(CONFIG), "SLA_DB": None})


def test_ingest_prints_the_counts_as_json_and_exits_zero(runner, tmp_path):
    db = tmp_path / "sla.duckdb"
    result = runner.invoke(app, ["ingest", str(FIXTURES / "freshdesk_tickets.csv"), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {k: payload[k] for k in ("format", "rows_read", "rows_loaded", "rows_rejected")} == {
        "format": "freshdesk", "rows_read": 6, "rows_loaded": 3, "rows_rejected": 3}
    assert payload["import_id"] == query(db, "SELECT max(import_id) FROM imports")[0][0]


def test_ingest_reads_the_database_path_from_the_environment(tmp_path):
    db = tmp_path / "env.duckdb"
    runner = CliRunner(env={"SLA_DB": str(db), "SLA_CONFIG": str(CONFIG), "SLA_NOW": "2026-04-01T00:00:00Z"})
    result = runner.invoke(app, ["ingest", str(FIXTURES / "jira_issues.csv")])
    assert result.exit_code == 0, result.output
    assert "rows read 4, loaded 3, rejected 1" in result.stdout
    assert query(db, "SELECT count(*) FROM items")[0][0] == 3


def test_a_refused_file_exits_2_with_one_line_naming_the_file_and_missing_columns(tmp_path):
    db = tmp_path / "sla.duckdb"
    shutil.copy(SERVICENOW, tmp_path / "incidents.csv")
    env = {**os.environ, "SLA_CONFIG": str(CONFIG)}
    env.pop("SLA_DB", None)
    done = subprocess.run(
        [sys.executable, "-m", "sla_store.cli", "ingest", str(tmp_path / "incidents.csv"), "--format", "jira",
         "--db", str(db)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"error: {tmp_path / 'incidents.csv'}: not a jira export: missing columns 'Issue key'")
    assert not db.exists()


def test_an_unknown_format_name_exits_2(runner, tmp_path):
    result = runner.invoke(app, ["ingest", str(SERVICENOW), "--format", "excel", "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2
    assert "unknown format 'excel'" in result.stderr


def test_attainment_json_matches_the_stored_results(sample_db):
    runner = CliRunner(env={"SLA_DB": None})
    result = runner.invoke(app, ["attainment", "--by", "channel,team", "--metric", "resolution", "--json",
                                 "--db", str(sample_db)])
    assert result.exit_code == 0, result.output
    rows = {(row["channel"], row["team"]): row for row in json.loads(result.stdout)}
    expected = query(sample_db, """
        SELECT channel, team, count(*), count(*) FILTER (WHERE met), count(*) FILTER (WHERE NOT met),
               count(*) FILTER (WHERE met IS NULL)
        FROM results WHERE metric = 'resolution' GROUP BY ALL
    """)
    assert len(rows) == len(expected) == 5 * 4
    for channel, team, items, met, breached, running in expected:
        row = rows[(channel, team)]
        assert (row["decided"], row["met"], row["breached"], row["running"]) == (met + breached, met, breached,
                                                                                 running)
        assert row["decided"] + row["running"] == items and row["not_measured"] == 0
        assert row["attainment"] == pytest.approx(met / (met + breached))


def test_attainment_refuses_an_unknown_grouping_key(sample_db):
    result = CliRunner().invoke(app, ["attainment", "--by", "colour", "--db", str(sample_db)])
    assert result.exit_code == 2
    assert "--by colour: not a grouping key" in result.stderr


def test_attainment_without_a_database_says_how_to_make_one(tmp_path):
    result = CliRunner().invoke(app, ["attainment", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "run `sla sample`" in result.stderr


def test_recompute_rebuilds_results_after_a_policy_change(tmp_path, sample_db):
    db = tmp_path / "sla.duckdb"
    copy_database(sample_db, db)
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    policy = (config / "sla.yaml").read_text()
    # Give every ticket resolution twice the business time: nothing can breach sooner than before.
    (config / "sla.yaml").write_text(policy.replace("within: 8h\n", "within: 16h\n"))
    before = query(db, "SELECT count(*) FILTER (WHERE met) FROM results WHERE metric = 'resolution' "
                       "AND priority = 'urgent'")[0][0]
    runner = CliRunner(env={"SLA_NOW": SAMPLE_NOW.isoformat(), "SLA_DB": None})
    result = runner.invoke(app, ["recompute", "--db", str(db), "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"] == query(db, "SELECT count(*) FROM results")[0][0]
    urgent = pl.DataFrame(query(db, "SELECT within_s, met FROM results WHERE metric = 'resolution' "
                                    "AND priority = 'urgent'"), schema=["within_s", "met"], orient="row")
    assert set(urgent["within_s"]) == {16 * 3600.0}
    assert urgent["met"].sum() > before


def test_sample_builds_a_database_from_a_fixed_seed_and_time(tmp_path):
    runner = CliRunner(env={"SLA_DB": None, "SLA_CONFIG": str(CONFIG)})
    db = tmp_path / "s.duckdb"
    args = ["sample", "--tickets", "200", "--seed", "7", "--now", "2026-06-01T12:00:00Z", "--db", str(db),
            "--samples-dir", str(tmp_path / "samples"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["now"] == "2026-06-01T12:00:00+00:00"
    assert query(db, "SELECT count(*) FROM items WHERE kind = 'ticket'")[0][0] == 200
    assert payload["items"] == query(db, "SELECT count(*) FROM items")[0][0]
    first = query(db, "SELECT * FROM items ORDER BY source, item_id")
    assert runner.invoke(app, args).exit_code == 0
    assert query(db, "SELECT * FROM items ORDER BY source, item_id") == first


def test_sample_without_a_policy_loads_the_data_and_says_why_there_are_no_results(tmp_path):
    empty_config = tmp_path / "config"
    empty_config.mkdir()
    runner = CliRunner(env={"SLA_DB": None, "SLA_CONFIG": str(empty_config)})
    db = tmp_path / "s.duckdb"
    result = runner.invoke(app, ["sample", "--tickets", "50", "--now", "2026-06-01T12:00:00Z", "--db", str(db),
                                 "--samples-dir", str(tmp_path / "samples")])
    assert result.exit_code == 0, result.output
    assert "None" not in result.stdout
    assert "no results (no sla.yaml" in result.stdout
    assert query(db, "SELECT count(*) FROM items WHERE kind = 'ticket'")[0][0] == 50
    assert query(db, "SELECT count(*) FROM results")[0][0] == 0


def test_the_import_reports_progress_and_records_the_given_file_name(tmp_path):
    from sla_store.ingest import ingest

    steps: list[tuple[str, float]] = []
    ingest(SERVICENOW, db=tmp_path / "sla.duckdb", config=CONFIG, now=SAMPLE_NOW, file_label="incidents.csv",
           progress=lambda step, fraction: steps.append((step, fraction)))
    assert query(tmp_path / "sla.duckdb", "SELECT file FROM imports") == [("incidents.csv",)]
    fractions = [fraction for _, fraction in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [step for step, _ in steps][-3:] == ["computing results", "saving", "done"]


def test_a_broken_policy_refuses_the_import_with_its_one_line_error_and_changes_nothing(tmp_path, sample_db):
    db = tmp_path / "sla.duckdb"
    copy_database(sample_db, db)
    before = db.read_bytes()
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    policy = (config / "sla.yaml").read_text()
    (config / "sla.yaml").write_text(policy.replace("within: 8h\n", "within: 8x\n", 1))
    result = CliRunner(env={"SLA_DB": None}).invoke(
        app, ["ingest", str(FIXTURES / "jira_issues.csv"), "--db", str(db), "--config", str(config)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sla.yaml:" in lines[0] and '"8x"' in lines[0]
    assert db.read_bytes() == before
