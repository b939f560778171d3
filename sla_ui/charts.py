"""Plotly figures of slices for the pages (attainment per slice, heatmaps, elapsed time, what-if weeks); figures
over time (trend lines, burn-down, deliverable strips) are in sla_ui.time_charts. Every chart has a title,
axis units and the target/objective drawn."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from sla_core.budget import attainment_expr
from sla_core.durations import objective_text, objectives_text

OBJECTIVE_COLOUR = "#d62728"
MAX_BARS = 15             # the worst slices drawn as bars; the rest pooled as "others"
VERTICAL_BARS = 6         # more bars than this are drawn horizontally (labels read whole)
MAX_HEATMAP_ROWS = 15
MAX_HEATMAP_COLUMNS = 12
OTHERS = "others"
GOOD, WARN, BAD = "#2ca02c", "#ff7f0e", "#d62728"


def titled(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"}, height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10},
        xaxis_title=x_title, yaxis_title=y_title,
        # At the bottom of the figure, under the x axis however tall its (rotated) tick labels grow.
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
    )
    return fig


def attainment_bars(frame: pl.DataFrame, dimension: str, title: str, objective: float | None,
                    limit: int = MAX_BARS) -> go.Figure:
    """Attainment (%) per value of `dimension`, worst first by the gap to its objective, the worst `limit`
    shown and the rest pooled as one "others" bar; each bar coloured against its own objective.

    One dashed objective line when the bars share one policy objective; otherwise a marker on each bar at
    its own (the objective its items are held to). A 0% bar still shows its value. More than
    VERTICAL_BARS values are drawn as horizontal bars, worst on top, so every label reads whole.
    Long: the bars, their objective marks and the layout make one figure.
    """
    rows = worst_first(frame.filter(pl.col("attainment").is_not_null()), dimension, limit)
    values = (rows["attainment"] * 100).to_list()
    objectives = [None if o is None else o * 100 for o in rows["objective"].to_list()] \
        if "objective" in rows.columns else [None if objective is None else objective * 100] * rows.height
    colours = [GOOD if o is None or v >= o - 1e-9 else BAD for v, o in zip(values, objectives, strict=True)]
    labels = [str(v) for v in rows[dimension].to_list()]
    horizontal = len(labels) > VERTICAL_BARS
    small = [v < 15 for v in values]
    bar = dict(
        marker_color=colours, name="attainment", cliponaxis=False,
        text=[f"{v:.1f}%" for v in values], textposition=["outside" if s else "inside" for s in small],
        insidetextanchor="end", textfont={"color": ["#262730" if s else "white" for s in small]},
        customdata=list(zip(rows["met"].to_list(), rows["breached"].to_list(), strict=True)),
    )
    if horizontal:
        fig = go.Figure(go.Bar(y=labels, x=values, orientation="h", **bar,
                               hovertemplate="%{y}: %{x:.1f}%<br>met %{customdata[0]}, breached %{customdata[1]}"
                                             "<extra></extra>"))
    else:
        fig = go.Figure(go.Bar(x=labels, y=values, **bar,
                               hovertemplate="%{x}: %{y:.1f}%<br>met %{customdata[0]}, breached %{customdata[1]}"
                                             "<extra></extra>"))
    single = _single_policy_objective(rows)
    distinct = {round(o, 6) for o in objectives if o is not None}
    if single is None and distinct:
        marker = {"symbol": "line-ns" if horizontal else "line-ew", "size": 22 if horizontal else
                  max(12, min(40, 600 // max(1, len(labels)))), "line": {"width": 3, "color": OBJECTIVE_COLOUR}}
        axis = {"y": labels, "x": objectives} if horizontal else {"x": labels, "y": objectives}
        fig.add_trace(go.Scatter(**axis, mode="markers", name="objective (its targets')", marker=marker,
                                 hovertemplate=("%{y}" if horizontal else "%{x}")
                                 + ": objective of its targets %{" + ("x" if horizontal else "y")
                                 + ":.1f}%<extra></extra>"))
    elif single is not None or objective is not None:
        line = (single if single is not None else objective) * 100
        text = f"objective {objective_text(line / 100)}"
        if horizontal:
            fig.add_vline(x=line, line_dash="dash", line_color=OBJECTIVE_COLOUR, annotation_text=text,
                          annotation_position="top")
        else:
            fig.add_hline(y=line, line_dash="dash", line_color=OBJECTIVE_COLOUR, annotation_text=text,
                          annotation_position="top left")
    low = min([*values, *distinct, 100]) if values else 0
    value_range = [max(0, low - 10) if low >= 15 else 0, 104]
    name = dimension.replace("_", " ").capitalize()
    if horizontal:
        fig.update_xaxes(range=value_range, ticksuffix="%")
        fig.update_yaxes(type="category", automargin=True, autorange="reversed")
        fig.update_layout(legend={"orientation": "h", "y": -0.08 - 1.2 / max(8, len(labels))})
        return titled(fig, title, "Attainment (% of items within target)", name,
                       height=140 + 28 * len(labels))
    fig.update_yaxes(range=value_range, ticksuffix="%")
    fig.update_xaxes(type="category", automargin=True)
    return titled(fig, title, name, "Attainment (% of items within target)")


def _single_policy_objective(rows: pl.DataFrame) -> float | None:
    """The one policy objective every bar is held to, or None when the bars' targets differ."""
    if "objective_min" in rows.columns:
        values = {round(v, 6) for v in [*rows["objective_min"].to_list(), *rows["objective_max"].to_list()]
                  if v is not None}
    else:
        values = {round(v, 6) for v in rows["objective"].to_list() if v is not None}
    return next(iter(values)) if len(values) == 1 else None


