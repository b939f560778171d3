"""Pages on real exports with a policy that declares dimensions: the ServiceNow incident log (one-pass event
log, impact and urgency kept as attributes) and NYC 311 (no first response: not measured, not 0%)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sla_store.db import connect_read_only
from sla_store.ingest import ingest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MAPPINGS = REPO / "config" / "mappings"
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
EVERYTHING = (dt.date(2016, 1, 1), dt.date(2022, 12, 31))
POLICY = """\
version: 1
effective_from: 2016-01-01
dimensions: [impact, urgency]
calendars: {always: 24/7}
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: [resolved, closed], pause_when_status: ["awaiting*"]}
targets:
  - {metric: first_response, within: 1h, calendar: always}
  - {metric: resolution, match: {impact: "1 - High"}, within: 4h, calendar: always}
  - {metric: resolution, within: 5d, calendar: always}
"""
NOT_MEASURED = "first response: not measured for nyc311 (no column); 924 items without first_response"


@pytest.fixture(scope="module")
def real_setup(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("dimensions")
    config = folder / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(POLICY)
    db = folder / "sla.duckdb"
    ingest(FIXTURES / "servicenow_incident_event_log_subset.csv", db=db,
           mapping=MAPPINGS / "servicenow_events.yaml", config=config, now=NOW)
    ingest(FIXTURES / "nyc311_2022-05-01_sample.csv", db=db, mapping=MAPPINGS / "nyc311.yaml", config=config,
           now=NOW)
    return db, config


@pytest.fixture
def real_app(monkeypatch, real_setup) -> AppTest:
    db, config = real_setup
    monkeypatch.setenv("SLA_DB", str(db))
    monkeypatch.setenv("SLA_CONFIG", str(config))
    monkeypatch.setenv("SLA_NOW", NOW.isoformat())
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception
    at.date_input(key="dates").set_value(EVERYTHING).run()
    assert not at.exception
    return at


def sql(real_setup, query: str, params: list | None = None) -> list[tuple]:
    con = connect_read_only(real_setup[0])
    try:
        return con.sql(query, params=params or []).fetchall()
    finally:
        con.close()


def texts(at: AppTest) -> list[str]:
    return [element.value for element in at.text]


def test_the_sidebar_offers_a_filter_per_dimension_with_its_values(real_app, real_setup):
    impact = real_app.multiselect(key="dim_impact")
    assert impact.label == "Impact"
    assert impact.options == ["1 - High", "2 - Medium", "3 - Low"]
    assert real_app.multiselect(key="dim_urgency").options == ["1 - High", "2 - Medium", "3 - Low"]


def test_performance_breaks_down_by_a_dimension(real_app, real_setup):
    real_app.switch_page("pages/performance.py").run()
    real_app.segmented_control(key="perf_by").set_value("impact").run()
    assert not real_app.exception
    expected = dict(sql(real_setup, """
        SELECT coalesce(impact, '(none)'), 100 * count(*) FILTER (WHERE met) / count(*) FILTER (WHERE met IS NOT NULL)
        FROM results WHERE metric = 'resolution' GROUP BY 1"""))
    table = real_app.dataframe[0].value
    assert dict(zip(table["impact"], table["attainment"], strict=True)) == pytest.approx(expected)
    assert NOT_MEASURED in texts(real_app)


def test_the_dimension_filter_narrows_every_figure(real_app, real_setup):
    real_app.switch_page("pages/performance.py").run()
    real_app.multiselect(key="dim_impact").set_value(["1 - High"]).run()
    assert not real_app.exception
    met, decided = sql(real_setup, """SELECT count(*) FILTER (WHERE met), count(*) FILTER (WHERE met IS NOT NULL)
                                       FROM results WHERE metric = 'resolution' AND impact = '1 - High'""")[0]
    shown = {m.label: m.value for m in real_app.metric}
    assert shown["Resolution attainment"] == f"{100 * met / decided:.1f}%"
    assert shown["Breached items"] == f"{decided - met:,}"


def test_the_data_page_says_what_cannot_be_measured_and_what_is_old(real_app):
    real_app.switch_page("pages/data.py").run()
    assert not real_app.exception
    shown = texts(real_app)
    assert NOT_MEASURED in shown
    assert not any("no target of policy" in line for line in shown)


def test_the_overview_shows_not_measured_instead_of_zero_percent(real_app):
    real_app.switch_page("pages/overview.py").run()
    assert not real_app.exception
    assert NOT_MEASURED in texts(real_app)
    assert not any(m.label == "First response" and m.value == "0.0%" for m in real_app.metric)


def test_what_if_compares_per_dimension(real_app):
    real_app.switch_page("pages/what_if.py").run()
    assert not real_app.exception
    assert "Impact" in real_app.selectbox(key="whatif_by").options
    real_app.selectbox(key="whatif_by").set_value("impact").run()
    real_app.button(key="whatif_simulate").click().run()
    assert not real_app.exception
    tables = [frame.value for frame in real_app.dataframe if "impact" in frame.value.columns]
    assert tables and set(tables[0]["impact"]) >= {"1 - High", "2 - Medium", "3 - Low"}


def test_a_policy_matching_nothing_of_a_source_says_so_on_the_data_page(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(POLICY.replace(
        "  - {metric: first_response, within: 1h, calendar: always}\n", "").replace(
        "  - {metric: resolution, within: 5d, calendar: always}\n", ""))
    db = tmp_path / "sla.duckdb"
    summary = ingest(FIXTURES / "nyc311_2022-05-01_sample.csv", db=db, mapping=MAPPINGS / "nyc311.yaml",
                     config=config, now=NOW)
    message = ("no target of policy version 1 matches any of the 924 items of nyc311 (targets match on impact)")
    assert message in summary.notes
    monkeypatch.setenv("SLA_DB", str(db))
    monkeypatch.setenv("SLA_CONFIG", str(config))
    monkeypatch.setenv("SLA_NOW", NOW.isoformat())
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert message in texts(at)
