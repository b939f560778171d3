"""Live queue: open clocks re-judged at the (pinned) real time, soonest breach first."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.app.conftest import chart_data, metric_values
from tests.app.synthetic import NOW


@pytest.fixture
def live(app):
    app.switch_page("pages/live_queue.py").run()
    assert not app.exception
    return app


def open_clocks(sql, metric: str = "resolution") -> dict[str, tuple]:
    """item_id -> (elapsed business seconds at NOW, target, paused) on the fixture's 24/7 calendar."""
    rows = sql("""
        SELECT r.item_id, epoch(?::TIMESTAMPTZ - r.start) - coalesce(epoch(?::TIMESTAMPTZ - e.occurred_at), 0),
               r.within_s, e.occurred_at IS NOT NULL
        FROM results r LEFT JOIN events e
          ON e.source = r.source AND e.item_id = r.item_id AND e.kind = 'status' AND e.value = 'pending'
        WHERE r.kind = 'ticket' AND r.metric = ? AND r.stop IS NULL""", [NOW, NOW, metric])
    return {item: (elapsed, within, paused) for item, elapsed, within, paused in rows}


def test_queue_lists_every_open_item_soonest_breach_first(live, sql):
    expected = open_clocks(sql)
    table = live.dataframe[0].value
    assert sorted(table["item_id"]) == sorted(expected)
    remaining = [expected[item][1] - expected[item][0] for item in table["item_id"]]
    assert remaining == sorted(remaining)


def test_budget_used_and_counts_are_recomputed_at_the_real_now(live, sql):
    expected = open_clocks(sql)
    table = live.dataframe[0].value
    for item, used in zip(table["item_id"], table["pct_used"], strict=True):
        elapsed, within, _ = expected[item]
        assert used == pytest.approx(100 * elapsed / within, abs=1e-6)
    breached = sum(1 for elapsed, within, _ in expected.values() if elapsed > within)
    assert metric_values(live)["Breached"] == str(breached)
    assert metric_values(live)["Open"] == str(len(expected))


def test_paused_items_are_marked_and_counted(live, sql):
    expected = open_clocks(sql)
    table = live.dataframe[0].value
    marked = set(table.loc[table["status_mark"].str.contains("paused"), "item_id"])
    assert marked == {item for item, (_, _, paused) in expected.items() if paused}
    assert metric_values(live)["Paused"] == str(len(marked))


def test_due_at_is_shown_in_the_calendars_time_zone_and_levels_follow_the_budget_used(live, sql):
    table = live.dataframe[0].value
    # An active item on the fixture's 24/7 UTC calendar is due at start + target.
    active = table[table["status_mark"].str.contains("running")].iloc[0]
    start, within = sql("SELECT start, within_s FROM results WHERE item_id = ? AND metric = 'resolution'",
                        [active["item_id"]])[0]
    due = start.astimezone(dt.UTC) + dt.timedelta(seconds=within)
    assert active["due_local"] == due.strftime("%a %d %b %H:%M UTC")
    for used, level in zip(table["pct_used"], table["level_mark"], strict=True):
        wanted = "breached" if used > 100 else "75%" if used >= 75 else "50%" if used >= 50 else "on track"
        assert wanted in level


def test_chart_draws_the_closest_items_against_the_target_line(live):
    bars = chart_data(live)[0]
    table = live.dataframe[0].value
    assert bars["y"] == list(table["item_id"][: len(bars["y"])])
    assert bars["x"] == pytest.approx(list(table["pct_used"][: len(bars["x"])]))
