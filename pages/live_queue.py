"""Live queue: open items, soonest breach first, re-judged every minute at the real time."""

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from sla_app import data, policies
from sla_app.filters import current_filters
from sla_app.navigation import ensure_app_frame
from sla_app.store import current_time
from sla_ui import charts, live, view
from sla_ui.view import metric_label

REFRESH = "60s"
CHART_ROWS = 25
TABLE_ROWS = 500

ensure_app_frame()
st.title("Live queue")
if not data.require_database():
    st.stop()


@st.fragment(run_every=REFRESH)
def queue() -> None:
    filters = current_filters()
    now = current_time()
    items, events = data.open_items(filters)
    clocks = live.open_clocks(items, events, policies.policy_history(), now, filters.metric)
    st.caption(f"As of {now:%Y-%m-%d %H:%M} UTC, refreshed every minute. The date range does not apply: "
               "an old open item is still in the queue.")
    if clocks.is_empty():
        view.empty_state(f"No open {metric_label(filters.metric or 'items').lower()} clocks right now.",
                         "Everything is answered - or clear some filters in the sidebar.")
        return
    counts = st.columns(4)
    counts[0].metric("Open", f"{clocks.height:,}")
    counts[1].metric("Breached", f"{clocks.filter(pl.col('level') == 'breached').height:,}")
    counts[2].metric("75% or more used", f"{clocks.filter(pl.col('level') == '75%').height:,}")
    counts[3].metric("Paused", f"{clocks.filter(pl.col('state') == 'paused').height:,}")

    shown = live.for_display(clocks.head(TABLE_ROWS))
    soonest = shown.head(CHART_ROWS)
    labels = soonest["item_id"].to_list()
    fig = go.Figure(go.Bar(
        y=labels, x=soonest["pct_used"].to_list(), orientation="h",
        marker_color=charts.pct_used_colours(soonest["pct_used"].to_list()),
        text=soonest["remaining"].to_list(), textposition="auto",
        hovertemplate="%{y}: %{x:.0f}% of target used<extra></extra>",
    ))
    for level, colour in ((50, "#ffbb78"), (75, charts.WARN), (100, charts.OBJECTIVE_COLOUR)):
        fig.add_vline(x=level, line_dash="dot" if level < 100 else "dash", line_color=colour, layer="below",
                      annotation_text="target" if level == 100 else f"{level}%", annotation_position="top")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(ticksuffix="%")
    fig.update_layout(title={"text": f"The {len(labels)} items closest to breach: % of target used", "x": 0},
                      xaxis_title="Business time used (% of target)", yaxis_title="Item",
                      height=160 + 22 * len(labels), margin={"l": 10, "r": 10, "t": 60, "b": 10})
    st.plotly_chart(fig, key="live_chart")

    view.table(
        shown.select("item_id", "subject", "metric", "channel", "team", "priority", "agent", "level_mark",
                     "status_mark", "due_local", "remaining", "target", "pct_used"),
        "live queue", key="live_table",
        download=clocks.select("item_id", "subject", "metric", "channel", "team", "priority", "agent", "level",
                               "state", "due_at", "timezone", "remaining_s", "within_s", "pct_used"),
        column_config={
            "level_mark": "level",
            "status_mark": "clock",
            "due_local": st.column_config.TextColumn("due at (calendar time zone)"),
            "remaining": st.column_config.TextColumn("remaining business time"),
            "pct_used": st.column_config.ProgressColumn("% of target used", format="%.0f%%", min_value=0,
                                                        max_value=100),
        },
        caption=("Paused items (waiting on the customer) do not use business time until they resume."
                 + (f" The {TABLE_ROWS} closest to breach of {clocks.height:,} are listed; the CSV has all."
                    if clocks.height > TABLE_ROWS else "")),
    )


queue()
