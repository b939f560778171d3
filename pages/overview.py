"""Overview: leadership's monthly summary - attainment vs objective, error budget, where it hurts."""

import polars as pl
import streamlit as st

from sla_app import data
from sla_app.filters import current_filters, month_picker
from sla_app.navigation import ensure_app_frame
from sla_app.report_download import offer_report_download
from sla_core.budget import budget_consumed_expr, error_budget
from sla_core.durations import below_objective, objectives_text
from sla_ui import charts, summary, view
from sla_ui.view import metric_label

SHARE = "percent"

ensure_app_frame()
st.title("Overview")
if not data.require_database():
    st.stop()

months = data.months()
if not months:
    view.empty_state("No ticket results in the database yet.", "Import an export on the Data page.")
    st.stop()

picker, download = st.columns([2, 3], vertical_alignment="bottom")
month = month_picker(picker, months, key="overview_month",
                     help="The months that have items. The Overview reports a whole month; the sidebar's date "
                          "range does not apply here. The month is kept on Trends and in the link.")
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
view.data_notes(data.data_notes("not_measured", month_filters.with_metric(None)), key="overview_notes")
for headline, column in zip(headlines, st.columns(len(headlines)), strict=True):
    with column.container(border=True):
        below = below_objective(headline.attainment, headline.objective)
        st.metric(
            view.plain(metric_label(headline.metric)), view.pct(headline.attainment), view.points(headline.change),
            help="Share of decided items within target; the change is against the month before.",
            delta_description="vs previous month",
        )
        st.markdown(
            f"Objective **{objectives_text(list(headline.objectives) or [headline.objective])}** · "
            + (":red[below objective]" if below else ":green[on target]"),
            help="As the policy states it. Items are held to their own target's objective: "
                 f"{view.pct(headline.objective)} of this month's decided items may not breach.",
        )
        overspent = headline.budget_left is not None and headline.budget_left < 0
        budget = view.pct(headline.budget_left)
        st.markdown(
            "Error budget left " + (f":red[**{budget}** (overspent)]" if overspent else f"**{budget}**")
            + f" · burn rate (last {summary.RECENT_DAYS} days) **"
            + ("–" if headline.recent_burn_rate is None else f"{headline.recent_burn_rate:.1f}x") + "**"
        )
        st.caption(f"{headline.decided:,} decided of {headline.items:,} items, {headline.breached:,} breached")
        if headline.forecast is not None:
            st.caption(view.forecast_text(headline.forecast))

st.subheader(f"{view.month_label(month)} per channel")
per_channel = data.attainment(month_filters, ("channel", "metric"), use_metric=False)
if per_channel.is_empty():
    view.empty_state("No items per channel in this month.")
else:
    table = summary.objective_column(per_channel.with_columns(
        decided=pl.col("met") + pl.col("breached"),
        budget_used=budget_consumed_expr(pl.col("breached"), pl.col("met") + pl.col("breached"),
                                         error_budget(pl.col("objective"))),
        metric=pl.col("metric").map_elements(metric_label, return_dtype=pl.String),
    )).sort("metric", "channel")
    view.table(
        table.select("metric", "channel", "items", "decided", "breached", "attainment", "objective", "budget_used"),
        f"per channel {month:%Y-%m}", key="overview_channels",
        column_config={"attainment": st.column_config.NumberColumn("attainment", format=SHARE),
                       "objective": st.column_config.TextColumn("objective (policy)"),
                       "budget_used": st.column_config.NumberColumn("error budget used", format=SHARE)},
        caption="Error budget used = breach rate / (1 - objective): above 100% the month's budget is overspent.",
    )

metric = filters.metric or headlines[0].metric
st.subheader(view.plain(f"Where {metric_label(metric).lower()} misses: team x channel"))
by_team_channel = data.attainment(month_filters.with_metric(metric), ("team", "channel"))
if by_team_channel.filter(pl.col("attainment").is_not_null()).is_empty():
    view.empty_state(f"No decided {metric_label(metric).lower()} items in this month for these filters.")
else:
    objective = summary.overall_objective(by_team_channel)
    event = st.plotly_chart(
        charts.heatmap(by_team_channel, "team", "channel",
                       f"{metric_label(metric)} attainment by team and channel, {view.month_label(month)}",
                       objective),
        key=f"overview_heatmap_{month:%Y%m}_{metric}", on_select="rerun", selection_mode="points")
    points = (event.selection.points if event and event.selection else None) or []
    cell = (str(points[0].get("y")), str(points[0].get("x"))) if points else None
    if cell and not any(part.startswith(charts.OTHERS) for part in cell):
        team, channel = cell
        breached = data.breached_items(month_filters.with_metric(metric),
                                       extra=(("team", team), ("channel", channel)))
        st.markdown(f"**Breached {metric_label(metric).lower()} items: team {team}, channel {channel}**")
        if breached.is_empty():
            st.success("No breached items in this cell.")
        else:
            view.table(
                breached.with_columns(
                    elapsed=pl.col("elapsed_s").map_elements(view.duration, return_dtype=pl.String),
                    target=pl.col("within_s").map_elements(view.duration, return_dtype=pl.String),
                ).select("item_id", "subject", "priority", "agent", "created", "state", "elapsed", "target",
                         "pct_used"),
                f"breached {metric} {team} {channel} {month:%Y-%m}", key="overview_cell",
                column_config={"pct_used": st.column_config.NumberColumn("% of target used", format="%.0f%%"),
                               "elapsed": "elapsed (business)", "target": "target (business)"},
                caption=f"{breached.height:,} breached items, worst overrun first.")
    else:
        st.caption("Click a cell to list its breached items.")

st.subheader("Worst slices")
slices = data.attainment(month_filters.with_metric(metric), ("channel", "team", "priority"))
worst = summary.worst_slices(slices)
if worst.is_empty():
    view.empty_state(f"No slice has {summary.MIN_DECIDED_FOR_RANKING} or more decided items.")
else:
    view.table(
        summary.objective_column(worst).select("channel", "team", "priority", "decided", "met", "breached",
                                               "attainment", "objective", "gap"),
        f"worst slices {metric} {month:%Y-%m}", key="overview_worst",
        column_config={
            "attainment": st.column_config.NumberColumn("attainment", format=SHARE),
            "objective": st.column_config.TextColumn("objective (policy)"),
            "gap": st.column_config.NumberColumn("gap to objective", format=SHARE),
        },
        caption=f"Channel x team x priority slices with at least {summary.MIN_DECIDED_FOR_RANKING} decided "
                f"items, lowest {metric_label(metric).lower()} attainment first.",
    )
