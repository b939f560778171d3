"""The monthly leadership report: one self-contained HTML file (plus the figures as CSV, optionally PDF).

The figures come from sla_store.report_data; this module draws the charts and renders the HTML and PDF.
"""

from __future__ import annotations

import base64
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sla_core.budget import weighted_objective
from sla_core.durations import display_name, objective_text
from sla_store.report_data import (
    MIN_SLICE_DECIDED,
    TREND_WEEKS,
    MonthlyReport,
    build_report,
)

TEMPLATES = Path(__file__).with_name("templates")
CHROMIUM = Path("/usr/bin/chromium")


# --- charts ---------------------------------------------------------------------------------------


def _line_chart(series: pl.DataFrame, title: str, x_title: str) -> go.Figure:
    figure = go.Figure()
    for (metric,), rows in series.filter(pl.col("attainment").is_not_null()).group_by(
        "metric", maintain_order=True
    ):
        figure.add_trace(go.Scatter(
            x=[str(value) for value in rows["period"].to_list()],
            y=[round(100 * value, 2) for value in rows["attainment"].to_list()],
            mode="lines+markers", name=display_name(metric),
            hovertemplate="%{x}: %{y:.1f}%<extra>" + display_name(metric) + "</extra>",
        ))
    _objective_lines(figure, series)
    figure.update_layout(
        title=title, xaxis_title=x_title, yaxis_title="attainment (%)", height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 40}, legend={"orientation": "h", "y": -0.38, "x": 0},
        template="plotly_white",
    )
    figure.update_xaxes(type="category")
    return figure


def _objective_lines(figure: go.Figure, series: pl.DataFrame) -> None:
    """The policy's objective as a dashed line: one line when the metrics share it, else one per metric."""
    objectives = {
        metric: weighted_objective(rows["objective"], rows["decided"])
        for (metric,), rows in series.group_by("metric", maintain_order=True)
    }
    shown = {round(value, 6) for value in objectives.values() if value is not None}
    lines = ([("objective", shown.pop())] if len(shown) == 1
             else [(f"{display_name(metric)} objective", value) for metric, value in objectives.items()
                   if value is not None])
    for label, value in lines:
        figure.add_hline(y=100 * value, line_dash="dash", line_color="#b91c1c",
                         annotation_text=f"{label} {objective_text(value)}: investigate below", annotation_position="bottom right")


def _gap_chart(by_team: pl.DataFrame) -> go.Figure:
    """Attainment minus objective per metric and team, in percentage points: left of zero is below."""
    rows = by_team.filter(pl.col("attainment").is_not_null()).with_columns(
        gap=(pl.col("attainment") - pl.col("objective")) * 100.0,
        label=pl.col("metric").map_elements(display_name, return_dtype=pl.String) + " · "
        + pl.col("team").fill_null("(no team)"),
    ).sort(["metric", "team"], descending=True, nulls_last=True)
    gaps = [round(value, 2) for value in rows["gap"].to_list()]
    figure = go.Figure(go.Bar(
        x=gaps, y=rows["label"].to_list(), orientation="h",
        marker_color=["#b91c1c" if gap < 0 else "#15803d" for gap in gaps],
        customdata=[[100 * a, 100 * o] for a, o in zip(rows["attainment"], rows["objective"], strict=True)],
        hovertemplate="%{y}: %{customdata[0]:.1f}% vs objective %{customdata[1]:.1f}%<extra></extra>",
    ))
    figure.add_vline(x=0, line_color="#111827")
    figure.update_layout(
        title="Attainment vs objective per metric and team (percentage points)",
        xaxis_title="attainment minus objective (pp)", yaxis_title=None,
        height=max(260, 28 * len(gaps) + 110), margin={"l": 200, "r": 20, "t": 50, "b": 50},
        template="plotly_white", showlegend=False,
    )
    return figure


def _chart_html(figure: go.Figure, div_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                          config={"displayModeBar": False, "responsive": True})


# --- the report -----------------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _pp(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f} pp"


