"""Say what is wrong with the setup: --config naming a file or a missing folder, items older than the first
policy version, and notes printed by sla recompute."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from sla_store.cli import app
from tests.integration.conftest import CONFIG, FIXTURES, MAPPINGS, query

NYC311 = FIXTURES / "nyc311_2022-05-01_sample.csv"


def test_config_naming_a_file_is_an_error_naming_that_path(tmp_path):
    result = CliRunner().invoke(app, ["ingest", str(NYC311), "--mapping", str(MAPPINGS / "nyc311.yaml"),
                                      "--db", str(tmp_path / "sla.duckdb"), "--config", str(CONFIG / "sla.yaml")])
    assert result.exit_code == 2
    assert f"--config {CONFIG / 'sla.yaml'}: is a file; give the folder that holds sla.yaml" in result.stderr
    assert not (tmp_path / "sla.duckdb").exists()


def test_config_naming_a_missing_folder_is_an_error_naming_that_path(tmp_path):
    missing = tmp_path / "no-such-config"
    result = CliRunner().invoke(app, ["recompute", "--db", str(tmp_path / "sla.duckdb"), "--config", str(missing)])
    assert result.exit_code == 2
    assert f"--config {missing}: no such folder" in result.stderr


def test_recompute_prints_the_data_notes(tmp_path):
    db = tmp_path / "sla.duckdb"
    runner = CliRunner()
    loaded = runner.invoke(app, ["ingest", str(NYC311), "--mapping", str(MAPPINGS / "nyc311.yaml"), "--db", str(db),
                                 "--config", str(CONFIG)])
    assert loaded.exit_code == 0, loaded.output
    assert "note: first response: not measured for nyc311 (no column)" in loaded.stdout
    result = runner.invoke(app, ["recompute", "--db", str(db), "--config", str(CONFIG), "--json"])
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    assert "first response: not measured for nyc311 (no column); 924 items without first_response" in notes
    # the 2022 requests predate the shipped policy (effective 2026-01-01): judged by it, and said so
    assert ("924 items were created before 2026-01-01, when the first policy version (v1) took effect; they are "
            "judged by that first version") in notes
    assert query(db, "SELECT count(*) FROM results WHERE policy_version = 1 AND metric = 'resolution'") == [(924,)]


def test_a_later_import_that_records_the_milestone_makes_the_source_measurable(tmp_path):
    """The not-measured verdict follows the data: once a source records first responses, its items are judged."""
    db = tmp_path / "sla.duckdb"
    mapping = tmp_path / "nyc311_replies.yaml"
    text = (MAPPINGS / "nyc311.yaml").read_text().replace("  resolved: Closed Date\n",
                                                           "  resolved: Closed Date\n  first_response: Closed Date\n")
    mapping.write_text(text)
    shutil.copy(NYC311, tmp_path / "nyc.csv")
    runner = CliRunner()
    runner.invoke(app, ["ingest", str(NYC311), "--mapping", str(MAPPINGS / "nyc311.yaml"), "--db", str(db),
                        "--config", str(CONFIG)])
    assert query(db, "SELECT count(*) FROM not_measured") == [(924,)]
    result = runner.invoke(app, ["ingest", str(tmp_path / "nyc.csv"), "--mapping", str(mapping), "--db", str(db),
                                 "--config", str(CONFIG)])
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(*) FROM not_measured") == [(0,)]
    # every request is judged now; the 480 closed ones have their first response
    assert query(db, "SELECT count(*), count(stop) FROM results WHERE metric = 'first_response'") == [(924, 480)]


def test_the_monthly_report_carries_the_data_notes(tmp_path):
    db = tmp_path / "sla.duckdb"
    runner = CliRunner()
    runner.invoke(app, ["ingest", str(NYC311), "--mapping", str(MAPPINGS / "nyc311.yaml"), "--db", str(db),
                        "--config", str(CONFIG)])
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--month", "2022-05", "--out", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "first response: not measured for nyc311 (no column); 924 items without first_response" in html
    assert 'id="data-notes"' in html
