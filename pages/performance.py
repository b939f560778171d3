"""Performance: attainment per channel / team / priority / agent, and the items behind each number."""

import polars as pl
import streamlit as st

from sla_app import data
from sla_app.filters import current_filters
from sla_app.navigation import ensure_app_frame
from sla_ui import charts, summary, view
from sla_ui.view import metric_label

DIMENSIONS = ("channel", "team", "priority", "agent")
SIDE_BY_SIDE = ("first_response", "resolution")

ensure_app_frame()
st.title("Performance")
if not data.require_database():
    st.stop()

filters = current_filters()
dimension = st.segmented_control("Break down by", DIMENSIONS, default="channel", key="perf_by",
                                 format_func=str.capitalize) or "channel"
metric = filters.metric
# Counts for every metric on the chosen breakdown (the side-by-side charts) come from the daily rollup;
# the selected metric's slices and total with their elapsed-time percentiles from one scan of the results.
both = data.attainment(filters, (dimension, "metric"), use_metric=False)
spread = data.attainment(filters, (dimension,), percentiles=True, with_total=True)
by_slice = spread.filter(~pl.col("total")).drop("total")
if metric is None or by_slice.is_empty():
    view.empty_state("No items match the sidebar filters.")
    st.stop()

totals = spread.filter(pl.col("total")).row(0, named=True)
objective = summary.overall_objective(by_slice)
cards = st.columns(4)
cards[0].metric(f"{metric_label(metric)} attainment", view.pct(totals["attainment"]),
                help="Met / (met + breached) over the selection.")
cards[1].metric("Objective", view.pct(objective, 0))
cards[2].metric("Breached items", f"{totals['breached']:,}", help="Including open items already past target.")
cards[3].metric("Median elapsed (business time)", view.duration(totals["median_elapsed_s"]))

# First response and resolution side by side, on the same breakdown.
shown = [m for m in SIDE_BY_SIDE if m in set(both["metric"].to_list())] or [metric]
for name, column in zip(shown, st.columns(len(shown)), strict=True):
    rows = both.filter(pl.col("metric") == name)
    with column:
        if rows.filter(pl.col("attainment").is_not_null()).is_empty():
            view.empty_state(f"No decided {metric_label(name).lower()} items.")
            continue
        st.plotly_chart(charts.attainment_bars(rows, dimension, f"{metric_label(name)} by {dimension}",
                                               summary.overall_objective(rows)), key=f"perf_bars_{name}")

st.subheader(f"{metric_label(metric)} by {dimension}")
view.table(
    by_slice.with_columns(decided=pl.col("met") + pl.col("breached")).select(
        dimension, "items", "decided", "met", "breached", "active", "attainment", "objective",
        "median_elapsed_s", "p90_elapsed_s"),
    f"{metric} by {dimension}", key="perf_table",
    column_config={
        "attainment": st.column_config.NumberColumn("attainment", format="percent"),
        "objective": st.column_config.NumberColumn("objective", format="percent"),
    },
)

st.subheader("Drill down: the breached items behind a number")
values = [v for v in by_slice[dimension].to_list() if v is not None]
choice = st.selectbox(f"{dimension.capitalize()}", values, key="perf_drill",
                      index=values.index(by_slice.sort("breached", descending=True)[dimension][0])
                      if values else None)
if choice is not None:
    breached = data.breached_items(filters, extra=((dimension, choice),))
    if breached.is_empty():
        st.success(f"No breached {metric_label(metric).lower()} items for {dimension} {choice}.")
    else:
        shown_rows = breached.with_columns(
            elapsed=pl.col("elapsed_s").map_elements(view.duration, return_dtype=pl.String),
            target=pl.col("within_s").map_elements(view.duration, return_dtype=pl.String),
            over_by=pl.col("overrun_s").map_elements(view.duration, return_dtype=pl.String),
        ).select("item_id", "subject", "channel", "team", "priority", "agent", "created", "state", "elapsed",
                 "target", "over_by", "pct_used")
        view.table(shown_rows, f"breached {metric} {dimension} {choice}", key="perf_breached",
                   column_config={"pct_used": st.column_config.NumberColumn("% of target used", format="%.0f%%")},
                   caption=f"{breached.height:,} breached items for {dimension} {choice}, worst overrun first "
                           "(elapsed and target in business time).")

st.subheader("How long items take, against their target")
histogram = data.elapsed_histogram(filters)
if histogram.is_empty():
    view.empty_state("No elapsed times to show.")
else:
    st.plotly_chart(charts.elapsed_histogram(histogram, f"{metric_label(metric)}: elapsed time as % of target"),
                    key="perf_histogram")
