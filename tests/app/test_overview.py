"""Overview page: headline attainment per metric, month over month, error budget, heatmap, worst slices."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.app.conftest import chart_data, metric_values, pct

NOVEMBER = (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
OCTOBER = (dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC))


def month_attainment(sql, month, extra: str = "", params: list | None = None) -> dict[str, tuple]:
    rows = sql(f"""
        SELECT metric, count(*) FILTER (WHERE met), count(*) FILTER (WHERE met = false), avg(objective)
        FROM results WHERE kind = 'ticket' AND created >= ? AND created < ? {extra}
        GROUP BY metric""", [*month, *(params or [])])
    return {metric: (met, breached, objective) for metric, met, breached, objective in rows}


def test_overview_headline_shows_each_metrics_attainment_for_the_latest_month(app, sql):
    expected = month_attainment(sql, NOVEMBER)
    shown = metric_values(app)
    assert shown["First response"] == pct(expected["first_response"][0] / sum(expected["first_response"][:2]))
    assert shown["Resolution"] == pct(expected["resolution"][0] / sum(expected["resolution"][:2]))


def test_overview_headline_change_is_against_the_previous_month(app, sql):
    now, before = month_attainment(sql, NOVEMBER), month_attainment(sql, OCTOBER)
    for metric_row in app.metric:
        metric = "first_response" if metric_row.label == "First response" else "resolution"
        change = now[metric][0] / sum(now[metric][:2]) - before[metric][0] / sum(before[metric][:2])
        assert metric_row.delta == f"{100 * change:+.1f} pp"


def test_overview_error_budget_left_is_the_unspent_share_of_allowed_breaches(app, sql):
    met, breached, objective = month_attainment(sql, NOVEMBER)["resolution"]
    allowed = (1 - objective) * (met + breached)
    left = 1 - breached / allowed
    texts = [m.value for m in app.markdown]
    assert f"Error budget left **{100 * left:.1f}%**" in " ".join(texts)


def test_month_picker_switches_every_figure_to_the_chosen_month(app, sql):
    app.selectbox(key="overview_month").set_value(dt.date(2026, 10, 1)).run()
    assert not app.exception
    expected = month_attainment(sql, OCTOBER)
    assert metric_values(app)["Resolution"] == pct(expected["resolution"][0] / sum(expected["resolution"][:2]))
    assert "October 2026" in app.subheader[0].value


def test_channel_filter_narrows_the_overview_to_that_channel(app, sql):
    app.multiselect(key="channel").set_value(["chat"]).run()
    assert not app.exception
    expected = month_attainment(sql, NOVEMBER, "AND channel = ?", ["chat"])
    met, breached, _ = expected["first_response"]
    assert metric_values(app)["First response"] == pct(met / (met + breached))
    # The heatmap shows the chat column only.
    assert chart_data(app)[0]["x"] == ["chat"]


def test_the_month_has_a_per_channel_table_for_every_metric(app, sql):
    table = app.dataframe[0].value
    rows = sql("""
        SELECT metric, channel, count(*), count(*) FILTER (WHERE met IS NOT NULL), count(*) FILTER (WHERE NOT met)
        FROM results WHERE kind = 'ticket' AND created >= ? AND created < ? GROUP BY ALL""", list(NOVEMBER))
    expected = {(metric.replace("_", " ").capitalize(), channel): (items, decided, breached)
                for metric, channel, items, decided, breached in rows}
    shown = {(row.metric, row.channel): (row.items, row.decided, row.breached) for row in table.itertuples()}
    assert shown == expected


def test_the_chosen_month_is_kept_on_the_trends_page_and_in_the_link(app):
    app.selectbox(key="overview_month").set_value(dt.date(2026, 10, 1)).run()
    assert app.query_params["month"] in ("2026-10", ["2026-10"])
    app.switch_page("pages/trends.py").run()
    assert not app.exception
    assert app.selectbox(key="trend_month").value == dt.date(2026, 10, 1)


def test_an_overspent_error_budget_is_shown_in_red(app, sql):
    # Find a channel whose November resolution budget is overspent in the fixture, and filter to it.
    rows = sql("""
        SELECT channel, count(*) FILTER (WHERE NOT met)::DOUBLE / count(*) FILTER (WHERE met IS NOT NULL)
                        / (1 - avg(objective) FILTER (WHERE met IS NOT NULL))
        FROM results WHERE kind = 'ticket' AND metric = 'resolution' AND created >= ? AND created < ?
        GROUP BY 1 ORDER BY 2 DESC""", list(NOVEMBER))
    channel, used = rows[0]
    assert used > 1, "the fixture has an overspent channel"
    app.multiselect(key="channel").set_value([channel]).run()
    texts = " ".join(m.value for m in app.markdown)
    assert f":red[**{100 * (1 - used):.1f}%** (overspent)]" in texts


def test_heatmap_cells_are_team_by_channel_attainment_of_the_sidebar_metric(app, sql):
    heat = chart_data(app)[0]
    rows = sql("""
        SELECT team, channel, count(*) FILTER (WHERE met)::DOUBLE / count(*) FILTER (WHERE met IS NOT NULL)
        FROM results WHERE kind = 'ticket' AND metric = 'resolution' AND created >= ? AND created < ?
        GROUP BY ALL""", list(NOVEMBER))
    expected = {(team, channel): share for team, channel, share in rows}
    for y, team in enumerate(heat["y"]):
        for x, channel in enumerate(heat["x"]):
            assert heat["z"][y][x] == pytest.approx(100 * expected[(team, channel)])


def test_worst_slices_lists_the_lowest_attainment_first(app, sql):
    frame = app.dataframe[-1].value
    shares = frame["attainment"].tolist()
    assert shares == sorted(shares)
    channel, team, priority = frame.iloc[0][["channel", "team", "priority"]]
    met, decided = sql("""
        SELECT count(*) FILTER (WHERE met), count(*) FILTER (WHERE met IS NOT NULL) FROM results
        WHERE kind = 'ticket' AND metric = 'resolution' AND created >= ? AND created < ?
          AND channel = ? AND team = ? AND priority = ?""", [*NOVEMBER, channel, team, priority])[0]
    assert frame.iloc[0]["attainment"] == pytest.approx(100 * met / decided)  # shown in percent
    assert frame["decided"].min() >= 10


def test_shared_url_restores_the_filters_and_the_month(app_env, sql):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import DASHBOARD

    at = AppTest.from_file(DASHBOARD, default_timeout=30)
    at.query_params["channel"] = ["email", "web"]
    at.query_params["month"] = "2026-10"  # the month travels in the URL as YYYY-MM
    at.run()
    assert not at.exception
    assert at.session_state["channel"] == ["email", "web"]
    expected = month_attainment(sql, OCTOBER, "AND channel IN (?, ?)", ["email", "web"])
    met, breached, _ = expected["first_response"]
    assert metric_values(at)["First response"] == pct(met / (met + breached))


def test_burn_rate_is_the_last_weeks_breach_rate_over_the_error_budget(app, sql):
    # The month's items, counted on the day they were decided: met at their stop, breached when the
    # budget ran out; the burn rate looks at the last 7 days with decisions.
    decided_day = ("CAST(timezone('UTC', CASE WHEN met THEN stop ELSE least(due_at, coalesce(stop, due_at)) END)"
                   " AS DATE)")
    november = "created >= ? AND created < ?"
    last_day = sql(f"""SELECT max({decided_day}) FROM results WHERE kind = 'ticket' AND metric = 'resolution'
                       AND met IS NOT NULL AND {november}""", list(NOVEMBER))[0][0]
    decided, breached = sql(f"""
        SELECT count(*), count(*) FILTER (WHERE NOT met) FROM results
        WHERE kind = 'ticket' AND metric = 'resolution' AND met IS NOT NULL AND {november}
          AND {decided_day} > ? - INTERVAL 7 DAY""", [*NOVEMBER, last_day])[0]
    objective = month_attainment(sql, NOVEMBER)["resolution"][2]
    rate = (breached / decided) / (1 - objective)
    texts = " ".join(m.value for m in app.markdown)
    assert f"burn rate (last 7 days) **{rate:.1f}x**" in texts


def test_the_months_leadership_report_is_offered_as_a_download(app):
    app.selectbox(key="overview_month").set_value(dt.date(2026, 10, 1)).run()
    assert not app.exception
    labels = [button.proto.label for button in app.get("download_button")]
    assert "Download the October 2026 report (HTML)" in labels


def test_a_month_in_progress_shows_its_month_end_forecast_at_the_pace_so_far(app, sql):
    # The data runs into November: the forecast scales the month so far to 30 days at the same breach rate.
    last_day = sql("SELECT max(CAST(timezone('UTC', created) AS DATE)) FROM results WHERE kind = 'ticket'")[0][0]
    assert dt.date(2026, 11, 1) <= last_day < dt.date(2026, 11, 30)
    met, breached, objective = month_attainment(sql, NOVEMBER)["resolution"]
    scale = 30 / ((last_day - dt.date(2026, 11, 1)).days + 1)
    used = (breached / (met + breached)) / (1 - objective)
    verdict = "meets" if met / (met + breached) >= objective else "misses"
    expected = (f"Month-end forecast at this pace: ~{(met + breached) * scale:,.0f} decided, "
                f"~{breached * scale:,.0f} breached, error budget used {100 * used:.0f}% - {verdict} the objective.")
    assert expected in [c.value for c in app.caption]


def test_a_finished_month_has_no_forecast(app):
    app.selectbox(key="overview_month").set_value(dt.date(2026, 10, 1)).run()
    assert not any(c.value.startswith("Month-end forecast") for c in app.caption)


def test_without_a_chosen_month_the_overview_shows_the_newest_month_of_the_sidebar_window(app_env):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import DASHBOARD

    at = AppTest.from_file(DASHBOARD, default_timeout=30)
    at.query_params["dates"] = ["2026-09-01", "2026-10-20"]
    at.run()
    assert not at.exception
    assert at.selectbox(key="overview_month").value == dt.date(2026, 10, 1)
    assert at.session_state["dates"] == (dt.date(2026, 9, 1), dt.date(2026, 10, 20))


def test_changing_the_dates_writes_both_ends_to_the_url(app):
    app.date_input(key="dates").set_value((dt.date(2026, 10, 3), dt.date(2026, 10, 3))).run()
    assert not app.exception
    assert app.query_params["dates"] == ["2026-10-03", "2026-10-03"]
