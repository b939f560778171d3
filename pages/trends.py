"""Trends: weekly or monthly attainment against the objective band, and the month's error-budget burn-down."""

import polars as pl
import streamlit as st

from sla_app import data
from sla_app.filters import current_filters, month_picker
from sla_app.navigation import ensure_app_frame
from sla_core.budget import weighted_objective
from sla_core.trends import burn_down
from sla_ui import summary, time_charts, view
from sla_ui.view import metric_label

ensure_app_frame()
st.title("Trends")
if not data.require_database():
    st.stop()

filters = current_filters()
metric = filters.metric
controls = st.columns(2)
period = controls[0].segmented_control("Period", ("week", "month"), default="week", key="trend_period",
                                       format_func=lambda p: "Weekly" if p == "week" else "Monthly") or "week"
series = controls[1].segmented_control("One line per", ("all", "channel", "team"), default="channel",
                                       key="trend_by", format_func=str.capitalize) or "all"
by = (period,) if series == "all" else (period, series)
frame = data.attainment(filters, by)
if frame.is_empty() or metric is None:
    view.empty_state("No items match the sidebar filters.")
    st.stop()

objective = summary.overall_objective(frame)
title = f"{metric_label(metric)} attainment per {period}" + ("" if series == "all" else f" and {series}")
st.plotly_chart(time_charts.trend_lines(frame, period, None if series == "all" else series, title, objective,
                                   summary.policy_objectives(frame)), key="trend_chart")

flagged = summary.below_objective(frame)
st.subheader("Periods below objective: investigate")
if flagged.is_empty():
    st.success(f"Every {period} met its objective for these filters.")
else:
    periods = flagged[period].n_unique()
    rows_note = "" if series == "all" else f", {flagged.height} {period} x {series} rows"
    view.table(
        summary.objective_column(flagged.with_columns(decided=pl.col("met") + pl.col("breached"))).select(
            *by, "decided", "breached", "attainment", "objective"),
        f"{metric} {period}s below objective", key="trend_flagged",
        column_config={"attainment": st.column_config.NumberColumn("attainment", format="percent"),
                       "objective": st.column_config.TextColumn("objective (policy)")},
        caption=f"{periods} {period}{'s' if periods != 1 else ''} under the objective{rows_note} "
                "(the rule: investigate anything below it).",
    )

st.subheader("Error budget burn-down")
# The months that have items inside the date range (not the months the weeks start in: items from
# 1 May 2022 are in a week starting in April).
data_months = data.months(kind="ticket")
months = [m for m in data_months if (filters.date_from is None or summary.month_end(m) >= filters.date_from)
          and (filters.date_to is None or m <= filters.date_to)] or data_months
month = month_picker(st, months, key="trend_month", help="The month chosen on the Overview is kept here.")
daily = data.burn_down(filters, month, summary.month_end(month))
if daily.is_empty():
    view.empty_state(f"No items created in {view.month_label(month)} are decided yet for these filters.")
else:
    month_objective = weighted_objective(daily["objective"], daily["decided"])
    burn = burn_down(daily, month, month_objective)
    st.plotly_chart(time_charts.burn_down(burn, f"{metric_label(metric)}: error budget left for items created in "
                                           f"{view.month_label(month)} (objective "
                                           f"{view.pct(month_objective, 0)})"), key="trend_burn")
    view.table(burn, f"burn-down {metric} {month:%Y-%m}", key="trend_burn_table",
               column_config={"budget_left": st.column_config.NumberColumn("budget left", format="percent"),
                              "ideal_left": st.column_config.NumberColumn("even spend", format="percent")},
               caption=f"Items created in {view.month_label(month)}, counted on the day they were decided "
                       "(met: answered; breached: when the budget ran out). Budget left = 1 - (breached / "
                       "decided) / (1 - objective), to date.")
