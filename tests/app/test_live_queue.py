"""Live queue: open clocks re-judged at the (pinned) real time; the ones still savable apart from the
breached ones, internal operations included."""

from __future__ import annotations

import datetime as dt

import pytest

from sla_ui.live import local_due
from tests.app.conftest import chart_data, metric_values
from tests.app.synthetic import NOW


@pytest.fixture
def live(app):
    app.switch_page("pages/live_queue.py").run()
    assert not app.exception
    return app


@pytest.fixture
def live_resolution(live):
    live.segmented_control(key="live_scope").set_value("metric").run()
    assert not live.exception
    return live


def open_clocks(sql, metric: str = "resolution") -> dict[str, tuple]:
    """item_id -> (elapsed business seconds at NOW, target, paused) on the fixture's 24/7 calendar."""
    rows = sql("""
        SELECT r.item_id, epoch(?::TIMESTAMPTZ - r.start) - coalesce(epoch(?::TIMESTAMPTZ - e.occurred_at), 0),
               r.within_s, e.occurred_at IS NOT NULL
        FROM results r LEFT JOIN events e
          ON e.source = r.source AND e.item_id = r.item_id AND e.kind = 'status' AND e.value = 'pending'
        WHERE r.kind = 'ticket' AND r.metric = ? AND r.stop IS NULL""", [NOW, NOW, metric])
    return {item: (elapsed, within, paused) for item, elapsed, within, paused in rows}


def tables(at):
    """(within target, breached) tables of the page."""
    savable, breached = at.dataframe[0].value, at.dataframe[1].value
    return savable, breached


def test_savable_items_are_listed_apart_from_breached_ones_closest_to_breach_first(live_resolution, sql):
    expected = open_clocks(sql)
    savable, breached = tables(live_resolution)
    assert sorted([*savable["item_id"], *breached["item_id"]]) == sorted(expected)
    left = [expected[item][1] - expected[item][0] for item in savable["item_id"]]
    assert all(value >= 0 for value in left) and left == sorted(left)
    over = [expected[item][1] - expected[item][0] for item in breached["item_id"]]
    assert all(value < 0 for value in over) and over == sorted(over, reverse=True)  # most recently breached first


def test_budget_used_and_counts_are_recomputed_at_the_real_now(live_resolution, sql):
    expected = open_clocks(sql)
    savable, breached = tables(live_resolution)
    for table in (savable, breached):
        for item, used in zip(table["item_id"], table["pct_used"], strict=True):
            elapsed, within, _ = expected[item]
            assert used == pytest.approx(100 * elapsed / within, abs=1e-6)
    counts = metric_values(live_resolution)
    assert counts["Breached"] == str(sum(1 for elapsed, within, _ in expected.values() if elapsed > within))
    assert counts["Open clocks"] == str(len(expected))
    at_risk = sum(1 for elapsed, within, _ in expected.values() if 0.5 * within <= elapsed <= within)
    assert counts["At risk (50% or more used)"] == str(at_risk)
    assert at_risk > 0  # the fixture has a backlog near breach: the savable section is not empty


def test_paused_items_are_marked_and_counted(live_resolution, sql):
    expected = open_clocks(sql)
    marked = set()
    for table in tables(live_resolution):
        marked |= set(table.loc[table["status_mark"].str.contains("paused"), "item_id"])
    assert marked == {item for item, (_, _, paused) in expected.items() if paused}
    assert metric_values(live_resolution)["Paused"] == str(len(marked))


def test_remaining_time_and_budget_used_come_right_after_the_item(live_resolution):
    savable, _ = tables(live_resolution)
    assert list(savable.columns[:4]) == ["item_id", "metric", "remaining", "pct_used"]
    assert savable["remaining"].str.endswith(" left").all()
    assert not savable["remaining"].str.contains(r"\dd\b").any()


