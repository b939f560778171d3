"""Overview: leadership's monthly summary - attainment vs objective, error budget, where it hurts."""

import polars as pl
import streamlit as st

from sla_app import data
from sla_app.filters import current_filters
from sla_app.navigation import ensure_app_frame
from sla_app.report_download import offer_report_download
from sla_ui import charts, summary, view
from sla_ui.view import metric_label

ensure_app_frame()
st.title("Overview")
if not data.require_database():
    st.stop()

months = data.months()
if not months:
    view.empty_state("No ticket results in the database yet.", "Import an export on the Data page.")
    st.stop()

picker, download = st.columns([3, 2], vertical_alignment="bottom")
month = picker.selectbox("Month", months, format_func=view.month_label, key="month", bind="query-params",
                         help="The Overview reports a whole month; the sidebar's date range does not apply here.")
with download:
    offer_report_download(month)
filters = current_filters()
month_filters = filters.with_dates(month, summary.month_end(month))
monthly = data.attainment(filters.with_dates(summary.previous_month(month), summary.month_end(month)),
                          ("month", "metric"), use_metric=False)
daily = data.burn_down(filters, month, summary.month_end(month), by_metric=True)
headlines = summary.headlines(monthly, daily, month, through=data.filter_options()["last_day"].item())

if not headlines:
    view.empty_state(f"No items in {view.month_label(month)} match the sidebar filters.")
    st.stop()

st.subheader(f"{view.month_label(month)}: attainment against objective")
view.data_notes(data.data_notes("not_measured"), key="overview_notes")
for headline, column in zip(headlines, st.columns(len(headlines)), strict=True):
    with column.container(border=True):
        on_target = headline.attainment is not None and headline.attainment >= headline.objective
        st.metric(
            view.plain(metric_label(headline.metric)), view.pct(headline.attainment), view.points(headline.change),
            help="Share of decided items within target; the change is against the month before.",
            delta_description="vs previous month",
        )
        st.markdown(
            f"Objective **{view.pct(headline.objective, 0)}** · "
            + (":green[on target]" if on_target else ":red[below objective]")
        )
        st.markdown(
            f"Error budget left **{view.pct(headline.budget_left, 0)}** · "
            f"burn rate (last {summary.RECENT_DAYS} days) **"
            + ("–" if headline.recent_burn_rate is None else f"{headline.recent_burn_rate:.1f}x") + "**"
        )
        st.caption(f"{headline.decided:,} decided of {headline.items:,} items, {headline.breached:,} breached")
        if headline.forecast is not None:
            st.caption(view.forecast_text(headline.forecast))

metric = filters.metric or headlines[0].metric
st.subheader(view.plain(f"Where {metric_label(metric).lower()} misses: team x channel"))
by_team_channel = data.attainment(month_filters.with_metric(metric), ("team", "channel"))
if by_team_channel.filter(pl.col("attainment").is_not_null()).is_empty():
    view.empty_state(f"No decided {metric_label(metric).lower()} items in this month for these filters.")
else:
    objective = summary.overall_objective(by_team_channel)
    st.plotly_chart(charts.heatmap(by_team_channel, "team", "channel",
                                   f"{metric_label(metric)} attainment by team and channel, "
                                   f"{view.month_label(month)}", objective), key="overview_heatmap")

st.subheader("Worst slices")
slices = data.attainment(month_filters.with_metric(metric), ("channel", "team", "priority"))
worst = summary.worst_slices(slices)
if worst.is_empty():
    view.empty_state(f"No slice has {summary.MIN_DECIDED_FOR_RANKING} or more decided items.")
else:
    view.table(
        worst.select("channel", "team", "priority", "decided", "met", "breached", "attainment", "objective",
                     "gap"),
        f"worst slices {metric} {month:%Y-%m}", key="overview_worst",
        column_config={
            "attainment": st.column_config.NumberColumn("attainment", format="percent"),
            "objective": st.column_config.NumberColumn("objective", format="percent"),
            "gap": st.column_config.NumberColumn("gap to objective", format="percent"),
        },
        caption=f"Channel x team x priority slices with at least {summary.MIN_DECIDED_FOR_RANKING} decided "
                f"items, lowest {metric_label(metric).lower()} attainment first.",
    )
