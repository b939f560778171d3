"""The monthly leadership report as a download on the Overview page.

The report is a few megabytes (plotly.js is inlined so it opens offline), so it is built only when the
button is clicked (Streamlit's deferred `data` callable) and the click does not rerun the page.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import duckdb
import streamlit as st

from sla_store.db import current_time
from sla_store.report import CHROMIUM, print_pdf, render_html
from sla_store.report_data import build_report, month_start


def report_file_name(month: date) -> str:
    return f"sla-report-{month_start(month):%Y-%m}.html"


def report_html_bytes(connection: duckdb.DuckDBPyConnection, month: date, generated_at: datetime,
                      history=None) -> bytes:
    """The self-contained HTML report for the month containing `month`."""
    return render_html(build_report(connection, month_start(month), generated_at, history)).encode("utf-8")


def _history():
    """The committed policy versions, for the report's "targets in force" (None without a policy file)."""
    try:
        from sla_app import policies

        return policies.policy_history()
    except Exception:  # no or unreadable config: the figures do not need it
        return None


def report_pdf_bytes(html: bytes) -> bytes:
    """The report printed to PDF with headless Chromium (a few seconds)."""
    with tempfile.TemporaryDirectory(prefix="sla-report-") as folder:
        html_path, pdf_path = Path(folder) / "report.html", Path(folder) / "report.pdf"
        html_path.write_bytes(html)
        print_pdf(html_path, pdf_path)
        return pdf_path.read_bytes()


def offer_report_download(
    month: date,
    connection: Callable[[], duckdb.DuckDBPyConnection] | None = None,
    key: str = "report_download",
) -> None:
    """Download buttons for the month's report, as HTML and (when Chromium is installed) as PDF;
    `connection` returns a cursor on the live database (default: the pages' shared LiveDatabase).
    Both are built only when clicked."""
    if connection is None:
        from sla_app import data

        connection = data.cursor

    def build() -> bytes:
        return report_html_bytes(connection(), month, current_time(), _history())

    def build_pdf() -> bytes:
        return report_pdf_bytes(build())

    label = f"{month_start(month):%B %Y}"
    html_column, pdf_column = st.columns([4, 1])
    html_column.download_button(
        f"Download the {label} report (HTML)",
        data=build,
        file_name=report_file_name(month),
        mime="text/html",
        key=key,
        on_click="ignore",
        icon=":material/download:",
        help="A self-contained report for leadership: attainment vs objective, change vs last month, "
             "error budget, worst slices with breach reasons, weekly compliance, trends and the targets "
             "in force.",
    )
    if CHROMIUM.exists():
        pdf_column.download_button(
            "PDF",
            data=build_pdf,
            file_name=report_file_name(month).replace(".html", ".pdf"),
            mime="application/pdf",
            key=f"{key}_pdf",
            on_click="ignore",
            icon=":material/picture_as_pdf:",
            help=f"The {label} report printed to PDF (takes a few seconds).",
        )