def test_no_link_column_when_no_source_links_its_items(live_resolution):
    """The fixture's sources have no url_template: a column of empty links would read "None" on every row."""
    for table in tables(live_resolution):
        assert "link" not in table.columns


def test_due_at_is_shown_in_the_calendars_time_zone_and_levels_follow_the_budget_used(live_resolution, sql):
    savable, breached = tables(live_resolution)
    # An active item on the fixture's 24/7 UTC calendar is due at start + target.
    active = savable[savable["status_mark"].str.contains("running")].iloc[0]
    start, within = sql("SELECT start, within_s FROM results WHERE item_id = ? AND metric = 'resolution'",
                        [active["item_id"]])[0]
    due = start.astimezone(dt.UTC) + dt.timedelta(seconds=within)
    assert active["due_local"] == due.strftime("%a %d %b %H:%M UTC")
    for table in (savable, breached):
        for used, level in zip(table["pct_used"], table["level_mark"], strict=True):
            wanted = "breached" if used > 100 else "75%" if used >= 75 else "50%" if used >= 50 else "on track"
            assert wanted in level


def test_a_due_date_outside_this_year_carries_its_year():
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    assert local_due(dt.datetime(2026, 11, 21, 9, tzinfo=dt.UTC), "Europe/Amsterdam", now) == \
        "Sat 21 Nov 10:00 Europe/Amsterdam"
    assert local_due(dt.datetime(2016, 3, 1, 9, tzinfo=dt.UTC), "UTC", now) == "Tue 01 Mar 2016 09:00 UTC"


def test_chart_draws_the_savable_items_closest_to_breach_with_time_left_and_share_used(live_resolution):
    bars = chart_data(live_resolution)[0]
    savable, _ = tables(live_resolution)
    count = len(bars["y"])
    assert bars["y"] == [f"{item} · Resolution" for item in savable["item_id"][:count]]
    assert bars["x"] == pytest.approx(list(savable["pct_used"][:count]))
    assert max(bars["x"]) <= 100  # breached items are not in this chart
    assert all(text.endswith("% used") and " left · " in text for text in bars["text"])


def test_the_target_line_labels_do_not_overlap(live_resolution):
    from tests.app.conftest import chart_layout

    layout = chart_layout(live_resolution)
    labels = {a["text"]: a for a in layout["annotations"] if "used" in a["text"] or "target" in a["text"]}
    assert set(labels) == {"50% used", "75% used", "target (100%)"}
    # 50% and 75% sit above the plot, the target below it; the axis spans at most 135% so they stay apart.
    assert labels["target (100%)"]["y"] == 0 and labels["50% used"]["y"] == labels["75% used"]["y"] == 1
    assert layout["xaxis"]["range"][1] <= 135


def test_every_open_clock_includes_internal_operations(app_env, writable_db, fixture_config):
    """An ops item whose lead was never scored is in the queue next to the tickets, as `sla check` has it."""
    import duckdb
    from streamlit.testing.v1 import AppTest

    from sla_store import rollup
    from tests.app.conftest import DASHBOARD

    con = duckdb.connect(str(writable_db))
    item = con.sql("SELECT item_id FROM items WHERE kind = 'ops' ORDER BY created DESC LIMIT 1").fetchall()[0][0]
    con.execute("DELETE FROM events WHERE item_id = ? AND kind IN ('scored', 'routed')", [item])
    con.execute("UPDATE results SET stop = NULL, met = NULL, state = 'active' WHERE item_id = ?", [item])
    rollup.rebuild(con)
    con.close()
    app_env(writable_db)
    at = AppTest.from_file(DASHBOARD, default_timeout=30)
    at.run()
    at.switch_page("pages/live_queue.py").run()
    assert not at.exception
    savable, breached = tables(at)
    rows = [*savable.itertuples(), *breached.itertuples()]
    assert {(row.item_id, row.kind) for row in rows if row.kind == "ops"} == {(item, "ops")}
    assert any(row.kind == "ticket" for row in rows)
