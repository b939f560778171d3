"""No data, or filters that match nothing: every page explains what to do instead of failing."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from sla_store.db import write_transaction
from tests.app.conftest import DASHBOARD

PAGES = ("pages/overview.py", "pages/performance.py", "pages/live_queue.py", "pages/trends.py",
         "pages/internal_ops.py", "pages/data.py")


def visit_every_page(at: AppTest) -> dict[str, list[str]]:
    """Messages (info, warning, success) each page shows."""
    at.run()
    assert not at.exception
    shown = {}
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
        shown[page] = [e.value for e in (*at.info, *at.warning, *at.success)]
    return shown


def test_every_page_says_how_to_load_data_when_there_is_no_database(app_env, tmp_path):
    app_env(tmp_path / "missing.duckdb")
    shown = visit_every_page(AppTest.from_file(DASHBOARD, default_timeout=30))
    for page, messages in shown.items():
        assert messages == [
            f"No data yet at `{tmp_path / 'missing.duckdb'}`. Build the sample with `make sample` (or `sla sample`), "
            "or load an export with `sla ingest FILE` or on the **Data** page."], page


WIDEN = "Widen the date range or clear some filters in the sidebar."
ON_AN_EMPTY_DATABASE = {
    "pages/overview.py": ["No ticket results in the database yet. Import an export on the Data page."],
    "pages/performance.py": [f"No items match the sidebar filters. {WIDEN}"],
    "pages/live_queue.py": ["No open items clocks right now. Everything is answered - or clear some filters in "
                            "the sidebar."],
    "pages/trends.py": [f"No items match the sidebar filters. {WIDEN}"],
    "pages/internal_ops.py": ["No internal-operations items in this date range. Import an event log (format "
                              "`events`) on the Data page, or widen the date range."],
    "pages/data.py": ["Nothing imported yet.", "No rejected rows."],
}


def test_every_page_renders_an_empty_state_on_an_empty_database(app_env, tmp_path):
    empty = tmp_path / "empty.duckdb"
    with write_transaction(empty):
        pass
    app_env(empty)
    shown = visit_every_page(AppTest.from_file(DASHBOARD, default_timeout=30))
    assert shown == ON_AN_EMPTY_DATABASE


WHEN_NOTHING_MATCHES = {
    "pages/overview.py": f"No items in November 2026 match the sidebar filters. {WIDEN}",
    "pages/performance.py": f"No items match the sidebar filters. {WIDEN}",
    "pages/live_queue.py": "No open items clocks right now. Everything is answered - or clear some filters in "
                           "the sidebar.",
    "pages/trends.py": f"No items match the sidebar filters. {WIDEN}",
    "pages/internal_ops.py": "No internal-operations items in this date range. Import an event log (format "
                             "`events`) on the Data page, or widen the date range.",
}


@pytest.mark.parametrize("page", PAGES[:5])
def test_filters_matching_nothing_show_an_empty_state_not_an_error(app, page, sql):
    # A channel x team x priority with no ticket this month and no open clock: found in the data.
    channel, team, priority = sql("""
        WITH combos AS (
            SELECT c.channel, t.team, p.priority
            FROM (SELECT DISTINCT channel FROM items WHERE kind = 'ticket') c,
                 (SELECT DISTINCT team FROM items WHERE kind = 'ticket') t,
                 (SELECT DISTINCT priority FROM items WHERE kind = 'ticket') p)
        SELECT channel, team, priority FROM combos
        WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.channel = combos.channel AND r.team = combos.team
                          AND r.priority = combos.priority
                          AND (r.created >= DATE '2026-11-01' OR r.stop IS NULL))
        ORDER BY ALL LIMIT 1""")[0]
    app.multiselect(key="channel").set_value([channel])
    app.multiselect(key="team").set_value([team])
    app.multiselect(key="priority").set_value([priority])
    app.date_input(key="dates").set_value((dt.date(2026, 11, 20), dt.date(2026, 11, 20))).run()
    app.switch_page(page).run()
    assert not app.exception
    assert [info.value for info in app.info] == [WHEN_NOTHING_MATCHES[page]]
