"""Plotly figures for the pages. Every chart has a title, axis units and the target/objective drawn."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

OBJECTIVE_COLOUR = "#d62728"
GOOD, WARN, BAD = "#2ca02c", "#ff7f0e", "#d62728"


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"}, height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10},
        xaxis_title=x_title, yaxis_title=y_title, legend={"orientation": "h", "y": -0.2},
    )
    return fig


def attainment_bars(frame: pl.DataFrame, dimension: str, title: str, objective: float | None) -> go.Figure:
    """Attainment (%) per value of `dimension`, each bar coloured against its own objective.

    One dashed objective line when the bars share an objective; otherwise a marker on each bar at its own.
    """
    rows = frame.filter(pl.col("attainment").is_not_null())
    values = (rows["attainment"] * 100).to_list()
    objectives = [None if o is None else o * 100 for o in rows["objective"].to_list()] \
        if "objective" in rows.columns else [None if objective is None else objective * 100] * rows.height
    colours = [GOOD if o is None or v >= o - 1e-9 else BAD for v, o in zip(values, objectives, strict=True)]
    labels = [str(v) for v in rows[dimension].to_list()]
    fig = go.Figure(go.Bar(
        x=labels, y=values, marker_color=colours, name="attainment",
        text=[f"{v:.1f}%" for v in values], textposition="inside", insidetextanchor="end",
        textfont={"color": "white"},
        customdata=list(zip(rows["met"].to_list(), rows["breached"].to_list(), strict=True)),
        hovertemplate="%{x}: %{y:.1f}%<br>met %{customdata[0]}, breached %{customdata[1]}<extra></extra>",
    ))
    distinct = {round(o, 6) for o in objectives if o is not None}
    if len(distinct) > 1:
        fig.add_trace(go.Scatter(
            x=labels, y=objectives, mode="markers", name="objective",
            marker={"symbol": "line-ew", "size": 40, "line": {"width": 3, "color": OBJECTIVE_COLOUR}},
            hovertemplate="%{x}: objective %{y:.0f}%<extra></extra>"))
    elif distinct or objective is not None:
        line = next(iter(distinct)) if distinct else objective * 100
        fig.add_hline(y=line, line_dash="dash", line_color=OBJECTIVE_COLOUR,
                      annotation_text=f"objective {line:.0f}%", annotation_position="top left")
    low = min([*values, *distinct, 100]) if values else 0
    fig.update_yaxes(range=[max(0, low - 10), 102], ticksuffix="%")
    return _layout(fig, title, dimension.replace("_", " ").capitalize(), "Attainment (% of items within target)")


def heatmap(frame: pl.DataFrame, rows: str, columns: str, title: str, objective: float | None) -> go.Figure:
    """Attainment (%) for each rows x columns pair; the colour scale turns red below the objective."""
    row_values = sorted({str(v) for v in frame[rows].to_list()})
    col_values = sorted({str(v) for v in frame[columns].to_list()})
    lookup = {(str(r[rows]), str(r[columns])): r for r in frame.iter_rows(named=True)}
    z, text = [], []
    for r in row_values:
        z_row, text_row = [], []
        for c in col_values:
            cell = lookup.get((r, c))
            share = cell["attainment"] if cell else None
            z_row.append(None if share is None else share * 100)
            text_row.append("" if share is None else f"{share * 100:.1f}%<br>n={cell['met'] + cell['breached']}")
        z.append(z_row)
        text.append(text_row)
    target = (objective or 0.95) * 100
    low = max(0.0, min([v for row in z for v in row if v is not None] + [target - 10]))
    # Red up to the objective, green above it.
    split = (target - low) / (100 - low) if 100 > low else 0.5
    fig = go.Figure(go.Heatmap(
        z=z, x=col_values, y=row_values, text=text, texttemplate="%{text}", zmin=low, zmax=100,
        colorscale=[[0, BAD], [max(0.0, split - 1e-6), "#fdd0a2"], [split, "#c7e9c0"], [1, GOOD]],
        colorbar={"title": {"text": "%"}, "ticksuffix": "%"},
        hovertemplate=f"{rows} %{{y}}, {columns} %{{x}}: %{{z:.1f}}%<extra></extra>",
    ))
    title = f"{title} (objective {target:.0f}%)"
    return _layout(fig, title, columns.capitalize(), rows.capitalize(), height=120 + 45 * max(3, len(row_values)))


def elapsed_histogram(frame: pl.DataFrame, title: str, bin_pct: int = 10, cap_pct: int = 300) -> go.Figure:
    """Items per bin of elapsed time as % of their own target; the target is the line at 100%."""
    bins = frame["pct_bin"].to_list()
    fig = go.Figure(go.Bar(
        x=[b + bin_pct / 2 for b in bins], y=frame["items"].to_list(), width=bin_pct * 0.95,
        marker_color=[GOOD if b < 100 else BAD for b in bins], name="items",
        hovertemplate="%{x:.0f}% of target: %{y} items<extra></extra>",
    ))
    fig.add_vline(x=100, line_dash="dash", line_color=OBJECTIVE_COLOUR, annotation_text="target (100%)",
                  annotation_position="top right")
    fig.update_xaxes(ticksuffix="%", range=[0, cap_pct + bin_pct])
    return _layout(fig, title, f"Elapsed business time, % of the item's target (last bin: {cap_pct}% and more)",
                   "Items")


def trend_lines(frame: pl.DataFrame, period: str, series: str | None, title: str,
                objective: float | None) -> go.Figure:
    """Attainment per period (one line per `series` value), the objective band, misses marked."""
    fig = go.Figure()
    groups = frame.partition_by(series, as_dict=True, maintain_order=True) if series else {("all",): frame}
    for key, rows in groups.items():
        rows = rows.sort(period).filter(pl.col("attainment").is_not_null())
        name = str(key[0]) if isinstance(key, tuple) else str(key)
        y = (rows["attainment"] * 100).to_list()
        fig.add_trace(go.Scatter(x=rows[period].to_list(), y=y, mode="lines+markers", name=name,
                                 hovertemplate=f"{name} %{{x}}: %{{y:.1f}}%<extra></extra>"))
        if objective is not None:
            below = rows.filter(pl.col("attainment") < objective)
            if below.height:
                fig.add_trace(go.Scatter(
                    x=below[period].to_list(), y=(below["attainment"] * 100).to_list(), mode="markers",
                    marker={"symbol": "x", "size": 11, "color": BAD}, name=f"{name}: below objective",
                    showlegend=False, hovertemplate=f"{name} %{{x}}: %{{y:.1f}}% below objective<extra></extra>"))
    if objective is not None:
        fig.add_hrect(y0=objective * 100, y1=100, fillcolor=GOOD, opacity=0.08, line_width=0)
        fig.add_hline(y=objective * 100, line_dash="dash", line_color=OBJECTIVE_COLOUR,
                      annotation_text=f"objective {objective * 100:.0f}%", annotation_position="bottom left")
    fig.update_yaxes(ticksuffix="%")
    return _layout(fig, title, "Week starting" if period == "week" else "Month", "Attainment (%)")


def burn_down(frame: pl.DataFrame, title: str) -> go.Figure:
    """Error budget left (%) by day of the month; 0% = the month's objective is lost."""
    days = frame["day"].to_list()
    left = (frame["budget_left"] * 100).to_list()
    fig = go.Figure(go.Scatter(x=days, y=left, mode="lines+markers", name="budget left", fill="tozeroy",
                               hovertemplate="%{x}: %{y:.0f}% of the error budget left<extra></extra>"))
    fig.add_trace(go.Scatter(x=days, y=(frame["ideal_left"] * 100).to_list(), mode="lines", name="even spend",
                             line={"dash": "dot", "color": "#7f7f7f"},
                             hovertemplate="%{x}: even spend leaves %{y:.0f}%<extra></extra>"))
    fig.add_hline(y=0, line_dash="dash", line_color=OBJECTIVE_COLOUR, annotation_text="budget exhausted (objective missed)",
                  annotation_position="bottom left")
    fig.update_yaxes(ticksuffix="%")
    return _layout(fig, title, "Day", "Error budget left (%)")


def pct_used_colours(values: Sequence[float | None]) -> list[str]:
    return [BAD if v is not None and v > 100 else WARN if v is not None and v >= 75
            else "#ffbb78" if v is not None and v >= 50 else GOOD for v in values]
