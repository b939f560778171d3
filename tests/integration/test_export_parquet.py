"""`sla export --parquet`: monthly partitions that judge, one by one, to exactly the stored results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from sla_core.clocks import RESULT_COLUMNS
from sla_store.cli import app
from sla_store.db import connect_read_only
from sla_store.partitions import judge_month
from sla_store.policy_files import load_policy_history
from sla_store.sample import build_sample_db

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
KEYS = ["source", "item_id", "metric", "instance"]


def test_monthly_partitions_hold_every_row_and_judge_to_the_stored_results(tmp_path):
    db = tmp_path / "sla.duckdb"
    build_sample_db(db, tickets=3000, now=NOW, samples_dir=tmp_path / "samples", config=REPO / "config")
    out = tmp_path / "parquet"
    done = CliRunner().invoke(app, ["export", "--parquet", str(out), "--db", str(db), "--json"])
    assert done.exit_code == 0, done.output
    counts = json.loads(done.output)
    assert len(counts["months"]) >= 6
    con = duckdb.connect()
    items = con.sql(f"SELECT count(*), count(DISTINCT month) FROM read_parquet('{out}/items/*/*.parquet', "
                    "hive_partitioning = true)").fetchall()[0]
    events = con.sql(f"SELECT count(*) FROM read_parquet('{out}/events/*/*.parquet')").fetchall()[0][0]
    assert items == (counts["items"], len(counts["months"]))
    assert events == counts["events"]

    history = load_policy_history(REPO / "config")
    judged = pl.concat([judge_month(out, month, history, NOW) for month in counts["months"]])
    stored = connect_read_only(db).sql("SELECT * EXCLUDE (computed_at) FROM results").pl()
    assert_frame_equal(judged.sort(KEYS), stored.select(RESULT_COLUMNS).sort(KEYS), check_dtypes=False)


def test_export_into_a_file_is_refused_with_one_line(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    done = CliRunner().invoke(app, ["export", "--parquet", str(target), "--db", str(tmp_path / "none.duckdb")])
    assert done.exit_code == 2
    assert "is a file" in done.output
