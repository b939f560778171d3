"""The global sidebar filters, shared by every page and bound to the URL.

dashboard.py renders the widgets once per run (`render_sidebar_filters`); pages read the values with
`current_filters()`. The widgets are keyed and use ``bind="query-params"``, so the key is also the URL
parameter name and a view can be shared as a link (e.g. ``?channel=chat&channel=email&metric=resolution``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

import streamlit as st

from sla_store.queries import Selection
from sla_ui.view import metric_label

# Session-state keys (= URL query parameter names) of the sidebar widgets.
DATES_KEY = "dates"
CHANNEL_KEY = "channel"
TEAM_KEY = "team"
PRIORITY_KEY = "priority"
METRIC_KEY = "metric"

PRIORITY_ORDER = ("urgent", "high", "normal", "low")
DEFAULT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Filters(Selection):
    """What the user selected in the sidebar (the store's Selection, plus ways to vary it)."""

    def without_dates(self) -> Filters:
        return replace(self, date_from=None, date_to=None)

    def with_metric(self, metric: str | None) -> Filters:
        return replace(self, metric=metric)

    def with_dates(self, date_from: dt.date | None, date_to: dt.date | None) -> Filters:
        return replace(self, date_from=date_from, date_to=date_to)


@dataclass(frozen=True)
class FilterOptions:
    """The values the sidebar offers, read from the database."""

    channels: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    first_day: dt.date | None = None
    last_day: dt.date | None = None


def _date_range(value: object) -> tuple[dt.date | None, dt.date | None]:
    """The date_input value as (from, to); a half-picked range (one date) is a single day."""
    if isinstance(value, dt.date):
        return value, value
    if isinstance(value, Sequence) and not isinstance(value, str):
        days = [d for d in value if isinstance(d, dt.date)]
        if len(days) == 1:
            return days[0], days[0]
        if len(days) >= 2:
            return min(days[0], days[1]), max(days[0], days[1])
    return None, None


def current_filters() -> Filters:
    """The sidebar selection as a Filters value, for any page.

    Reads these ``st.session_state`` keys (each is also the URL query parameter of its widget):

    - ``"dates"``: tuple (from, to) of ``datetime.date``, inclusive, on the item's ``created`` day (UTC)
    - ``"channel"``, ``"team"``, ``"priority"``: lists of values; empty = all
    - ``"metric"``: one metric name (``first_response``, ``resolution``...) or None

    Missing keys (a page run without the sidebar) mean "no filter".
    """
    from sla_app.navigation import ensure_app_frame

    ensure_app_frame()
    state = st.session_state
    date_from, date_to = _date_range(state.get(DATES_KEY))
    return Filters(
        date_from=date_from,
        date_to=date_to,
        channels=tuple(state.get(CHANNEL_KEY) or ()),
        teams=tuple(state.get(TEAM_KEY) or ()),
        priorities=tuple(state.get(PRIORITY_KEY) or ()),
        metric=state.get(METRIC_KEY) or None,
    )


def default_metric(metrics: Sequence[str]) -> str | None:
    for preferred in ("resolution", "first_response"):
        if preferred in metrics:
            return preferred
    return metrics[0] if metrics else None


def default_dates(options: FilterOptions) -> tuple[dt.date, dt.date] | tuple[()]:
    """The last DEFAULT_WINDOW_DAYS days of data (a stable default keeps shared URLs short)."""
    if options.last_day is None or options.first_day is None:
        return ()
    start = max(options.first_day, options.last_day - dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1))
    return (start, options.last_day)


def _sorted_priorities(values: Sequence[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(PRIORITY_ORDER)}
    return sorted(values, key=lambda v: (rank.get(v, len(rank)), v))


def render_sidebar_filters(options: FilterOptions) -> Filters:
    """Draw the filter widgets in the sidebar and return the selection."""
    with st.sidebar:
        st.header("Filters")
        dates = default_dates(options)
        if dates:
            st.date_input(
                "Created between",
                value=dates,
                min_value=options.first_day,
                max_value=options.last_day,
                key=DATES_KEY,
                bind="query-params",
                help="Items created on these days (UTC). The Overview uses its month picker instead.",
            )
        st.multiselect("Channel", list(options.channels), key=CHANNEL_KEY, bind="query-params",
                       placeholder="All channels")
        st.multiselect("Team", list(options.teams), key=TEAM_KEY, bind="query-params",
                       placeholder="All teams")
        st.multiselect("Priority", _sorted_priorities(options.priorities), key=PRIORITY_KEY,
                       bind="query-params", placeholder="All priorities")
        metrics = list(options.metrics)
        if metrics:
            st.selectbox("Metric", metrics, index=metrics.index(default_metric(metrics)), key=METRIC_KEY,
                         bind="query-params", format_func=metric_label)
        st.caption("Filters apply to every page and are kept in the URL, so a view can be shared.")
    return current_filters()
