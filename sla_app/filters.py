"""The global sidebar filters, shared by every page and bound to the URL.

dashboard.py renders the widgets once per run (`render_sidebar_filters`); pages read the values with
`current_filters()`. The widgets are keyed and use ``bind="query-params"``, so the key is also the URL
parameter name and a view can be shared as a link (e.g. ``?channel=chat&channel=email&metric=resolution``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import streamlit as st

from sla_store.queries import Selection, is_policy_dimension
from sla_ui.view import metric_label

# Session-state keys (= URL query parameter names) of the sidebar widgets.
DATES_KEY = "dates"
CHANNEL_KEY = "channel"
TEAM_KEY = "team"
PRIORITY_KEY = "priority"
METRIC_KEY = "metric"
LINK_NOTE_KEY = "_window_note"
LINK_SHOWN_KEY = "_window_shown"
DIMENSION_KEY_PREFIX = "dim_"  # + a policy dimension's name, e.g. ?dim_impact=High

PRIORITY_ORDER = ("urgent", "high", "normal", "low")
DEFAULT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Filters(Selection):
    """What the user selected in the sidebar (the store's Selection, plus ways to vary it)."""

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
    window_day: dt.date | None = None  # earliest of the latest DEFAULT_WINDOW_DAYS days that have data
    dimensions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # policy dimension -> its values


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
    - ``"dim_<name>"``: lists of values of the policy dimension ``<name>`` (``dim_impact``); empty = all

    Missing keys (a page run without the sidebar) mean "no filter".
    """
    state = st.session_state
    date_from, date_to = _date_range(state.get(DATES_KEY))
    return Filters(
        date_from=date_from,
        date_to=date_to,
        channels=tuple(state.get(CHANNEL_KEY) or ()),
        teams=tuple(state.get(TEAM_KEY) or ()),
        priorities=tuple(state.get(PRIORITY_KEY) or ()),
        metric=state.get(METRIC_KEY) or None,
        attributes=tuple(sorted(
            (key.removeprefix(DIMENSION_KEY_PREFIX), tuple(values))
            for key, values in state.items()
            if isinstance(key, str) and key.startswith(DIMENSION_KEY_PREFIX) and values
            and is_policy_dimension(key.removeprefix(DIMENSION_KEY_PREFIX)) and isinstance(values, list | tuple)
        )),
    )


def dimension_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def default_metric(metrics: Sequence[str]) -> str | None:
    for preferred in ("resolution", "first_response"):
        if preferred in metrics:
            return preferred
    return metrics[0] if metrics else None


def default_dates(options: FilterOptions) -> tuple[dt.date, dt.date] | tuple[()]:
    """The latest DEFAULT_WINDOW_DAYS days that have data, up to the last one: days without items do not
    count, so two exports years apart are both in the default view (a stable default keeps URLs short)."""
    if options.last_day is None or options.first_day is None:
        return ()
    start = options.window_day or max(options.first_day,
                                      options.last_day - dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1))
    return (max(options.first_day, start), options.last_day)


def window_note(options: FilterOptions, shown: Filters, link: tuple[dt.date | None, dt.date | None]) -> str | None:
    """One line saying which window is shown: the default (latest days with data), or that a shared
    link's dates lay outside the data and what is shown instead."""
    if shown.date_from is None or shown.date_to is None or options.first_day is None:
        return None
    span = f"{shown.date_from:%d %b %Y} – {shown.date_to:%d %b %Y}"
    data_span = f"{options.first_day:%d %b %Y} – {options.last_day:%d %b %Y}"
    asked_from, asked_to = link
    if asked_from is not None and asked_to is not None and (asked_to < options.first_day
                                                             or asked_from > options.last_day):
        return (f"The link's dates {asked_from:%d %b %Y} – {asked_to:%d %b %Y} lie outside the data "
                f"({data_span}); showing {span} instead.")
    if asked_from is not None and (asked_from < options.first_day or (asked_to or asked_from) > options.last_day):
        return f"The link's dates reach beyond the data ({data_span}); showing {span}."
    if (shown.date_from, shown.date_to) == tuple(default_dates(options)):
        calendar_days = (shown.date_to - shown.date_from).days + 1
        if shown.date_from == options.first_day and calendar_days > DEFAULT_WINDOW_DAYS:
            return f"Showing {span}: all the data (fewer than {DEFAULT_WINDOW_DAYS} days have items)."
        extent = "" if calendar_days <= DEFAULT_WINDOW_DAYS else \
            f" (days without data skipped: {calendar_days:,} calendar days)"
        return f"Showing {span}: the latest {DEFAULT_WINDOW_DAYS} days that have data{extent}."
    return f"Showing items created {span}."


def _link_dates() -> tuple[dt.date | None, dt.date | None]:
    """The dates a shared link asked for (?dates=YYYY-MM-DD&dates=YYYY-MM-DD), before the widget clamps them."""
    try:
        asked = [dt.date.fromisoformat(v) for v in st.query_params.get_all(DATES_KEY)]
    except ValueError:
        return None, None
    if not asked:
        return None, None
    return min(asked), max(asked)


def seed_from_url(key: str, options: Sequence[str], default: str | None,
                  aliases: Mapping[str, str] | None = None) -> None:
    """Before a keyed widget is drawn (with no default of its own): give it the URL's ?key=value when the
    session has no value yet (a shared link), if that is one of `options` (or an alias of one, e.g. a
    display label in an older link); else `default`. Unknown values are ignored."""
    if st.session_state.get(key) in options:
        return
    value = st.query_params.get(key)
    value = (aliases or {}).get(value, value) if value is not None else None
    st.session_state[key] = value if value in options else default


def keep_in_url(key: str, default: str | None = None) -> None:
    """After the widget: write its value to the URL by key, so the view can be shared as a link."""
    value = st.session_state.get(key)
    if value is None or value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)


