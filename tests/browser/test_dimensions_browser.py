"""The Performance page grouped by a policy dimension (the ServiceNow log's impact, imported in one pass as an
event log) in a real Chromium; the screenshot goes to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ROOT, SAMPLE_NOW, SCREENSHOTS, serve_app, wait_until_rendered

pytestmark = pytest.mark.browser

POLICY = """\
version: 1
effective_from: 2016-01-01
dimensions: [impact, urgency]
calendars:
  office: {timezone: UTC, hours: {mon-fri: ["08:00-18:00"]}}
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: [resolved, closed], pause_when_status: ["awaiting*"]}
targets:
  - {metric: first_response, match: {impact: "1 - High"}, within: 30m, calendar: always}
  - {metric: first_response, within: 4h, calendar: office}
  - {metric: resolution, match: {impact: "1 - High"}, within: 8h, calendar: always}
  - {metric: resolution, within: 3d, calendar: office}
"""


@pytest.fixture(scope="module")
def dimensions_app(tmp_path_factory):
    from sla_store.ingest import ingest

    folder = tmp_path_factory.mktemp("browser-dimensions")
    config = folder / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(POLICY)
    db = folder / "sla.duckdb"
    ingest(ROOT / "tests" / "fixtures" / "servicenow_incident_event_log_subset.csv", db=db, config=config,
           mapping=ROOT / "config" / "mappings" / "servicenow_events.yaml", now=SAMPLE_NOW)
    with serve_app(db, config, folder / "streamlit.log") as url:
        yield url


def test_performance_grouped_by_impact_on_the_servicenow_log(dimensions_app, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{dimensions_app}/performance?perf_by=impact")
    wait_until_rendered(page)
    page.get_by_role("heading", name="Resolution by impact").wait_for(timeout=30_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    assert sidebar.get_by_text("Impact", exact=True).count() == 1
    assert sidebar.get_by_text("Urgency", exact=True).count() == 1
    # the bars are labelled by the impact values
    assert page.locator(".js-plotly-plot").first.get_by_text("2 - Medium").count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    assert not errors
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "page-performance-by-impact.png"), full_page=True)
