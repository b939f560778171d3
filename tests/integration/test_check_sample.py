"""`sla check` on the shipped sample data: re-judging only the items that can matter loses nothing
against judging every item in the database at the same instant."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sla_core.clocks import evaluate
from sla_store.cli import app
from sla_store.db import connect_read_only
from sla_store.policy_files import load_policy_history
from sla_store.sample import build_sample_db

ROOT = Path(__file__).resolve().parents[2]
BUILT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("check-sample")
    db = root / "sla.duckdb"
    build_sample_db(db, tickets=3000, seed=42, now=BUILT, samples_dir=root / "samples", config=ROOT / "config")
    return db


def _everything_judged_at(db, now):
    con = connect_read_only(db)
    try:
        items = con.sql("SELECT * EXCLUDE (attributes, import_id) FROM items").pl()
        events = con.sql("SELECT source, item_id, occurred_at, kind, value FROM events").pl()
    finally:
        con.close()
    utc = [pl.col(c).dt.convert_time_zone("UTC") for c in ("created", "first_response", "resolved", "closed")]
    events = events.with_columns(pl.col("occurred_at").dt.convert_time_zone("UTC"))
    return evaluate(items.with_columns(utc), events, load_policy_history(ROOT / "config"), now)


@pytest.mark.parametrize("hours_later", [0, 5, 30])
def test_check_finds_the_same_items_as_judging_the_whole_database(sample_db, hours_later):
    now = BUILT + timedelta(hours=hours_later)
    result = CliRunner().invoke(app, ["check", "--db", str(sample_db), "--config", str(ROOT / "config"),
                                      "--now", now.isoformat(), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    payload = json.loads(result.stdout)
    reported = {kind: sorted((r["source"], r["item_id"], r["metric"]) for team in payload["teams"]
                             for r in team[kind]) for kind in ("breached", "at_risk")}

    everything = _everything_judged_at(sample_db, now)
    since = now - timedelta(hours=24)
    breached = everything.filter((pl.col("met") == False) & (pl.col("due_at") > since)  # noqa: E712
                                 & (pl.col("due_at") <= now))
    at_risk = everything.filter(pl.col("met").is_null() & (pl.col("pct_used") >= 50))
    assert reported["breached"] == sorted(breached.select("source", "item_id", "metric").rows())
    assert reported["at_risk"] == sorted(at_risk.select("source", "item_id", "metric").rows())
    assert reported["breached"] or reported["at_risk"]
    assert result.exit_code == (1 if reported["breached"] or payload["burn_alerts"] else 0)