def keep_dates_in_url(default: tuple[dt.date, dt.date]) -> None:
    """After the date picker: the window in the URL as ?dates=FROM&dates=TO (both ends, also for one day),
    none for the default window; a half-picked range waits for its second date."""
    value = st.session_state.get(DATES_KEY)
    if not isinstance(value, Sequence) or len(value) != 2:
        return
    window = _date_range(value)
    wanted = [] if window == tuple(default) else [day.isoformat() for day in window]
    if st.query_params.get_all(DATES_KEY) != wanted:
        if wanted:
            st.query_params[DATES_KEY] = wanted
        else:
            del st.query_params[DATES_KEY]


def _sorted_priorities(values: Sequence[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(PRIORITY_ORDER)}
    return sorted(values, key=lambda v: (rank.get(v, len(rank)), v))


def render_sidebar_filters(options: FilterOptions) -> Filters:
    """Draw the filter widgets in the sidebar and return the selection.

    Long: one widget call per filter, in the order the sidebar shows them."""
    with st.sidebar:
        st.header("Filters")
        dates = default_dates(options)
        link = _link_dates() if DATES_KEY not in st.session_state else (None, None)
        if dates and DATES_KEY not in st.session_state:
            # A link's dates that miss the data entirely fall back to the default window (and say so);
            # dates partly outside it are clamped to the data.
            seeded = dates
            if link[0] is not None:
                seeded = (max(link[0], options.first_day), min(link[1], options.last_day))
                if seeded[0] > seeded[1]:
                    seeded = dates
            st.session_state[DATES_KEY] = seeded
        if dates:
            # Not bound to the URL by Streamlit: its binding drops a link's dates once they are clamped to
            # the data and reads "?dates=D&dates=D" as half a range. keep_dates_in_url writes the window back.
            st.date_input(
                "Created between",
                min_value=options.first_day,
                max_value=options.last_day,
                key=DATES_KEY,
                help="Items created on these days (UTC). The Overview uses its month picker instead.",
            )
            keep_dates_in_url(dates)
        note_slot = st.empty()
        st.multiselect("Channel", list(options.channels), key=CHANNEL_KEY, bind="query-params",
                       placeholder="All channels")
        st.multiselect("Team", list(options.teams), key=TEAM_KEY, bind="query-params",
                       placeholder="All teams")
        st.multiselect("Priority", _sorted_priorities(options.priorities), key=PRIORITY_KEY,
                       bind="query-params", placeholder="All priorities")
        for name, values in options.dimensions:
            st.multiselect(dimension_label(name), list(values), key=DIMENSION_KEY_PREFIX + name,
                           bind="query-params", placeholder="All",
                           help=f"A dimension of the policy: the items' {name} attribute.")
        metrics = list(options.metrics)
        if metrics:
            # The URL carries the metric by its key (?metric=resolution), not by its label.
            seed_from_url(METRIC_KEY, metrics, default_metric(metrics),
                          aliases={metric_label(m): m for m in metrics})
            st.selectbox("Metric", metrics, key=METRIC_KEY, format_func=metric_label)
            keep_in_url(METRIC_KEY)
        st.caption("Filters apply to every page and are kept in the URL, so a view can be shared.")
    selection = current_filters()
    if not dates:
        return selection
    if link[0] is not None:
        st.session_state[LINK_NOTE_KEY] = window_note(options, selection, link)
    else:
        note = st.session_state.get(LINK_NOTE_KEY)
        kept = note and "link" in note and (selection.date_from, selection.date_to) == st.session_state.get(
            LINK_SHOWN_KEY)  # the link's note stays until the dates are changed
        if not kept:
            st.session_state[LINK_NOTE_KEY] = window_note(options, selection, (None, None))
    st.session_state[LINK_SHOWN_KEY] = (selection.date_from, selection.date_to)
    note = st.session_state[LINK_NOTE_KEY]
    if note and "link" in note:
        note_slot.warning(note, icon=":material/event_busy:")
    elif note:
        note_slot.caption(note)
    return selection


def shown_window_note() -> str | None:
    """The sentence about the date window in force (for pages that use the sidebar dates)."""
    return st.session_state.get(LINK_NOTE_KEY)


MONTH_KEY = "month"          # URL parameter (?month=2026-10) and the Overview's widget
CHOSEN_MONTH_KEY = "_chosen_month"  # kept across pages (widget state is dropped when its page is left)


def month_picker(container, months: Sequence[dt.date], key: str, label: str = "Month", **kwargs) -> dt.date | None:
    """A month selectbox whose choice carries across pages and lives in the URL as ?month=YYYY-MM.

    Until a month is chosen (here or by the link), the newest month that has items in the sidebar's date
    window, so the month shown and the sidebar's window agree."""
    if not months:
        return None
    by_text = {f"{m:%Y-%m}": m for m in months}
    if st.session_state.get(key) not in months:
        chosen = st.session_state.get(CHOSEN_MONTH_KEY)
        asked = st.query_params.get(MONTH_KEY)
        asked = by_text.get(asked[:7]) if asked else None
        window = current_filters()
        in_window = [m for m in months if (window.date_to is None or m <= window.date_to)
                     and (window.date_from is None or m >= window.date_from.replace(day=1))]
        st.session_state[key] = chosen if chosen in months else (asked or (in_window or months)[0])
    month = container.selectbox(label, list(months), key=key, format_func=lambda m: m.strftime("%B %Y"), **kwargs)
    st.session_state[CHOSEN_MONTH_KEY] = month
    if st.query_params.get(MONTH_KEY) != f"{month:%Y-%m}":
        st.query_params[MONTH_KEY] = f"{month:%Y-%m}"
    return month
