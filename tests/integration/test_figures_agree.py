"""One month's figures agree wherever they are shown: the Overview's reads (daily rollup and burn-down), the
monthly report and `sla attainment`."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from sla_app import data
from sla_store.cli import app
from sla_store.db import LiveDatabase
from sla_store.queries import Selection
from sla_store.report_data import build_report
from sla_ui import summary
from tests.integration.conftest import SAMPLE_NOW

OCTOBER = date(2026, 10, 1)


@pytest.fixture
def overview(sample_db, monkeypatch):
    """The Overview's headline figures for October, read the way the page reads them."""
    monkeypatch.setenv("SLA_DB", str(sample_db))
    month_end = summary.month_end(OCTOBER)
    monthly = data.attainment(Selection(date_from=summary.previous_month(OCTOBER), date_to=month_end),
                              ("month", "metric"), use_metric=False)
    daily = data.burn_down(Selection(), OCTOBER, month_end, by_metric=True)
    return {h.metric: h for h in summary.headlines(monthly, daily, OCTOBER)}


@pytest.fixture
def report(sample_db):
    live = LiveDatabase(str(sample_db))
    return {row["metric"]: row for row in build_report(live.cursor(), OCTOBER, SAMPLE_NOW).headline.to_dicts()}


@pytest.fixture
def command(sample_db):
    result = CliRunner(env={"SLA_DB": None}).invoke(
        app, ["attainment", "--by", "kind", "--month", "2026-10", "--json", "--db", str(sample_db)])
    assert result.exit_code == 0, result.output
    rows = [row for row in json.loads(result.stdout) if row["kind"] == "ticket"]  # the Overview's items
    assert len({row["metric"] for row in rows}) == len(rows)
    return {row["metric"]: row for row in rows}


def test_one_months_figures_agree_across_the_overview_the_report_and_the_command_line(overview, report, command):
    assert set(overview) == {"first_response", "resolution", "next_reply"}
    for metric, headline in overview.items():
        shown, reported, counted = headline, report[metric], command[metric]
        assert shown.decided == reported["decided"] == counted["decided"] > 0
        assert shown.breached == reported["breached"] == counted["breached"]
        assert shown.items == reported["items"]
        assert shown.attainment == pytest.approx(reported["attainment"], abs=1e-12)
        assert shown.attainment == pytest.approx(counted["attainment"], abs=1e-12)
        assert shown.objective == pytest.approx(reported["objective"], abs=1e-12)
        # Error budget: left on the Overview, used in the report - the same budget.
        assert shown.budget_left == pytest.approx(1 - reported["budget_used"], abs=1e-9)
