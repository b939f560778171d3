"""The live queue: the stored open clocks brought forward to the real now (no re-judging of raw data)."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl

from sla_core.attainment import warning_level
from sla_core.open_clocks import advance
from sla_core.policy import PolicyHistory
from sla_ui import charts, view
from sla_ui.view import metric_label

LEVEL_MARKS = {"on track": "🟢 on track", "50%": "🟡 50% used", "75%": "🟠 75% used", "breached": "🔴 breached"}


def local_due(due_at: dt.datetime | None, timezone: str, now: dt.datetime | None = None) -> str:
    """'Fri 20 Nov 14:30 Europe/Amsterdam' in the calendar's zone; the year is added when it is not
    the current one ('Tue 01 Mar 2016 09:00 UTC')."""
    if due_at is None:
        return view.NO_VALUE
    from zoneinfo import ZoneInfo

    local = due_at.astimezone(ZoneInfo(timezone))
    this_year = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone)).year
    return local.strftime("%a %d %b %H:%M " if local.year == this_year else "%a %d %b %Y %H:%M ") + timezone


def open_clocks(open_results: pl.DataFrame, history: PolicyHistory, now: dt.datetime,
                metric: str | None) -> pl.DataFrame:
    """Running clocks at `now`, soonest breach first: the stored open clocks (results columns, computed_at,
    subject) brought forward to `now`, plus level and the calendar's time zone."""
    if open_results.is_empty():
        return pl.DataFrame()
    running = open_results.filter(pl.col("metric") == metric) if metric else open_results
    if running.is_empty():
        return pl.DataFrame()
    running = advance(running, history, now)
    zones = pl.DataFrame(
        [(policy.version, name, calendar.timezone)
         for policy in history.versions for name, calendar in policy.calendars.items()],
        schema={"policy_version": running.schema["policy_version"], "calendar": pl.String, "timezone": pl.String},
        orient="row",
    )
    return (
        running.join(zones, on=["policy_version", "calendar"], how="left", maintain_order="left")
        .with_columns(level=warning_level(pl.col("pct_used")), timezone=pl.col("timezone").fill_null("UTC"))
        .sort("remaining_s", "item_id")
    )


def for_display(clocks: pl.DataFrame, now: dt.datetime | None = None) -> pl.DataFrame:
    """Readable columns for the queue table: due-at in the calendar's zone, remaining time, marks."""
    return clocks.with_columns(
        due_local=pl.struct("due_at", "timezone").map_elements(
            lambda r: local_due(r["due_at"], r["timezone"], now), return_dtype=pl.String),
        remaining=pl.col("remaining_s").map_elements(view.remaining, return_dtype=pl.String),
        target=pl.col("within_s").map_elements(view.duration, return_dtype=pl.String),
        status_mark=pl.when(pl.col("state") == "paused").then(pl.lit("⏸ paused"))
        .otherwise(pl.lit("▶ running")),
        level_mark=pl.col("level").replace_strict(LEVEL_MARKS, return_dtype=pl.String),
    )


def split_queue(clocks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(still savable, breached): running clocks within their budget, closest to breach first, and
    those already past it, most recently breached first (the least overdue can still be rescued)."""
    if clocks.is_empty():
        return clocks, clocks
    savable = clocks.filter(pl.col("level") != "breached").sort("remaining_s", "item_id")
    breached = clocks.filter(pl.col("level") == "breached").sort("remaining_s", "item_id", descending=[True, False])
    return savable, breached


def savable_chart(rows: pl.DataFrame, title: str) -> go.Figure:
    """% of the budget used for items still within target (horizontal bars, one per item), each labelled
    with its business time left and % used; the 50% / 75% / target lines labelled apart."""
    labels = [f"{item} · {metric_label(metric)}" for item, metric in
              zip(rows["item_id"].to_list(), rows["metric"].to_list(), strict=True)]
    used = rows["pct_used"].to_list()
    text = [f"{remaining} · {pct:.0f}% used" for remaining, pct in
            zip(rows["remaining"].to_list(), used, strict=True)]
    fig = go.Figure(go.Bar(
        y=labels, x=used, orientation="h", marker_color=charts.pct_used_colours(used),
        text=text, textposition="outside", cliponaxis=False, customdata=rows["due_local"].to_list(),
        hovertemplate="%{y}: %{x:.0f}% of target used, due %{customdata}<extra></extra>",
    ))
    # Labels of the three lines: 50% and 75% above the plot, "target" below it - never on top of each other.
    for level, colour, position in ((50, "#ffbb78", "top"), (75, charts.WARN, "top"),
                                    (100, charts.OBJECTIVE_COLOUR, "bottom")):
        fig.add_vline(x=level, line_dash="dot" if level < 100 else "dash", line_color=colour, layer="below")
        fig.add_annotation(x=level, y=1 if position == "top" else 0, yref="paper", xref="x",
                           yanchor="bottom" if position == "top" else "top", showarrow=False,
                           text="target (100%)" if level == 100 else f"{level}% used",
                           font={"color": colour, "size": 12})
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(ticksuffix="%", range=[0, 135], tickvals=[0, 25, 50, 75, 100])
    fig.update_layout(title={"text": title, "x": 0}, xaxis_title="Business time used (% of target)",
                      yaxis_title=None, showlegend=False,
                      height=170 + 26 * max(3, len(labels)), margin={"l": 10, "r": 10, "t": 70, "b": 50})
    return fig
