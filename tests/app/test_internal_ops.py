"""Internal ops page: internal process steps judged like tickets."""

from __future__ import annotations

import pytest

from tests.app.conftest import DEFAULT_RANGE, IN_DEFAULT_RANGE, chart_data, metric_values, pct


@pytest.fixture
def ops(app):
    app.switch_page("pages/internal_ops.py").run()
    assert not app.exception
    return app


def test_each_process_step_shows_its_attainment_over_the_date_range(ops, sql):
    rows = sql(f"""
        SELECT metric, count(*) FILTER (WHERE met)::DOUBLE / count(*) FILTER (WHERE met IS NOT NULL)
        FROM results WHERE kind = 'ops' AND {IN_DEFAULT_RANGE} GROUP BY metric""", DEFAULT_RANGE)
    shown = metric_values(ops)
    for metric, share in rows:
        assert shown[f"{metric.replace('_', ' ').capitalize()} (leads)"] == pct(share)


def test_ticket_filters_do_not_hide_internal_processes(ops, sql):
    ops.multiselect(key="channel").set_value(["chat"]).run()
    assert not ops.exception
    assert metric_values(ops)  # ops items have no channel; the page still shows them


def test_breached_list_of_a_step_is_every_breached_item_of_that_step(ops, sql):
    ops.selectbox(key="ops_metric").set_value("routing").run()
    assert not ops.exception
    expected = sql(f"""SELECT item_id FROM results WHERE kind = 'ops' AND metric = 'routing' AND met = false
                       AND {IN_DEFAULT_RANGE}""", DEFAULT_RANGE)
    listed = ops.dataframe[-1].value
    assert sorted(listed["item_id"]) == sorted(row[0] for row in expected)
    weekly = chart_data(ops, 1)
    assert "Routing attainment per week" in ops.get("plotly_chart")[1].proto.spec
    assert weekly[0]["y"]
