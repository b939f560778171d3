"""Plotly figures over time: attainment per week or month, the month's error-budget burn-down and the
scheduled-deliverable strips (the slice charts and the shared look are in sla_ui.charts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from sla_core.durations import objective_text
from sla_ui.charts import BAD, GOOD, OBJECTIVE_COLOUR, WARN, titled


def trend_lines(frame: pl.DataFrame, period: str, series: str | None, title: str,
                objective: float | None, stated: Sequence[float] = ()) -> go.Figure:
    """Attainment per period (one line per `series` value), the objective band, misses marked.

    A line breaks where periods without data lie between two points (never drawn across a gap); long
    empty stretches are cut out of the axis; the ticks sit on the periods themselves, dated."""
    fig = go.Figure()
    groups = frame.partition_by(series, as_dict=True, maintain_order=True) if series else {("all",): frame}
    step = dt.timedelta(days=7) if period == "week" else dt.timedelta(days=31)
    for key, rows in groups.items():
        rows = rows.sort(period).filter(pl.col("attainment").is_not_null())
        name = str(key[0]) if isinstance(key, tuple) else str(key)
        x, y = _broken_at_gaps(rows[period].to_list(), (rows["attainment"] * 100).to_list(), step)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, connectgaps=False,
                                 hovertemplate=f"{name} %{{x}}: %{{y:.1f}}%<extra></extra>"))
        if objective is not None:
            digits = 1
            below = rows.filter((pl.col("attainment") * 100).round(digits) < (pl.col("objective") * 100).round(digits))
            if below.height:
                fig.add_trace(go.Scatter(
                    x=below[period].to_list(), y=(below["attainment"] * 100).to_list(), mode="markers",
                    marker={"symbol": "x", "size": 11, "color": BAD}, name=f"{name}: below objective",
                    showlegend=False, hovertemplate=f"{name} %{{x}}: %{{y:.1f}}% below objective<extra></extra>"))
    stated = sorted({round(o, 6) for o in stated if o is not None})
    if len(stated) > 1:
        # Targets with different objectives: the band between them; each point is judged by its own.
        fig.add_hrect(y0=stated[0] * 100, y1=stated[-1] * 100, fillcolor=OBJECTIVE_COLOUR, opacity=0.06,
                      line_width=0)
        for value in (stated[0], stated[-1]):
            fig.add_hline(y=value * 100, line_dash="dash", line_color=OBJECTIVE_COLOUR)
        fig.add_annotation(x=0, xref="paper", y=stated[0] * 100, yanchor="top", showarrow=False, xanchor="left",
                           text=f"objectives {objective_text(stated[0])}–{objective_text(stated[-1])} "
                                "(per target; crosses: below their own)", font={"color": OBJECTIVE_COLOUR})
    elif objective is not None or stated:
        line = stated[0] if stated else objective
        fig.add_hrect(y0=line * 100, y1=100, fillcolor=GOOD, opacity=0.08, line_width=0)
        fig.add_hline(y=line * 100, line_dash="dash", line_color=OBJECTIVE_COLOUR,
                      annotation_text=f"objective {objective_text(line)}", annotation_position="bottom left")
    fig.update_yaxes(ticksuffix="%")
    _period_axis(fig, sorted({p for p in frame[period].to_list() if p is not None}), period)
    return titled(fig, title, "Week starting" if period == "week" else "Month", "Attainment (%)")


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _broken_at_gaps(x: list, y: list, step: dt.timedelta) -> tuple[list, list]:
    """Insert a None point between two periods more than one `step` apart, so the line breaks there."""
    out_x, out_y = [], []
    for i, (px, py) in enumerate(zip(x, y, strict=True)):
        if i and _as_date(px) - _as_date(x[i - 1]) > step:
            out_x.append(_as_date(x[i - 1]) + step)
            out_y.append(None)
        out_x.append(px)
        out_y.append(py)
    return out_x, out_y


def _period_axis(fig: go.Figure, periods: list, period: str) -> None:
    """Dated ticks on the periods (never a time of day), some room around a single period, and empty
    stretches longer than a few periods cut out of the axis."""
    if not periods:
        return
    days = [_as_date(p) for p in periods]
    pad = dt.timedelta(days=4 if period == "week" else 16)
    fmt = "%d %b %Y" if period == "week" else "%b %Y"
    fig.update_xaxes(type="date", tickformat=fmt, hoverformat=fmt)
    if len(days) <= 16:
        fig.update_xaxes(tickvals=days, ticktext=[d.strftime(fmt) for d in days])
    step = dt.timedelta(days=7) if period == "week" else dt.timedelta(days=31)
    breaks = [{"bounds": [(a + 2 * step).isoformat(), (b - step).isoformat()]}
              for a, b in zip(days, days[1:], strict=False) if b - a > 6 * step]
    if breaks:
        fig.update_xaxes(rangebreaks=breaks)
    fig.update_xaxes(range=[(days[0] - pad).isoformat(), (days[-1] + pad).isoformat()])


def burn_down(frame: pl.DataFrame, title: str) -> go.Figure:
    """Error budget left (%) by day of the month; 0% = the month's objective is lost. The budget still
    left is filled green, an overspent budget (below 0%) red."""
    days = frame["day"].to_list()
    left = (frame["budget_left"] * 100).to_list()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=days, y=[None if v is None else max(v, 0.0) for v in left], mode="none",
                             fill="tozeroy", fillcolor="rgba(44, 160, 44, 0.25)", name="budget left",
                             hoverinfo="skip", showlegend=False))
    if any(v is not None and v < 0 for v in left):
        fig.add_trace(go.Scatter(x=days, y=[None if v is None else min(v, 0.0) for v in left], mode="none",
                                 fill="tozeroy", fillcolor="rgba(214, 39, 40, 0.35)", name="overspent",
                                 hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=days, y=left, mode="lines+markers", name="budget left",
        line={"color": "#262730"},
        marker={"color": [BAD if v is not None and v < 0 else GOOD for v in left]},
        hovertemplate="%{x}: %{y:.1f}% of the error budget left<extra></extra>"))
    fig.add_trace(go.Scatter(x=days, y=(frame["ideal_left"] * 100).to_list(), mode="lines", name="even spend",
                             line={"dash": "dot", "color": "#7f7f7f"},
                             hovertemplate="%{x}: even spend leaves %{y:.1f}%<extra></extra>"))
    fig.add_hline(y=0, line_dash="dash", line_color=OBJECTIVE_COLOUR, annotation_text="budget exhausted (objective missed)",
                  annotation_position="bottom left")
    fig.update_yaxes(ticksuffix="%")
    fig.update_xaxes(tickformat="%d %b %Y", hoverformat="%d %b %Y")
    return titled(fig, title, "Day", "Error budget left (%)")


DELIVERABLE_COLOURS = {"met": GOOD, "late": WARN, "missing": BAD, "due": "#9e9e9e"}


def deliverable_strip(periods: pl.DataFrame, title: str) -> go.Figure:
    """A calendar-like strip per stream: one square per scheduled period at its deadline's local date,
    coloured met / late / missing / due.

    periods: stream, due_local (the deadline in the calendar's zone, naive), stop_local (or null), status.
    """
    fig = go.Figure()
    streams = sorted({str(s) for s in periods["stream"].to_list()})
    for status, colour in DELIVERABLE_COLOURS.items():
        rows = periods.filter(pl.col("status") == status)
        delivered = [
            "nothing delivered" if stop is None else f"delivered {stop:%a %d %b %H:%M}"
            for stop in rows["stop_local"].to_list()
        ]
        fig.add_trace(go.Scatter(
            x=rows["due_local"].dt.date().to_list(), y=[str(s) for s in rows["stream"].to_list()], mode="markers",
            name=status, marker={"symbol": "square", "size": 18, "color": colour, "line": {"width": 1, "color": "white"}},
            customdata=[[due.strftime("%a %d %b %H:%M"), text] for due, text in
                        zip(rows["due_local"].to_list(), delivered, strict=True)],
            hovertemplate="%{y}: due %{customdata[0]}<br>%{customdata[1]}<br>" + status + "<extra></extra>",
        ))
    fig.update_yaxes(categoryorder="array", categoryarray=streams[::-1], type="category")
    fig.update_xaxes(type="date", tickformat="%d %b", showgrid=True)
    return titled(fig, title, "Deadline (local date)", "Stream", height=max(220, 140 + 40 * len(streams)))