def heatmap(frame: pl.DataFrame, rows: str, columns: str, title: str, objective: float | None,
            max_rows: int = MAX_HEATMAP_ROWS, max_columns: int = MAX_HEATMAP_COLUMNS) -> go.Figure:
    """Attainment (%) for each rows x columns pair; the colour scale turns red below the objective.

    Rows and columns are ordered worst first (by their gap to objective over all cells); beyond
    `max_rows` / `max_columns` the rest are pooled as "others", so the chart stays a readable size."""
    stated = sorted({round(v, 6) for name in ("objective_min", "objective_max") if name in frame.columns
                     for v in frame[name].to_list() if v is not None})
    frame = frame.with_columns(pl.col(rows).cast(pl.String).fill_null("(none)"),
                               pl.col(columns).cast(pl.String).fill_null("(none)"))
    frame = _pool_others(_pool_others(frame, rows, columns, max_rows), columns, rows, max_columns)
    row_values = _worst_order(frame, rows)
    col_values = _worst_order(frame, columns)
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
    # Clickable cells: an all but invisible marker on every cell with a value (a click on it selects the
    # team x channel pair, which the page turns into a drill-down).
    cells = [(c, r) for r, z_row in zip(row_values, z, strict=True) for c, v in zip(col_values, z_row, strict=True)
             if v is not None]
    fig.add_trace(go.Scatter(
        x=[c for c, _ in cells], y=[r for _, r in cells], mode="markers", name="cells", showlegend=False,
        marker={"size": 30, "color": "rgba(0,0,0,0.01)", "symbol": "square"},
        hovertemplate=f"{rows} %{{y}}, {columns} %{{x}}: click for its breached items<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(type="category", automargin=True)
    # One pair of brackets: "(objective 95%)", or "(objectives 90%–95%, per target)" for mixed targets.
    mixed = len(stated) > 1
    title = (f"{title} (objective{'s' if mixed else ''} "
             f"{objectives_text(stated, per_target=False) if stated else objective_text(target / 100)}"
             f"{', per target' if mixed else ''})")
    return titled(fig, title, columns.capitalize(), rows.capitalize(), height=140 + 45 * max(3, len(row_values)))


def _gap(frame: pl.DataFrame) -> pl.Expr:
    return pl.col("attainment") - pl.col("objective")


def _worst_order(frame: pl.DataFrame, key: str) -> list[str]:
    """Values of `key`, worst first by the decided-weighted gap to objective over their cells;
    "others" last."""
    totals = (frame.with_columns(decided=pl.col("met") + pl.col("breached"))
              .group_by(key).agg(met=pl.col("met").sum(), decided=pl.col("decided").sum(),
                                 weighted=(pl.col("objective") * pl.col("decided")).sum(),
                                 plain=pl.col("objective").mean())
              .with_columns(attainment=pl.when(pl.col("decided") > 0).then(pl.col("met") / pl.col("decided")),
                            objective=pl.when(pl.col("decided") > 0)
                            .then(pl.col("weighted") / pl.col("decided")).otherwise(pl.col("plain")))
              .with_columns(gap=pl.col("attainment") - pl.col("objective"),
                            others=pl.col(key).str.starts_with(OTHERS))
              .sort(["others", "gap", "decided", key], descending=[False, False, True, False], nulls_last=True))
    return [str(v) for v in totals[key].to_list()]


def _pool_others(frame: pl.DataFrame, key: str, other_key: str, limit: int) -> pl.DataFrame:
    """Keep the worst `limit` values of `key`; pool the rest into one "others (n)" value per `other_key`."""
    order = _worst_order(frame, key)
    if len(order) <= limit + 1:
        return frame
    keep = order[:limit]
    label = f"{OTHERS} ({len(order) - limit})"
    kept = frame.filter(pl.col(key).is_in(keep))
    pooled = (frame.filter(~pl.col(key).is_in(keep))
              .with_columns(decided=pl.col("met") + pl.col("breached"))
              .group_by(other_key).agg(met=pl.col("met").sum(), breached=pl.col("breached").sum(),
                                       weighted=(pl.col("objective") * pl.col("decided")).sum(),
                                       plain=pl.col("objective").mean())
              .with_columns(pl.lit(label).alias(key),
                            attainment=attainment_expr(pl.col("met"), pl.col("breached")),
                            objective=pl.when(pl.col("met") + pl.col("breached") > 0)
                            .then(pl.col("weighted") / (pl.col("met") + pl.col("breached")))
                            .otherwise(pl.col("plain"))))
    columns = [key, other_key, "met", "breached", "attainment", "objective"]
    return pl.concat([kept.select(columns), pooled.select(columns)], how="vertical_relaxed")


def worst_first(frame: pl.DataFrame, dimension: str, limit: int = MAX_BARS) -> pl.DataFrame:
    """Rows sorted worst first by attainment minus objective (fewest decided breaks ties last); beyond
    `limit` rows the rest are pooled into one "others (n)" row (met and breached summed, the objective
    weighted by decided items)."""
    if frame.is_empty():
        return frame
    frame = frame.with_columns(pl.col(dimension).cast(pl.String).fill_null("(none)"))
    if "objective" not in frame.columns:
        frame = frame.with_columns(objective=pl.lit(None, dtype=pl.Float64))
    ordered = (frame.with_columns(decided=pl.col("met") + pl.col("breached"), gap=_gap(frame))
               .sort(["gap", "decided", dimension], descending=[False, True, False], nulls_last=True))
    if ordered.height <= limit + 1:
        return ordered.drop("gap")
    worst, rest = ordered.head(limit), ordered.slice(limit)
    met, breached = int(rest["met"].sum()), int(rest["breached"].sum())
    decided = met + breached
    objectives = rest.filter(pl.col("objective").is_not_null())
    weight = int(objectives["decided"].sum())
    pooled_objective = (float((objectives["objective"] * objectives["decided"]).sum() / weight) if weight
                        else (float(objectives["objective"].mean()) if objectives.height else None))
    others = {column: None for column in ordered.columns}
    others.update({dimension: f"{OTHERS} ({rest.height})", "met": met, "breached": breached, "decided": decided,
                   "attainment": met / decided if decided else None, "objective": pooled_objective})
    for column in ("items", "active"):
        if column in rest.columns:
            others[column] = int(rest[column].sum())
    if "objective_min" in rest.columns:
        others.update(objective_min=rest["objective_min"].min(), objective_max=rest["objective_max"].max())
    pooled = pl.DataFrame({k: [v] for k, v in others.items()}).cast(dict(ordered.schema), strict=False)
    return pl.concat([worst, pooled.select(ordered.columns)], how="vertical_relaxed").drop("gap")


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
    return titled(fig, title, f"Elapsed business time, % of the item's target (last bin: {cap_pct}% and more)",
                   "Items")


def pct_used_colours(values: Sequence[float | None]) -> list[str]:
    return [BAD if v is not None and v > 100 else WARN if v is not None and v >= 75
            else "#ffbb78" if v is not None and v >= 50 else GOOD for v in values]


def what_if_weekly(weekly: pl.DataFrame, objective: float | None, title: str) -> go.Figure:
    """Weekly attainment under the committed and the proposed policy, with the objective drawn."""
    figure = go.Figure()
    styles = {"committed": {"color": "#636efa", "dash": "solid"}, "proposed": {"color": "#ef553b", "dash": "dash"}}
    summed = (
        weekly.group_by("period", "policy")
        .agg(pl.col("decided").sum(), pl.col("met").sum())
        .with_columns(attainment=pl.col("met") / pl.col("decided"))
        .sort("period")
    )
    for policy, style in styles.items():
        side = summed.filter(pl.col("policy") == policy)
        figure.add_trace(
            go.Scatter(
                x=side["period"].to_list(),
                y=side["attainment"].to_list(),
                mode="lines+markers",
                name=f"{policy} policy",
                line=style,
                customdata=side["decided"].to_list(),
                hovertemplate="week of %{x|%d %b %Y}<br>%{y:.1%} of %{customdata} decided items<extra>"
                + policy
                + "</extra>",
            )
        )
    if objective is not None:
        figure.add_hline(
            y=objective,
            line={"color": "#2ca02c", "dash": "dot"},
            annotation_text=f"objective {objective:.0%}",
            annotation_position="bottom right",
        )
    figure.update_layout(
        title=title,
        xaxis_title="week (items by created date, UTC)",
        yaxis_title="attainment (share of decided items met)",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.25},
        height=380,
        margin={"t": 60, "b": 40},
    )
    return figure
