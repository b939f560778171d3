"""`sla simulate --proposed path.yaml --by team --json` over a DuckDB file."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from sla_core.clocks import evaluate
from sla_core.policy_yaml import parse_policy, parse_policy_mapping, policy_to_yaml
from sla_store.cli import app
from sla_store.db import connect_read_only, write_transaction
from tests.unit.test_simulate_consistency import NOW, POLICY_V1, raw_history


def build_database(db, items, events, policy, now: datetime) -> None:
    """Raw items/events and the results the committed policy gives them, as the store keeps them."""
    results = evaluate(items, events, policy, now)
    with write_transaction(db) as con:
        for table, frame in (("items", items), ("events", events), ("results", results)):
            con.register("incoming", frame.to_arrow())
            extra = ", ?::TIMESTAMPTZ AS computed_at" if table == "results" else ""
            con.execute(f"INSERT INTO {table} BY NAME SELECT *{extra} FROM incoming", [now] if extra else [])
            con.unregister("incoming")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("simulate_cli")
    config = root / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(POLICY_V1)
    db = root / "sla.duckdb"
    items, events = raw_history(1200, seed=42)
    build_database(db, items, events, parse_policy(POLICY_V1), NOW)
    return root, config, db


def _proposed_file(root, change) -> str:
    policy = parse_policy(POLICY_V1)
    raw = dict(policy.raw)
    raw["targets"] = [dict(t) for t in raw["targets"]]
    change(raw)
    path = root / "proposed.yaml"
    path.write_text(policy_to_yaml(parse_policy_mapping(raw)))
    return str(path)


def _run(*args):
    return CliRunner().invoke(app, ["simulate", *args], catch_exceptions=False)


def test_simulate_json_reports_attainment_by_team_before_and_after_as_sql_computes_it(store):
    root, config, db = store
    proposed = _proposed_file(root, lambda raw: raw["targets"][1].update(within="2h"))

    outcome = _run("--proposed", proposed, "--by", "team", "--json", "--db", str(db), "--config", str(config))

    assert outcome.exit_code == 0, outcome.output
    payload = json.loads(outcome.stdout)
    con = connect_read_only(db)
    expected = con.sql(
        """
        WITH judged AS (
            SELECT metric, team, met AS before,
                   CASE WHEN target_index = 1 THEN
                        CASE WHEN stop IS NOT NULL THEN elapsed_s <= 7200
                             WHEN elapsed_s > 7200 THEN FALSE END
                        ELSE met END AS after
            FROM results)
        SELECT metric, team,
               count(*) FILTER (WHERE before) / count(before) AS before,
               count(*) FILTER (WHERE after) / count(after) AS after,
               count(*) FILTER (WHERE before AND NOT after) AS flips
        FROM judged GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    con.close()
    slices = [(s["metric"], s["team"], s["attainment_before"], s["attainment_after"], s["met_to_breached"])
              for s in payload["slices"]]
    assert [s[:2] for s in slices] == [e[:2] for e in expected]
    for got, want in zip(slices, expected, strict=True):
        assert got[2] == pytest.approx(want[2]) and got[3] == pytest.approx(want[3]) and got[4] == want[4]
    assert payload["by"] == ["metric", "team"]
    assert payload["rows"]["recomputed"] == 0 and payload["rows"]["new"] == 0
    assert payload["flips"]["met_to_breached"] == sum(e[4] for e in expected) > 0
    assert {row["target"] for row in payload["advice"]} >= {0, 1}


def test_simulate_writes_the_flipping_items_to_csv_and_prints_a_table(store, tmp_path):
    root, config, db = store
    proposed = _proposed_file(root, lambda raw: raw["targets"][0].update(calendar="always"))
    flips = tmp_path / "flips.csv"

    outcome = _run("--proposed", proposed, "--db", str(db), "--config", str(config), "--flips-csv", str(flips))

    assert outcome.exit_code == 0, outcome.output
    assert "What-if" in outcome.stdout and "first_response" in outcome.stdout
    header = flips.read_text().splitlines()[0].split(",")
    assert header[:4] == ["flip", "source", "item_id", "metric"]
    assert "recomputed" in outcome.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--proposed", "missing.yaml"], "missing.yaml: no such file"),
        (["--proposed", "{bad}", "--by", "subject"], "--by 'subject' is not a column to slice by"),
        (["--proposed", "{bad}"], "targets[0].within"),
        (["--proposed", "{good}", "--objective", "95"], "--objective 95.0 must be a share"),
        (["--proposed", "{good}", "--from", "01/02/2026"], "--from '01/02/2026' is not a day"),
    ],
)
def test_bad_input_gets_a_one_line_error_and_exit_code_2(store, tmp_path, args, message):
    root, config, db = store
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY_V1.replace("within: 15m", "within: 2x"))
    good = tmp_path / "good.yaml"
    good.write_text(POLICY_V1)
    args = [a.replace("{bad}", str(bad)).replace("{good}", str(good)) for a in args]

    outcome = _run(*args, "--db", str(db), "--config", str(config))

    assert outcome.exit_code == 2
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("error: ")


def test_simulate_limits_the_history_to_the_filters_given(store):
    root, config, db = store
    proposed = _proposed_file(root, lambda raw: raw["targets"][1].update(within="2h"))

    outcome = _run("--proposed", proposed, "--json", "--db", str(db), "--config", str(config),
                   "--from", "2026-02-01", "--to", "2026-02-28", "--team", "Billing,Accounts",
                   "--metric", "first_response")

    assert outcome.exit_code == 0, outcome.output
    slices = json.loads(outcome.stdout)["slices"]
    con = connect_read_only(db)
    expected = con.sql(
        "SELECT count(*) FROM results WHERE metric = 'first_response' AND team IN ('Billing', 'Accounts') "
        "AND created >= '2026-02-01' AND created < '2026-03-01'"
    ).fetchall()[0][0]
    con.close()
    assert [s["metric"] for s in slices] == ["first_response"]
    assert slices[0]["items_before"] == expected > 0
