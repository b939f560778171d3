"""Performance: attainment per channel / team / priority / agent or a policy dimension, and the items behind
each number."""

import polars as pl
import streamlit as st

from sla_app import data
from sla_app.filters import current_filters, dimension_label, keep_in_url, seed_from_url
from sla_app.navigation import ensure_app_frame
from sla_app.store import item_links
from sla_core.durations import objectives_text
from sla_ui import charts, summary, view
from sla_ui.view import metric_label

DIMENSIONS = ("channel", "team", "priority", "agent")
SIDE_BY_SIDE = ("first_response", "resolution")
DRILL_KEY = "perf_drill"
BY_KEY = "perf_by"
SHARE = st.column_config.NumberColumn("attainment", format="percent")

ensure_app_frame()
st.title("Performance")
if not data.require_database():
    st.stop()

filters = current_filters()
breakdowns = (*DIMENSIONS, *data.dimension_values())
seed_from_url(BY_KEY, breakdowns, "channel")  # ?perf_by=team in a shared link
dimension = st.segmented_control("Break down by", breakdowns, key=BY_KEY, format_func=dimension_label) or "channel"
keep_in_url(BY_KEY, default="channel")
metric = filters.metric
# Counts for every metric on the chosen breakdown (the side-by-side charts) come from the daily rollup;
# the selected metric's slices and total with their elapsed-time percentiles from one scan of the results.
both = data.attainment(filters, (dimension, "metric"), use_metric=False)
spread = data.attainment(filters, (dimension,), percentiles=True, with_total=True)
by_slice = spread.filter(~pl.col("total")).drop("total")
if metric is None or by_slice.is_empty():
    view.empty_state("No items match the sidebar filters.")
    st.stop()

view.data_notes(data.data_notes("not_measured", filters.with_metric(None)), key="perf_notes")  # both metrics shown
totals = spread.filter(pl.col("total")).row(0, named=True)
cards = st.columns(4)
cards[0].metric(view.plain(f"{metric_label(metric)} attainment"), view.pct(totals["attainment"]),
                help="Met / (met + breached) over the selection.")
cards[1].metric("Objective", objectives_text(summary.policy_objectives(by_slice), per_target=False),
                help="As the policy states it; a selection mixing targets with different objectives is "
                     "held to each item's own.")
cards[2].metric("Breached items", f"{totals['breached']:,}", help="Including open items already past target.")
cards[3].metric("Median elapsed (business time)", view.duration(totals["median_elapsed_s"]))


def drill_to(value: str | None) -> None:
    """A click on a bar picks that slice in the drill-down below (once per click)."""
    if value is None or value.startswith(charts.OTHERS):
        return
    st.session_state[DRILL_KEY] = value


# First response and resolution side by side, on the same breakdown; click a bar to see its items.
shown = [m for m in SIDE_BY_SIDE if m in set(both["metric"].to_list())] or [metric]
many = by_slice.height > charts.VERTICAL_BARS  # long lists of horizontal bars: one chart under the other
places = [st.container() for _ in shown] if many else st.columns(len(shown))
for name, column in zip(shown, places, strict=True):
    rows = both.filter(pl.col("metric") == name)
    with column:
        if rows.filter(pl.col("attainment").is_not_null()).is_empty():
            view.empty_state(f"No decided {metric_label(name).lower()} items.")
            continue
        event = st.plotly_chart(
            charts.attainment_bars(rows, dimension, f"{metric_label(name)} by {dimension}, worst first",
                                   summary.overall_objective(rows)),
            key=f"perf_bars_{name}_{dimension}", on_select="rerun", selection_mode="points")
        points = (event.selection.points if event and event.selection else None) or []
        horizontal = rows.filter(pl.col("attainment").is_not_null()).height > charts.VERTICAL_BARS
        clicked = str(points[0].get("y" if horizontal else "x")) if points else None
        seen_key = f"_perf_clicked_{name}"
        if clicked != st.session_state.get(seen_key):
            st.session_state[seen_key] = clicked
            drill_to(clicked)
if rows_count := by_slice.height:
    st.caption(f"{rows_count:,} {dimension} value{'' if rows_count == 1 else 's'}, worst first by the gap to their objective"
               + (f"; beyond the worst {charts.MAX_BARS} they are pooled as \"others\"."
                  if rows_count > charts.MAX_BARS + 1 else ".") + " Click a bar to see its breached items.")

st.subheader(view.plain(f"{metric_label(metric)} by {dimension}"))
ordered = charts.worst_first(by_slice, dimension, limit=by_slice.height)
view.table(
    summary.objective_column(ordered).select(
        dimension, "items", "decided", "met", "breached", "active", "attainment", "objective",
        "median_elapsed_s", "p90_elapsed_s"),
    f"{metric} by {dimension}", key="perf_table",
    column_config={"attainment": SHARE, "objective": st.column_config.TextColumn("objective (policy)")},
    caption="Worst first by the gap between attainment and objective.",
    download=ordered.select(dimension, "items", "decided", "met", "breached", "active", "attainment",
                            "objective", "objective_min", "objective_max", "median_elapsed_s", "p90_elapsed_s"),
)

st.subheader("Drill down: the breached items behind a number")
values = [str(v) for v in ordered[dimension].to_list() if v is not None]
if st.session_state.get(DRILL_KEY) not in values:
    st.session_state.pop(DRILL_KEY, None)
worst_value = by_slice.sort("breached", descending=True)[dimension][0]
choice = st.selectbox(dimension_label(dimension), values, key=DRILL_KEY,
                      index=values.index(str(worst_value)) if values and DRILL_KEY not in st.session_state
                      and str(worst_value) in values else 0 if values else None)
if choice is not None:
    breached = data.breached_items(filters, extra=((dimension, choice),))
    if breached.is_empty():
        st.success(view.plain(f"No breached {metric_label(metric).lower()} items for {dimension} {choice}."))
    else:
        shown_rows = view.with_links(breached, item_links()).with_columns(
            elapsed=pl.col("elapsed_s").map_elements(view.duration, return_dtype=pl.String),
            target=pl.col("within_s").map_elements(view.duration, return_dtype=pl.String),
            over_by=pl.col("overrun_s").map_elements(view.duration, return_dtype=pl.String),
        ).select("item_id", "link", "subject", "channel", "team", "priority", "agent", "created", "state",
                 "elapsed", "target", "over_by", "pct_used")
        view.table(shown_rows, f"breached {metric} {dimension} {choice}", key="perf_breached",
                   column_config={"pct_used": st.column_config.NumberColumn("% of target used", format="%.0f%%"),
                                  "link": view.LINK_COLUMN, "elapsed": "elapsed (business)", "target": "target (business)",
                                  "over_by": "over by (business)"},
                   caption=f"{breached.height:,} breached items for {dimension} {choice}, worst overrun first "
                           "(elapsed and target in business time of each target's calendar).")

st.subheader("How long items take, against their target")
histogram = data.elapsed_histogram(filters)
if histogram.is_empty():
    view.empty_state("No elapsed times to show.")
else:
    st.plotly_chart(charts.elapsed_histogram(histogram, f"{metric_label(metric)}: elapsed time as % of target"),
                    key="perf_histogram")
