"""Chart layout rules that screenshots showed broken: a horizontal legend must sit below the x axis's
tick labels, however tall they grow when Plotly rotates dense dates (it used to cover them)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from sla_ui import time_charts


def test_a_trend_legend_sits_at_the_figure_bottom_not_over_the_rotated_dates():
    weeks = [dt.date(2026, 8, 31) + dt.timedelta(days=7 * i) for i in range(13)]
    frame = pl.DataFrame({"week": weeks * 2, "channel": ["chat"] * 13 + ["email"] * 13,
                          "attainment": [0.93] * 26, "objective": [0.95] * 26})
    legend = time_charts.trend_lines(frame, "week", "channel", "t", 0.95).layout.legend
    # In container coordinates at the bottom: Plotly then keeps the plot (and its tick labels) above it.
    assert legend.orientation == "h" and legend.yref == "container" and legend.y == 0
    assert legend.yanchor == "bottom"
