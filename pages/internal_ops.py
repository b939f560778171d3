"""Internal ops: the same views for internal processes (lead scoring, routing, report delivery)."""

import polars as pl
import streamlit as st

from sla_app import data, policies
from sla_app.filters import Filters, current_filters
from sla_app.navigation import ensure_app_frame
from sla_core.policy import PolicyError
from sla_ui import charts, summary, time_charts, view
from sla_ui.view import metric_label

ensure_app_frame()
st.title("Internal operations")
if not data.require_database():
    st.stop()

sidebar = current_filters()
# Channel, team and priority describe tickets; for internal processes only the date range applies.
filters = Filters(date_from=sidebar.date_from, date_to=sidebar.date_to)
st.caption("Internal processes judged like tickets (e.g. a lead scored within 60 minutes of the form). "
           "Only the sidebar's date range applies here.")

by_metric = data.attainment(filters, ("metric", "process"), kind="ops", percentiles=True)
if by_metric.is_empty():
    view.empty_state("No internal-operations items in this date range.",
                     "Import an event log (format `events`) on the Data page, or widen the date range.")
    st.stop()

CARDS_PER_ROW = 3  # five cards in one row cut their labels ("Campaign freshness (ca...")
steps = list(by_metric.iter_rows(named=True))
for row, column in ((row, column) for first in range(0, len(steps), CARDS_PER_ROW)
                    for row, column in zip(steps[first:first + CARDS_PER_ROW], st.columns(CARDS_PER_ROW),
                                           strict=False)):
    column.metric(view.plain(f"{metric_label(row['metric'])} ({row['process']})"), view.pct(row["attainment"]),
                  help=f"Objective {view.pct(row['objective'], 0)}; "
                       f"{row['breached']:,} breached of {row['met'] + row['breached']:,} decided.")

try:
    versions = list(policies.policy_history())
except PolicyError:  # the other pages say so; the strip only needs the schedules' names and zones
    versions = []
scheduled = sorted({name for policy in versions for name, metric in policy.metrics.items() if metric.schedule})
zones = {name: cal.timezone for policy in versions for name, cal in policy.calendars.items()}
periods = summary.deliverable_periods(data.scheduled_instances(filters, scheduled, kind="ops"), zones)
if periods.height:
    st.subheader("Scheduled deliverables")
    st.caption("Each square is one period of a stream, at its deadline: met, late (delivered after the "
               "deadline), missing (nothing delivered), or due (the deadline is still ahead).")
    for metric in periods["metric"].unique(maintain_order=True).to_list():
        counts = periods.filter(pl.col("metric") == metric)["status"].value_counts()
        st.plotly_chart(time_charts.deliverable_strip(periods.filter(pl.col("metric") == metric),
                                                 f"{metric_label(metric)} per stream"),
                        key=f"ops_strip_{metric}")
        st.caption(" · ".join(f"{row['status']}: {row['count']}" for row in counts.sort("status").iter_rows(named=True)))

named = by_metric.with_columns(step=pl.col("metric").map_elements(metric_label, return_dtype=pl.String))
if named["step"].n_unique() < named.height:  # one step name in two processes: say which is which
    named = named.with_columns(step=pl.col("step") + " (" + pl.col("process").fill_null("–") + ")")
st.plotly_chart(charts.attainment_bars(named, "step", "Attainment per internal process step",
                                       summary.overall_objective(by_metric)), key="ops_bars")
view.table(by_metric.with_columns(decided=pl.col("met") + pl.col("breached")).select(
    "process", "metric", "items", "decided", "met", "breached", "active", "attainment", "objective",
    "median_elapsed_s", "p90_elapsed_s"), "internal ops attainment", key="ops_table",
    column_config={"attainment": st.column_config.NumberColumn("attainment", format="percent"),
                   "objective": st.column_config.NumberColumn("objective", format="percent")})

metrics = by_metric["metric"].unique().sort().to_list()
metric = st.selectbox("Process step", metrics, format_func=metric_label, key="ops_metric")
step = filters.with_metric(metric)

weekly = data.attainment(step, ("week",), kind="ops")
st.plotly_chart(time_charts.trend_lines(weekly, "week", None, f"{metric_label(metric)} attainment per week",
                                   summary.overall_objective(weekly)), key="ops_trend")

histogram = data.elapsed_histogram(step, kind="ops")
if not histogram.is_empty():
    st.plotly_chart(charts.elapsed_histogram(histogram, f"{metric_label(metric)}: elapsed time as % of target"),
                    key="ops_histogram")

breached = data.breached_items(step, kind="ops")
st.subheader(view.plain(f"Breached {metric_label(metric).lower()} items"))
if breached.is_empty():
    st.success("Nothing breached in this date range.")
else:
    # Repeating clocks (between, schedule) breach once per period: the period tells the rows of one item apart.
    instance = ["instance"] if breached["item_id"].n_unique() < breached.height else []
    view.table(breached.with_columns(
        elapsed=pl.col("elapsed_s").map_elements(view.duration, return_dtype=pl.String),
        target=pl.col("within_s").map_elements(view.duration, return_dtype=pl.String),
    ).select("item_id", *instance, "subject", "process", "team", "created", "state", "elapsed", "target",
             "pct_used"),
        f"breached {metric}", key="ops_breached",
        column_config={"pct_used": st.column_config.NumberColumn("% of target used", format="%.0f%%"),
                       "instance": st.column_config.NumberColumn("period", help="The clock's period (1, 2, ...): "
                                                                 "a repeating clock can breach in each one")})
