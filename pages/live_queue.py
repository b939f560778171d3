"""Live queue: open items, soonest breach first, brought forward every minute to the real time."""

import polars as pl
import streamlit as st

from sla_app import data, policies
from sla_app.filters import current_filters
from sla_app.navigation import ensure_app_frame
from sla_app.store import current_time, item_links
from sla_ui import live, view
from sla_ui.view import metric_label

REFRESH = "60s"
CHART_ROWS = 25
TABLE_ROWS = 500
FIRST_COLUMNS = ("item_id", "link", "metric", "remaining", "pct_used", "due_local", "level_mark", "status_mark")
MORE_COLUMNS = ("team", "channel", "priority", "agent", "kind", "subject", "target")
COLUMN_CONFIG = {
    "item_id": st.column_config.TextColumn("item", pinned=True),
    "metric": st.column_config.TextColumn("clock"),
    "link": view.LINK_COLUMN,
    "level_mark": "level",
    "status_mark": "state",
    "due_local": st.column_config.TextColumn("due at (calendar time zone)"),
    "remaining": st.column_config.TextColumn("business time left"),
    "target": st.column_config.TextColumn("target (business time)"),
    "pct_used": st.column_config.ProgressColumn("% of target used", format="%.0f%%", min_value=0, max_value=100),
}
DOWNLOAD_COLUMNS = ("item_id", "subject", "kind", "metric", "channel", "team", "priority", "agent", "level",
                    "state", "due_at", "timezone", "remaining_s", "within_s", "pct_used")

ensure_app_frame()
st.title("Live queue")
if not data.require_database():
    st.stop()


def shown(rows: pl.DataFrame, now) -> pl.DataFrame:
    """Readable columns for the rows on screen only (formatting is per row: the queue may hold thousands)."""
    return view.with_links(live.for_display(rows, now), item_links())


def queue_table(rows: pl.DataFrame, title: str, key: str, caption: str, now) -> None:
    shown_rows = shown(rows.head(TABLE_ROWS), now).with_columns(
        metric=pl.col("metric").map_elements(metric_label, return_dtype=pl.String))
    view.table(shown_rows.select(*FIRST_COLUMNS, *MORE_COLUMNS), title, key=key,
               download=rows.select(DOWNLOAD_COLUMNS), column_config=COLUMN_CONFIG,
               caption=caption + (f" The first {TABLE_ROWS} of {rows.height:,} are listed; the CSV has all."
                                  if rows.height > TABLE_ROWS else ""))


@st.fragment(run_every=REFRESH)
def queue() -> None:
    filters = current_filters()
    now = current_time()
    scope = st.segmented_control(
        "Clocks", ("all", "metric"), default="all", key="live_scope",
        format_func=lambda s: "Every open clock" if s == "all" else f"Only {metric_label(filters.metric or '')}",
        help="Every open clock includes internal operations (lead scoring, report delivery), as `sla check` "
             "reports them.") or "all"
    metric = filters.metric if scope == "metric" else None
    clocks = live.open_clocks(data.open_results(filters.with_metric(metric), kind=None), policies.policy_history(),
                              now, metric)
    st.caption(f"As of {now:%Y-%m-%d %H:%M} UTC, refreshed every minute. The date range does not apply: "
               "an old open item is still in the queue. Times are business time in each target's calendar.")
    if clocks.is_empty():
        view.empty_state(f"No open {metric_label(metric or 'items').lower()} clocks right now.",
                         "Everything is answered - or clear some filters in the sidebar.")
        return
    savable, breached = live.split_queue(clocks)
    counts = st.columns(5)
    counts[0].metric("Open clocks", f"{clocks.height:,}")
    counts[1].metric("At risk (50% or more used)", f"{savable.filter(pl.col('pct_used') >= 50).height:,}")
    counts[2].metric("75% or more used", f"{savable.filter(pl.col('level') == '75%').height:,}")
    counts[3].metric("Breached", f"{breached.height:,}")
    counts[4].metric("Paused", f"{clocks.filter(pl.col('state') == 'paused').height:,}")

    st.subheader("Still within target: closest to breach first")
    if savable.is_empty():
        st.info("Every open clock is already past its target: see the breached items below.", icon=":material/info:")
    else:
        closest = shown(savable.head(CHART_ROWS), now)
        st.plotly_chart(live.savable_chart(closest, f"The {closest.height} open clocks closest to breach: "
                                                    "business time left and % of target used"),
                        key="live_chart")
        queue_table(savable, "live queue within target", "live_table",
                    "Paused clocks (waiting on the customer) use no business time until they resume.", now)

    st.subheader(f"Already breached ({breached.height:,})")
    if breached.is_empty():
        st.success("No open clock is past its target.", icon=":material/check_circle:")
    else:
        queue_table(breached, "live queue breached", "live_breached",
                    "Past target and still open, most recently breached first.", now)


queue()
