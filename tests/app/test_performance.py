"""Performance page: attainment per slice, first response and resolution side by side, drill-down, histogram."""

from __future__ import annotations

import pytest

from tests.app.conftest import DEFAULT_RANGE, IN_DEFAULT_RANGE, chart_data, metric_values, pct


@pytest.fixture
def performance(app):
    app.switch_page("pages/performance.py").run()
    assert not app.exception
    return app


def shares_by(sql, dimension: str, metric: str, extra: str = "", params: list | None = None) -> dict:
    rows = sql(f"""
        SELECT {dimension}, count(*) FILTER (WHERE met)::DOUBLE / count(*) FILTER (WHERE met IS NOT NULL)
        FROM results WHERE kind = 'ticket' AND metric = ? AND {IN_DEFAULT_RANGE} {extra}
        GROUP BY 1""", [metric, *DEFAULT_RANGE, *(params or [])])
    return dict(rows)


def test_headline_is_the_selected_metrics_attainment_over_the_date_range(performance, sql):
    met, decided = sql(f"""
        SELECT count(*) FILTER (WHERE met), count(*) FILTER (WHERE met IS NOT NULL) FROM results
        WHERE kind = 'ticket' AND metric = 'resolution' AND {IN_DEFAULT_RANGE}""", DEFAULT_RANGE)[0]
    assert metric_values(performance)["Resolution attainment"] == pct(met / decided)


def test_first_response_and_resolution_are_charted_side_by_side_per_channel(performance, sql):
    first_response, resolution = chart_data(performance, 0)[0], chart_data(performance, 1)[0]
    for bars, metric in ((first_response, "first_response"), (resolution, "resolution")):
        expected = shares_by(sql, "channel", metric)
        assert dict(zip(bars["x"], bars["y"], strict=True)) == pytest.approx(
            {channel: 100 * share for channel, share in expected.items()})


def test_breaking_down_by_team_regroups_every_chart_and_the_table(performance, sql):
    performance.segmented_control(key="perf_by").set_value("team").run()
    assert not performance.exception
    expected = shares_by(sql, "team", "resolution")
    table = performance.dataframe[0].value
    assert dict(zip(table["team"], table["attainment"], strict=True)) == pytest.approx(
        {team: 100 * share for team, share in expected.items()})
    assert set(chart_data(performance, 1)[0]["x"]) == set(expected)


def test_bars_and_table_go_worst_first_by_the_gap_to_the_objective(performance, sql):
    performance.segmented_control(key="perf_by").set_value("team").run()
    rows = sql(f"""
        SELECT team, count(*) FILTER (WHERE met)::DOUBLE / count(*) FILTER (WHERE met IS NOT NULL)
                     - avg(objective) FILTER (WHERE met IS NOT NULL)
        FROM results WHERE kind = 'ticket' AND metric = 'resolution' AND {IN_DEFAULT_RANGE}
        GROUP BY 1 ORDER BY 2""", DEFAULT_RANGE)
    assert chart_data(performance, 1)[0]["x"] == [team for team, _ in rows]
    assert list(performance.dataframe[0].value["team"]) == [team for team, _ in rows]


def test_many_agents_show_the_worst_fifteen_and_the_rest_as_others(performance, sql):
    performance.segmented_control(key="perf_by").set_value("agent").run()
    assert not performance.exception
    agents = sql(f"""SELECT count(DISTINCT agent) FROM results WHERE kind = 'ticket' AND metric = 'resolution'
                     AND {IN_DEFAULT_RANGE}""", DEFAULT_RANGE)[0][0]
    bars = chart_data(performance, 1)[0]
    assert bars["orientation"] == "h"  # many bars lie down, so their labels read whole
    assert agents > 16 and len(bars["y"]) == 16
    assert bars["y"][-1] == f"others ({agents - 15})"
    decided = sql(f"""SELECT count(*) FILTER (WHERE met IS NOT NULL), count(*) FILTER (WHERE met)
                      FROM results WHERE kind = 'ticket' AND metric = 'resolution' AND {IN_DEFAULT_RANGE}""",
                  DEFAULT_RANGE)[0]
    met, breached = zip(*bars["customdata"], strict=True)
    assert (sum(met) + sum(breached), sum(met)) == decided  # the others bar pools the rest, nothing lost
    assert len(performance.dataframe[0].value) == agents  # the table keeps every agent


