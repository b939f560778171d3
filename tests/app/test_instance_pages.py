"""Every page on the sample database with repeating, between and scheduled clocks; the scheduled
deliverables strip; What-if changing a schedule's due time."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from sla_core.clocks import evaluate
from sla_store.db import connect_read_only
from sla_store.policy_files import load_policy_history
from sla_store.sample import build_sample_db

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboard.py"
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)  # a Wednesday morning: this week's report is still due
PAGES = ("overview", "performance", "live_queue", "trends", "internal_ops", "what_if", "policy_history", "data")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("instances")
    config = root / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns("history"))
    db = root / "sla.duckdb"
    build_sample_db(db, tickets=1500, seed=42, now=NOW, samples_dir=root / "samples", config=config)
    return db, config


@pytest.fixture
def env(sample, monkeypatch):
    db, config = sample
    monkeypatch.setenv("SLA_DB", str(db))
    monkeypatch.setenv("SLA_CONFIG", str(config))
    monkeypatch.setenv("SLA_NOW", NOW.isoformat())
    return db, config


def _open(page: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _rows(db: Path, query: str, params: list | None = None) -> list[tuple]:
    con = connect_read_only(db)
    try:
        return con.sql(query, params=params or []).fetchall()
    finally:
        con.close()


def test_the_sample_has_repeating_between_and_scheduled_instances(env):
    db, _ = env
    counts = dict(_rows(db, """SELECT metric, max(instance) FROM results
                               WHERE metric IN ('next_reply', 'campaign_freshness', 'weekly_report') GROUP BY ALL"""))
    assert counts["next_reply"] > 1 and counts["campaign_freshness"] > 5 and counts["weekly_report"] > 15
    missing = _rows(db, """SELECT item_id FROM results WHERE metric = 'weekly_report' AND stop IS NULL
                           AND met = FALSE""")
    assert {row[0] for row in missing} == {"KPI-WEEKLY", "FINANCE-WEEKLY"}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_sample_with_instances(env, page):
    _open(page)


def test_internal_ops_shows_each_scheduled_period_as_met_late_missing_or_due(env):
    db, _ = env
    at = _open("internal_ops")
    date_from, date_to = at.session_state["dates"]
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    strip = next(spec for spec in specs if spec["layout"]["title"]["text"] == "Weekly report per stream")
    shown = {trace["name"]: len(trace["x"]) for trace in strip["data"]}
    expected = dict(_rows(db, """
        SELECT CASE WHEN stop IS NOT NULL AND met THEN 'met' WHEN stop IS NOT NULL THEN 'late'
                    WHEN met = FALSE THEN 'missing' ELSE 'due' END, count(*)
        FROM results WHERE metric = 'weekly_report' AND created >= ?::DATE AND created < ?::DATE + INTERVAL 1 DAY
        GROUP BY ALL""", [date_from, date_to]))
    assert shown == {status: expected.get(status, 0) for status in ("met", "late", "missing", "due")}
    assert shown["missing"] == 2 and shown["met"] > 10
    assert shown["due"] >= 1  # Wednesday morning: some stream has not delivered this week yet
    assert set(strip["data"][0]["y"]) == {"KPI-WEEKLY", "FINANCE-WEEKLY"}


def test_what_if_can_move_a_schedule_due_time_and_simulate_it(env):
    db, config = env
    at = _open("what_if")
    editors = [frame for frame in at.dataframe if frame.key == "whatif_schedules"]
    assert editors and editors[0].value["due"].tolist() == ["wed 17:00"]
    at.session_state["whatif_schedules"] = {"edited_rows": {"0": {"due": "mon 09:00"}}, "added_rows": [],
                                            "deleted_rows": []}
    at.button(key="whatif_simulate").click()
    at.run()
    assert not at.exception, at.exception
    simulation = at.session_state["whatif_sim"]["simulation"]
    assert simulation.rejudged.recomputed_rows > 0
    after = simulation.paired.filter((pl.col("metric") == "weekly_report")
                                     & pl.col("policy_version_after").is_not_null()).rename(
        {"met": "met_before", "met_after": "met"})
    # Independent answer: the core judges the raw items and events by the proposed policy.
    proposed = load_policy_history(config).current
    raw = proposed.raw
    raw["metrics"]["weekly_report"]["schedule"]["due"] = "mon 09:00"
    from sla_core.policy_yaml import parse_policy_mapping

    policy = parse_policy_mapping(raw)
    con = connect_read_only(db)
    items = con.sql("SELECT * EXCLUDE (attributes, import_id) FROM items WHERE process = 'scheduled_reports'").pl()
    events = con.sql("SELECT source, item_id, occurred_at, kind, value FROM events WHERE item_id LIKE '%WEEKLY'").pl()
    con.close()
    expected = evaluate(items, events, policy, NOW, metrics=["weekly_report"])
    keys = after.select("item_id", "instance")
    expected = expected.join(keys, on=["item_id", "instance"], how="semi")
    assert sorted(after.select("item_id", "instance", "met").rows()) == sorted(
        expected.select("item_id", "instance", "met").rows())
    # Monday 09:00 is before most deliveries: most weeks turn late
    assert after["met"].sum() < after.height / 2


def test_the_live_queue_keeps_only_the_latest_instance_of_a_stream_and_advances_it_in_wall_clock_time(env):
    from sla_core.policy import PolicyHistory
    from sla_store.queries import Selection
    from sla_store.reads import open_results
    from sla_ui.live import open_clocks

    db, config = env
    history = PolicyHistory(list(load_policy_history(config)))
    con = connect_read_only(db)
    stored = open_results(con.cursor(), Selection(metric="weekly_report"), kind="ops")
    items = con.sql("SELECT * EXCLUDE (attributes, import_id) FROM items WHERE item_id = 'FINANCE-WEEKLY'").pl()
    events = con.sql("SELECT source, item_id, occurred_at, kind, value FROM events WHERE item_id = 'FINANCE-WEEKLY'").pl()
    con.close()
    judged = evaluate(items, events, history, NOW, metrics=["weekly_report"])
    assert judged.filter(pl.col("stop").is_null()).height >= 2  # the missed week and this week
    later = NOW + dt.timedelta(hours=3)  # 14:00 in Amsterdam, still before Wednesday 17:00
    clocks = open_clocks(stored.filter(pl.col("item_id") == "FINANCE-WEEKLY"), history, later, "weekly_report")
    assert clocks["instance"].to_list() == [judged["instance"].max()]
    expected = evaluate(items, events, history, later, metrics=["weekly_report"]).filter(
        pl.col("instance") == judged["instance"].max())
    assert clocks.select("state", "elapsed_s", "remaining_s", "due_at").rows() == expected.select(
        "state", "elapsed_s", "remaining_s", "due_at").rows()


def test_internal_ops_cards_come_at_most_three_to_a_row_so_their_labels_read_whole(env):
    at = _open("internal_ops")
    labels = [metric.label for metric in at.metric]
    assert "Campaign freshness (campaigns)" in labels and len(labels) > 3
    cards = [column for column in at.columns if len(column.metric)]
    assert len(cards) == len(labels)
    assert all(abs(column.weight - 1 / 3) < 1e-9 for column in cards)  # five in a row cut their labels


def _chart(at: AppTest, title: str) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if title in json.dumps(spec["layout"].get("title", "")):
            return spec
    raise AssertionError(f"no chart titled {title!r}")


def test_internal_ops_bars_read_the_step_names_not_their_keys(env):
    at = _open("internal_ops")
    bars = _chart(at, "Attainment per internal process step")["data"][0]
    labels = bars["y"] if bars.get("orientation") == "h" else bars["x"]
    assert "Weekly report" in labels and "Campaign freshness" in labels
    assert not [label for label in labels if "_" in label]


def test_breached_periods_of_a_repeating_clock_are_told_apart_by_their_period(env):
    at = _open("internal_ops")
    at.selectbox(key="ops_metric").set_value("campaign_freshness").run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert table["item_id"].duplicated().any()  # a campaign breached in more than one period
    assert "instance" in table.columns
    assert not table[["item_id", "instance"]].duplicated().any()