PLOTLY_BASIC = TEMPLATES / "plotly-basic.min.js"  # plotly.js basic bundle (scatter, bar; MIT, see its LICENSE)


def plotly_js() -> str:
    """The plotly.js the report inlines: the basic bundle (scatter and bar, ~1.2 MB) when it matches the
    plotly.js version of the installed plotly, else the full bundle (~4.8 MB)."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    if PLOTLY_BASIC.exists():
        text = PLOTLY_BASIC.read_text(encoding="utf-8")
        if f"v{get_plotlyjs_version()}" in text[:200]:
            return text
    return get_plotlyjs()


def render_html(report: MonthlyReport) -> str:
    """The report as one HTML string: plotly.js (its basic bundle) inlined once, charts as embedded plotly
    JSON, the figures CSV as a data: link - it opens offline and can be mailed as a single file."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    environment.filters.update(pct=_pct, pp=_pp, label=display_name, objective=objective_text)
    metrics = report.headline["metric"].to_list()
    charts = [
        _chart_html(_line_chart(report.weekly_series, f"Weekly attainment per metric ({report.label} and the"
                                f" {TREND_WEEKS} weeks before)", "week from"), "weekly-trend"),
        _chart_html(_line_chart(report.monthly_series, "Monthly attainment per metric", "month"),
                    "monthly-trend"),
    ]
    charts.append(_chart_html(_gap_chart(report.by_team), "team-gap"))
    weeks = report.weekly.select("week", "week_from", "week_to").unique().sort("week").to_dicts()
    weekly_cells = {(row["week"], row["metric"]): row for row in report.weekly.iter_rows(named=True)}
    csv_text = report.figures_csv()
    template = environment.get_template("monthly_report.html.j2")
    return template.render(
        report=report,
        headline=report.headline.to_dicts(),
        by_channel=report.by_channel.to_dicts(),
        by_team=report.by_team.to_dicts(),
        metrics=metrics,
        weeks=weeks,
        weekly_cells=weekly_cells,
        min_slice=MIN_SLICE_DECIDED,
        charts=charts,
        plotly_js=plotly_js(),
        csv_href="data:text/csv;base64," + base64.b64encode(csv_text.encode()).decode(),
        csv_name=f"sla-report-{report.month.isoformat()[:7]}.csv",
    )


def report_html(db: str | Path | None, month: date, generated_at: datetime, history=None) -> tuple[str, str]:
    """(HTML, CSV) for `month`, read from the database file."""
    from sla_store.db import connect_read_only

    con = connect_read_only(db)
    try:
        report = build_report(con, month, generated_at, history)
    finally:
        con.close()
    return render_html(report), report.figures_csv()


class PdfUnavailable(RuntimeError):
    """No browser to print the PDF with."""


def print_pdf(html_path: Path, pdf_path: Path, chromium: Path | None = None, timeout_s: float = 120.0) -> None:
    """Print the HTML to PDF with headless Chromium (--print-to-pdf); charts get a few seconds to draw."""
    chromium = chromium or CHROMIUM
    if not chromium.exists():
        raise PdfUnavailable(f"{chromium} not found: install Chromium (apt-get install chromium) to print PDFs;"
                             " the HTML report was written")
    with tempfile.TemporaryDirectory(prefix="sla-pdf-") as profile:
        command = [
            str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--no-pdf-header-footer", "--virtual-time-budget=10000",
            f"--print-to-pdf={pdf_path.resolve()}", html_path.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        detail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"chromium could not print {pdf_path}: {detail[0]}")


def write_report(db: str | Path | None, month: date, out: Path, generated_at: datetime,
                 pdf: Path | None = None, history=None) -> list[Path]:
    """Writes report.html, report.csv next to it and, when asked, report.pdf; returns the paths."""
    html, csv_text = report_html(db, month, generated_at, history)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    csv_path = out.with_suffix(".csv")
    csv_path.write_text(csv_text, encoding="utf-8")
    written = [out, csv_path]
    if pdf is not None:
        pdf.parent.mkdir(parents=True, exist_ok=True)
        print_pdf(out, pdf)
        written.append(pdf)
    return written