def test_the_objective_card_states_the_policy_objectives_not_their_average(performance, sql):
    low, high = sql(f"""SELECT min(objective), max(objective) FROM results WHERE kind = 'ticket'
                        AND metric = 'resolution' AND {IN_DEFAULT_RANGE}""", DEFAULT_RANGE)[0]
    expected = f"{100 * low:g}%" if low == high else f"{100 * low:g}%–{100 * high:g}% (per target)"
    assert metric_values(performance)["Objective"] == expected


def test_drill_down_lists_the_breached_items_behind_a_teams_number(performance, sql):
    performance.segmented_control(key="perf_by").set_value("team").run()
    performance.selectbox(key="perf_drill").set_value("onboarding").run()
    assert not performance.exception
    listed = performance.dataframe[1].value
    expected = sql(f"""
        SELECT item_id FROM results WHERE kind = 'ticket' AND metric = 'resolution' AND team = 'onboarding'
          AND met = false AND {IN_DEFAULT_RANGE}""", DEFAULT_RANGE)
    assert sorted(listed["item_id"]) == sorted(row[0] for row in expected)
    assert (listed["pct_used"] > 100).all()


def test_histogram_counts_every_item_of_the_selection_once(performance, sql):
    bars = chart_data(performance, 2)[0]
    total = sql(f"""SELECT count(*) FROM results WHERE kind = 'ticket' AND metric = 'resolution'
                    AND {IN_DEFAULT_RANGE}""", DEFAULT_RANGE)[0][0]
    assert sum(bars["y"]) == total
    breached_bins = sum(y for x, y in zip(bars["x"], bars["y"], strict=True) if x > 100)
    over = sql(f"""SELECT count(*) FROM results WHERE kind = 'ticket' AND metric = 'resolution'
                   AND {IN_DEFAULT_RANGE} AND elapsed_s >= within_s""", DEFAULT_RANGE)[0][0]
    assert breached_bins == over


def test_metric_filter_switches_the_page_to_first_response(performance, sql):
    performance.selectbox(key="metric").set_value("first_response").run()
    assert not performance.exception
    met, decided = sql(f"""
        SELECT count(*) FILTER (WHERE met), count(*) FILTER (WHERE met IS NOT NULL) FROM results
        WHERE kind = 'ticket' AND metric = 'first_response' AND {IN_DEFAULT_RANGE}""", DEFAULT_RANGE)[0]
    assert metric_values(performance)["First response attainment"] == pct(met / decided)


def test_slice_table_shows_the_median_of_decided_items_as_business_time(performance, sql):
    from sla_core.durations import format_duration

    rows = sql(f"""
        SELECT channel, median(elapsed_s) FILTER (WHERE met IS NOT NULL) FROM results
        WHERE kind = 'ticket' AND metric = 'resolution' AND {IN_DEFAULT_RANGE} GROUP BY 1""", DEFAULT_RANGE)
    table = performance.dataframe[0].value
    shown = dict(zip(table["channel"], table["median_elapsed_s"], strict=True))
    assert shown == {channel: format_duration(seconds) for channel, seconds in rows}


@pytest.mark.parametrize(("channels", "count"), [(["chat"], "1 channel value,"), (["chat", "email"], "2 channel values,")])
def test_the_caption_counts_values_in_the_singular_for_one(performance, channels, count):
    performance.multiselect(key="channel").set_value(channels).run()
    assert not performance.exception
    assert any(caption.value.startswith(count) for caption in performance.caption)
